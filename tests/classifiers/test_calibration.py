"""The shipped calibration is what scripts/build_calibration.py builds from the labeled sets,
and classify reports the calibrated confidences."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from classifiers import classify
from classifiers.calibration import CALIBRATION_FILE, calibrate, calibration, interpolate, province_confidence
from classifiers.classify import classify_raw, classify_scored

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "build_calibration.py"


def test_the_shipped_calibration_is_rebuilt_from_the_data(tmp_path: Path) -> None:
    out = tmp_path / "calibration.json"
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], check=True, cwd=ROOT, capture_output=True)
    assert out.read_text(encoding="utf-8") == CALIBRATION_FILE.read_text(encoding="utf-8")


def test_the_calibration_never_reads_the_heldout_set() -> None:
    source = SCRIPT.read_text(encoding="utf-8")
    assert "heldout_h" not in source
    built = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    assert "not the held-out set" in built["about"]


def test_each_mapping_is_monotone_and_never_certain() -> None:
    for family, (xs, ys) in calibration().items():
        assert list(ys) == sorted(ys), family
        assert all(0.0 < y < 1.0 for y in ys), family


def test_interpolation_between_and_beyond_breakpoints() -> None:
    xs, ys = (0.2, 0.6, 1.0), (0.3, 0.5, 0.9)
    assert interpolate(xs, ys, 0.0) == 0.3
    assert interpolate(xs, ys, 0.4) == pytest.approx(0.4)
    assert interpolate(xs, ys, 0.8) == pytest.approx(0.7)
    assert interpolate(xs, ys, 2.0) == 0.9


def test_classify_reports_the_calibrated_confidence() -> None:
    subject, body = "Khiếu nại chậm trả trợ cấp thất nghiệp", "Tôi ở phường Bến Thành, TP Hồ Chí Minh, nộp hồ sơ hưởng trợ cấp thất nghiệp đã 2 tháng chưa nhận được tiền."
    raw, result = classify_raw(subject, body), classify(subject, body)
    assert result.province_code is not None
    for family in ("insurance_types", "category"):
        assert result.confidence[family] == calibrate(family, raw.confidence[family])
    _scored, features = classify_scored(subject, body)
    assert features is not None and result.confidence["province"] == province_confidence(features)  # brief C2: from its features
