"""Service quality: first response and resolution times (business hours), backlog and its age,
reopenings, review delay, overdue escalations, classification corrections per tag family, and
the question tickets answered automatically (from the question bank, qbank/auto_reply_stage.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from config.settings import ReportTargetsConfig
from reports.groups import HEADINGS, group_label, sort_groups, ticket_key
from reports.model import TOTAL, Column, Report, cell_key
from reports.period import Period
from reports.rows import EscalationRow, TicketRow
from reports.stats import hours, median, p90, share

FAMILIES = ("type", "province", "category", "topic")  # TicketRow.corrections, in this order

COLUMNS = [
    Column("tickets", "Phiếu"),
    Column("responded", "Đã phản hồi"),
    Column("first_response_median_h", "Phản hồi đầu: trung vị (giờ làm việc)"),
    Column("first_response_p90_h", "Phản hồi đầu: 90% (giờ làm việc)"),
    Column("first_response_within_target", "Phản hồi đúng hạn"),
    Column("resolved", "Đã giải quyết"),
    Column("resolution_median_h", "Giải quyết: trung vị (giờ làm việc)"),
    Column("resolution_p90_h", "Giải quyết: 90% (giờ làm việc)"),
    Column("resolution_within_target", "Giải quyết đúng hạn"),
    Column("reopened", "Mở lại"),
    Column("open", "Còn tồn"),
    Column("open_age_median_h", "Tuổi phiếu tồn: trung vị (giờ)"),
    Column("review_median_h", "Điều phối duyệt: trung vị (giờ làm việc)"),
    Column("overdue_escalations", "Chuyển xử lý quá hạn hiện nay"),
    Column("questions", "Câu hỏi"),
    Column("auto_answered", "Câu hỏi trả lời tự động"),
    Column("auto_answered_share", "Tỷ lệ câu hỏi trả lời tự động"),
    Column("corrections_type", "Sửa loại bảo hiểm"),
    Column("corrections_province", "Sửa tỉnh/thành"),
    Column("corrections_category", "Sửa phân loại"),
    Column("corrections_topic", "Sửa chủ đề"),
]


def _questions(counted: list[TicketRow], auto_answered: frozenset[int]) -> tuple[set[int], set[int]]:
    """The question tickets, and those of them an automatic answer was sent to."""
    questions = {t.id for t in counted if t.category == "question"}
    return questions, questions & auto_answered


def _figures(
    tickets: list[TicketRow], escalations: list[EscalationRow], overdue: int, targets: ReportTargetsConfig, now: datetime, auto_answered: frozenset[int]
) -> dict[str, Any]:
    counted = [t for t in tickets if t.status != "spam"]
    questions, answered_automatically = _questions(counted, auto_answered)
    responses = [t.first_response_business_minutes for t in counted if t.first_response_business_minutes is not None]
    resolutions = [t.resolution_business_minutes for t in counted if t.resolution_business_minutes is not None]
    still_open = [t for t in counted if t.resolved_at is None and t.status not in ("resolved", "closed")]
    reviews = [e.review_business_minutes for e in escalations if e.review_business_minutes is not None]
    return {
        "tickets": len(counted),
        "responded": len(responses),
        "first_response_median_h": hours(median(responses)),
        "first_response_p90_h": hours(p90(responses)),
        "first_response_within_target": share(sum(m <= targets.first_response_hours * 60 for m in responses), len(counted)),
        "resolved": len(resolutions),
        "resolution_median_h": hours(median(resolutions)),
        "resolution_p90_h": hours(p90(resolutions)),
        "resolution_within_target": share(sum(m <= targets.resolution_hours * 60 for m in resolutions), len(counted)),
        "reopened": sum(t.reopen_count > 0 for t in counted),
        "open": len(still_open),
        "open_age_median_h": hours(median([(now - t.opened_at).total_seconds() / 60 for t in still_open])),
        "review_median_h": hours(median(reviews)),
        "overdue_escalations": overdue,
        "questions": len(questions),
        "auto_answered": len(answered_automatically),
        "auto_answered_share": share(len(answered_automatically), len(questions)),
        **{f"corrections_{family}": sum(t.corrections[i] for t in tickets) for i, family in enumerate(FAMILIES)},
    }


def _members(
    tickets: list[TicketRow], escalations: list[EscalationRow], overdue: list[EscalationRow], targets: ReportTargetsConfig, auto_answered: frozenset[int]
) -> dict[str, set[int]]:
    """The tickets behind each figure of `_figures` (a median: the tickets it is the median of)."""
    counted = [t for t in tickets if t.status != "spam"]
    questions, answered_automatically = _questions(counted, auto_answered)
    responded = {t.id for t in counted if t.first_response_business_minutes is not None}
    resolved = {t.id for t in counted if t.resolution_business_minutes is not None}
    still_open = {t.id for t in counted if t.resolved_at is None and t.status not in ("resolved", "closed")}
    members = {
        "tickets": {t.id for t in counted},
        "responded": responded, "first_response_median_h": responded, "first_response_p90_h": responded,
        "first_response_within_target": {
            t.id for t in counted if t.first_response_business_minutes is not None and t.first_response_business_minutes <= targets.first_response_hours * 60
        },
        "resolved": resolved, "resolution_median_h": resolved, "resolution_p90_h": resolved,
        "resolution_within_target": {
            t.id for t in counted if t.resolution_business_minutes is not None and t.resolution_business_minutes <= targets.resolution_hours * 60
        },
        "reopened": {t.id for t in counted if t.reopen_count > 0},
        "open": still_open, "open_age_median_h": still_open,
        "review_median_h": {e.ticket_id for e in escalations if e.review_business_minutes is not None},
        "overdue_escalations": {e.ticket_id for e in overdue},
        "questions": questions, "auto_answered": answered_automatically, "auto_answered_share": answered_automatically,
    }  # fmt: skip
    for i, family in enumerate(FAMILIES):
        members[f"corrections_{family}"] = {t.id for t in tickets if t.corrections[i] > 0}
    return members


def quality_report(
    tickets: Sequence[TicketRow],
    escalations: Sequence[EscalationRow],
    overdue: Sequence[EscalationRow],
    period: Period,
    by: str | None,
    targets: ReportTargetsConfig,
    now: datetime,
    unit_names: dict[str, str] | None = None,
    *,
    auto_answered: frozenset[int] = frozenset(),
) -> Report:
    """Over the tickets opened in the period (spam left out); shares are of all those tickets, so
    one not yet answered counts as not within target. `auto_answered`: the tickets an automatic
    answer was sent to (rows.load_auto_answered); its share is of the question tickets."""
    key = ticket_key(by, period.zone) if by else (lambda ticket, moment: "all")
    group_of = {t.id: key(t, t.opened_at) for t in tickets}
    by_group: dict[str | None, list[TicketRow]] = defaultdict(list)
    for ticket in tickets:
        by_group[group_of[ticket.id]].append(ticket)
    esc_by_group: dict[str | None, list[EscalationRow]] = defaultdict(list)
    for escalation in escalations:
        if escalation.ticket_id in group_of:
            esc_by_group[group_of[escalation.ticket_id]].append(escalation)
    overdue_by_group: dict[str | None, list[EscalationRow]] = defaultdict(list)
    for escalation in overdue:
        if escalation.ticket_id in group_of:
            overdue_by_group[group_of[escalation.ticket_id]].append(escalation)
    rows = []
    members: dict[str, dict[str, set[int]]] = {}
    for group in sort_groups(list(by_group)):
        row: dict[str, Any] = {"group": group if by else None, "label": group_label(by, group, unit_names)}
        row.update(_figures(by_group[group], esc_by_group[group], len(overdue_by_group[group]), targets, now, auto_answered))
        rows.append(row)
        members[cell_key(row["group"])] = _members(by_group[group], esc_by_group[group], overdue_by_group[group], targets, auto_answered)
    visible_escalations = [e for e in escalations if e.ticket_id in group_of]
    every_overdue = [e for group in overdue_by_group.values() for e in group]
    total = {"group": None, "label": "Tổng cộng", **_figures(list(tickets), visible_escalations, len(every_overdue), targets, now, auto_answered)}
    members[TOTAL] = _members(list(tickets), visible_escalations, every_overdue, targets, auto_answered)
    report = Report("quality", "Chất lượng phục vụ", period, by, [Column("label", HEADINGS[by]), *COLUMNS], rows, total)
    report.members = members
    return report
