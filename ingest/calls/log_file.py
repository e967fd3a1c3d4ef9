"""A call-log file (CSV or XLSX) → calls, and one error per line that could not be read. Pure.

The first row names the columns (columns.toml says which names mean which field). A bad row is
reported with its line number (the line in the CSV file, the row in the sheet) and its reason,
in Vietnamese; every other row is still read. Times without an offset are the center's local
time (the `timezone` setting).
"""

from __future__ import annotations

import csv
import io
import tomllib
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ingest.calls.record import CallDirection, CallOutcome, CallRecordData
from ingest.phone import normalize_phone
from tickets.normalized import safe_line, safe_text

COLUMNS_FILE = Path(__file__).with_name("columns.toml")
TIME_FORMATS = ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M")
FIELD_LABELS = {"call_id": "mã cuộc gọi", "started_at": "thời gian", "citizen_number": "số điện thoại", "line_number": "đầu số", "agent": "điện thoại viên",
                "duration_seconds": "thời lượng", "wait_seconds": "thời gian chờ", "direction": "chiều cuộc gọi", "summary": "tóm tắt", "outcome": "kết quả"}
MAX_SUMMARY_CHARS = 10_000
MAX_ROWS = 200_000


class CallLogError(ValueError):
    """The whole file cannot be read (Vietnamese message)."""


@dataclass(frozen=True)
class LineError:
    line: int
    message: str


@dataclass(frozen=True)
class CallLog:
    calls: list[CallRecordData] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    lines: int = 0  # data rows read (not counting the header)


@dataclass(frozen=True)
class ColumnMapping:
    aliases: dict[str, tuple[str, ...]]
    required: tuple[str, ...]
    directions: dict[str, CallDirection]
    outcomes: dict[str, CallOutcome]


def fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).strip().lower().split())


@cache
def column_mapping(path: Path = COLUMNS_FILE) -> ColumnMapping:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    values = data["values"]
    return ColumnMapping(
        aliases={name: tuple(fold(a) for a in names) for name, names in data["columns"].items()},
        required=tuple(data["required"]),
        directions={fold(word): CallDirection(key) for key, words in values["direction"].items() for word in words},
        outcomes={fold(word): CallOutcome(key) for key, words in values["outcome"].items() for word in words},
    )


def header_fields(header: Sequence[Any], mapping: ColumnMapping) -> dict[int, str]:
    """column index → field; CallLogError when a required field has no column."""
    by_alias = {alias: name for name, aliases in mapping.aliases.items() for alias in aliases}
    found: dict[int, str] = {}
    for index, cell in enumerate(header):
        name = by_alias.get(fold(str(cell or "")))
        if name is not None and name not in found.values():
            found[index] = name
    missing = [FIELD_LABELS[f] + f" ({f})" for f in mapping.required if f not in found.values()]
    if missing:
        raise CallLogError("dòng tiêu đề thiếu cột: " + ", ".join(missing) + "; xem cách đặt tên cột trong docs/channels.md")
    return found


def parse_time(value: Any, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip()
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            for pattern in TIME_FORMATS:
                try:
                    moment = datetime.strptime(text, pattern)
                    break
                except ValueError:
                    continue
            else:
                raise ValueError(f"thời gian {safe_line(text)[:40]!r} không đọc được (dùng 2025-11-24 08:30:00 hoặc 24/11/2025 08:30)") from None
    return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment


def parse_seconds(value: Any, label: str) -> int:
    """'95', '1:35', '00:01:35', a sheet's number or time → 95."""
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise ValueError(f"{label} không phải số giây")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, time):
        seconds = value.hour * 3600 + value.minute * 60 + value.second
    elif isinstance(value, timedelta):
        seconds = value.total_seconds()
    else:
        text = str(value).strip()
        parts = text.split(":")
        if not 1 <= len(parts) <= 3 or not all(p.strip().isdigit() for p in parts):
            raise ValueError(f"{label} {safe_line(text)[:20]!r} không phải số giây (hoặc phút:giây)")
        seconds = 0
        for part in parts:
            seconds = seconds * 60 + int(part)
    if not 0 <= seconds <= 86_400:
        raise ValueError(f"{label} {value!r} phải từ 0 đến 86400 giây")
    return int(round(seconds))


def _cell(row: Sequence[Any], columns: dict[str, int], name: str) -> Any:
    index = columns.get(name)
    if index is None or index >= len(row):
        return None
    value = row[index]
    return value.strip() if isinstance(value, str) else value


