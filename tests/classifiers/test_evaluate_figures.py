"""`tiepnhan evaluate` prints issue 17's four figures, the wrong-province rate among them."""

from __future__ import annotations

import pytest

from classifiers import classify
from classifiers.evaluate import evaluate, headline, render


def _row(row_id: str, body: str, province: str | None) -> dict[str, object]:
    return {"id": row_id, "channel": "facebook_message", "subject": None, "body": body,
            "labels": {"insurance_types": ["BHYT"], "province_code": province, "category": "question"}}


def test_a_wrong_province_is_counted_apart_from_an_empty_one() -> None:
    rows = [
        _row("right", "Tôi ở Cần Thơ, thẻ BHYT gia hạn ở đâu ạ?", "92"),
        _row("wrong", "Tôi ở Cần Thơ, thẻ BHYT gia hạn ở đâu ạ?", "96"),  # labelled elsewhere: a wrong office
        _row("empty", "Thẻ BHYT gia hạn ở đâu ạ?", "96"),  # no place said: empty, not wrong
    ]
    report = evaluate(rows)
    assert report.wrong_province == 1
    assert abs(report.wrong_province_rate() - 1 / 3) < 1e-9
    line = headline(report)
    assert "wrong province 33.3% (1)" in line
    assert "province 0.333" in line
    assert line in render(report)
    assert "96 → 92: 1" in render(report) and "96 → None: 1" in render(report)


def test_the_reliability_table_counts_the_provinces_given_by_confidence() -> None:
    rows = [
        _row("right", "Tôi ở Cần Thơ, thẻ BHYT gia hạn ở đâu ạ?", "92"),
        _row("wrong", "Tôi ở Cần Thơ, thẻ BHYT gia hạn ở đâu ạ?", "96"),
        _row("empty", "Thẻ BHYT gia hạn ở đâu ạ?", None),
    ]
    report = evaluate(rows)
    cells = report.reliability["province_code"]
    assert sum(count for count, _right, _confidence in cells.values()) == 2  # an empty province has no confidence to check
    assert sum(right for _count, right, _confidence in cells.values()) == 1
    given = classify(None, "Tôi ở Cần Thơ, thẻ BHYT gia hạn ở đâu ạ?").confidence["province"]
    assert sum(confidence for _count, _right, confidence in cells.values()) == pytest.approx(2 * given)  # the mean shown beside the share right
    assert "reliability (confidence bin: tags, mean confidence → share right):" in render(report)
