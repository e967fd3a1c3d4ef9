"""The channel-neutral shape every source's parser produces.

Parsers in `ingest/` are pure functions from a raw item (RFC 5322 bytes, or a Graph API
JSON object) to a `NormalizedMessage`. The pipeline in `tickets/` only ever sees this type,
so threading, classification and routing are the same for every channel.
"""

from __future__ import annotations

import enum
import hashlib
import re
from dataclasses import dataclass, field, replace
from datetime import datetime


class Channel(enum.StrEnum):
    EMAIL = "email"
    FACEBOOK_MESSAGE = "facebook_message"
    FACEBOOK_COMMENT = "facebook_comment"
    ZALO = "zalo"
    PORTAL = "portal"  # the web portal's question form and its API (ingest/portal)
    CALL = "call"  # a call-center call with the agent's summary (ingest/calls)


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


# --- what a person may safely read ----------------------------------------------------------
# Terminal escape sequences are removed whole (CSI "ESC [ ... letter", OSC "ESC ] ... BEL|ST",
# and the other two-character ESC forms), then every remaining control character: C0 except
# newline and tab, DEL, C1 (U+0080-U+009F), the bidirectional overrides and isolates, and what
# PostgreSQL text cannot hold (NUL, lone surrogates). CR LF and a lone CR become a newline.
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]?"  # CSI
    r"|\x9b[0-?]*[ -/]*[@-~]?"  # 8-bit CSI
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC, DCS, SOS, PM, APC
    r"|\x1b[ -/]*[0-~]?"  # other ESC sequences (and a lone ESC)
)
_LINE_BREAK = re.compile(r"\r\n?|[\x0b\x0c\x85\u2028\u2029]")
_UNSAFE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]")
_INLINE_SPACE = re.compile(r"[\t\n]+")


def safe_text(text: str) -> str:
    """Text from outside with nothing a terminal, a mail client or PostgreSQL would act on."""
    if text.isascii() and text.isprintable():
        return text
    text = _ESCAPE_SEQUENCE.sub("", text)
    text = _LINE_BREAK.sub("\n", text)
    return _UNSAFE.sub("", text)


def safe_line(text: str) -> str:
    """As `safe_text`, for a one-line field (subject, name, address, file name)."""
    return _INLINE_SPACE.sub(" ", safe_text(text)).strip()


# Ids and thread keys are stored in columns of 1,000 characters (and PostgreSQL refuses a longer
# value). A sender's Message-ID has no length limit in practice (RFC 5322 sets none beyond the
# line), so a longer id is kept as its start plus a hash of the whole: stable, so a reply naming
# the same id still finds its thread, and short enough for every column.
MAX_KEY_CHARS = 500
MAX_CONTENT_TYPE_CHARS = 200  # the attachment.content_type column


def bounded_key(key: str) -> str:
    """`safe_line(key)`, with an over-long key replaced by its start and its SHA-256."""
    key = safe_line(key)
    if len(key) <= MAX_KEY_CHARS:
        return key
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{key[:100]}~sha256:{digest}"


def _optional_key(key: str | None) -> str | None:
    return bounded_key(key) if key is not None else None


def _safe_value(value: object) -> object:
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, list | tuple):
        return type(value)(_safe_value(v) for v in value)
    if isinstance(value, dict):
        return {safe_line(str(k)): _safe_value(v) for k, v in value.items()}
    return value


def _optional_line(text: str | None) -> str | None:
    return safe_line(text) if text is not None else None


def sanitized(message: NormalizedMessage) -> NormalizedMessage:
    """The message with `safe_text` applied to every text field: what every parser returns."""
    return replace(
        message,
        external_id=bounded_key(message.external_id),
        sender_address=_optional_line(message.sender_address),
        sender_name=_optional_line(message.sender_name),
        subject=safe_line(message.subject),
        full_text=safe_text(message.full_text),
        clean_text=safe_text(message.clean_text),
        parent_keys=tuple(bounded_key(k) for k in message.parent_keys),
        own_key=_optional_key(message.own_key),
        ticket_ref=_optional_line(message.ticket_ref),
        reply_token=_optional_line(message.reply_token),
        bounced_message_id=_optional_key(message.bounced_message_id),
        recipients=tuple(safe_line(r) for r in message.recipients),
        attachments=tuple(
            replace(a, filename=safe_line(a.filename), content_type=safe_line(a.content_type)[:MAX_CONTENT_TYPE_CHARS],
                    url=_optional_line(a.url), skipped_reason=_optional_line(a.skipped_reason))
            for a in message.attachments
        ),  # fmt: skip
        extra=_safe_value(message.extra),  # type: ignore[arg-type]
    )
