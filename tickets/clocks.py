"""Keep the clocks of tickets and escalations as events are written (docs/reports.md).

`record_clock_event` is called by `tickets.store.add_event` for every event, so every lifecycle
transition, present and future, is clocked in one place. The moment of an event is its `at`
value when the writer gives one (a unit's answer arrived earlier than it was processed), else
the row's own time for sends and answers, else the event's time.

Definitions:
- first response: the first inbound message (the ticket's `created_at`) to the first real answer
  (a `first_response` event, an answer event, or an outbound message that is not an
  auto-reply, RFC 3834, nor a bounce); auto-acknowledgements never count.
- resolution: the first inbound message to the latest resolution; a reopening clears it and
  counts in `reopen_count`, so the next resolution's time includes the reopened spans.
- waiting: the time spent in `new` or `triaged`, when the center has to act.
- escalation: review = proposed -> first decision; acknowledge = sent -> the unit's answer;
  resolve = sent -> resolved; a reroute restarts the unit's part with the new unit.

Concurrency: two workers writing events of one ticket at once would both read its clock and the
later commit would overwrite the earlier (a lost update). The first clock read of a transaction
therefore takes the ticket's lock first (`SELECT … FOR NO KEY UPDATE` on PostgreSQL, the database's
writer lock on SQLite) and reads the clocks afresh under it, so the second worker waits and then
sees the first one's changes. The ticket's lock covers its escalations' clocks too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import select, update
from sqlmodel import Session

from tickets.business_time import active_calendar, business_minutes
from tickets.clock_models import EscalationClock, TicketClock
from tickets.escalation_models import Escalation
from tickets.models import Message, Ticket, TicketStatus

CENTER_STATUSES = (TicketStatus.NEW.value, TicketStatus.TRIAGED.value)
DONE_STATUSES = (TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value)
ANSWER_EVENTS = ("first_response", "answer_sent", "reply_sent", "citizen_answered")
SYSTEM_ACTORS = ("system", "")
ClockT = TypeVar("ClockT", TicketClock, EscalationClock)
CORRECTION_COLUMNS = {
    "insurance_types": "corrections_type",
    "province_code": "corrections_province",
    "category": "corrections_category",
    "topics": "corrections_topic",
}


class ClockedEvent(Protocol):
    """What the clocks read of an event: a `TicketEvent` row or a batch's pending event."""

    @property
    def ticket_id(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def data(self) -> dict[str, Any]: ...
    @property
    def at(self) -> datetime: ...


def _moment(event: ClockedEvent) -> datetime:
    given = event.data.get("at")
    if isinstance(given, str):
        try:
            parsed = datetime.fromisoformat(given)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            pass
    return event.at


def _span(start: datetime, end: datetime) -> tuple[float, float]:
    """(wall-clock minutes, business minutes), never negative."""
    wall = max((end - start).total_seconds() / 60, 0.0)
    return wall, business_minutes(start, end, active_calendar())


def _first_in_transaction(session: Session, name: str, key: int) -> bool:
    """True the first time `key` is seen under `name` in the session's current transaction."""
    transaction = session.get_transaction()
    seen = session.info.get(name)
    if seen is None or seen[0] is not transaction:
        seen = session.info[name] = (transaction, set())
    if key in seen[1]:
        return False
    seen[1].add(key)
    return True


def _lock_ticket_clocks(session: Session, ticket_id: int) -> bool:
    """Take the ticket's lock once per transaction; True when it was taken just now (the clocks
    must then be read afresh: one already in the session may be older than the lock)."""
    return bool(_lock_tickets(session, [ticket_id]))


def _lock_tickets(session: Session, ticket_ids: Sequence[int]) -> list[int]:
    """Take the locks of the tickets not yet locked in this transaction, in one statement
    (in id order on PostgreSQL: two batches cannot deadlock); returns the ids locked just now."""
    new = sorted({i for i in ticket_ids if _first_in_transaction(session, "clock_locks", i)})
    if not new:
        return new
    if session.get_bind().dialect.name == "postgresql":
        # FOR NO KEY UPDATE: serializes the clock writers of one ticket, yet does not wait for a
        # transaction that only inserted a row referring to the ticket (an event's foreign key
        # takes FOR KEY SHARE; with FOR UPDATE two such writers would deadlock).
        session.execute(select(Ticket.id).where(Ticket.id.in_(new)).order_by(Ticket.id).with_for_update(key_share=True))  # type: ignore[arg-type,union-attr]
    else:  # SQLite has one writer at a time: a write takes its lock until the commit
        # (synchronize_session=False: it changes nothing to mirror, and the ORM's default would
        # scan every ticket the session holds, per event: quadratic in a pipeline batch)
        session.execute(update(Ticket).where(Ticket.id.in_(new)).values(id=Ticket.id).execution_options(synchronize_session=False))  # type: ignore[arg-type,union-attr]
    return new


def _read(session: Session, model: type[ClockT], key: int, fresh: bool) -> ClockT | None:
    return session.get(model, key, populate_existing=fresh)


def _ticket_clock(session: Session, ticket_id: int, fresh: bool) -> TicketClock | None:
    clock = _read(session, TicketClock, ticket_id, fresh)
    return clock if clock is not None else _new_ticket_clock(session, session.get(Ticket, ticket_id))


def _new_ticket_clock(session: Session, ticket: Ticket | None, status: str | None = None) -> TicketClock | None:
    """A clock for a ticket that has none; `status` is the ticket's status when the clock's
    first event was written (default: its status now)."""
    if ticket is None or ticket.id is None:
        return None
    clock = TicketClock(ticket_id=ticket.id, opened_at=ticket.created_at)
    if (status or ticket.status) in CENTER_STATUSES:
        clock.waiting_since = ticket.created_at
    session.add(clock)
    return clock


def record_clock_event(session: Session, event: ClockedEvent) -> None:
    if not event.ticket_id:
        return
    clock = _ticket_clock(session, event.ticket_id, _lock_ticket_clocks(session, event.ticket_id))
    if clock is not None:
        apply_clock_event(session, clock, event)


def record_clock_events(session: Session, events: Sequence[ClockedEvent]) -> None:
    """The clocks of a batch's events: every touched ticket locked in one statement, its clock
    read once (afresh when locked just now) and updated from its events in their order; the
    same results as `record_clock_event` per event."""
    by_ticket: dict[int, list[ClockedEvent]] = {}
    for event in events:
        if event.ticket_id:
            by_ticket.setdefault(event.ticket_id, []).append(event)
    if not by_ticket:
        return
    ids = sorted(by_ticket)
    _lock_tickets(session, ids)
    session.flush()  # the session's rows are the database's now: read everything once, afresh
    escalation_ids = sorted({i for e in events if _escalation_kind(e.kind) and isinstance(i := e.data.get("escalation_id"), int)})
    with session.no_autoflush:
        tickets = {t.id: t for t in session.execute(select(Ticket).where(Ticket.id.in_(ids))).scalars()}  # type: ignore[union-attr]
        clocks = {c.ticket_id: c for c in _fresh(session, select(TicketClock).where(TicketClock.ticket_id.in_(ids)))}  # type: ignore[attr-defined]
        escalation_clocks: dict[int, EscalationClock] = {}
        if escalation_ids:
            session.execute(select(Escalation).where(Escalation.id.in_(escalation_ids))).all()  # type: ignore[union-attr]
            query = select(EscalationClock).where(EscalationClock.escalation_id.in_(escalation_ids))  # type: ignore[attr-defined]
            escalation_clocks = {c.escalation_id: c for c in _fresh(session, query)}
            for escalation_id in escalation_ids:  # read afresh just now
                _first_in_transaction(session, "escalation_clocks_read", escalation_id)
        for ticket_id in ids:
            ticket_events = by_ticket[ticket_id]
            clock = clocks.get(ticket_id) or _new_ticket_clock(session, tickets.get(ticket_id), _status_at_first(ticket_events))
            if clock is None:
                continue
            for event in ticket_events:
                apply_clock_event(session, clock, event, escalation_clocks)


def _fresh(session: Session, query: Any) -> list[Any]:
    return list(session.execute(query.execution_options(populate_existing=True)).scalars())


def _escalation_kind(kind: str) -> bool:
    return kind.startswith("escalation_") or kind == "office_answered"


def _status_at_first(events: Sequence[ClockedEvent]) -> str | None:
    """The ticket's status when the first of `events` was written: a status change is written
    after the status is set (`tickets.store.set_status`), any other event before the next change."""
    if events and events[0].kind == "status_changed":
        return str(events[0].data.get("status"))
    return next((str(e.data.get("previous")) for e in events if e.kind == "status_changed"), None)


def apply_clock_event(session: Session, clock: TicketClock, event: ClockedEvent, escalation_clocks: dict[int, EscalationClock] | None = None) -> None:
    """Update the ticket's clock (and its escalations' clocks) from one event; the ticket's
    lock is held. `escalation_clocks`: the clocks of the escalations the events name, read
    already (a batch), kept up to date here; else each is read when needed."""
    at = _moment(event)
    ticket = session.get(Ticket, event.ticket_id)
    if ticket is not None and ticket.created_at < clock.opened_at:
        clock.opened_at = ticket.created_at  # the thread's first message arrived late
    if event.actor not in SYSTEM_ACTORS and clock.first_action_at is None and event.kind != "first_response":
        clock.first_action_at, clock.first_action_by = at, event.actor
        clock.first_action_business_minutes = _span(clock.opened_at, at)[1]
    _answer(session, clock, event, at)
    if event.kind == "status_changed":
        _status_changed(clock, str(event.data.get("previous")), str(event.data.get("status")), at)
    if event.kind == "tags_corrected":
        for family in event.data.get("changes") or {}:
            column = CORRECTION_COLUMNS.get(str(family))
            if column is not None:
                setattr(clock, column, getattr(clock, column) + 1)
    if _escalation_kind(event.kind):
        _escalation_event(session, event, at, escalation_clocks)
    session.add(clock)


def _answer(session: Session, clock: TicketClock, event: ClockedEvent, at: datetime) -> None:
    if event.data.get("automatic") or event.data.get("auto_reply") or event.data.get("bounce"):
        return
    if event.kind == "message_added" and event.data.get("direction") == "outbound":
        message = session.get(Message, event.data.get("message_id")) if event.data.get("message_id") else None
        if message is None or message.is_auto_reply or message.is_bounce:
            return
        at = message.sent_at or message.received_at
    elif event.kind not in ANSWER_EVENTS:
        return
    if clock.first_response_at is None or at < clock.first_response_at:
        clock.first_response_at = at
        clock.first_response_minutes, clock.first_response_business_minutes = _span(clock.opened_at, at)


def _status_changed(clock: TicketClock, previous: str, status: str, at: datetime) -> None:
    if previous in CENTER_STATUSES and clock.waiting_since is not None:
        wall, business = _span(clock.waiting_since, at)
        clock.waiting_minutes += wall
        clock.waiting_business_minutes += business
        clock.waiting_since = None
    if status in CENTER_STATUSES and clock.waiting_since is None:
        clock.waiting_since = at
    if previous in DONE_STATUSES and status not in DONE_STATUSES:
        clock.reopen_count += 1
        clock.resolved_at = clock.resolution_minutes = clock.resolution_business_minutes = None
    if status in DONE_STATUSES and clock.resolved_at is None:
        clock.resolved_at = at
        clock.resolution_minutes, clock.resolution_business_minutes = _span(clock.opened_at, at)


def _escalation_event(session: Session, event: ClockedEvent, at: datetime, known: dict[int, EscalationClock] | None) -> None:
    escalation_id = event.data.get("escalation_id")
    if not isinstance(escalation_id, int):
        return
    row = session.get(Escalation, escalation_id)
    # the ticket's lock is held (record_clock_event read its clock first); read this one afresh once
    if known is not None:
        clock = known.get(escalation_id)
    else:
        clock = _read(session, EscalationClock, escalation_id, _first_in_transaction(session, "escalation_clocks_read", escalation_id))
    kind = event.kind.removeprefix("escalation_")

    def row_time(field: str) -> datetime:
        """The escalation's own timestamp for this step, unless the writer gave the moment."""
        value = getattr(row, field, None) if row is not None and "at" not in event.data else None
        return value or at

    if clock is None:
        unit = str(event.data.get("unit") or (row.unit_id if row else ""))
        clock = EscalationClock(escalation_id=escalation_id, ticket_id=event.ticket_id, unit_id=unit, proposed_at=row_time("created_at"))
        if kind == "approved":  # created approved: no review
            clock.decision = "approved"
        session.add(clock)
        if known is not None:
            known[escalation_id] = clock
        return
    if kind in ("approved", "rerouted", "rejected") and clock.decided_at is None and clock.decision is None:
        decided = row_time("decided_at")
        clock.decided_at, clock.decided_by, clock.decision = decided, event.actor, kind
        clock.review_minutes, clock.review_business_minutes = _span(clock.proposed_at, decided)
    if kind == "retargeted" and event.data.get("unit"):
        clock.unit_id = str(event.data["unit"])
    elif kind == "rerouted":
        clock.unit_id = str(event.data.get("unit") or clock.unit_id)
        clock.reroute_count += 1
        clock.sent_at = clock.due_at = clock.acknowledged_at = None
        clock.acknowledge_minutes = clock.acknowledge_business_minutes = clock.acknowledge_sla_met = None
    elif kind == "sent":
        if clock.sent_at is None:
            clock.sent_at = row_time("sent_at")
            clock.due_at = row.due_at if row else None
    elif kind in ("acknowledged", "office_answered") and clock.acknowledged_at is None and clock.sent_at is not None:
        answered = row_time("acknowledged_at")
        clock.acknowledged_at = answered
        clock.acknowledge_minutes, clock.acknowledge_business_minutes = _span(clock.sent_at, answered)
        clock.acknowledge_sla_met = None if clock.due_at is None else answered <= clock.due_at
    elif kind == "resolved" and clock.resolved_at is None:
        clock.resolved_at = resolved = row_time("resolved_at")
        if clock.sent_at is not None:
            clock.resolve_minutes, clock.resolve_business_minutes = _span(clock.sent_at, resolved)
            clock.resolve_sla_met = None if clock.due_at is None else resolved <= clock.due_at
    session.add(clock)
