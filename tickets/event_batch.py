"""Ticket events of one batch transaction, written together (issue 16, docs/pipeline.md).

Inside `batched_events(session)`, `tickets.store.add_event` does not build a `TicketEvent` row
object nor touch the clocks: it keeps the event as a plain `PendingEvent`. When the block ends
(before the transaction commits) the events are appended with one core INSERT of many rows, and
each touched ticket's clocks are locked once (sorted ids, the lock of the clock race fix, in one
statement) and updated once from its new events, in the order they were added, by the same
rules as the event-by-event path (`tickets.clocks.apply_clock_event`).

A savepoint rolled back inside the block drops the events added under it (the rows it wrote are
gone, so are their events); an exception leaving the block drops them all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event, insert
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session

from tickets.clocks import record_clock_events
from tickets.models import TicketEvent

BATCH_KEY = "event_batch"


@dataclass(frozen=True, slots=True)
class PendingEvent:
    """An event not yet written: the attributes the clocks read of a `TicketEvent`."""

    ticket_id: int
    kind: str
    actor: str
    data: dict[str, Any]
    at: datetime


@dataclass
class EventBatch:
    events: list[tuple[PendingEvent, SessionTransaction | None]] = field(default_factory=list)

    def add(self, session: Session, pending: PendingEvent) -> None:
        self.events.append((pending, session.get_nested_transaction() or session.get_transaction()))

    def drop_under(self, rolled_back: SessionTransaction) -> None:
        """Forget the events added in `rolled_back` or in a savepoint opened inside it."""
        self.events = [(e, t) for e, t in self.events if not _within(t, rolled_back)]


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


def active_batch(session: Session) -> EventBatch | None:
    batch = session.info.get(BATCH_KEY)
    return batch if isinstance(batch, EventBatch) else None


@contextmanager
def batched_events(session: Session) -> Iterator[EventBatch]:
    """Collect the events added in the block; write them and their clocks when it ends."""
    existing = active_batch(session)
    if existing is not None:  # an enclosing block writes them
        yield existing
        return
    batch = session.info[BATCH_KEY] = EventBatch()

    def on_rollback(_session: Session, previous: SessionTransaction) -> None:
        batch.drop_under(previous)

    event.listen(session, "after_soft_rollback", on_rollback)
    try:
        yield batch
        pending = [e for e, _ in batch.events]
        batch.events = []
        write_events(session, pending)
    finally:
        event.remove(session, "after_soft_rollback", on_rollback)
        session.info.pop(BATCH_KEY, None)


def write_events(session: Session, pending: list[PendingEvent]) -> None:
    """One INSERT for all the events, then each touched ticket's clocks once."""
    if not pending:
        return
    rows = [{"ticket_id": e.ticket_id, "at": e.at, "kind": e.kind, "actor": e.actor, "data": e.data} for e in pending]
    session.execute(insert(TicketEvent.__table__), rows)  # type: ignore[attr-defined]
    record_clock_events(session, pending)
