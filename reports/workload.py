"""Workload per person: tickets handled, answers sent, decisions taken, time to first action."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from reports.model import Column, Report
from reports.period import Period
from reports.rows import PersonCounts, TicketRow
from reports.stats import hours, median
from tickets.business_time import BusinessCalendar, business_minutes
from tickets.clocks import ANSWER_EVENTS

DECISION_KINDS = ("escalation_approved", "escalation_rerouted", "escalation_rejected", "escalation_resolved", "escalated_by_hand", "tags_corrected", "status_changed")

COLUMNS = [
    Column("label", "Người xử lý"),
    Column("tickets_handled", "Phiếu đã xử lý"),
    Column("answers_sent", "Trả lời đã gửi"),
    Column("decisions", "Quyết định"),
    Column("first_actions", "Phiếu xử lý đầu tiên"),
    Column("first_action_median_h", "Đến lần xử lý đầu: trung vị (giờ làm việc)"),
]


def workload_report(people: Sequence[PersonCounts], first_acted: Sequence[TicketRow], period: Period, calendar: BusinessCalendar) -> Report:
    """`people`: the period's events by each person, counted; `first_acted`: tickets first acted on in the period.
    The total of tickets handled counts a ticket once per person who acted on it."""
    counts = {p.actor: p for p in people}
    waits: dict[str, list[float]] = defaultdict(list)
    for ticket in first_acted:
        if ticket.first_action_by and ticket.first_action_at:
            stored = ticket.first_action_business_minutes  # kept by the clock; computed for older rows
            waits[ticket.first_action_by].append(stored if stored is not None else business_minutes(ticket.opened_at, ticket.first_action_at, calendar))
    rows: list[dict[str, Any]] = []
    for person in sorted(set(counts) | set(waits)):
        kinds = counts[person].kinds if person in counts else {}
        rows.append({
            "group": person, "label": person, "tickets_handled": counts[person].tickets if person in counts else 0,
            "answers_sent": sum(n for kind, n in kinds.items() if kind in ANSWER_EVENTS),
            "decisions": sum(n for kind, n in kinds.items() if kind in DECISION_KINDS),
            "first_actions": len(waits[person]), "first_action_median_h": hours(median(waits[person])),
        })  # fmt: skip
    every_wait = [w for person in waits for w in waits[person]]
    total = {"group": None, "label": "Tổng cộng", **{k: sum(r[k] for r in rows) for k in ("tickets_handled", "answers_sent", "decisions", "first_actions")}}
    total["first_action_median_h"] = hours(median(every_wait))
    return Report("workload", "Khối lượng công việc theo người", period, "person", COLUMNS, rows, total)
