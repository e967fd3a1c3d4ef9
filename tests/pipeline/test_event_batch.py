"""Events of a batch written together (tickets/event_batch.py): the same clocks as event by event,
one INSERT, and what a rolled-back savepoint wrote is forgotten."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import pytest
from sqlalchemy import event, func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.reports.timeline import new_escalation, new_ticket, status, vn
from tickets.clock_models import EscalationClock, TicketClock
from tickets.db import session_scope
from tickets.event_batch import batched_events
from tickets.models import Ticket, TicketEvent
from tickets.store import add_event

SKIPPED = {"ticket_id", "escalation_id"}


def _scenario(session: Session) -> tuple[list[int], list[int]]:
    """Three tickets whose events interleave: statuses, a reopening, answers, an escalation's life,
    and a ticket whose first clocked event is a status change (its clock is made by it)."""
    a = new_ticket(session, vn(2025, 3, 3, 10))
    b = new_ticket(session, vn(2025, 3, 3, 11))
    c = Ticket(channel="email", source="hopthu", subject="Hỏi", created_at=vn(2025, 3, 3, 9), status="new")
    session.add(c)
    session.flush()
    status(session, a, "new", "triaged", vn(2025, 3, 3, 10, 30), actor="dieu.phoi")
    status(session, c, "new", "resolved", vn(2025, 3, 3, 15))
    escalation = new_escalation(session, b, "BHXH-HN", vn(2025, 3, 3, 12))
    add_event(session, a.id or 0, "message_added", direction="outbound", auto_reply=True, at=vn(2025, 3, 3, 10, 31))
    add_event(session, b.id or 0, "escalation_approved", "dieu.phoi", escalation_id=escalation.id, at=vn(2025, 3, 3, 14))
    status(session, b, "new", "escalated", vn(2025, 3, 3, 14))
    escalation.due_at = vn(2025, 3, 5, 9)
    add_event(session, b.id or 0, "escalation_sent", escalation_id=escalation.id, unit="BHXH-HN", at=vn(2025, 3, 3, 14, 5))
    add_event(session, a.id or 0, "first_response", "BHXH-HN", at=vn(2025, 3, 4, 9))
    status(session, a, "triaged", "resolved", vn(2025, 3, 4, 10), actor="dieu.phoi")
    add_event(session, b.id or 0, "escalation_acknowledged", "BHXH-HN", escalation_id=escalation.id, at=vn(2025, 3, 4, 16))
    status(session, a, "resolved", "triaged", vn(2025, 3, 7, 16))
    add_event(session, a.id or 0, "tags_corrected", "dieu.phoi", changes={"province_code": ["01", "31"], "category": ["x", "y"]})
    status(session, a, "triaged", "resolved", vn(2025, 3, 10, 8), actor="dieu.phoi")
    return [a.id or 0, b.id or 0, c.id or 0], [escalation.id or 0]


def _columns(row: Any) -> dict[str, Any]:
    return {k: v for k, v in row.model_dump().items() if k not in SKIPPED}


def _run(engine: Engine, batch: Callable[[Session], Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    with session_scope(engine) as session, batch(session):
        tickets, escalations = _scenario(session)
    with Session(engine) as session:
        ticket_clocks = [session.get(TicketClock, i) for i in tickets]
        escalation_clocks = [session.get(EscalationClock, i) for i in escalations]
        events = session.execute(select(func.count()).select_from(TicketEvent).where(TicketEvent.ticket_id.in_(tickets))).scalar_one()  # type: ignore[attr-defined]
    assert all(c is not None for c in ticket_clocks + escalation_clocks)  # type: ignore[operator]
    return [_columns(c) for c in ticket_clocks], [_columns(c) for c in escalation_clocks], int(events)


def test_batched_clocks_equal_event_by_event_clocks(sqlite_engine: Engine) -> None:
    one_by_one = _run(sqlite_engine, lambda session: nullcontext())
    batched = _run(sqlite_engine, batched_events)
    assert batched == one_by_one
    ticket_clocks = one_by_one[0]
    assert ticket_clocks[0]["reopen_count"] == 1 and ticket_clocks[0]["corrections_province"] == 1
    # made by its status change, written once the ticket was resolved (as set_status does): never waiting
    assert ticket_clocks[2]["waiting_since"] is None and ticket_clocks[2]["waiting_minutes"] == 0
    assert ticket_clocks[2]["resolution_minutes"] == 6 * 60
    assert one_by_one[1][0]["acknowledge_sla_met"] is True


@contextmanager
def _count_event_inserts(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO TICKETEVENT"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def test_a_batch_appends_its_events_with_one_insert(sqlite_engine: Engine) -> None:
    with _count_event_inserts(sqlite_engine) as inserts:
        _, _, events = _run(sqlite_engine, batched_events)
    assert events == 15 and len(inserts) == 1


def test_a_rolled_back_savepoint_loses_its_events_and_their_clock_changes(sqlite_engine: Engine) -> None:
    with session_scope(sqlite_engine) as session, batched_events(session):
        ticket = new_ticket(session, vn(2025, 3, 3, 10))
        tid = ticket.id or 0
        with pytest.raises(RuntimeError), session.begin_nested():
            status(session, ticket, "new", "resolved", vn(2025, 3, 3, 11))
            with session.begin_nested():  # a savepoint inside the failing one: gone with it
                add_event(session, tid, "first_response", "BHXH-HN", at=vn(2025, 3, 3, 10, 30))
            raise RuntimeError("the item fails")
        with session.begin_nested():
            add_event(session, tid, "first_response", "BHXH-HN", at=vn(2025, 3, 3, 12))
    with Session(sqlite_engine) as session:
        kinds = list(session.execute(select(TicketEvent.kind).where(TicketEvent.ticket_id == tid).order_by(TicketEvent.id)).scalars())  # type: ignore[arg-type]
        clock = session.get(TicketClock, tid)
    assert kinds == ["created", "first_response"]
    assert clock is not None and clock.resolved_at is None and clock.first_response_minutes == 120


def test_an_exception_leaving_the_batch_writes_nothing(sqlite_engine: Engine) -> None:
    with session_scope(sqlite_engine) as session:
        ticket = new_ticket(session, vn(2025, 3, 3, 10))
        tid = ticket.id or 0
    with pytest.raises(RuntimeError), session_scope(sqlite_engine) as session, batched_events(session):
        add_event(session, tid, "first_response", "BHXH-HN", at=vn(2025, 3, 3, 11))
        raise RuntimeError("the batch fails")
    with session_scope(sqlite_engine) as session:  # and the session is no longer batching
        add_event(session, tid, "first_response", "BHXH-HN", at=vn(2025, 3, 3, 12))
        assert session.execute(select(func.count()).select_from(TicketEvent).where(TicketEvent.ticket_id == tid)).scalar_one() == 2  # type: ignore[arg-type]
    with Session(sqlite_engine) as session:
        clock = session.get(TicketClock, tid)
    assert clock is not None and clock.first_response_minutes == 120


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_a_batch_and_a_single_writer_at_once_keep_both_clock_updates(backend: str, request: pytest.FixtureRequest, sqlite_url: str) -> None:
    """The clock race fix holds for batches: the batch takes the ticket's lock when it writes its
    clocks, so the other writer waits and then reads the batch's changes (tests/reports/test_clock_race.py)."""
    from tests.reports.test_clock_race import _at_once, _engine
    from tickets.db import dispose_engines

    engine = _engine(backend, request, sqlite_url)
    try:
        with session_scope(engine) as session:
            tid = new_ticket(session, vn(2025, 3, 3, 10)).id or 0

        def single(session: Session) -> None:
            add_event(session, tid, "tags_corrected", "dieu.phoi", changes={"province_code": ["a", "b"]})

        def batch(session: Session) -> None:
            with batched_events(session):
                add_event(session, tid, "tags_corrected", "dieu.phoi", changes={"province_code": ["b", "c"]})
                add_event(session, tid, "tags_corrected", "dieu.phoi", changes={"category": ["x", "y"]})

        assert _at_once(engine, [batch, single]) == []
        with Session(engine) as session:
            clock = session.get(TicketClock, tid)
            assert clock is not None and (clock.corrections_province, clock.corrections_category) == (2, 1)
    finally:
        dispose_engines()
