"""Generated call logs: a few hundred varied rows, written as CSV or XLSX."""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

HEADER = ["Mã cuộc gọi", "Thời gian", "Số điện thoại", "Điện thoại viên", "Thời lượng", "Thời gian chờ", "Chiều", "Tóm tắt", "Kết quả"]
SUMMARIES = [
    "Người dân hỏi thủ tục cấp lại thẻ BHYT bị mất, đã hướng dẫn nộp tờ khai TK1-TS.",
    "Khiếu nại chậm chi trả trợ cấp thất nghiệp ở Đồng Nai, đề nghị BHXH tỉnh kiểm tra.",
    "Hỏi điều kiện hưởng BHXH một lần sau khi nghỉ việc.",
    "",
    "",
]
OUTCOMES = [("answered", "đã trả lời"), ("missed", "gọi nhỡ"), ("abandoned", "bỏ máy")]


@dataclass(frozen=True)
class GeneratedRow:
    call_id: str
    number: str
    outcome: str
    summary: str
    cells: list[str]


def generated_rows(count: int, seed: int = 18) -> list[GeneratedRow]:
    chooser = random.Random(seed)
    start = datetime(2025, 11, 24, 7, 30)
    rows = []
    for index in range(count):
        outcome, word = chooser.choice(OUTCOMES)
        summary = chooser.choice(SUMMARIES) if outcome == "answered" else ""
        number = f"09{chooser.randrange(10_000_000, 99_999_999)}"
        duration = chooser.randrange(20, 900) if outcome == "answered" else 0
        wait = chooser.randrange(0, 120)
        moment = start + timedelta(minutes=3 * index)
        when = moment.strftime("%d/%m/%Y %H:%M:%S") if index % 2 else moment.isoformat(sep=" ")
        spaced = f"{number[:4]} {number[4:7]} {number[7:]}" if index % 3 == 0 else number
        cells = [f"CG-{index:05d}", when, spaced, chooser.choice(["Hà", "Minh", "Lan"]), f"{duration // 60}:{duration % 60:02d}", str(wait),
                 chooser.choice(["gọi đến", "inbound"]), summary, word]
        rows.append(GeneratedRow(f"CG-{index:05d}", number, outcome, summary, cells))
    return rows


def as_csv(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def as_xlsx(header: list[str], rows: list[list[object]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
