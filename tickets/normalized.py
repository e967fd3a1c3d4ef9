"""The channel-neutral shape every source's parser produces.

Parsers in `ingest/` are pure functions from a raw item (RFC 5322 bytes, or a Graph API
JSON object) to a `NormalizedMessage`. The pipeline in `tickets/` only ever sees this type,
so threading, classification and routing are the same for every channel.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Channel(enum.StrEnum):
    EMAIL = "email"
    FACEBOOK_MESSAGE = "facebook_message"
    FACEBOOK_COMMENT = "facebook_comment"


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"  # written by the page or by the center itself


@dataclass(frozen=True)
class AttachmentData:
    """One attachment as the parser saw it.

    `content` is None when the attachment was skipped (over the size cap) or is only
    known by URL (Graph API attachments); `skipped_reason` then says why.
    """

    filename: str
    content_type: str
    size: int
    sha256: str | None = None
    content: bytes | None = field(default=None, repr=False)
    url: str | None = None
    skipped_reason: str | None = None


@dataclass(frozen=True)
class NormalizedMessage:
    channel: Channel
    # Message-ID for email (angle brackets stripped), Graph id for fanpage items;
    # "sha256:<hex>" of the raw bytes when the item carries no id of its own.
    external_id: str
    direction: Direction
    sender_address: str | None  # email address or Graph user/page id
    sender_name: str | None
    subject: str
    full_text: str  # the whole readable text, quotes and signature included
    clean_text: str  # only what the author wrote now: what classifiers see
    sent_at: datetime | None  # timezone-aware when known
    # Keys naming the thread this message *belongs to*, most specific first:
    # email "msgid:<id>" for each In-Reply-To / References id; fanpage "fb-conv:<id>"
    # or "fb-comment:<top-level comment id>".
    parent_keys: tuple[str, ...] = ()
    # The key other messages will use to refer to this one (email "msgid:<own id>").
    own_key: str | None = None
    # A ticket reference found in the subject or the recipient address, e.g. "TN-000123".
    ticket_ref: str | None = None
    # The token after "+" in a recipient address such as hotro+TN-000123.k3f9@example.vn.
    reply_token: str | None = None
    is_auto_reply: bool = False
    is_bounce: bool = False
    # For a bounce: the Message-ID of the message that bounced, when it can be found.
    bounced_message_id: str | None = None
    recipients: tuple[str, ...] = ()
    attachments: tuple[AttachmentData, ...] = ()
    # Fanpage comments can be edited or deleted after we stored them.
    is_deleted: bool = False
    # Anything channel specific worth keeping (post id, IMAP flags, parser defects...).
    extra: dict[str, object] = field(default_factory=dict)