def read_row(row: Sequence[Any], columns: dict[str, int], mapping: ColumnMapping, zone: ZoneInfo) -> CallRecordData:
    """One data row as a call; ValueError (Vietnamese) for the first thing wrong with it."""
    for name in mapping.required:
        if _cell(row, columns, name) in (None, ""):
            raise ValueError(f"thiếu {FIELD_LABELS[name]}")
    call_id = safe_line(str(_cell(row, columns, "call_id")))
    if len(call_id) > 200:
        raise ValueError("mã cuộc gọi dài quá 200 ký tự")
    number_cell = _cell(row, columns, "citizen_number")
    if isinstance(number_cell, int | float) and not isinstance(number_cell, bool):
        # A spreadsheet keeps a number typed into a number cell without its leading zero.
        number_cell = f"{int(number_cell)}"
        number_cell = number_cell if number_cell.startswith("84") and len(number_cell) >= 11 else "0" + number_cell
    number = normalize_phone(str(number_cell))
    if number is None:
        raise ValueError("số điện thoại không phải số Việt Nam")
    direction_text = fold(str(_cell(row, columns, "direction") or "inbound"))
    direction = mapping.directions.get(direction_text)
    if direction is None:
        raise ValueError(f"chiều cuộc gọi {safe_line(direction_text)[:20]!r} không rõ (gọi đến / gọi đi)")
    duration = parse_seconds(_cell(row, columns, "duration_seconds"), "thời lượng")
    wait = parse_seconds(_cell(row, columns, "wait_seconds"), "thời gian chờ")
    outcome_text = fold(str(_cell(row, columns, "outcome") or ""))
    if outcome_text:
        outcome = mapping.outcomes.get(outcome_text)
        if outcome is None:
            raise ValueError(f"kết quả {safe_line(outcome_text)[:20]!r} không rõ (đã trả lời / gọi nhỡ / bỏ máy)")
    else:
        outcome = CallOutcome.ANSWERED if duration > 0 else CallOutcome.MISSED
    summary = safe_text(str(_cell(row, columns, "summary") or "")).strip()
    if len(summary) > MAX_SUMMARY_CHARS:
        raise ValueError(f"tóm tắt dài quá {MAX_SUMMARY_CHARS} ký tự")
    started = parse_time(_cell(row, columns, "started_at"), zone)
    answered_at = started + timedelta(seconds=wait) if outcome is CallOutcome.ANSWERED else None
    return CallRecordData(
        call_id=call_id, started_at=started, citizen_number=number, direction=direction, outcome=outcome,
        agent=safe_line(str(_cell(row, columns, "agent") or ""))[:200], line_number=safe_line(str(_cell(row, columns, "line_number") or ""))[:40],
        duration_seconds=duration, wait_seconds=wait, answered_at=answered_at, ended_at=started + timedelta(seconds=wait + duration), summary=summary,
    )  # fmt: skip


def read_rows(rows: Iterable[tuple[int, Sequence[Any]]], zone: ZoneInfo, mapping: ColumnMapping | None = None) -> CallLog:
    """(line number, cells) rows, the first being the header → the calls and the bad lines."""
    mapping = mapping or column_mapping()
    iterator: Iterator[tuple[int, Sequence[Any]]] = iter(rows)
    for _line, header in iterator:
        if any(str(c or "").strip() for c in header):
            break
    else:
        raise CallLogError("tệp không có dòng tiêu đề (tệp trống)")
    columns = {name: index for index, name in header_fields(header, mapping).items()}  # field → column
    calls: list[CallRecordData] = []
    errors: list[LineError] = []
    first_line: dict[str, int] = {}
    count = 0
    for line, row in iterator:
        if not any(str(c or "").strip() for c in row):
            continue  # blank lines say nothing
        count += 1
        if count > MAX_ROWS:
            errors.append(LineError(line, f"tệp có hơn {MAX_ROWS} dòng: phần còn lại chưa đọc, hãy chia tệp"))
            break
        try:
            call = read_row(row, columns, mapping, zone)
        except ValueError as exc:
            errors.append(LineError(line, str(exc)))
            continue
        if call.call_id in first_line:
            errors.append(LineError(line, f"mã cuộc gọi {call.call_id!r} trùng với dòng {first_line[call.call_id]}"))
            continue
        first_line[call.call_id] = line
        calls.append(call)
    return CallLog(calls, errors, count)


def csv_rows(content: bytes) -> Iterator[tuple[int, list[str]]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CallLogError(f"tệp CSV phải mã hoá UTF-8 (byte lạ ở vị trí {exc.start})") from None
    try:
        dialect: Any = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    line = 1
    for row in reader:
        yield line, row
        line = reader.line_num + 1  # the line the next row starts on (a quoted field may span lines)


def xlsx_rows(content: bytes) -> Iterator[tuple[int, tuple[Any, ...]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a file that is not a workbook
        raise CallLogError(f"không đọc được tệp XLSX: {type(exc).__name__}") from None
    try:
        sheet = workbook.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, row
    finally:
        workbook.close()


def read_call_log(content: bytes, filename: str, zone: ZoneInfo) -> CallLog:
    """A CSV or XLSX file's bytes (the kind from its name) → its calls and errors."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        return read_rows(xlsx_rows(content), zone)
    if name.endswith((".csv", ".txt", ".tsv")):
        return read_rows(csv_rows(content), zone)
    raise CallLogError(f"tệp {safe_line(filename)!r} phải là .csv hoặc .xlsx")
