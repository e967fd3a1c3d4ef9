"""What every report is: named columns with Vietnamese headings, one row per group, a total."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reports.period import Period


@dataclass(frozen=True)
class Column:
    key: str
    heading: str  # Vietnamese, for the table, CSV, XLSX and PDF


# Figures that are shares (0..1): shown as percentages.
SHARE_FIGURES = frozenset({"share", "target_share", "sla_attainment", "spam_share", "first_response_within_target", "resolution_within_target", "auto_answered_share"})
TOTAL = "*"  # the cell key of the total row
NOT_KNOWN = "~"  # the cell key of the row of tickets with no value for the grouping


def cell_key(group: str | None) -> str:
    return NOT_KNOWN if group is None else str(group)


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
    # The tickets behind each figure, for the drill-down links of the web page: cell → figure →
    # ticket ids, the cell being `cell_key(row["group"])` or TOTAL. Not part of the exports.
    members: dict[str, dict[str, set[int]]] = field(default_factory=dict, repr=False)

    def tickets_behind(self, cell: str, figure: str) -> set[int] | None:
        """The tickets a figure counts (None: that figure does not count tickets)."""
        return self.members.get(cell, {}).get(figure)

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
