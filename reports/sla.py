"""SLA attainment per unit (the provincial offices and central units): escalations sent to the
unit in the period, answered within the deadline or not, overdue now, reroutes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from reports.groups import group_label, sort_groups
from reports.model import TOTAL, Column, Report, cell_key
from reports.period import Period
from reports.rows import EscalationRow
from reports.stats import hours, median, share

COLUMNS = [
    Column("label", "Đơn vị"),
    Column("sent", "Đã gửi đơn vị"),
    Column("answered", "Đơn vị đã trả lời"),
    Column("answered_in_time", "Trả lời đúng hạn"),
    Column("sla_attainment", "Tỉ lệ đúng hạn"),
    Column("answer_median_h", "Thời gian trả lời: trung vị (giờ làm việc)"),
    Column("resolved", "Đã giải quyết"),
    Column("overdue_now", "Quá hạn hiện nay"),
    Column("rerouted", "Bị chuyển sang đơn vị khác"),
]


def _figures(escalations: list[EscalationRow], overdue: int, begin: datetime, end: datetime) -> dict[str, Any]:
    sent = [e for e in escalations if e.sent_at is not None and begin <= e.sent_at < end]
    answered = [e for e in sent if e.acknowledged_at is not None]
    in_time = [e for e in sent if e.acknowledge_sla_met]
    return {
        "sent": len(sent),
        "answered": len(answered),
        "answered_in_time": len(in_time),
        # Of what was sent and is due by now: one overdue and unanswered is a miss.
        "sla_attainment": share(len(in_time), len(sent)),
        "answer_median_h": hours(median([e.acknowledge_business_minutes for e in answered if e.acknowledge_business_minutes is not None])),
        "resolved": sum(e.resolved_at is not None for e in sent),
        "overdue_now": overdue,
        "rerouted": sum(e.reroute_count for e in escalations),
    }


def _members(escalations: list[EscalationRow], overdue: list[EscalationRow], begin: datetime, end: datetime) -> dict[str, set[int]]:
    """The tickets behind each figure of `_figures`."""
    sent = [e for e in escalations if e.sent_at is not None and begin <= e.sent_at < end]
    answered = {e.ticket_id for e in sent if e.acknowledged_at is not None}
    return {
        "sent": {e.ticket_id for e in sent},
        "answered": answered,
        "answered_in_time": {e.ticket_id for e in sent if e.acknowledge_sla_met},
        "sla_attainment": {e.ticket_id for e in sent if e.acknowledge_sla_met},
        "answer_median_h": answered,
        "resolved": {e.ticket_id for e in sent if e.resolved_at is not None},
        "overdue_now": {e.ticket_id for e in overdue},
        "rerouted": {e.ticket_id for e in escalations if e.reroute_count > 0},
    }


def sla_report(escalations: Sequence[EscalationRow], overdue: Sequence[EscalationRow], period: Period, unit_names: dict[str, str] | None = None) -> Report:
    begin, end = period.utc_bounds()
    by_unit: dict[str | None, list[EscalationRow]] = defaultdict(list)
    for escalation in escalations:
        by_unit[escalation.unit_id].append(escalation)
    overdue_by_unit: dict[str | None, list[EscalationRow]] = defaultdict(list)
    for escalation in overdue:
        overdue_by_unit[escalation.unit_id].append(escalation)
        by_unit.setdefault(escalation.unit_id, [])
    rows = []
    members: dict[str, dict[str, set[int]]] = {}
    for unit in sort_groups(list(by_unit)):
        rows.append({"group": unit, "label": group_label("unit", unit, unit_names), **_figures(by_unit[unit], len(overdue_by_unit[unit]), begin, end)})
        members[cell_key(unit)] = _members(by_unit[unit], overdue_by_unit[unit], begin, end)
    total = {"group": None, "label": "Tổng cộng", **_figures(list(escalations), len(overdue), begin, end)}
    members[TOTAL] = _members(list(escalations), list(overdue), begin, end)
    report = Report("sla", "Thời hạn xử lý của các đơn vị", period, "unit", COLUMNS, rows, total)
    report.members = members
    return report
