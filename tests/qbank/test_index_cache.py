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


def _counting_reads(monkeypatch) -> list[str]:  # type: ignore[no-untyped-def]
    """The real qbank.retrieve.entry_tokens, recording which entries it reads."""
    import qbank.index_cache

    read: list[str] = []
    real = qbank.index_cache.entry_tokens

    def reading(entry: BankEntry):  # type: ignore[no-untyped-def]
        read.append(entry.id)
        return real(entry)

    monkeypatch.setattr(qbank.index_cache, "entry_tokens", reading)
    return read


def test_after_a_change_only_the_changed_entry_is_read_again(sample_bank: list[BankEntry], tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    read = _counting_reads(monkeypatch)
    cached_index(sample_bank, tmp_path)
    assert sorted(read) == sorted(e.id for e in sample_bank)  # nothing cached: every entry read
    read.clear()
    changed = [replace(e, answer=e.answer + " Xem thêm tại cổng Dịch vụ công.") if e.id == "q48" else e for e in sample_bank]
    index = cached_index(changed, tmp_path)
    assert read == ["q48"]
    fresh = build_index(changed)
    for body in (QUERY, "đóng bhtn 11 tháng thì có được hưởng thất nghiệp ko", "dịch vụ công cấp lại thẻ"):
        assert [(s.entry_id, s.score, s.matched) for s in suggest(index, None, body, threshold=0.0)] == [
            (s.entry_id, s.score, s.matched) for s in suggest(fresh, None, body, threshold=0.0)
        ]
    read.clear()
    cached_index(changed, tmp_path)  # the whole index is cached now
    assert read == []


def test_a_damaged_readings_file_is_read_again(sample_bank: list[BankEntry], tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    cached_index(sample_bank, tmp_path)
    (readings,) = tmp_path.glob("readings-*")
    readings.write_bytes(b"\x80\x05 broken")
    for index_file in tmp_path.glob("*.pickle"):
        index_file.unlink()
    read = _counting_reads(monkeypatch)
    index = cached_index(sample_bank, tmp_path)
    assert len(read) == len(sample_bank)
    assert _ids(index)[0] == "q48"
    assert readings.read_bytes() != b"\x80\x05 broken"
