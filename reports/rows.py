"""The rows a report reads: indexed columns of tickets, messages, clocks and a period's events.

The only module of reports/ that touches the database. Each loader reads one period with one
query over indexed columns (ticket.created_at, message.received_at, ticket_event.at, the clock
tables), never the whole event log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlmodel import Session

from reports.period import Period
from tickets.clock_models import EscalationClock, TicketClock
from tickets.escalation_models import Escalation
from tickets.models import Message, Ticket, TicketEvent

OPEN_STATUSES = ("new", "triaged", "escalated", "unit_responded")


@dataclass(frozen=True)
class RowScope:
    """What the reader may count: a predicate on Ticket (the web app gives access.scope's
    ticket_scope, with a province filter) and one on Escalation (escalation_scope). None: all."""

    tickets: Any = None
    escalations: Any = None

    def on_tickets(self) -> list[Any]:
        return [] if self.tickets is None else [self.tickets]

    def on_escalation_clocks(self, query: Any) -> Any:
        """The query over EscalationClock, joined and filtered to what the reader may see."""
        if self.tickets is not None:
            query = query.join(Ticket, Ticket.id == EscalationClock.ticket_id).where(self.tickets)  # type: ignore[arg-type]
        if self.escalations is not None:
            query = query.join(Escalation, Escalation.id == EscalationClock.escalation_id).where(self.escalations)  # type: ignore[arg-type]
        return query


EVERYTHING = RowScope()


@dataclass(frozen=True)
class TicketRow:
    id: int
    channel: str
    source: str
    province_code: str | None
    category: str | None
    insurance_types: tuple[str, ...]
    status: str
    opened_at: datetime
    unit_id: str | None = None  # the unit of its latest escalation
    first_response_at: datetime | None = None
    first_response_business_minutes: float | None = None
    resolved_at: datetime | None = None
    resolution_business_minutes: float | None = None
    reopen_count: int = 0
    first_action_at: datetime | None = None
    first_action_by: str | None = None
    first_action_business_minutes: float | None = None
    corrections: tuple[int, int, int, int] = (0, 0, 0, 0)  # type, province, category, topic


@dataclass(frozen=True)
class MessageRow:
    ticket: TicketRow
    received_at: datetime
    direction: str
    is_auto_reply: bool
    is_bounce: bool


@dataclass(frozen=True)
class EscalationRow:
    id: int
    ticket_id: int
    unit_id: str
    reroute_count: int
    proposed_at: datetime
    decided_at: datetime | None
    review_business_minutes: float | None
    sent_at: datetime | None
    due_at: datetime | None
    acknowledged_at: datetime | None
    acknowledge_business_minutes: float | None
    acknowledge_sla_met: bool | None
    resolved_at: datetime | None
    resolve_sla_met: bool | None


def _ticket_columns() -> list[Any]:
    return [
        Ticket.id, Ticket.channel, Ticket.source, Ticket.province_code, Ticket.category, Ticket.insurance_types, Ticket.status, Ticket.created_at,
        TicketClock.first_response_at, TicketClock.first_response_business_minutes, TicketClock.resolved_at,
        TicketClock.resolution_business_minutes, TicketClock.reopen_count, TicketClock.first_action_at, TicketClock.first_action_by, TicketClock.first_action_business_minutes,
        TicketClock.corrections_type, TicketClock.corrections_province, TicketClock.corrections_category, TicketClock.corrections_topic,
    ]  # fmt: skip


def _ticket_row(values: Any, units: dict[int, str]) -> TicketRow:
    (tid, channel, source, province, category, types, status, opened, fr_at, fr_bm, res_at, res_bm, reopen, fa_at, fa_by, fa_bm, *fixes) = values
    return TicketRow(
        id=tid, channel=channel, source=source, province_code=province, category=category, insurance_types=tuple(sorted(types or ())),
        status=status, opened_at=opened, unit_id=units.get(tid), first_response_at=fr_at, first_response_business_minutes=fr_bm,
        resolved_at=res_at, resolution_business_minutes=res_bm, reopen_count=reopen or 0, first_action_at=fa_at, first_action_by=fa_by, first_action_business_minutes=fa_bm,
        corrections=tuple(n or 0 for n in fixes),  # type: ignore[arg-type]
    )  # fmt: skip


def _latest_units(session: Session, condition: Any, scope: RowScope = EVERYTHING) -> dict[int, str]:
    query = (
        select(EscalationClock.ticket_id, EscalationClock.unit_id)
        .join(Ticket, Ticket.id == EscalationClock.ticket_id)  # type: ignore[arg-type]
        .where(condition, *scope.on_tickets())
        .order_by(EscalationClock.escalation_id)
    )
    if scope.escalations is not None:
        query = query.join(Escalation, Escalation.id == EscalationClock.escalation_id).where(scope.escalations)  # type: ignore[arg-type]
    return {tid: unit for tid, unit in session.execute(query)}


def load_tickets(session: Session, period: Period, scope: RowScope = EVERYTHING) -> list[TicketRow]:
    """Tickets opened in the period, with their clocks."""
    begin, end = period.utc_bounds()
    opened = and_(Ticket.created_at >= begin, Ticket.created_at < end, *scope.on_tickets())  # type: ignore[arg-type, operator]
    units = _latest_units(session, opened, scope)
    query = select(*_ticket_columns()).outerjoin(TicketClock, TicketClock.ticket_id == Ticket.id).where(opened)  # type: ignore[arg-type]
    return [_ticket_row(values, units) for values in session.execute(query)]


def load_auto_answered(session: Session, period: Period, scope: RowScope = EVERYTHING) -> frozenset[int]:
    """Tickets opened in the period that an automatic answer was sent to (answer.ticket_id and
    answer.status are indexed; automatic answers are few beside the tickets)."""
    from tickets.answer_models import Answer, AnswerStatus

    begin, end = period.utc_bounds()
    opened = select(Ticket.id).where(Ticket.created_at >= begin, Ticket.created_at < end, *scope.on_tickets())  # type: ignore[arg-type, operator]
    query = select(Answer.ticket_id).where(Answer.status == AnswerStatus.SENT.value, Answer.automatic.is_(True), Answer.ticket_id.in_(opened)).distinct()  # type: ignore[arg-type, attr-defined]
    return frozenset(session.execute(query).scalars())


def load_open_tickets(session: Session) -> list[TicketRow]:
    """Every ticket still open now (the backlog), by the status index."""
    condition = Ticket.status.in_(OPEN_STATUSES)  # type: ignore[attr-defined]
    units = _latest_units(session, condition)
    query = select(*_ticket_columns()).outerjoin(TicketClock, TicketClock.ticket_id == Ticket.id).where(condition)  # type: ignore[arg-type]
    return [_ticket_row(values, units) for values in session.execute(query)]


def load_messages(session: Session, period: Period, scope: RowScope = EVERYTHING) -> list[MessageRow]:
    """Messages received in the period, each with its ticket's grouping columns (not its clock)."""
    begin, end = period.utc_bounds()
    received = and_(Message.received_at >= begin, Message.received_at < end)  # type: ignore[arg-type, operator]
    units = _latest_units(session, Ticket.id.in_(select(Message.ticket_id).where(received)), scope)  # type: ignore[union-attr]
    query = (
        select(
            Message.received_at, Message.direction, Message.is_auto_reply, Message.is_bounce,
            Ticket.id, Ticket.channel, Ticket.source, Ticket.province_code, Ticket.category, Ticket.insurance_types, Ticket.status, Ticket.created_at,
        )  # fmt: skip
        .join(Ticket, Ticket.id == Message.ticket_id)  # type: ignore[arg-type]
        .where(received, *scope.on_tickets())
    )
    tickets: dict[int, TicketRow] = {}
    rows = []
    for received_at, direction, auto, bounce, tid, channel, source, province, category, types, status, opened in session.execute(query):
        ticket = tickets.get(tid)
        if ticket is None:
            ticket = tickets[tid] = TicketRow(
                id=tid, channel=channel, source=source, province_code=province, category=category,
                insurance_types=tuple(sorted(types or ())), status=status, opened_at=opened, unit_id=units.get(tid),
            )  # fmt: skip
        rows.append(MessageRow(ticket=ticket, received_at=received_at, direction=direction, is_auto_reply=bool(auto), is_bounce=bool(bounce)))
    return rows


