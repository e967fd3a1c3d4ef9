"""Store a batch of normalized messages with set-based SQL: one query to find those already
stored, one multi-row `INSERT ... ON CONFLICT DO NOTHING RETURNING` for the new ones, one for
their attachments, one UPDATE marking the raw items processed.

Idempotent like `tickets.store.store_message` (which it mirrors row for row): a redelivered batch
inserts nothing, and an existing message gets the revision its new version carries (a fanpage
edit or deletion). A row the database refuses (PostgreSQL `DataError`) fails only its own item:
the batch insert is retried one item at a time, and the caller quarantines the ones refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import DataError
from sqlmodel import Session

from tickets.models import Attachment, Message, RawItem, RawState, utcnow
from tickets.normalized import NormalizedMessage
from tickets.store import (
    StoredMessage,
    _apply_revision,  # the one definition of how an edit or a deletion changes a stored message
    message_row_values,
    save_blobs,
    sha256_hex,
    thread_key_of,
)

CHUNK = 500  # ids per IN (...) list: well under SQLite's and PostgreSQL's parameter limits


@dataclass(frozen=True)
class RawRow:
    """What the pipeline needs of a raw item, loaded with its bytes in one query."""

    id: int
    source: str
    kind: str
    arrived_at: datetime
    content: bytes


def load_raw_rows(session: Session, raw_ids: Sequence[int]) -> dict[int, RawRow]:
    from tickets.models import Blob

    rows: dict[int, RawRow] = {}
    for start in range(0, len(raw_ids), CHUNK):
        query = (
            select(RawItem.id, RawItem.source, RawItem.kind, RawItem.arrived_at, Blob.content)
            .join(Blob, Blob.sha256 == RawItem.sha256)  # type: ignore[arg-type]
            .where(RawItem.id.in_(raw_ids[start : start + CHUNK]))  # type: ignore[union-attr]
        )
        for raw_id, source, kind, arrived_at, content in session.execute(query):
            rows[raw_id] = RawRow(raw_id, source, kind, arrived_at, content)
    return rows


def message_row(raw: RawRow, message: NormalizedMessage) -> dict[str, Any]:
    return message_row_values(raw.id, raw.source, raw.arrived_at, message)


@dataclass
class StoredBatch:
    stored: dict[int, StoredMessage]  # raw item id -> its message
    refused: dict[int, DataError]  # raw item id -> why the database refused its row


def store_message_batch(session: Session, items: Sequence[tuple[RawRow, NormalizedMessage]]) -> StoredBatch:
    """Store every item's message (see the module doc); raw items stored are marked processed."""
    result = StoredBatch({}, {})
    existing = _existing_messages(session, [message for _, message in items])
    fresh: list[tuple[RawRow, NormalizedMessage]] = []
    first_of: dict[tuple[str, str], int] = {}  # the same message twice in this batch: the first raw item stores it
    repeats: list[tuple[int, tuple[str, str]]] = []
    for raw, message in items:
        key = (message.channel.value, message.external_id)
        if key in existing:
            stored = existing[key]
            result.stored[raw.id] = StoredMessage(stored.id or 0, is_new=False, changed=_apply_revision(session, stored, message))
        elif key in first_of:
            repeats.append((raw.id, key))
        else:
            first_of[key] = raw.id
            fresh.append((raw, message))
    try:
        with session.begin_nested():
            inserted = _insert_fresh(session, fresh)
    except DataError:
        inserted = {}
        for raw, message in fresh:  # one at a time, so only the refused items fail
            try:
                with session.begin_nested():
                    inserted.update(_insert_fresh(session, [(raw, message)]))
            except DataError as exc:
                result.refused[raw.id] = exc
    result.stored.update(inserted)
    for raw_id, key in repeats:
        first = inserted.get(first_of[key])
        if first is not None:
            result.stored[raw_id] = StoredMessage(first.message_id, is_new=False)
        else:
            result.refused[raw_id] = result.refused[first_of[key]]
    mark_processed(session, list(result.stored))
    return result


