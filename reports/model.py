"""What every report is: named columns with Vietnamese headings, one row per group, a total."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reports.period import Period


@dataclass(frozen=True)
class Column:
    key: str
    heading: str  # Vietnamese, for the table, CSV, XLSX and PDF


@dataclass
class Report:
    name: str
    title: str
    period: Period
    by: str | None
    columns: list[Column]
    rows: list[dict[str, Any]]  # each has "group" (the raw key, None for "not known") and "label"
    total: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)  # acceptance: the tickets behind each breach

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "report": self.name,
            "from": self.period.start.isoformat(),
            "to": self.period.end.isoformat(),
            "by": self.by,
            "rows": self.rows,
        }
        if self.total is not None:
            data["total"] = self.total
        data.update(self.details)
        return data