def _escalation_row(clock: EscalationClock) -> EscalationRow:
    return EscalationRow(
        id=clock.escalation_id, ticket_id=clock.ticket_id, unit_id=clock.unit_id, reroute_count=clock.reroute_count,
        proposed_at=clock.proposed_at, decided_at=clock.decided_at, review_business_minutes=clock.review_business_minutes,
        sent_at=clock.sent_at, due_at=clock.due_at, acknowledged_at=clock.acknowledged_at,
        acknowledge_business_minutes=clock.acknowledge_business_minutes, acknowledge_sla_met=clock.acknowledge_sla_met,
        resolved_at=clock.resolved_at, resolve_sla_met=clock.resolve_sla_met,
    )  # fmt: skip


def load_escalations(session: Session, period: Period, scope: RowScope = EVERYTHING) -> list[EscalationRow]:
    """Escalations proposed or sent to their (last) unit in the period."""
    begin, end = period.utc_bounds()
    query = scope.on_escalation_clocks(select(EscalationClock)).where(
        or_(
            and_(EscalationClock.proposed_at >= begin, EscalationClock.proposed_at < end),  # type: ignore[arg-type, operator]
            and_(EscalationClock.sent_at >= begin, EscalationClock.sent_at < end),  # type: ignore[arg-type, operator]
        )
    )
    return [_escalation_row(clock) for clock in session.execute(query).scalars()]


