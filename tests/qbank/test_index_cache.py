"""The index cache: an unchanged bank is read back, a changed entry or a damaged file is rebuilt."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from qbank.entry import BankEntry
from qbank.index_cache import bank_key, cached_index
from qbank.retrieve import build_index, suggest

QUERY = "mat the bhyt xin cap lai o dau"


def _ids(index, body: str = QUERY) -> list[str]:  # type: ignore[no-untyped-def]
    return [s.entry_id for s in suggest(index, None, body, threshold=0.0)]


def test_the_cached_index_suggests_what_a_fresh_one_does(sample_bank: list[BankEntry], tmp_path: Path) -> None:
    first = cached_index(sample_bank, tmp_path)
    assert len(list(tmp_path.glob("*.pickle"))) == 1
    again = cached_index(sample_bank, tmp_path)
    assert again is not first  # read back from the file, not the same object
    fresh = build_index(sample_bank)
    for body in (QUERY, "đóng bhtn 11 tháng thì có được hưởng thất nghiệp ko", "tuổi nghỉ hưu năm 2026"):
        assert [(s.entry_id, round(s.score, 6)) for s in suggest(again, None, body, threshold=0.0)] == [
            (s.entry_id, round(s.score, 6)) for s in suggest(fresh, None, body, threshold=0.0)
        ]


def test_a_changed_entry_gives_a_new_key_and_a_new_index(sample_bank: list[BankEntry], tmp_path: Path) -> None:
    cached_index(sample_bank, tmp_path)
    changed = [replace(e, question="Đăng ký xe máy ở đâu?", answer="Tại công an.") if e.id == "q48" else e for e in sample_bank]
    assert bank_key(changed) != bank_key(sample_bank)
    index = cached_index(changed, tmp_path)
    assert len(list(tmp_path.glob("*.pickle"))) == 2
    assert "q48" not in _ids(index)[:1]
    assert _ids(cached_index(sample_bank, tmp_path))[0] == "q48"


def test_a_damaged_cache_file_is_rebuilt(sample_bank: list[BankEntry], tmp_path: Path) -> None:
    cached_index(sample_bank, tmp_path)
    (path,) = tmp_path.glob("*.pickle")
    path.write_bytes(b"not a pickle")
    index = cached_index(sample_bank, tmp_path)
    assert _ids(index)[0] == "q48"
    assert path.read_bytes() != b"not a pickle"
