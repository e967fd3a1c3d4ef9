"""Issue 12: a classifier reads a bounded prefix of what it is given, in linear time.

The inputs are generated (long runs of one word, thousands of place names, dotted runs,
repeated punctuation, tone-mark soup …), never copied from a fuzzing run.
"""

from __future__ import annotations

import random
import re

import pytest

from classifiers import classify
from classifiers.fields import (
    MAX_BODY_CHARS,
    MAX_BODY_READ_CHARS,
    MAX_SUBJECT_CHARS,
    address_spans,
    bounded_prefixes,
    read_fields,
)
from classifiers.lexicon import lexicon

QUESTION = "Cho em hỏi đóng BHXH tự nguyện được bao nhiêu năm thì được hưởng lương hưu ạ?\n"
# Past the bound, a place and a complaint that would change every label if they were read.
TAIL = "\nTôi ở huyện Năm Căn, tỉnh Cà Mau. Công ty nợ BHYT, khiếu nại bức xúc, đề nghị xử lý!"


def _filler(rng: random.Random, size: int) -> str:
    words = ["và", "thì", "là", "vẫn", "rồi", "nhé", "ừ", "ờ", "...", "!!!", "a.b", "x-y"]
    out: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(words)
        out.append(word)
        length += len(word) + 1
    return " ".join(out)


def _hostile_texts(size: int, seed: int = 12) -> dict[str, str]:
    rng = random.Random(seed)
    tone_marks = "àáảãạăằắẳẵặâầấẩẫậơớờởỡợ\u0300\u0301\u0303\u0309\u0323 "
    return {
        "one word repeated": "bảo hiểm " * (size // 9),
        "place names": ", ".join(rng.choice(["Hà Nội", "huyện Năm Căn", "tỉnh Cà Mau", "Long An", "Q.7", "TP.HCM"]) for _ in range(size // 8)),
        "dotted run": "a." * (size // 2) + " bhxh.gov.vn",
        "dotted run with hyphens": "ab.cd-" * (size // 6) + ".com",
        "at signs": "a@" * (size // 2),
        "repeated punctuation": "?!.,;:()" * (size // 8),
        "one long line": "x" * size,
        "capitals": "HÀ NỘI BHXH KHIẾU NẠI " * (size // 22),
        "word without spaces": "đóngbảohiểmxãhội" * (size // 16),
        "tone-mark soup": "".join(rng.choice(tone_marks) for _ in range(size)),
        "many lines": "Trân trọng,\nHà Nội\n> trích\n" * (size // 26),
        "shorthand": "ko ntn k dc ad oi " * (size // 18),
    }


def test_a_huge_body_is_classified_by_its_bounded_prefix() -> None:
    body = QUESTION + _filler(random.Random(1), MAX_BODY_READ_CHARS) + TAIL
    assert len(body) > MAX_BODY_READ_CHARS
    whole = classify("Hỏi về lương hưu", body)
    prefix = classify("Hỏi về lương hưu", body[:MAX_BODY_READ_CHARS])
    assert whole == prefix
    assert whole.province_code is None  # Cà Mau lies past the bound
    assert whole.insurance_types == ["BHXH"]


def test_a_one_megabyte_body_reads_no_more_than_the_bound() -> None:
    body = QUESTION + "bảo hiểm y tế Cà Mau khiếu nại " * (1_000_000 // 31)
    subject = "Hà Nội " * 100_000
    fields = read_fields(subject, body, lexicon())
    assert len(fields[0].text) <= MAX_SUBJECT_CHARS
    assert len(fields[1].text) <= MAX_BODY_CHARS
    assert classify(subject, body) == classify(subject[:MAX_SUBJECT_CHARS], body[:MAX_BODY_READ_CHARS])


def test_a_long_subject_is_classified_by_its_bounded_prefix() -> None:
    subject = "Hỏi về thẻ BHYT " + "ờ " * MAX_SUBJECT_CHARS + " tại Cà Mau khiếu nại"
    result = classify(subject, "")
    assert result == classify(subject[:MAX_SUBJECT_CHARS], "")
    assert result.province_code is None


def test_short_texts_are_read_whole() -> None:
    subject, body = "Hỏi về BHYT", QUESTION * 3
    assert bounded_prefixes(subject, body) == (subject, body.strip())


@pytest.mark.parametrize("name", sorted(_hostile_texts(64)))
def test_hostile_input_reads_the_same_prefix_and_keeps_offsets(name: str) -> None:
    text = _hostile_texts(MAX_BODY_READ_CHARS + 5_000)[name]
    result = classify(text, text)
    assert result == classify(text[:MAX_SUBJECT_CHARS], text[:MAX_BODY_READ_CHARS])
    for evidence in result.evidence:  # offsets point into the bounded prefix of the text as written
        assert evidence.end <= (MAX_SUBJECT_CHARS if evidence.field == "subject" else MAX_BODY_CHARS)


# The former single pattern: quadratic on dotted runs, kept here as the reference on short texts.
_REFERENCE = re.compile(r"\S+@\S+|https?://\S+|www\.\S+|\b[\w-]+(\.[\w-]+)+\.(vn|com|net|org|gov|edu|info)\b")


def _masked(spans: list[tuple[int, int]], size: int) -> set[int]:
    return {offset for start, end in spans for offset in range(start, end)} if size else set()


def test_address_scan_finds_what_the_former_pattern_found_on_short_texts() -> None:
    rng = random.Random(2025)
    pieces = ["a", "bhxh", "gov", "vn", "com", ".", ".", "@", " ", "www.", "http://", "x1", "mx1", "cskh"]
    for _ in range(3000):
        text = " ".join("".join(rng.choice(pieces) for _ in range(rng.randint(1, 6))) for _ in range(rng.randint(1, 4)))
        reference = _masked([m.span() for m in _REFERENCE.finditer(text)], len(text))
        assert _masked(address_spans(text), len(text)) == reference, text


def test_address_scan_reads_each_character_a_bounded_number_of_times() -> None:
    # Linear work, counted: the host-name pattern is tried only at label starts and consumes a
    # dotted run whole, so its matches never overlap and never exceed the labels.
    text = "a." * 20_000 + " mx1.bhxh-cskh.vn"
    spans = address_spans(text)
    assert spans == [(len(text) - len("mx1.bhxh-cskh.vn"), len(text))]