def load_overdue_escalations(session: Session, now: datetime, scope: RowScope = EVERYTHING) -> list[EscalationRow]:
    """Sent, not answered, not resolved, past their deadline: overdue now."""
    query = scope.on_escalation_clocks(select(EscalationClock)).where(
        EscalationClock.acknowledged_at.is_(None),  # type: ignore[union-attr]
        EscalationClock.resolved_at.is_(None),  # type: ignore[union-attr]
        EscalationClock.due_at < now,  # type: ignore[arg-type, operator]
    )
    return [_escalation_row(clock) for clock in session.execute(query).scalars()]


@dataclass(frozen=True)
class PersonCounts:
    actor: str
    kinds: dict[str, int]  # events of each kind this person did in the period
    tickets: int  # distinct tickets they acted on


def _people_events(period: Period, scope: RowScope) -> tuple[Any, ...]:
    begin, end = period.utc_bounds()
    in_period: tuple[Any, ...] = (TicketEvent.at >= begin, TicketEvent.at < end, TicketEvent.actor != "system")  # type: ignore[arg-type, operator]
    if scope.tickets is not None:
        in_period += (TicketEvent.ticket_id.in_(select(Ticket.id).where(scope.tickets)),)  # type: ignore[union-attr]
    return in_period


def load_person_counts(session: Session, period: Period, scope: RowScope = EVERYTHING) -> list[PersonCounts]:
    """The period's events done by people (not the system), counted by the database (at index)."""
    in_period = _people_events(period, scope)
    kinds: dict[str, dict[str, int]] = {}
    for actor, kind, count in session.execute(select(TicketEvent.actor, TicketEvent.kind, func.count()).where(*in_period).group_by(TicketEvent.actor, TicketEvent.kind)):
        kinds.setdefault(actor, {})[kind] = int(count)
    tickets = dict(session.execute(select(TicketEvent.actor, func.count(func.distinct(TicketEvent.ticket_id))).where(*in_period).group_by(TicketEvent.actor)).all())
    return [PersonCounts(actor=actor, kinds=kinds[actor], tickets=int(tickets.get(actor, 0))) for actor in kinds]


def load_person_tickets(session: Session, period: Period, scope: RowScope = EVERYTHING) -> dict[str, dict[str, set[int]]]:
    """Each person's tickets per event kind in the period (a workload drill-down only)."""
    found: dict[str, dict[str, set[int]]] = {}
    query = select(TicketEvent.actor, TicketEvent.kind, TicketEvent.ticket_id).where(*_people_events(period, scope)).distinct()
    for actor, kind, ticket_id in session.execute(query):
        found.setdefault(actor, {}).setdefault(kind, set()).add(ticket_id)
    return found


def load_first_acted(session: Session, period: Period, scope: RowScope = EVERYTHING) -> list[TicketRow]:
    """Tickets a person first acted on in the period (by the clock's first_action_at index)."""
    begin, end = period.utc_bounds()
    condition = and_(TicketClock.first_action_at >= begin, TicketClock.first_action_at < end, *scope.on_tickets())  # type: ignore[arg-type, operator]
    query = select(*_ticket_columns()).join(TicketClock, TicketClock.ticket_id == Ticket.id).where(condition)  # type: ignore[arg-type]
    return [_ticket_row(values, {}) for values in session.execute(query)]
