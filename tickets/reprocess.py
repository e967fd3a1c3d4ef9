"""Rebuild messages and tags from raw items after a parser or classifier improves.

Ticket numbers are never changed (they have been sent to citizens and offices): messages are
re-parsed in place, items that failed before get another chance, and every ticket whose tags
were not set by hand is tagged again.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine

from ingest.registry import ParseContext, parser_for
from tickets import pipeline
from tickets.db import session_scope
from tickets.models import Message, RawItem, RawState, Ticket
from tickets.store import mark_raw_processed, raw_content, record_raw_failure, thread_key_of


def reprocess_all(engine: Engine, max_attachment_bytes: int, *, only_failed: bool = False) -> dict[str, int]:
    counts = {"reparsed": 0, "recovered": 0, "still_failing": 0, "retagged": 0}
    states = [RawState.FAILED.value, RawState.QUARANTINED.value]
    if not only_failed:
        states.append(RawState.PROCESSED.value)
        states.append(RawState.PENDING.value)
    with session_scope(engine) as session:
        raw_ids = list(
            session.execute(select(RawItem.id).where(RawItem.state.in_(states), RawItem.kind != "unreadable_file").order_by(RawItem.id)).scalars()  # type: ignore[attr-defined, arg-type]
        )
    for raw_id in raw_ids:
        outcome = _reparse(engine, raw_id, max_attachment_bytes)
        counts[outcome] += 1
    with session_scope(engine) as session:
        ticket_ids = list(session.execute(select(Ticket.id).where(Ticket.tags_locked.is_(False)).order_by(Ticket.id)).scalars())  # type: ignore[attr-defined, arg-type]
    for ticket_id in ticket_ids:
        if pipeline.classify_ticket(engine, ticket_id):
            counts["retagged"] += 1
    return counts


def _reparse(engine: Engine, raw_id: int, max_attachment_bytes: int) -> str:
    with session_scope(engine) as session:
        raw = session.get(RawItem, raw_id)
        assert raw is not None
        existing = session.execute(select(Message).where(Message.raw_item_id == raw_id)).scalar_one_or_none()  # type: ignore[arg-type]
        context = ParseContext(raw.source, raw.arrived_at, max_attachment_bytes)
        try:
            normalized = parser_for(raw.kind)(raw_content(session, raw), context)
        except Exception as exc:  # noqa: BLE001 - pure parser: the item's fault
            failed_before = raw.state != RawState.PROCESSED.value
            session.rollback()
            if failed_before:
                record_raw_failure(engine, raw_id, "normalize", f"{type(exc).__name__}: {exc}", permanent=True)
            return "still_failing"
        if existing is not None:
            existing.subject = normalized.subject
            existing.clean_text = normalized.clean_text
            existing.full_text = normalized.full_text
            existing.is_auto_reply = normalized.is_auto_reply
            existing.is_bounce = normalized.is_bounce
            existing.parent_keys = list(normalized.parent_keys)
            existing.thread_key = thread_key_of(normalized)
            session.add(existing)
            mark_raw_processed(session, raw_id)
            return "reparsed"
    pipeline.process_raw_item_now(engine, raw_id, max_attachment_bytes)
    return "recovered"
