"""Workload per person: tickets handled, answers sent, decisions taken, time to first action;
the automatic answers (the question bank answering by itself) as their own row, after the people."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from reports.model import TOTAL, Column, Report, cell_key
from reports.period import Period
from reports.rows import PersonCounts, TicketRow
from reports.stats import hours, median
from tickets.business_time import BusinessCalendar, business_minutes
from tickets.clocks import ANSWER_EVENTS

DECISION_KINDS = ("escalation_approved", "escalation_rerouted", "escalation_rejected", "escalation_resolved", "escalated_by_hand", "tags_corrected", "status_changed")

# The actor of the automatic answers' events (qbank/auto_reply_stage.py AUTHOR): not a person.
AUTOMATIC_ACTOR = "auto"
AUTOMATIC_LABEL = "Trả lời tự động"

# Figures whose tickets are read only for a drill-down (build_report(..., drill=True)).
ON_DEMAND_FIGURES = ("tickets_handled", "answers_sent", "decisions")

COLUMNS = [
    Column("label", "Người xử lý"),
    Column("tickets_handled", "Phiếu đã xử lý"),
    Column("answers_sent", "Trả lời đã gửi"),
    Column("decisions", "Quyết định"),
    Column("first_actions", "Phiếu xử lý đầu tiên"),
    Column("first_action_median_h", "Đến lần xử lý đầu: trung vị (giờ làm việc)"),
]


def workload_report(
    people: Sequence[PersonCounts],
    first_acted: Sequence[TicketRow],
    period: Period,
    calendar: BusinessCalendar,
    person_tickets: dict[str, dict[str, set[int]]] | None = None,
) -> Report:
    """`people`: the period's events by each person, counted; `first_acted`: tickets first acted on in the period;
    `person_tickets` (only for a drill-down): each person's tickets per event kind in the period.
    The total of tickets handled counts a ticket once per person who acted on it."""
    counts = {p.actor: p for p in people}
    waits: dict[str, list[float]] = defaultdict(list)
    for ticket in first_acted:
        if ticket.first_action_by and ticket.first_action_at:
            stored = ticket.first_action_business_minutes  # kept by the clock; computed for older rows
            waits[ticket.first_action_by].append(stored if stored is not None else business_minutes(ticket.opened_at, ticket.first_action_at, calendar))
    rows: list[dict[str, Any]] = []
    for person in sorted(set(counts) | set(waits), key=lambda actor: (actor == AUTOMATIC_ACTOR, actor)):
        kinds = counts[person].kinds if person in counts else {}
        rows.append({
            "group": person, "label": AUTOMATIC_LABEL if person == AUTOMATIC_ACTOR else person, "tickets_handled": counts[person].tickets if person in counts else 0,
            "answers_sent": sum(n for kind, n in kinds.items() if kind in ANSWER_EVENTS),
            "decisions": sum(n for kind, n in kinds.items() if kind in DECISION_KINDS),
            "first_actions": len(waits[person]), "first_action_median_h": hours(median(waits[person])),
        })  # fmt: skip
    every_wait = [w for person in waits for w in waits[person]]
    members: dict[str, dict[str, set[int]]] = {}
    first_ids: dict[str, set[int]] = defaultdict(set)
    for ticket in first_acted:
        if ticket.first_action_by and ticket.first_action_at:
            first_ids[ticket.first_action_by].add(ticket.id)
    for row in rows:
        person = row["group"]
        by_kind = (person_tickets or {}).get(person, {})
        members[cell_key(person)] = {"first_actions": first_ids[person], "first_action_median_h": first_ids[person]}
        if person_tickets is not None:
            members[cell_key(person)].update({
                "tickets_handled": set().union(*by_kind.values()),
                "answers_sent": set().union(*(ids for kind, ids in by_kind.items() if kind in ANSWER_EVENTS)),
                "decisions": set().union(*(ids for kind, ids in by_kind.items() if kind in DECISION_KINDS)),
            })  # fmt: skip
    every_first: set[int] = set().union(*first_ids.values())
    members[TOTAL] = {"first_actions": every_first, "first_action_median_h": every_first}
    if person_tickets is not None:
        for figure in ("tickets_handled", "answers_sent", "decisions"):
            members[TOTAL][figure] = set().union(*(m[figure] for cell, m in members.items() if cell != TOTAL))
    total = {"group": None, "label": "Tổng cộng", **{k: sum(r[k] for r in rows) for k in ("tickets_handled", "answers_sent", "decisions", "first_actions")}}
    total["first_action_median_h"] = hours(median(every_wait))
    report = Report("workload", "Khối lượng công việc theo người", period, "person", COLUMNS, rows, total)
    report.members = members
    return report
