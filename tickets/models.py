"""The stored model: raw items, messages, tickets, their thread keys and event log.

Every datetime is stored timezone-aware in UTC (sqlmodel >= 0.0.45 rejects naive ones) and
shown in Asia/Ho_Chi_Minh. Idempotency is by construction: unique keys on what identifies an
item, and inserts that tolerate a second delivery (see tickets/store.py).
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from tickets.dbtypes import UTCDateTime


def utcnow() -> datetime:
    return datetime.now(UTC)


def _tz() -> Any:
    return UTCDateTime()


class RawState(enum.StrEnum):
    PENDING = "pending"  # stored, not yet normalized
    PROCESSED = "processed"  # became a message
    FAILED = "failed"  # a transient error; will be retried
    QUARANTINED = "quarantined"  # permanently unparseable: kept, visible, not retried


class TicketStatus(enum.StrEnum):
    NEW = "new"
    TRIAGED = "triaged"
    ESCALATED = "escalated"
    UNIT_RESPONDED = "unit_responded"  # a unit answered an escalation: it is handling it (docs/routing.md)
    ANSWERED = "answered"  # the center answered the citizen and waits on them (docs/answers.md)
    RESOLVED = "resolved"
    CLOSED = "closed"
    SPAM = "spam"


class Blob(SQLModel, table=True):
    """Content-addressed bytes: raw items and attachments, each stored once."""

    sha256: str = Field(primary_key=True, max_length=64)
    size: int
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=_tz())


class RawItem(SQLModel, table=True):
    """Exactly what arrived, before any parsing, so nothing is ever lost."""

    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_raw_item_source_external_id"),
        Index("ix_raw_item_state", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=200)  # mailbox or page name from the config, or "import"
    kind: str = Field(max_length=40)  # parser key: "email", "facebook_message", "facebook_comment"
    external_id: str = Field(max_length=1000)
    sha256: str = Field(foreign_key="blob.sha256", max_length=64, index=True)
    size: int
    arrived_at: datetime = Field(default_factory=utcnow, sa_type=_tz())
    # Where it was found: IMAP folder/uid, Graph object, file path. Shown in failures.
    origin: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str = Field(default=RawState.PENDING, max_length=20)
    attempts: int = 0
    last_error: str | None = None
    error_stage: str | None = Field(default=None, max_length=40)
    processed_at: datetime | None = Field(default=None, sa_type=_tz())


class Ticket(SQLModel, table=True):
    __table_args__ = (Index("ix_ticket_status", "status"), Index("ix_ticket_province", "province_code"))

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=40)
    source: str = Field(max_length=200)
    subject: str
    sender_address: str | None = None
    sender_name: str | None = None
    status: str = Field(default=TicketStatus.NEW, max_length=20)
    message_count: int = 0
    # Tags, filled by the classifiers, each with its evidence.
    insurance_types: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    province_code: str | None = Field(default=None, max_length=2)
    category: str | None = Field(default=None, max_length=20)
    topics: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    tag_confidence: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    tag_evidence: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    tagged_at: datetime | None = Field(default=None, sa_type=_tz())
    tags_locked: bool = False  # a coordinator set the tags by hand: classifiers leave them alone
    created_at: datetime = Field(default_factory=utcnow, sa_type=_tz())
    updated_at: datetime = Field(default_factory=utcnow, sa_type=_tz())
    first_response_at: datetime | None = Field(default=None, sa_type=_tz())
    resolved_at: datetime | None = Field(default=None, sa_type=_tz())

    @property
    def reference(self) -> str:
        return ticket_reference(self.id or 0)


def ticket_reference(ticket_id: int) -> str:
    return f"TN-{ticket_id:06d}"


class Message(SQLModel, table=True):
    __table_args__ = (
        # Message-IDs and Graph ids are global, so a message copied to two mailboxes is one message.
        UniqueConstraint("channel", "external_id", name="uq_message_channel_external_id"),
        Index("ix_message_ticket", "ticket_id"),
        Index("ix_message_thread_key", "thread_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    raw_item_id: int = Field(foreign_key="rawitem.id")
    channel: str = Field(max_length=40)
    source: str = Field(max_length=200)
    external_id: str = Field(max_length=1000)
    direction: str = Field(max_length=10)
    sender_address: str | None = None
    sender_name: str | None = None
    subject: str
    clean_text: str
    full_text: str
    sent_at: datetime | None = Field(default=None, sa_type=_tz())
    received_at: datetime = Field(default_factory=utcnow, sa_type=_tz())
    # The key that places this message in a thread even before its ticket exists.
    thread_key: str | None = Field(default=None, max_length=1000)
    parent_keys: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    own_key: str | None = Field(default=None, max_length=1000)
    ticket_ref: str | None = Field(default=None, max_length=40)
    reply_token: str | None = Field(default=None, max_length=200)
    is_auto_reply: bool = False
    is_bounce: bool = False
    bounced_message_id: str | None = None
    is_deleted: bool = False
    edited_at: datetime | None = Field(default=None, sa_type=_tz())
    previous_texts: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    extra: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    threaded: bool = False


class Attachment(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    filename: str
    content_type: str = Field(max_length=200)
    size: int
    sha256: str | None = Field(default=None, max_length=64)  # the Blob, when the bytes were kept
    url: str | None = None
    skipped_reason: str | None = None


class ThreadKey(SQLModel, table=True):
    """Maps every key of a thread (Message-IDs, conversation ids, comment ids) to its ticket."""

    key: str = Field(primary_key=True, max_length=1000)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)


class TicketEvent(SQLModel, table=True):
    """Append-only log of what happened to a ticket, and by whom."""

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=_tz())
    kind: str = Field(max_length=40)  # created, message_added, tagged, status_changed, escalated...
    actor: str = Field(default="system", max_length=200)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Checkpoint(SQLModel, table=True):
    """Per-source sync position (IMAP UIDVALIDITY/last UID, Graph updated_time cursor...)."""

    source: str = Field(primary_key=True, max_length=200)
    scope: str = Field(primary_key=True, max_length=500)  # folder name, "conversations", "feed"
    value: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=_tz())


class SourceHealth(SQLModel, table=True):
    """What `tiepnhan status` shows for each source."""

    source: str = Field(primary_key=True, max_length=200)
    kind: str = Field(max_length=40)  # "imap" | "facebook"
    last_attempt_at: datetime | None = Field(default=None, sa_type=_tz())
    last_success_at: datetime | None = Field(default=None, sa_type=_tz())
    consecutive_errors: int = 0
    failing_since: datetime | None = Field(default=None, sa_type=_tz())
    last_error: str | None = None
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
