"""Writes to the ticket store. Every write is idempotent: repeating it changes nothing.

At-least-once delivery means any stage may run twice (a worker killed after its commit but
before its acknowledgement). So inserts go through `insert_ignoring_duplicates`, which uses the
dialect's `INSERT ... ON CONFLICT DO NOTHING RETURNING` on SQLite and PostgreSQL alike, and
updates are written so that applying them twice gives the same row.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from tickets.db import session_scope
from tickets.clocks import record_clock_event
from tickets.event_batch import PendingEvent, active_batch
from tickets.models import (
    Attachment,
    Blob,
    Message,
    RawItem,
    RawState,
    ThreadKey,
    Ticket,
    TicketEvent,
    TicketStatus,
    utcnow,
)
from tickets.normalized import NormalizedMessage

MAX_ERROR_LENGTH = 2_000


def sha256_hex(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def insert_ignoring_duplicates(
    session: Session,
    model: type[SQLModel],
    rows: Sequence[dict[str, Any]],
    conflict_columns: Sequence[str],
    returning: str | None = None,
) -> list[Any]:
    """Insert rows, silently skipping those whose conflict key already exists.

    Returns the `returning` column of the rows actually inserted (empty when none were).
    """
    if not rows:
        return []
    table = model.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # One statement executed for many parameter sets (not one VALUES list per call): compiled
    # once and cached, and sent in batches by SQLAlchemy's "insertmanyvalues".
    statement = insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))
    if returning is None:
        session.execute(statement, list(rows))
        return []
    return [row[0] for row in session.execute(statement.returning(table.c[returning]), list(rows))]


# --- raw items ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RawInput:
    """One item as a source received it, before anything is parsed."""

    source: str
    kind: str
    external_id: str
    content: bytes = field(repr=False)
    origin: dict[str, Any] = field(default_factory=dict)
    arrived_at: datetime | None = None


@dataclass(frozen=True)
class SavedRaw:
    raw_item_id: int
    is_new: bool
    external_id: str


def save_blobs(session: Session, contents: Iterable[bytes]) -> list[str]:
    """Store bytes by content hash (each distinct content once); return the hashes."""
    by_hash: dict[str, bytes] = {}
    hashes = []
    for content in contents:
        digest = sha256_hex(content)
        by_hash.setdefault(digest, content)
        hashes.append(digest)
    rows = [{"sha256": h, "size": len(c), "content": c, "created_at": utcnow()} for h, c in by_hash.items()]
    for start in range(0, len(rows), 200):
        insert_ignoring_duplicates(session, Blob, rows[start : start + 200], ["sha256"])
    return hashes


def save_raw_items(engine: Engine, items: Sequence[RawInput]) -> list[SavedRaw]:
    """Durably store raw items in one transaction; a second delivery of an item adds nothing.

    This is the first thing a source does with what it fetched, before any parsing, so a
    crash at any later point can lose nothing.
    """
    if not items:
        return []
    with session_scope(engine) as session:
        hashes = save_blobs(session, (item.content for item in items))
        now = utcnow()
        rows = [
            {
                "source": item.source,
                "kind": item.kind,
                "external_id": item.external_id,
                "sha256": digest,
                "size": len(item.content),
                "arrived_at": item.arrived_at or now,
                "origin": item.origin,
                "state": RawState.PENDING.value,
                "attempts": 0,
            }
            for item, digest in zip(items, hashes, strict=True)
        ]
        new_ids: set[int] = set()
        for start in range(0, len(rows), 500):
            new_ids.update(insert_ignoring_duplicates(session, RawItem, rows[start : start + 500], ["source", "external_id"], "id"))
        ids = _raw_ids(session, items)
    results = []
    for item in items:
        raw_item_id = ids[(item.source, item.external_id)]
        # The same item twice in one batch: only its first occurrence is new.
        results.append(SavedRaw(raw_item_id=raw_item_id, is_new=raw_item_id in new_ids, external_id=item.external_id))
        new_ids.discard(raw_item_id)
    return results


def _raw_ids(session: Session, items: Sequence[RawInput]) -> dict[tuple[str, str], int]:
    ids: dict[tuple[str, str], int] = {}
    by_source: dict[str, list[str]] = {}
    for item in items:
        by_source.setdefault(item.source, []).append(item.external_id)
    for source, external_ids in by_source.items():
        for start in range(0, len(external_ids), 500):
            chunk = external_ids[start : start + 500]
            query = select(RawItem.id, RawItem.external_id).where(RawItem.source == source, RawItem.external_id.in_(chunk))  # type: ignore[attr-defined]
            for raw_id, external_id in session.execute(query):
                ids[(source, external_id)] = raw_id
    return ids


def raw_content(session: Session, raw: RawItem) -> bytes:
    blob = session.get(Blob, raw.sha256)
    if blob is None:  # pragma: no cover - a foreign key guarantees it
        raise LookupError(f"raw item {raw.id}: blob {raw.sha256} is missing")
    return blob.content


_SQL_DETAIL = re.compile(r"\s*\[(?:SQL|parameters|SQL parameters):.*", re.DOTALL)


def safe_error_text(text: str) -> str:
    """An error as it may be stored and shown: no SQL statement or parameters (they carry the
    citizen's text and ID numbers), the first line only, redacted (tiepnhan.logs.redact)."""
    from tiepnhan.logs import redact

    text = _SQL_DETAIL.sub("", text)
    text = text.strip().splitlines()[0] if text.strip() else ""
    return redact(text)[:MAX_ERROR_LENGTH]


def describe_error(exc: BaseException) -> str:
    """The error's class and a redacted message; for a database error, the driver's."""
    orig = getattr(exc, "orig", None)
    cause = orig if isinstance(orig, BaseException) else exc
    return safe_error_text(f"{type(cause).__name__}: {cause}")


def record_raw_failure(engine: Engine, raw_item_id: int, stage: str, error: str, *, permanent: bool) -> None:
    """Keep the failure visible on the raw item; the raw bytes themselves are never touched.
    The error is stored through `safe_error_text`."""
    with session_scope(engine) as session:
        session.execute(
            update(RawItem)
            .where(RawItem.id == raw_item_id)  # type: ignore[arg-type]
            .values(
                state=(RawState.QUARANTINED if permanent else RawState.FAILED).value,
                attempts=RawItem.attempts + 1,
                last_error=safe_error_text(error),
                error_stage=stage,
            )
        )


def mark_raw_processed(session: Session, raw_item_id: int) -> None:
    session.execute(
        update(RawItem)
        .where(RawItem.id == raw_item_id)  # type: ignore[arg-type]
        .values(state=RawState.PROCESSED.value, processed_at=utcnow(), last_error=None, error_stage=None)
    )


# --- messages -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredMessage:
    message_id: int
    is_new: bool  # False when this message was already stored (a redelivery)
    changed: bool = False  # an existing message was edited or deleted by this item


def thread_key_of(message: NormalizedMessage) -> str | None:
    """The key that places a message in its thread, even before any ticket exists."""
    return message.parent_keys[0] if message.parent_keys else message.own_key


def message_row_values(raw_item_id: int | None, source: str, received_at: datetime, message: NormalizedMessage) -> dict[str, Any]:
    """The column values of a new Message row for a normalized message (one place for the
    single-item path and the batch path, tickets/message_batch.py)."""
    return {
        "raw_item_id": raw_item_id,
        "channel": message.channel.value,
        "source": source,
        "external_id": message.external_id,
        "direction": message.direction.value,
        "sender_address": message.sender_address,
        "sender_name": message.sender_name,
        "subject": message.subject,
        "clean_text": message.clean_text,
        "full_text": message.full_text,
        "sent_at": message.sent_at,
        "received_at": received_at,
        "thread_key": thread_key_of(message),
        "parent_keys": list(message.parent_keys),
        "own_key": message.own_key,
        "ticket_ref": message.ticket_ref,
        "reply_token": message.reply_token,
        "is_auto_reply": message.is_auto_reply,
        "is_bounce": message.is_bounce,
        "bounced_message_id": message.bounced_message_id,
        "is_deleted": message.is_deleted,
        "previous_texts": [],
        "extra": _jsonable(message.extra),
        "threaded": False,
    }


def store_message(session: Session, raw: RawItem, message: NormalizedMessage) -> StoredMessage:
    """Store a normalized message once; a later version of it (an edit) updates the text."""
    existing = session.exec(  # type: ignore[call-overload]
        select(Message).where(Message.channel == message.channel.value, Message.external_id == message.external_id)
    ).scalar_one_or_none()
    if existing is not None:
        return StoredMessage(existing.id, is_new=False, changed=_apply_revision(session, existing, message))
    row = message_row_values(raw.id, raw.source, raw.arrived_at, message)
    inserted = insert_ignoring_duplicates(session, Message, [row], ["channel", "external_id"], "id")
    if not inserted:  # a concurrent worker stored it first
        existing_id = session.execute(
            select(Message.id).where(Message.channel == message.channel.value, Message.external_id == message.external_id)  # type: ignore[arg-type]
        ).scalar_one()
        return StoredMessage(existing_id, is_new=False)
    message_id = inserted[0]
    _store_attachments(session, message_id, message)
    return StoredMessage(message_id, is_new=True)


def _apply_revision(session: Session, existing: Message, message: NormalizedMessage) -> bool:
    """An edited or deleted fanpage comment: update it, keeping every earlier text."""
    changed = False
    if message.is_deleted and not existing.is_deleted:
        existing.is_deleted = True
        changed = True
    elif not message.is_deleted and message.clean_text != existing.clean_text and message.clean_text:
        if message.extra.get("edited") or existing.channel != "email":
            existing.previous_texts = [*existing.previous_texts, existing.full_text]
            existing.clean_text = message.clean_text
            existing.full_text = message.full_text
            existing.edited_at = utcnow()
            changed = True
    if changed:
        session.add(existing)
    return changed


def _store_attachments(session: Session, message_id: int, message: NormalizedMessage) -> None:
    kept = [a for a in message.attachments if a.content is not None]
    save_blobs(session, (a.content for a in kept if a.content is not None))
    for attachment in message.attachments:
        session.add(
            Attachment(
                message_id=message_id,
                filename=attachment.filename,
                content_type=attachment.content_type,
                size=attachment.size,
                sha256=sha256_hex(attachment.content) if attachment.content is not None else None,
                url=attachment.url,
                skipped_reason=attachment.skipped_reason,
            )
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


# --- events -------------------------------------------------------------------------------


def add_event(session: Session, ticket_id: int, kind: str, actor: str = "system", **data: Any) -> None:
    batch = active_batch(session)
    if batch is not None:  # written with the batch's other events, clocks once per ticket (tickets/event_batch.py)
        batch.add(session, PendingEvent(ticket_id, kind, actor, _jsonable(data), utcnow()))
        return
    event = TicketEvent(ticket_id=ticket_id, kind=kind, actor=actor, data=_jsonable(data))
    session.add(event)
    record_clock_event(session, event)  # every transition is clocked here (tickets/clocks.py)


def set_status(session: Session, ticket: Ticket, status: TicketStatus, actor: str, reason: str | None = None) -> bool:
    if ticket.status == status.value:
        return False
    previous = ticket.status
    ticket.status = status.value
    ticket.updated_at = utcnow()
    if status in (TicketStatus.RESOLVED, TicketStatus.CLOSED) and ticket.resolved_at is None:
        ticket.resolved_at = ticket.updated_at
    session.add(ticket)
    add_event(session, ticket.id or 0, "status_changed", actor, previous=previous, status=status.value, reason=reason)
    return True


def count_messages(session: Session, ticket_id: int) -> int:
    return int(session.execute(select(func.count()).select_from(Message).where(Message.ticket_id == ticket_id)).scalar_one())  # type: ignore[arg-type]


def register_thread_keys(session: Session, ticket_id: int, keys: Iterable[str]) -> None:
    rows = [{"key": key, "ticket_id": ticket_id} for key in dict.fromkeys(k for k in keys if k)]
    insert_ignoring_duplicates(session, ThreadKey, rows, ["key"])