def _existing_messages(session: Session, messages: Sequence[NormalizedMessage]) -> dict[tuple[str, str], Message]:
    found: dict[tuple[str, str], Message] = {}
    by_channel: dict[str, list[str]] = {}
    for message in messages:
        by_channel.setdefault(message.channel.value, []).append(message.external_id)
    for channel, external_ids in by_channel.items():
        unique = list(dict.fromkeys(external_ids))
        for start in range(0, len(unique), CHUNK):
            query = select(Message).where(Message.channel == channel, Message.external_id.in_(unique[start : start + CHUNK]))  # type: ignore[attr-defined]
            for message in session.execute(query).scalars():
                found[(message.channel, message.external_id)] = message
    return found


def _insert_fresh(session: Session, fresh: Sequence[tuple[RawRow, NormalizedMessage]]) -> dict[int, StoredMessage]:
    """Insert new messages (one per key) and their attachments; a row a concurrent worker
    inserted first (the conflict) is looked up and reported as not new."""
    if not fresh:
        return {}
    rows = [message_row(raw, message) for raw, message in fresh]
    table = Message.__table__  # type: ignore[attr-defined]
    statement = _insert(session, table).on_conflict_do_nothing(index_elements=["channel", "external_id"])
    statement = statement.returning(table.c.id, table.c.channel, table.c.external_id)
    new_ids: dict[tuple[str, str], int] = {}
    for start in range(0, len(rows), CHUNK):
        for message_id, channel, external_id in session.execute(statement, rows[start : start + CHUNK]):
            new_ids[(channel, external_id)] = message_id
    late = [m for _, m in fresh if (m.channel.value, m.external_id) not in new_ids]
    earlier = {key: message.id or 0 for key, message in _existing_messages(session, late).items()}
    stored: dict[int, StoredMessage] = {}
    for raw, message in fresh:
        key = (message.channel.value, message.external_id)
        stored[raw.id] = StoredMessage(new_ids[key], is_new=True) if key in new_ids else StoredMessage(earlier[key], is_new=False)
    _insert_attachments(session, [(stored[raw.id].message_id, message) for raw, message in fresh if stored[raw.id].is_new])
    return stored


def _insert(session: Session, table: Any) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite

    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)


def _insert_attachments(session: Session, messages: Sequence[tuple[int, NormalizedMessage]]) -> None:
    contents = [a.content for _, message in messages for a in message.attachments if a.content is not None]
    if contents:
        save_blobs(session, contents)
    rows = [
        {
            "message_id": message_id,
            "filename": attachment.filename,
            "content_type": attachment.content_type,
            "size": attachment.size,
            "sha256": sha256_hex(attachment.content) if attachment.content is not None else None,
            "url": attachment.url,
            "skipped_reason": attachment.skipped_reason,
        }
        for message_id, message in messages
        for attachment in message.attachments
    ]
    if rows:
        session.execute(insert(Attachment), rows)


def mark_processed(session: Session, raw_ids: Sequence[int]) -> None:
    now = utcnow()
    for start in range(0, len(raw_ids), CHUNK):
        session.execute(
            update(RawItem)
            .where(RawItem.id.in_(raw_ids[start : start + CHUNK]))  # type: ignore[union-attr]
            .values(state=RawState.PROCESSED.value, processed_at=now, last_error=None, error_stage=None)
        )


def mark_failed(session: Session, raw_ids: Sequence[int], stage: str, reason: str, *, permanent: bool) -> None:
    """`tickets.store.record_raw_failure` in the caller's transaction (which may hold SQLite's
    writer lock: a second connection would wait for it)."""
    from tickets.store import safe_error_text

    session.execute(
        update(RawItem)
        .where(RawItem.id.in_(list(raw_ids)))  # type: ignore[union-attr]
        .values(
            state=(RawState.QUARANTINED if permanent else RawState.FAILED).value,
            attempts=RawItem.attempts + 1,
            last_error=safe_error_text(reason),
            error_stage=stage,
        )
    )

