"""Two workers writing events of one ticket at the same moment must not lose a clock update.

Each worker opens its own transaction, writes an event (which reads and changes the ticket's
clock), then waits for the other before committing. Without a lock both read the same clock and
the second commit overwrites the first; with the row lock (PostgreSQL) or the writer lock
(SQLite) the second worker waits in its read until the first has committed, so the wait at the
barrier times out and both updates are kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.reports.timeline import new_escalation, new_ticket, vn
from tickets.clock_models import EscalationClock, TicketClock
from tickets.db import dispose_engines, get_engine, migrate, session_scope
from tickets.models import Ticket
from tickets.store import add_event

BARRIER_WAIT_S = 1.5


def _engine(backend: str, request: pytest.FixtureRequest, sqlite_url: str) -> Engine:
    url = sqlite_url if backend == "sqlite" else str(request.getfixturevalue("postgres_url"))
    engine = get_engine(url)
    migrate(engine)
    return engine


def _at_once(engine: Engine, writes: list[Callable[[Session], None]]) -> list[BaseException]:
    """Run each write in its own thread and transaction, all committing only after all wrote
    (or after BARRIER_WAIT_S when one of them is held by a lock)."""
    barrier = threading.Barrier(len(writes))
    errors: list[BaseException] = []

    def worker(write: Callable[[Session], None]) -> None:
        try:
            with session_scope(engine) as session:
                write(session)
                session.flush()
                try:
                    barrier.wait(timeout=BARRIER_WAIT_S)
                except threading.BrokenBarrierError:
                    pass  # the other worker is waiting for our lock: commit and let it go on
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(write,)) for write in writes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_two_workers_correcting_tags_at_once_keep_both_counts(backend: str, request: pytest.FixtureRequest, sqlite_url: str) -> None:
    engine = _engine(backend, request, sqlite_url)
    try:
        with session_scope(engine) as session:
            tid = new_ticket(session, vn(2025, 3, 3, 10)).id or 0

        def correct(family: str) -> Callable[[Session], None]:
            return lambda session: add_event(session, tid, "tags_corrected", "dieu.phoi", changes={family: ["a", "b"]})

        errors = _at_once(engine, [correct("province_code"), correct("province_code")])
        assert errors == []
        with Session(engine) as session:
            clock = session.get(TicketClock, tid)
            assert clock is not None and clock.corrections_province == 2
    finally:
        dispose_engines()


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_first_events_of_a_ticket_without_a_clock_make_one_clock(backend: str, request: pytest.FixtureRequest, sqlite_url: str) -> None:
    """The clock row does not exist yet: both workers create it; neither fails, both count."""
    engine = _engine(backend, request, sqlite_url)
    try:
        with session_scope(engine) as session:
            ticket = Ticket(channel="email", source="hopthu", subject="Hỏi", created_at=datetime(2025, 3, 3, 3, tzinfo=UTC))
            session.add(ticket)
            session.flush()
            tid = ticket.id or 0

        def correct(family: str) -> Callable[[Session], None]:
            return lambda session: add_event(session, tid, "tags_corrected", "dieu.phoi", changes={family: ["a", "b"]})

        errors = _at_once(engine, [correct("topics"), correct("topics")])
        assert errors == []
        with Session(engine) as session:
            clock = session.get(TicketClock, tid)
            assert clock is not None and clock.corrections_topic == 2
    finally:
        dispose_engines()


def test_two_reroutes_at_once_count_twice_on_the_escalation_clock(request: pytest.FixtureRequest, sqlite_url: str) -> None:
    engine = _engine("postgres", request, sqlite_url)
    try:
        with session_scope(engine) as session:
            ticket = new_ticket(session, vn(2025, 3, 3, 10))
            tid = ticket.id or 0
            eid = new_escalation(session, ticket, "BHXH-HN", vn(2025, 3, 3, 10, 5)).id or 0
            add_event(session, tid, "escalation_approved", "dieu.phoi", escalation_id=eid, at=vn(2025, 3, 3, 10, 35))

        def reroute(unit: str) -> Callable[[Session], None]:
            return lambda session: add_event(session, tid, "escalation_rerouted", "dieu.phoi", escalation_id=eid, unit=unit, at=vn(2025, 3, 3, 11))

        errors = _at_once(engine, [reroute("BHXH-HP"), reroute("BHXH-DN")])
        assert errors == []
        with Session(engine) as session:
            clock = session.get(EscalationClock, eid)
            assert clock is not None and clock.reroute_count == 2
            assert clock.decision == "approved" and clock.review_business_minutes == 30
    finally:
        dispose_engines()
