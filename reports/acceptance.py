"""Acceptance report for a period (a month or a quarter): each service target from config, the
figure, met or not, and the tickets behind each breach so that it can be checked one by one.

A ticket (or escalation) whose deadline has not come yet and is not done is pending: it is
neither within target nor a breach.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from config.settings import ReportTargetsConfig
from reports.model import Column, Report, cell_key
from reports.period import Period
from reports.rows import EscalationRow, TicketRow
from reports.stats import share
from tickets.business_time import BusinessCalendar, add_business_hours
from tickets.models import ticket_reference

COLUMNS = [
    Column("label", "Chỉ tiêu"),
    Column("counted", "Số được tính"),
    Column("within", "Đạt chỉ tiêu"),
    Column("share", "Tỉ lệ đạt"),
    Column("target_share", "Tỉ lệ yêu cầu"),
    Column("met", "Đạt"),
    Column("breaches", "Số vi phạm"),
]


@dataclass(frozen=True)
class Outcome:
    ticket_id: int
    within: bool | None  # None: pending (not done, deadline still ahead)


def _judge(started: datetime, done_minutes: float | None, hours: float, now: datetime, calendar: BusinessCalendar) -> bool | None:
    if done_minutes is not None:
        return done_minutes <= hours * 60
    return None if add_business_hours(started, hours, calendar) > now else False


def _members(outcomes: list[Outcome]) -> dict[str, set[int]]:
    judged = [o for o in outcomes if o.within is not None]
    within = {o.ticket_id for o in judged if o.within}
    return {"counted": {o.ticket_id for o in judged}, "within": within, "share": within, "breaches": {o.ticket_id for o in judged if not o.within}}


def _criterion(key: str, label: str, outcomes: list[Outcome], target_share: float) -> tuple[dict[str, Any], list[str]]:
    judged = [o for o in outcomes if o.within is not None]
    within = sum(bool(o.within) for o in judged)
    ratio = share(within, len(judged))
    breaches = sorted({ticket_reference(o.ticket_id) for o in judged if not o.within})
    row = {
        "group": key, "label": label, "counted": len(judged), "within": within, "share": ratio,
        "target_share": target_share, "met": ratio is None or ratio >= target_share, "breaches": len(breaches),
    }  # fmt: skip
    return row, breaches


def acceptance_report(
    tickets: Sequence[TicketRow], escalations: Sequence[EscalationRow], period: Period, targets: ReportTargetsConfig, now: datetime, calendar: BusinessCalendar
) -> Report:
    counted = [t for t in tickets if t.status != "spam"]
    begin, end = period.utc_bounds()
    criteria: list[tuple[str, str, list[Outcome], float]] = []
    judge: Callable[[datetime, float | None, float], bool | None] = lambda start, done, hours: _judge(start, done, hours, now, calendar)  # noqa: E731
    categories = ", ".join(targets.first_response_categories)
    criteria.append((
        "first_response", f"Phản hồi đầu trong {targets.first_response_hours:g} giờ làm việc ({categories})",
        [Outcome(t.id, judge(t.opened_at, t.first_response_business_minutes, targets.first_response_hours)) for t in counted if t.category in targets.first_response_categories],
        targets.first_response_share,
    ))  # fmt: skip
    criteria.append((
        "resolution", f"Giải quyết trong {targets.resolution_hours:g} giờ làm việc",
        [Outcome(t.id, judge(t.opened_at, t.resolution_business_minutes, targets.resolution_hours)) for t in counted], targets.resolution_share,
    ))  # fmt: skip
    proposed = [e for e in escalations if begin <= e.proposed_at < end]
    criteria.append((
        "review", f"Điều phối duyệt trong {targets.review_hours:g} giờ làm việc",
        [Outcome(e.ticket_id, judge(e.proposed_at, e.review_business_minutes if e.decided_at else None, targets.review_hours)) for e in proposed],
        targets.review_share,
    ))  # fmt: skip
    sent = [e for e in escalations if e.sent_at is not None and begin <= e.sent_at < end]
    criteria.append((
        "sla", "Đơn vị trả lời đúng hạn",
        [Outcome(e.ticket_id, e.acknowledge_sla_met if e.acknowledged_at else (None if e.due_at is None or e.due_at > now else False)) for e in sent],
        targets.sla_share,
    ))  # fmt: skip
    rows, breaches, members = [], {}, {}
    for key, label, outcomes, target_share in criteria:
        row, listed = _criterion(key, label, outcomes, target_share)
        rows.append(row)
        breaches[key] = listed
        members[cell_key(key)] = _members(outcomes)
    report = Report("acceptance", "Báo cáo nghiệm thu", period, None, COLUMNS, rows, None, {"breaches": breaches, "all_met": all(r["met"] for r in rows)})
    report.members = members
    return report
