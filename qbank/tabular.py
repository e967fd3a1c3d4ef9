"""The bank as a table: CSV and XLSX (openpyxl) files, and the sample's JSONL, chosen by extension.

Columns (first row, in any order; docs/qbank.md): id, question, alternatives (one phrasing per
line within the cell), answer, insurance_type (BHXH | BHYT | BHTN | empty), topic, legal_basis,
status (draft | published | retired; empty is published). Reading gives, for every data row,
its line number and the entry or the reason it is not one, so one bad row loses nothing else.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from qbank.entry import BankEntry, EntryError, entry_from_mapping, entry_to_mapping, read_jsonl_entries

COLUMNS = ("id", "question", "alternatives", "answer", "insurance_type", "topic", "legal_basis", "status")
REQUIRED_COLUMNS = ("id", "question", "answer")
FORMATS = (".csv", ".xlsx", ".jsonl")

Row = tuple[int, BankEntry | EntryError]


def file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise EntryError(f"không biết định dạng '{suffix or path.name}': dùng .csv, .xlsx hoặc .jsonl")
    return suffix


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _rows_from_table(header: Sequence[Any], rows: Iterator[tuple[int, Sequence[Any]]]) -> Iterator[Row]:
    names = [_cell(name).strip().lower() for name in header]
    missing = [column for column in REQUIRED_COLUMNS if column not in names]
    if missing:
        raise EntryError(f"dòng 1: thiếu cột {', '.join(missing)} (các cột: {', '.join(COLUMNS)})")
    for number, values in rows:
        if not any(_cell(v).strip() for v in values):
            continue
        mapping = {name: _cell(value) for name, value in zip(names, values, strict=False) if name}
        try:
            yield number, entry_from_mapping(mapping)
        except EntryError as exc:
            yield number, exc


def read_table(path: Path) -> Iterator[Row]:
    """(line number, entry or its problem) for each data row of a CSV, XLSX or JSONL file."""
    kind = file_format(path)
    if kind == ".jsonl":
        with path.open(encoding="utf-8") as stream:
            yield from read_jsonl_entries(stream)
        return
    if kind == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as stream:
            reader = csv.reader(stream)
            header = next(reader, None)
            if header is None:
                raise EntryError("tệp trống")
            # csv.reader's line_num is the physical line where the row ends; a row's first line is
            # the previous row's end + 1 (a cell may hold several lines).
            def numbered() -> Iterator[tuple[int, Sequence[Any]]]:
                start = reader.line_num + 1
                for values in reader:
                    yield start, values
                    start = reader.line_num + 1

            yield from _rows_from_table(header, numbered())
        return
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise EntryError("tệp trống")
        yield from _rows_from_table(header, ((number, values) for number, values in enumerate(rows, 2)))
    finally:
        workbook.close()


def _table_row(entry: BankEntry) -> list[str]:
    mapping = entry_to_mapping(entry)
    mapping["alternatives"] = "\n".join(entry.alternatives)
    return [_cell(mapping[column]) for column in COLUMNS]


def write_table(path: Path, entries: Sequence[BankEntry]) -> None:
    kind = file_format(path)
    if kind == ".jsonl":
        with path.open("w", encoding="utf-8") as stream:
            for entry in entries:
                stream.write(json.dumps(entry_to_mapping(entry), ensure_ascii=False) + "\n")
        return
    if kind == ".csv":
        with path.open("w", encoding="utf-8", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow(COLUMNS)
            writer.writerows(_table_row(entry) for entry in entries)
        return
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Ngân hàng câu hỏi"
    sheet.append(list(COLUMNS))
    for entry in entries:
        sheet.append(_table_row(entry))
        for cell in sheet[sheet.max_row]:
            cell.data_type = "s"  # openpyxl reads a str starting with "=" as a formula: text stays text
    workbook.save(path)
