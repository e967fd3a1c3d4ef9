"""Issue 17, brief C2: the province's confidence comes from what carries its risk (the margin
over the second province, the kind of evidence, the number of candidates, old names), so a
province given on weak evidence is less sure than one whose office is named as acting."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from classifiers import classify
from classifiers.calibration import CALIBRATION_FILE, province_confidence
from classifiers.classify import classify_scored
from classifiers.province import FEATURE_NAMES, ProvinceFeatures

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import build_calibration  # noqa: E402

COMPLAINT = "Tôi nộp hồ sơ hưởng chế độ thai sản từ tháng 8 mà đến nay vẫn chưa nhận được tiền, gọi điện không ai nghe."
ACTING = f"Đề nghị BHXH tỉnh Nghệ An kiểm tra giúp. {COMPLAINT}"
SIGNATURE_ONLY = f"{COMPLAINT}\n\nTrân trọng,\nNguyễn Văn Bình\nSố 5 đường Lê Lợi, TP Vinh, tỉnh Nghệ An"
ONE_PLACE = f"Tôi làm việc tại Đồng Nai. {COMPLAINT}"
TWO_PLACES = f"Tôi làm việc tại Đồng Nai, quê ở Cần Thơ. {COMPLAINT}"


def _features(body: str) -> ProvinceFeatures:
    result, features = classify_scored("Chậm trả tiền thai sản", body)
    assert result.province_code is not None and features is not None
    return features


def test_an_office_named_as_acting_is_read_as_such_and_a_signature_as_signature_only() -> None:
    acting, signature = _features(ACTING), _features(SIGNATURE_ONLY)
    assert acting.acting_office == 1.0 and not acting.signature_only
    assert signature.signature_only and signature.acting_office == 0.0


def test_both_readings_give_the_same_province_with_a_calibrated_confidence() -> None:
    # The labeled sets hold 6 signature-only provinces given, none wrong, so the fitted model
    # does not make signature-only less sure (docs/classifiers.md); what it reads is tested above.
    acting = classify("Chậm trả tiền thai sản", ACTING)
    signature = classify("Chậm trả tiền thai sản", SIGNATURE_ONLY)
    assert acting.province_code == signature.province_code == "40"
    assert 0.0 < signature.confidence["province"] < 1.0 and 0.0 < acting.confidence["province"] < 1.0


def test_two_candidate_provinces_are_less_sure_than_one() -> None:
    one, two = _features(ONE_PLACE), _features(TWO_PLACES)
    assert (one.candidates, one.margin) == (1, 1.0)
    assert two.candidates == 2 and two.margin < 1.0
    single = classify("Chậm trả tiền thai sản", ONE_PLACE)
    double = classify("Chậm trả tiền thai sản", TWO_PLACES)
    assert single.province_code == double.province_code == "75"
    assert double.confidence["province"] < single.confidence["province"]


def test_a_pre_2025_name_is_marked_as_such() -> None:
    old = _features(f"Tôi làm việc ở Bình Dương. {COMPLAINT}")
    new = _features(ACTING)  # Nghệ An is a province of both maps
    assert old.old_province == 1.0 and new.old_province == 0.0


def test_the_confidence_is_the_shipped_logistic_model() -> None:
    shipped = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))["province"]
    assert shipped["features"] == list(FEATURE_NAMES)
    features = _features(ACTING)
    assert province_confidence(features) == build_calibration._confidence(shipped["weights"], shipped["intercept"], features.vector())
    assert 0.0 < province_confidence(features) < 1.0


def test_the_threshold_is_the_lowest_that_keeps_wrong_provinces_at_one_in_a_hundred() -> None:
    # 200 messages, 10 given a wrong province at confidences 0.70..0.79, 100 right ones at 0.90.
    confidences = [round(0.70 + 0.01 * i, 2) for i in range(10)] + [0.90] * 100
    rights = [0] * 10 + [1] * 100
    threshold = build_calibration.choose_threshold(confidences, rights, 200)
    assert threshold == pytest.approx(0.78)  # 0.78 and 0.79 are wrong: 2 of 200 = 1%
    assert build_calibration.rates(confidences, rights, 200, threshold) == {"wrong": 0.01, "right": 0.5, "empty": 0.49}


def test_cross_validation_never_scores_a_message_with_a_model_that_saw_it() -> None:
    # A feature that is the answer itself: a model fitted on all rows would be sure; out of fold
    # every row is still scored, by a model fitted on the others.
    rows = [((float(i % 2), 0.5), i % 2) for i in range(40)]
    confidences = build_calibration.out_of_fold(rows)
    assert len(confidences) == 40
    assert all((c > 0.5) == bool(y) for c, (_x, y) in zip(confidences, rows, strict=True))
