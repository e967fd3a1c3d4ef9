"""`tiepnhan import`: files on disk → raw items → the pipeline → a summary of what happened."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from ingest.files import UnreadableFile, expand_paths, read_path, unreadable_raw_input
from tickets.db import session_scope
from tickets.models import Message, RawItem, RawState, Ticket
from tickets.store import RawInput
from tiepnhan.intake import accept

BATCH_SIZE = 200


@dataclass
class ImportSummary:
    items: int = 0
    new_tickets: int = 0
    added_to_existing: int = 0
    duplicates: int = 0
    without_ticket: int = 0  # auto-replies, bounces and outbound messages with no thread yet
    pending: int = 0  # queued for Redis workers, not processed by this process
    failures: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "items": self.items,
            "new_tickets": self.new_tickets,
            "added_to_existing": self.added_to_existing,
            "duplicates": self.duplicates,
            "without_ticket": self.without_ticket,
            "pending": self.pending,
            "failures": self.failures,
        }


def read_inputs(paths: Iterable[Path], source: str) -> Iterable[RawInput]:
    for path in expand_paths(list(paths)):
        for item in read_path(path, source):
            yield unreadable_raw_input(item, source) if isinstance(item, UnreadableFile) else item


def store_files(
    engine: Engine, paths: list[Path], source: str, on_item: Callable[[], None] = lambda: None
) -> tuple[int, list[int], int]:
    """Store every item found under `paths`; returns (ticket high-water mark, new raw ids, seen)."""
    with session_scope(engine) as session:
        high_water = int(session.execute(select(func.coalesce(func.max(Ticket.id), 0))).scalar_one())
    new_ids: list[int] = []
    seen = 0
    batch: list[RawInput] = []

    def flush() -> None:
        nonlocal seen
        for saved in accept(engine, batch):
            seen += 1
            if saved.is_new:
                new_ids.append(saved.raw_item_id)
        batch.clear()

    for item in read_inputs(paths, source):
        batch.append(item)
        on_item()
        if len(batch) >= BATCH_SIZE:
            flush()
    flush()
    return high_water, new_ids, seen


def summarize(engine: Engine, high_water: int, new_ids: list[int], seen: int) -> ImportSummary:
    summary = ImportSummary(items=seen, duplicates=seen - len(new_ids))
    new_ticket_ids: set[int] = set()
    with session_scope(engine) as session:
        for start in range(0, len(new_ids), 500):
            chunk = new_ids[start : start + 500]
            raws = session.execute(select(RawItem).where(RawItem.id.in_(chunk))).scalars().all()  # type: ignore[attr-defined]
            messages = {
                m.raw_item_id: m
                for m in session.execute(select(Message).where(Message.raw_item_id.in_(chunk))).scalars()  # type: ignore[attr-defined]
            }
            for raw in raws:
                message = messages.get(raw.id or 0)
                if raw.state in (RawState.QUARANTINED.value, RawState.FAILED.value):
                    where = raw.origin.get("path", raw.external_id)
                    summary.failures.append({"raw_item_id": str(raw.id), "where": str(where), "reason": raw.last_error or ""})
                elif raw.state == RawState.PENDING.value:
                    summary.pending += 1
                elif message is None:
                    summary.duplicates += 1  # the same message already came in another item
                elif message.ticket_id is None:
                    summary.without_ticket += 1
                elif message.ticket_id > high_water:
                    new_ticket_ids.add(message.ticket_id)
                else:
                    summary.added_to_existing += 1
    summary.new_tickets = len(new_ticket_ids)
    return summary
