"""XLSX and CSV round trips through the database, and versions kept on every edit."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy.engine import Engine

from qbank.entry import BankEntry
from qbank.store import all_entries, save_entries, save_entry, versions_of
from qbank.tabular import read_table, write_table
from tickets.db import get_engine, migrate, session_scope


def _cells(path: Path) -> list[tuple[object, ...]]:
    workbook = load_workbook(path)
    try:
        return [tuple(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    finally:
        workbook.close()


def _engine(db_url: str) -> Engine:
    engine = get_engine(db_url)
    migrate(engine)
    return engine


def test_xlsx_to_database_to_xlsx_is_unchanged(sample_bank: list[BankEntry], db_url: str, tmp_path: Path) -> None:
    tricky = BankEntry("z1", "=HYPERLINK(\"x\") là gì?", "Dòng 1\nDòng 2 ‘ngoặc’", ("cách hỏi khác", "thêm một cách"), None, "t", "Điều 1", "draft")
    source = tmp_path / "in.xlsx"
    write_table(source, [*sample_bank, tricky])
    engine = _engine(db_url)
    read = [item for _, item in read_table(source)]
    assert all(isinstance(item, BankEntry) for item in read)
    with session_scope(engine) as session:
        result = save_entries(session, read, "nhap")  # type: ignore[arg-type]
    assert result.created == len(sample_bank) + 1
    with session_scope(engine) as session:
        stored = all_entries(session)
    again = tmp_path / "out.xlsx"
    write_table(again, stored)
    assert _cells(again) == _cells(source)
    assert {e.id: e for e in stored}["z1"] == tricky
    assert _cells(again)[-1][1] == tricky.question  # text, not a formula


def test_csv_round_trip_keeps_every_field(sample_bank: list[BankEntry], tmp_path: Path) -> None:
    entries = [*sample_bank[:5], BankEntry("m", "Hỏi, có \"dấu\" phẩy", "A,\nB", ("x", "y"), "BHTN", "t", "", "retired")]
    path = tmp_path / "bank.csv"
    write_table(path, entries)
    back = [item for _, item in read_table(path)]
    assert back == entries


def test_every_edit_is_a_new_version_and_an_unchanged_save_is_none(sqlite_url: str) -> None:
    engine = _engine(sqlite_url)
    entry = BankEntry("v1", "Mất sổ BHXH?", "Nộp tờ khai.", status="draft")
    with session_scope(engine) as session:
        save_entry(session, entry, "lan")
    with session_scope(engine) as session:
        _, changed = save_entry(session, entry, "lan")
        assert not changed
        save_entry(session, replace(entry, answer="Nộp tờ khai TK1-TS.", status="published"), "minh")
    with session_scope(engine) as session:
        versions = versions_of(session, "v1")
        current = all_entries(session)
    assert [(v.version, v.answer, v.status, v.changed_by) for v in versions] == [
        (1, "Nộp tờ khai.", "draft", "lan"),
        (2, "Nộp tờ khai TK1-TS.", "published", "minh"),
    ]
    assert current[0].answer == "Nộp tờ khai TK1-TS." and current[0].status == "published"
    assert versions[1].changed_at >= versions[0].changed_at


def test_control_characters_and_terminal_escapes_in_a_file_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "bank.csv"
    path.write_text(
        "id,question,answer,alternatives\n"
        "e1,\"Mất thẻ\x1b[2J\x1b]0;pwned\x07 BHYT?\",\"Đến\x00 BHXH\u202e huyện.\",\"cách\x08 khác\"\n",
        encoding="utf-8",
    )
    ((_, entry),) = list(read_table(path))
    assert isinstance(entry, BankEntry)
    assert (entry.question, entry.answer, entry.alternatives) == ("Mất thẻ BHYT?", "Đến BHXH huyện.", ("cách khác",))
