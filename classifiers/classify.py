"""Tag a message: insurance types, province (2025 map), category, topics — with evidence.

Pure functions over the subject and the clean text: `fields` reads the words once, then
`insurance`, `province` and `category` each weigh what was found. Every tag keeps the phrases
that support it, with their offsets in the original text, and a confidence.
"""

from __future__ import annotations

import re

from classifiers.calibration import calibrate, province_confidence
from classifiers.category import find_category, spam_score
from classifiers.category_model import category_model
from classifiers.fields import Field, read_fields
from classifiers.insurance import longest_cues, tag_insurance
from classifiers.lexicon import lexicon
from classifiers.province import ProvinceFeatures, find_province_with_features
from classifiers.result import Classification, Evidence
from classifiers.text import spaced

INSURANCE_ORDER = ("BHTN", "BHXH", "BHYT")
SCAM_TOPIC = "lừa đảo"  # keywords.toml: a scam named; the insurances it names are its pretext
SPAM_THRESHOLD = 2  # selling phrases that make a message an advertisement
# A category the rules score at or below this is weak evidence: the learned model decides it
# (classifiers.category_model; scripts/build_model.py --cv measures the choice).
WEAK_CATEGORY = 0.6
MODEL_SURE = 0.85  # … when it is this sure of its answer


def _only_in_signature(fields: list[Field], evidence: list[Evidence], province: str) -> bool:
    """Every mention of the province lies in the body's signature (below its closing line)."""
    body = next((field for field in fields if field.name == "body"), None)
    mentions = [item for item in evidence if item.tag == f"province:{province}"]
    return body is not None and bool(mentions) and all(item.field == "body" and item.start >= body.signature_at for item in mentions)


SENTENCE_END = re.compile(r"[.?!]\s*$")
ADDRESS_LINE_CHARS = 80  # a name, a department or an address fits on one short line


def _only_in_closing_lines(fields: list[Field], evidence: list[Evidence], province: str) -> bool:
    """Every mention of the province lies in the short lines that close the body without a
    sentence of their own ("Nguyễn Văn A / KCN Yên Phong, Bắc Ninh"), after at least one line
    of text: the sender's name and address, not a matter's."""
    body = next((field for field in fields if field.name == "body"), None)
    if body is None:
        return False
    lines = body.text.rstrip().split("\n")
    start = len(body.text.rstrip())
    for line in reversed(lines[1:]):
        if SENTENCE_END.search(line) or len(line) > ADDRESS_LINE_CHARS:
            break
        start -= len(line) + 1
    mentions = [item for item in evidence if item.tag == f"province:{province}"]
    return bool(mentions) and all(item.field == "body" and item.start >= start for item in mentions)


def classify(subject: str | None, body: str, channel: str | None = None) -> Classification:
    """Tags with calibrated confidences (`classifiers.calibration`): 0.8 means right 8 times in 10
    on the labeled sets. A province's confidence is that of the province given; with no
    province it stays the raw score. The province's comes from what carries its risk
    (`classifiers.province.ProvinceFeatures`: margin, kind of evidence, candidates, old names)."""
    raw, features = classify_scored(subject, body, channel)
    confidence = {
        "insurance_types": calibrate("insurance_types", raw.confidence["insurance_types"]),
        "province": province_confidence(features) if raw.province_code and features else raw.confidence["province"],
        "category": calibrate("category", raw.confidence["category"]),
    }
    return Classification(raw.insurance_types, raw.province_code, raw.category, raw.topics, confidence, raw.evidence)


def classify_raw(subject: str | None, body: str, channel: str | None = None, use_model: bool = True) -> Classification:
    """The tags with the rules' raw scores as confidences (what the calibration is fitted on).
    `use_model=False` gives the rules alone."""
    return classify_scored(subject, body, channel, use_model)[0]


def classify_scored(subject: str | None, body: str, channel: str | None = None, use_model: bool = True) -> tuple[Classification, ProvinceFeatures | None]:
    """`classify_raw`, with the features of the province given (None when none is)."""
    lex = lexicon()
    fields = read_fields(subject, body, lex)
    evidence: list[Evidence] = []
    longest = longest_cues(fields)
    insurance, topics, insurance_confidence = tag_insurance(fields, lex, evidence, longest)
    if SCAM_TOPIC in topics and any(lex.scam_pretext.search(spaced(field.words)) for field in fields):
        # "giả danh BHXH … hoàn tiền BHYT": the insurance is the scam's pretext, not the matter.
        insurance = []
    if spam_score(fields, longest, evidence) >= SPAM_THRESHOLD:
        # Selling something (even "rút BHXH 1 lần" services): no insurance matter, no office.
        return Classification([], None, "other", [], {"insurance_types": 0.8, "province": 0.8, "category": 0.8}, evidence), None
    province, province_score, features = find_province_with_features(fields, lex, evidence)
    category, category_confidence = find_category(fields, lex, insurance, topics, evidence)
    model = category_model() if use_model and category_confidence <= WEAK_CATEGORY else None
    if model is not None:
        probabilities = model.scores(" \n ".join(field.folded for field in fields))
        guess = max(probabilities, key=probabilities.__getitem__)
        if probabilities[guess] >= MODEL_SURE:
            category = guess  # the rules' evidence is weak and the model is sure: the model decides
    if province and category == "other" and (_only_in_signature(fields, evidence, province) or (not insurance and _only_in_closing_lines(fields, evidence, province))):
        # A thank-you or acknowledgement: the address under "Trân trọng," is the sender's, no matter's.
        evidence[:] = [item for item in evidence if item.tag != f"province:{province}"]
        province, province_score, features = None, 0.8, None
    return Classification(
        insurance_types=[t for t in INSURANCE_ORDER if t in insurance],
        province_code=province,
        category=category,  # type: ignore[arg-type]
        topics=topics,
        confidence={"insurance_types": insurance_confidence, "province": province_score, "category": category_confidence},
        evidence=evidence,
    ), features
