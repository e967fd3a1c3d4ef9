"""Insurance types and topics: which insurance the message is about, and its finer subjects."""

from __future__ import annotations

from collections import defaultdict

from classifiers.fields import Field, evidence_for, longest_only, words_just_before
from classifiers.lexicon import Cue, Lexicon
from classifiers.result import Evidence

INSURANCE_SHARE = 0.45


def _is_agency_mention(field: Field, start: int, end: int, lex: Lexicon) -> bool:
    """'Kính gửi BHXH', 'BHXH tỉnh Nam Định': the agency, not the insurance."""
    if _addressed(field, start, lex):
        return True
    after = field.words[end : end + 2]
    if not after:
        return True  # "... xin cảm ơn BHXH" at the very end
    return tuple(after[:1]) in lex.agency_after or tuple(after[:2]) in lex.agency_after


# The insurance whose name is also the agency's ("Bảo hiểm xã hội Việt Nam", "BHXH tỉnh …").
AGENCY_INSURANCE = "BHXH"
# Words after the insurance's full name that make it an office's name.
OFFICE_AFTER = {("viet", "nam"), ("vn",), ("tinh",), ("thanh", "pho"), ("tp",), ("huyen",), ("quan",), ("thi", "xa"), ("khu", "vuc"), ("co", "so"), ("trung", "uong")}


def _is_agency_by_name(field: Field, start: int, end: int, lex: Lexicon) -> bool:
    """'Kính gửi Bảo hiểm xã hội', 'Bảo hiểm xã hội Việt Nam', 'Bảo hiểm xã hội tỉnh …'."""
    after = field.words[end : end + 2]
    if tuple(after[:1]) in OFFICE_AFTER or tuple(after) in OFFICE_AFTER:
        return True
    return _addressed(field, start, lex)


def _addressed(field: Field, start: int, lex: Lexicon) -> bool:
    """The one or two words before are how one addresses the agency ("gửi", "cơ quan", "cán bộ")."""
    return any(words_just_before(field, start, n) in lex.agency_before for n in (1, 2))


Matches = dict[str, list[tuple[int, int, tuple[Cue, ...]]]]


def longest_cues(fields: list[Field]) -> Matches:
    """Longest cue matches per field, computed once for topics, insurance and spam."""
    return {field.name: longest_only(field.subject_spans) for field in fields}


def tag_insurance(fields: list[Field], lex: Lexicon, evidence: list[Evidence], longest: Matches) -> tuple[list[str], list[str], float]:
    topics: dict[str, float] = defaultdict(float)
    insurance: dict[str, float] = defaultdict(float)
    named: set[str] = set()  # types the text spells out ("BHYT", "thẻ BHYT", "bảo hiểm thất nghiệp")
    strong: set[str] = set()  # types with at least one full-weight cue
    context: set[str] = set()  # types only said to be held ("[insurance_context]"), kept when nothing else is
    for field in fields:
        for start, end, cues in longest[field.name]:
            for cue in cues:
                if cue.family == "topic":
                    if cue.names_insurance:
                        named.add(cue.insurance)
                    topics[cue.label] += cue.weight
                    if cue.insurance:
                        insurance[cue.insurance] += cue.weight
                        if cue.weight >= 1:
                            strong.add(cue.insurance)
                    evidence.append(evidence_for(field, start, end, cue.tag, cue.weight))
                    if cue.insurance:
                        evidence.append(evidence_for(field, start, end, cue.insurance_tag, cue.weight))
                elif cue.family == "context":
                    if cue.insurance:
                        context.add(cue.insurance)  # "đã có thẻ BHYT rồi": a type held, not asked about
                elif cue.family == "insurance":
                    if cue.weight < 1 and _is_agency_mention(field, start, end, lex):
                        continue
                    if cue.label == AGENCY_INSURANCE and cue.weight >= 1 and _is_agency_by_name(field, start, end, lex):
                        continue  # "Kính gửi Bảo hiểm xã hội Việt Nam": the agency
                    weight = 1.5 * cue.weight
                    if cue.weight >= 1:
                        named.add(cue.label)
                        strong.add(cue.label)
                    insurance[cue.label] += weight
                    evidence.append(evidence_for(field, start, end, cue.tag, weight))
    # A type the message only touches in passing (a hospital in an accident claim, the
    # social-insurance book in an unemployment claim) does not count beside its main subject,
    # unless the text spells the insurance out ("thẻ BHYT hưu trí": the card is asked about).
    # A type supported only by loose words ("bệnh viện", "điều trị" in a sickness-benefit claim)
    # is context beside a type the message names or asks about in so many words.
    top = max(insurance.values(), default=0.0)
    chosen = sorted(
        label
        for label, score in insurance.items()
        if score >= 1 and (score >= INSURANCE_SHARE * top or label in named) and (label in strong or not strong)
    )
    if not chosen and context:
        chosen = sorted(context)  # "đã có thẻ BHYT rồi mà vẫn bị thu tiền": the held card is the matter
    topics = {label: score for label, score in topics.items() if score >= 1}
    confidence = min(1.0, 0.5 + 0.15 * sum(insurance.values())) if chosen else (0.7 if not insurance else 0.4)
    return chosen, sorted(topics), round(confidence, 2)
