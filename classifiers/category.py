"""The category of a message: complaint, question or other, and whether it is selling something."""

from __future__ import annotations

import re
from collections import defaultdict

from classifiers.fields import Field, evidence_for, longest_only, names_any
from classifiers.insurance import Matches
from classifiers.lexicon import Lexicon
from classifiers.result import Evidence
from classifiers.text import spaced

QUESTION_MARK = re.compile(r"\?")
SCAM_TOPIC = "lừa đảo"  # keywords.toml: a scam named


def find_category(fields: list[Field], lex: Lexicon, insurance: list[str], topics: list[str], evidence: list[Evidence]) -> tuple[str, float]:
    scores: dict[str, float] = defaultdict(float)
    greeting = thanks = 0.0
    asks_after_vent = False  # a question mark after the last venting phrase
    declared = _declared_category(fields[0], lex) if fields[0].name == "subject" else None
    for field in fields:
        for start, end, cues in longest_only(field.cue_spans):
            for cue in cues:
                if cue.family == "category":
                    if cue.label == "complaint" and _supposed(field, start, lex):
                        continue  # "nếu không đóng thì …", "có bị mất … không?": nothing went wrong yet
                    weight = 1.5 if field.name == "subject" else 1.0
                    if cue.label == "greeting" or (cue.label == "other" and field.start_of(start) >= field.closing_at):
                        # "Chào ad,", "Xin cảm ơn.": politeness, unless that is all there is
                        if cue.label == "greeting":
                            greeting += weight
                        else:
                            thanks += weight
                        evidence.append(evidence_for(field, start, end, "category:other", weight))
                        continue
                    scores[cue.label] += weight
                    evidence.append(evidence_for(field, start, end, cue.tag, weight))
                    if cue.label == "vent":
                        asks_after_vent = "?" in field.text[field.end_of(end - 1) :]
        marks = len(QUESTION_MARK.findall(field.text))
        if marks:
            scores["question"] += min(marks, 2) * 0.5
    why = scores.pop("why", 0.0)
    if why:
        scores["complaint" if scores["complaint"] >= 1 else "question"] += why
    vent = scores.pop("vent", 0.0)
    if vent and not (scores["complaint"] < 1 and asks_after_vent):
        scores["complaint"] += vent  # "bức xúc quá, … cần giấy tờ gì?": feelings before a real question do not make it a complaint
    substantive = bool(insurance or topics)
    if scores["complaint"] < 1 and scores["question"] < 1:
        # A greeting before an insurance matter is only politeness; a closing thank-you after
        # one ("… đã được cấp lại rồi. Cảm ơn ad.") is a thank-you note.
        scores["other"] += thanks + (0.0 if substantive else greeting)
    complaint, question, other = scores["complaint"], scores["question"], scores["other"]
    if declared and substantive:
        label = declared  # "Hỏi cách tính lãi chậm đóng": the employer asks, whatever went wrong
    elif not substantive and not _within_the_service(fields, lex):
        label = "other"  # "làm căn cước ở đâu?", "page có bán sách không?": not for this service
    elif other >= 1 and complaint < 1 and (question < 1 or (not substantive and question <= other)):
        label = "other"  # thanks, greetings, "is anyone there?"
    elif not substantive and complaint < 1 and question < 1:
        label = "other"
    elif SCAM_TOPIC in topics and question >= 1 and not _asks_action(fields, lex):
        label = "question"  # "có người giả danh BHXH …, tin này có thật không?": asks whether it is a scam
    elif _asks_if_lawful(fields, lex):
        label = "question"  # "trừ lương mà không nộp thì có vi phạm pháp luật không?": wants to know the law
    elif complaint >= 1.5 or (complaint >= 1 and complaint >= question - 0.5):
        label = "complaint"  # complaints often end in a rhetorical question
    elif question > 0 or substantive:
        label = "question"
    else:
        label = "other"
    total = complaint + question + other
    confidence = 0.5 if total == 0 else max(0.34, scores[label] / total if label in scores else 0.5)
    return label, round(min(confidence, 0.99), 2)


def _asks_if_lawful(fields: list[Field], lex: Lexicon) -> bool:
    """The writer asks whether something is lawful and asks no office to act."""
    texts = [spaced(field.words) for field in fields]
    return any(lex.legality_questions.search(text) for text in texts) and not any(lex.action_requests.search(text) for text in texts)


def _asks_action(fields: list[Field], lex: Lexicon) -> bool:
    """The writer asks an office to act ("đề nghị …", "khiếu nại", "can thiệp")."""
    return any(lex.action_requests.search(spaced(field.words)) for field in fields)


def _within_the_service(fields: list[Field], lex: Lexicon) -> bool:
    """The message names the agency, its offices, its app or its papers."""
    return any(lex.service.search(spaced(field.words)) for field in fields)


HYPOTHETICAL_WINDOW = 4  # words before a complaint word searched for "nếu", "giả sử" …


def _supposed(field: Field, start: int, lex: Lexicon) -> bool:
    """A complaint word inside a supposition or a yes-no question: the words before it (and its
    own first word, for "có bị …") hold one of the hypothetical phrases."""
    return names_any(spaced(field.words[max(0, start - HYPOTHETICAL_WINDOW) : start + 1]), lex.hypothetical)


# Markers before a subject's own words: a reply's ("Re:", "TL:" = trả lời, "AW:", "SV:"), and
# others ("Fwd:", "TR:" = chuyển tiếp, "V/v" = về việc).
REPLY_MARKERS = {"re", "tl", "aw", "sv"}
OTHER_MARKERS = {"fw", "fwd", "tr", "v"}


def _declared_category(subject: Field, lex: Lexicon) -> str | None:
    """What a subject says the letter is, by its opening words ("Hỏi về …", "Khiếu nại …").
    A reply's subject ("Re: Hướng dẫn …") is the first letter's, not this one's."""
    index = 0
    while index < len(subject.words) and subject.words[index] in REPLY_MARKERS | OTHER_MARKERS:
        if subject.words[index] in REPLY_MARKERS:
            return None
        index += 1
    opening = subject.words[index : index + lex.longest_opening]
    for size in range(len(opening), 0, -1):  # the longest opening that matches
        label = lex.subject_openings.get(tuple(opening[:size]))
        if label:
            return label
    return None


NO_MATTER_WEIGHT = 2.0  # one phrase of a message that carries no matter (an auto-reply, a newsletter) decides alone


def spam_score(fields: list[Field], longest: Matches, evidence: list[Evidence]) -> float:
    """Selling phrases count 1 each; the phrases of mail that carries no matter of its own
    (out-of-office, newsletters, notices, bounces, invitations) count NO_MATTER_WEIGHT."""
    score = 0.0
    for field in fields:
        for start, end, cues in longest[field.name]:
            spam = [cue for cue in cues if cue.family == "spam"]
            if spam:
                weight = NO_MATTER_WEIGHT if any(cue.label == "no_matter" for cue in spam) else 1.0
                score += weight
                evidence.append(evidence_for(field, start, end, "category:other", weight))
    return score
