"""A report as a terminal table, JSON, CSV or XLSX. Labels come from the database (source names,
units): CSV cells are neutralized against spreadsheet formulas; the table prints them as text."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from rich.table import Table

from reports.model import Report

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell_text(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".") if value == value else "–"
    return str(value)


def safe_cell(value: Any) -> Any:
    """Text from the database never becomes a spreadsheet formula (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _lines(report: Report) -> list[dict[str, Any]]:
    return report.rows + ([report.total] if report.total is not None else [])


def to_json(report: Report) -> str:
    return json.dumps(report.as_json(), ensure_ascii=False, default=str)


def to_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["group", *[c.key for c in report.columns]])
    writer.writerow(["", *[c.heading for c in report.columns]])
    for row in _lines(report):
        writer.writerow([safe_cell(row.get("group") or ""), *[safe_cell(row.get(c.key)) if row.get(c.key) is not None else "" for c in report.columns]])
    return out.getvalue()


# More figures than this read better one per line, with a column per group.
WIDE = 9


def to_table(report: Report) -> Table:
    table = Table(title=f"{report.title}: {report.period.start:%d/%m/%Y} – {report.period.end:%d/%m/%Y}")
    if len(report.columns) > WIDE:
        lines = _lines(report)
        table.add_column(report.columns[0].heading)
        for row in lines:
            table.add_column(cell_text(row.get("label")), justify="right")
        for column in report.columns[1:]:
            table.add_row(column.heading, *[cell_text(row.get(column.key)) for row in lines])
        return table
    for column in report.columns:
        table.add_column(column.heading, justify="left" if column.key == "label" else "right")
    for row in _lines(report):
        table.add_row(*[cell_text(row.get(c.key)) for c in report.columns])
    return table


def to_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = report.name
    sheet.append([f"{report.title}: {report.period.start:%d/%m/%Y} – {report.period.end:%d/%m/%Y}"])
    sheet.append([c.heading for c in report.columns])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in _lines(report):
        sheet.append([safe_cell(row.get(c.key)) for c in report.columns])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
