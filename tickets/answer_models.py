"""Answers to citizens (issue 14), and every attempt to deliver one.

Lifecycle (docs/answers.md):

    pending ─ sending ─┬─ sent
       ▲               ├─ pending (a transient failure: tried again after a backoff)
       └───────────────┘
                       └─ failed (a permanent failure, its reason shown on the ticket)
    refused: the answer could not even be prepared (e.g. the 24-hour window closed)
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from tickets.dbtypes import UTCDateTime
from tickets.models import utcnow


def _tz() -> Any:
    return UTCDateTime()


class AnswerStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by one sender; see notifiers/answer_delivery.py
    SENT = "sent"
    FAILED = "failed"
    REFUSED = "refused"


class AnswerMode(enum.StrEnum):
    EMAIL = "email"
    MESSENGER = "messenger"  # a fanpage private message (Send API)
    COMMENT_PUBLIC = "comment_public"  # a public reply to a fanpage comment
    COMMENT_PRIVATE = "comment_private"  # a private reply to a fanpage comment
    ZALO = "zalo"
    PORTAL = "portal"  # published on the portal's lookup page, mailed when the question gave an address


MAX_ANSWER_CHARS = 10_000


class Answer(SQLModel, table=True):
    __table_args__ = (Index("ix_answer_status", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    channel: str = Field(max_length=40)  # the ticket's channel, or the chosen mode's
    mode: str = Field(max_length=20)  # AnswerMode
    status: str = Field(default=AnswerStatus.PENDING.value, max_length=20)
    # The final plain text sent, greeting and signature included.
    text: str = Field(sa_column=Column(Text, nullable=False))
    author: str = Field(max_length=200)  # the user's name, or "auto"
    user_id: int | None = None
    entry_id: int | None = None  # the question bank entry it started from
    automatic: bool = False
    # Email: the stable RFC 5322 Message-ID; platforms: the idempotency key.
    message_id: str = Field(max_length=300, index=True)
    # The platform's id of what was sent (Graph message_id / comment id, Zalo message_id).
    external_id: str | None = Field(default=None, max_length=1000)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=_tz())
    claimed_at: datetime | None = Field(default=None, sa_type=_tz())
    last_error: str | None = None
    permanent: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=_tz())
    sent_at: datetime | None = Field(default=None, sa_type=_tz())


class AnswerAttempt(SQLModel, table=True):
    """One try to hand an answer to a server (SMTP, the Graph API, Zalo)."""

    __tablename__ = "answer_attempt"

    id: int | None = Field(default=None, primary_key=True)
    answer_id: int = Field(foreign_key="answer.id", index=True)
    status: str = Field(max_length=20)  # sending | sent | failed | refused
    error: str | None = None
    permanent: bool = False
    started_at: datetime = Field(default_factory=utcnow, sa_type=_tz())
    finished_at: datetime | None = Field(default=None, sa_type=_tz())
