"""Header fields: ids, addresses, subject, date, ticket references. Never raise on garbage."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses, parseaddr, parsedate_to_datetime

from ingest.email.charsets import fix_header_text
from tickets.normalized import safe_line

NO_SUBJECT = "(không có tiêu đề)"
_MSGID = re.compile(r"<([^<>\s]+)>")
_MESSAGE_ID_FIELD = re.compile(rb"(?im)^message-id[ \t]*:((?:.*)(?:\r?\n[ \t].*)*)")
_TICKET_REF = re.compile(r"\[\s*TN[-\s]?(\d{1,9})\s*\]", re.IGNORECASE)
# Our tokens are 8 characters (notifiers.compose); a longer "secret" is not ours, and would not
# fit the column.
_REPLY_TOKEN = re.compile(r"^[^+@\s]+\+(TN-\d{1,9}\.[a-z0-9]{1,64})@", re.IGNORECASE)


def safe_header(message: EmailMessage, name: str) -> str | None:
    """A header's decoded text; falls back to RFC 2047 decoding of the raw value.

    The policy's parser raises on some malformed values (an empty `<>` Message-ID, a CR in an
    address, a truncated group...), with errors of any class: the raw value is read then.
    """
    try:
        value = message.get(name)
    except Exception:  # noqa: BLE001 - policy.default raises IndexError, ValueError... on garbage
        raw = raw_header(message, name)
        value = _decode_words(raw) if raw is not None else None
    if value is None:
        return None
    try:
        text = str(value)
    except Exception:  # noqa: BLE001 - a header object that cannot render itself
        text = raw_header(message, name) or ""
    if "=?" in text:  # encoded-words the parser left alone (e.g. inside quotes)
        text = _decode_words(text)
    text = re.sub(r"\s*[\r\n]+\s*", " ", text).strip()
    return fix_header_text(text)


def _decode_words(text: str) -> str:
    try:
        return str(make_header(decode_header(text)))
    except Exception:  # noqa: BLE001 - unknown charset in an encoded-word, NUL in a label
        return text


def message_ids(text: str | None) -> list[str]:
    return _MSGID.findall(text or "")


def own_message_id(message: EmailMessage) -> str | None:
    ids = message_ids(safe_header(message, "Message-ID"))
    if ids:
        return ids[0]
    raw = (safe_header(message, "Message-ID") or "").strip()
    return raw or None


def parent_ids(message: EmailMessage) -> list[str]:
    """In-Reply-To first, then References from the most recent (RFC 5322 section 3.6.4)."""
    ordered = message_ids(safe_header(message, "In-Reply-To")) + list(reversed(message_ids(safe_header(message, "References"))))
    return list(dict.fromkeys(ordered))


def raw_header(message: EmailMessage, name: str) -> str | None:
    """The header's raw value, unfolded, before any policy parsing."""
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return re.sub(r"\r?\n[ \t]+", " ", str(value)).strip()
    return None


def sender(message: EmailMessage) -> tuple[str | None, str | None]:
    """(display name, address) of From, falling back to Sender / Reply-To.

    Decoded from the raw value: adjacent encoded-words join without the space between them
    (RFC 2047 section 6.2), and an old-style "addr (Comment)" gives the comment as the name.
    """
    for name in ("From", "Sender", "Reply-To"):
        raw = raw_header(message, name)
        if not raw:
            continue
        text = raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace") if any("\udc80" <= c <= "\udcff" for c in raw) else raw
        display, address = parseaddr(_decode_words(text) if "=?" in text else text)
        if address or display:
            return (fix_header_text(display) or None), (address or None)
    return None, None


def recipients(message: EmailMessage) -> list[str]:
    found: list[str] = []
    for name in ("To", "Cc", "Delivered-To", "X-Original-To"):
        text = safe_header(message, name)
        if text:
            found += [address for _display, address in getaddresses([text]) if address]
    return list(dict.fromkeys(found))


def subject(message: EmailMessage) -> str:
    text = safe_header(message, "Subject")
    return text if text else NO_SUBJECT


def sent_at(message: EmailMessage) -> datetime | None:
    text = raw_header(message, "Date")  # parsed once here, not also by policy.default
    if not text:
        return None
    try:
        value = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def ticket_ref(subject_text: str) -> str | None:
    match = _TICKET_REF.search(subject_text)
    return f"TN-{int(match.group(1)):06d}" if match else None


def reply_token(addresses: list[str]) -> str | None:
    for address in addresses:
        match = _REPLY_TOKEN.match(address)
        if match:
            token = match.group(1)
            number, _, secret = token.partition(".")
            return f"TN-{int(number[3:]):06d}.{secret.lower()}"
    return None


def body_fingerprint(raw: bytes) -> str:
    """Hash of the bytes after the header block: equal for two deliveries of one message."""
    for separator in (b"\r\n\r\n", b"\n\n", b"\r\r"):
        index = raw.find(separator)
        if index != -1:
            return hashlib.sha256(raw[index + len(separator) :]).hexdigest()
    return hashlib.sha256(raw).hexdigest()


def header_block(raw: bytes) -> bytes:
    """The bytes up to the blank line that ends the header (RFC 5322 section 2.1)."""
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    return raw[: min(ends) + 2] if ends else raw


def email_external_id(raw: bytes) -> str:
    """Stable id of a raw email, from its header only: "<Message-ID>" or "sha256:<hex>".

    A buggy client may reuse a Message-ID for different content, so the id also carries a
    short hash of the body: two deliveries of one message share it, different mails do not.
    """
    block = header_block(raw)
    # The header field, unfolded (RFC 5322 section 2.2.3); the parser only when it is not plain.
    match = _MESSAGE_ID_FIELD.search(block)
    ids = message_ids(match.group(1).decode("ascii", "replace")) if match else []
    if not ids:
        try:
            headers = BytesHeaderParser(policy=compat32).parsebytes(block)
            ids = message_ids(str(headers.get("Message-ID") or ""))
        except Exception:  # noqa: BLE001
            ids = []
    if not ids:
        return f"sha256:{hashlib.sha256(raw).hexdigest()}"
    return f"{safe_line(ids[0])[:400]}#{body_fingerprint(raw)[:16]}"
