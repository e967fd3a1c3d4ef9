"""Workload per person: tickets handled, answers sent, decisions taken, time to first action."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from reports.model import Column, Report
from reports.period import Period
from reports.rows import EventRow, TicketRow
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


def workload_report(events: Sequence[EventRow], first_acted: Sequence[TicketRow], period: Period, calendar: BusinessCalendar) -> Report:
    """`events`: the period's events by people; `first_acted`: tickets first acted on in the period."""
    handled: dict[str, set[int]] = defaultdict(set)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"answers_sent": 0, "decisions": 0})
    for event in events:
        handled[event.actor].add(event.ticket_id)
        counts[event.actor]["answers_sent"] += event.kind in ANSWER_EVENTS
        counts[event.actor]["decisions"] += event.kind in DECISION_KINDS
    waits: dict[str, list[float]] = defaultdict(list)
    for ticket in first_acted:
        if ticket.first_action_by and ticket.first_action_at:
            stored = ticket.first_action_business_minutes  # kept by the clock; computed for older rows
            waits[ticket.first_action_by].append(stored if stored is not None else business_minutes(ticket.opened_at, ticket.first_action_at, calendar))
    rows: list[dict[str, Any]] = []
    for person in sorted(set(handled) | set(waits)):
        rows.append({
            "group": person, "label": person, "tickets_handled": len(handled[person]), **counts[person],
            "first_actions": len(waits[person]), "first_action_median_h": hours(median(waits[person])),
        })  # fmt: skip
    every_wait = [w for person in waits for w in waits[person]]
    total = {
        "group": None, "label": "Tổng cộng", "tickets_handled": len({t for tickets in handled.values() for t in tickets}),
        "answers_sent": sum(c["answers_sent"] for c in counts.values()), "decisions": sum(c["decisions"] for c in counts.values()),
        "first_actions": len(every_wait), "first_action_median_h": hours(median(every_wait)),
    }  # fmt: skip
    return Report("workload", "Khối lượng công việc theo người", period, "person", COLUMNS, rows, total)
