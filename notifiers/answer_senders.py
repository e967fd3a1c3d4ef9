"""The senders of answers, one per mode, behind one small protocol (docs/answers.md).

`prepare` builds what will be sent (a mail, a platform request) from the stored answer and its
ticket, without side effects; it may refuse (AnswerPermanentError, e.g. the window closed).
`send` is the one side effect: it hands the prepared answer to the server and returns the
platform's id of what was sent, or raises AnswerTransientError / AnswerPermanentError.

Each sender module registers itself on import; the modules are listed in SENDER_MODULES and
imported on first use, so a deployment without a channel never loads its code.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Protocol

from sqlmodel import Session

from config.settings import Settings
from tickets.answer_models import Answer
from tickets.models import Ticket

# One line per sender module; each calls `register(...)` at import.
SENDER_MODULES: tuple[str, ...] = (
    "notifiers.answer_email",
    "notifiers.answer_facebook",
    "notifiers.answer_zalo",
    "notifiers.answer_portal",
)


@dataclass(frozen=True)
class PreparedAnswer:
    """Everything needed to send one answer, and to record it once sent."""

    answer_id: int
    ticket_id: int
    mode: str
    message_id: str  # email: the stable RFC 5322 Message-ID; platforms: the idempotency key
    text: str  # the plain text sent
    source: str  # the ticket's source (mailbox, page or official account name)
    recipients: tuple[str, ...] = ()
    sender_address: str | None = None  # who the outbound message is from (the mailbox, the page)
    subject: str = ""
    email: EmailMessage | None = None
    request: dict[str, Any] = field(default_factory=dict)  # a platform call: path, params, body
    thread_keys: tuple[str, ...] = ()  # registered on the ticket once sent, so replies thread back
    # The channel the sent message lives on when not the ticket's: a comment's private reply is a
    # Messenger message, and its echo comes back on that channel (notifiers/answer_facebook.py).
    message_channel: str | None = None


@dataclass(frozen=True)
class SentAnswer:
    external_id: str | None  # the platform's id of what was sent; None for email (its Message-ID)
    sent_at: datetime


class AnswerSender(Protocol):
    mode: str

    def prepare(self, settings: Settings, session: Session, answer: Answer, ticket: Ticket) -> PreparedAnswer: ...

    def send(self, settings: Settings, prepared: PreparedAnswer) -> SentAnswer: ...


SENDERS: dict[str, AnswerSender] = {}
_loaded = False


def register(sender: AnswerSender) -> AnswerSender:
    SENDERS[sender.mode] = sender
    return sender


def load_senders() -> dict[str, AnswerSender]:
    global _loaded
    if not _loaded:
        for module in SENDER_MODULES:
            importlib.import_module(module)
        _loaded = True
    return SENDERS


def sender_for(mode: str) -> AnswerSender | None:
    return load_senders().get(mode)
