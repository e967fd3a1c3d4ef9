"""RFC 5322 / MIME bytes → NormalizedMessage. A pure function: same bytes, same result."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from email.parser import BytesParser
from typing import TypeVar

from ingest.email import headers
from ingest.email.autoreply import auto_kind, bounced_message_id
from ingest.email.charsets import decode_text, fix_header_text
from ingest.email.html_text import html_to_texts
from ingest.email.limits import bound_header, bound_mime_depth
from ingest.email.mime_policy import message_policy
from ingest.email.quotes import split_reply
from tickets.normalized import AttachmentData, Channel, Direction, NormalizedMessage, sanitized

DEFAULT_MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
# A text part longer than this is cut before decoding (the raw item keeps every byte).
MAX_TEXT_PART_BYTES = 2 * 1024 * 1024
_HEADER_LINE = re.compile(rb"^(?:From |[!-9;-~]+[ \t]*:)")
T = TypeVar("T")
_OLE2_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")
_STUB_PLAIN = re.compile(
    r"^\s*(this (is an? )?(html|multi-?part)[^\n]*|your (email|mail) (client|program|reader)[^\n]*|"
    r"to view this (message|email)[^\n]*|xem thư này[^\n]*|nội dung thư ở dạng html[^\n]*)?\s*$",
    re.IGNORECASE,
)


class EmailParseError(ValueError):
    """The input is not an email at all (the sender's fault, not ours)."""


def _check_is_email(raw: bytes) -> None:
    if raw.startswith(_OLE2_MAGIC):
        raise EmailParseError("an Outlook .msg file (OLE2 compound document), not an RFC 5322 message")
    if not raw.strip():
        raise EmailParseError("empty input")
    if b"\x00" in raw[:1024] and not _HEADER_LINE.match(raw.lstrip()):
        raise EmailParseError("binary data, not an RFC 5322 message")


def _normalize_line_endings(raw: bytes) -> bytes:
    if b"\r" in raw and b"\r\n" not in raw:  # old Mac CR-only files
        return raw.replace(b"\r", b"\n")
    return raw


def _payload_bytes(part: EmailMessage) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - malformed base64 / unknown transfer encoding
        data = None
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()
    return payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""


def _partial_tail(data: bytes) -> int:
    """How many bytes at the end of a cut start a multi-byte character the cut left incomplete."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return 0
        if byte >= 0xC0:  # the lead byte: complete when the sequence fits
            needed = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return back if needed > back else 0
    return 0


def _part_text(part: EmailMessage, notes: list[str]) -> str:
    data = _payload_bytes(part)
    if len(data) > MAX_TEXT_PART_BYTES:
        notes.append(f"TextPartTruncated: {part.get_content_type()} of {len(data):,} bytes, kept {MAX_TEXT_PART_BYTES:,}")
        data = data[: MAX_TEXT_PART_BYTES - _partial_tail(data[:MAX_TEXT_PART_BYTES])]
    try:
        charset = part.get_content_charset()
    except Exception:  # noqa: BLE001 - a garbled Content-Type parameter
        charset = None
    text = decode_text(data, charset)
    if part.get_content_subtype() == "plain" and (part.get_param("format") or "").lower() == "flowed":  # type: ignore[union-attr]
        text = _unflow(text, (part.get_param("delsp") or "").lower() == "yes")  # type: ignore[union-attr]
    return text


def _unflow(text: str, delsp: bool) -> str:
    """RFC 3676 format=flowed: a line ending in a space continues on the next line."""
    out: list[str] = []
    buffer = ""
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.startswith(" "):
            line = line[1:]  # space-stuffing (RFC 3676 section 4.4)
        if line.endswith(" ") and line.strip() != "--":
            buffer += line[:-1] if delsp else line
            continue
        out.append(buffer + line)
        buffer = ""
    if buffer:
        out.append(buffer)
    return "\n".join(out)


def _is_attachment(part: EmailMessage) -> bool:
    if part.is_multipart():
        return False
    disposition = (part.get_content_disposition() or "").lower()
    if disposition == "attachment":
        return True
    if part.get_filename() or part.get_param("name"):
        return part.get_content_maintype() != "text" or disposition == "attachment"
    maintype = part.get_content_maintype()
    return maintype not in ("text", "multipart", "message")


def _filename(part: EmailMessage) -> str:
    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001
        name = None
    if not name:
        name = part.get_param("name")  # type: ignore[assignment]
        if isinstance(name, tuple):
            name = name[2]
    name = headers._decode_words(str(name)) if name else ""
    if not name:
        subtype = part.get_content_subtype()
        name = f"dinh-kem.{subtype}" if subtype else "dinh-kem"
    return unicodedata.normalize("NFC", fix_header_text(name))


def _attachment(part: EmailMessage, max_bytes: int) -> AttachmentData:
    data = _payload_bytes(part)
    name = _filename(part)
    content_type = part.get_content_type()
    if len(data) > max_bytes:
        return AttachmentData(name, content_type, len(data), hashlib.sha256(data).hexdigest(), None,
                              skipped_reason=f"lớn hơn giới hạn {max_bytes // (1024 * 1024)} MB")
    return AttachmentData(name, content_type, len(data), hashlib.sha256(data).hexdigest(), data)


def _is_stub(text: str) -> bool:
    return len(text.strip()) < 3 or bool(_STUB_PLAIN.match(text))


def _walk_body(part: EmailMessage, max_bytes: int, texts: list[tuple[str, str]], attachments: list[AttachmentData], notes: list[str]) -> None:
    """Collect (kind, text) for the body and the attachments, choosing alternatives wisely.

    A part the email package cannot read (its policy raises on a garbled header) is noted and
    skipped; the other parts are still read. The depth is bounded before parsing (limits.py).
    """
    try:
        _walk_part(part, max_bytes, texts, attachments, notes)
    except Exception as exc:  # noqa: BLE001 - one unreadable part must not lose the others
        notes.append(f"PartUnreadable: {type(exc).__name__}")
        if not part.is_multipart():  # its text is still the citizen's: read it as plain text
            texts.append(("plain", decode_text(_payload_bytes(part)[:MAX_TEXT_PART_BYTES], None)))


def _walk_part(part: EmailMessage, max_bytes: int, texts: list[tuple[str, str]], attachments: list[AttachmentData], notes: list[str]) -> None:
    content_type = part.get_content_type()
    if part.is_multipart():
        children = [c for c in part.iter_parts()]  # type: ignore[attr-defined]
        if content_type == "multipart/alternative":
            _choose_alternative(children, max_bytes, texts, attachments, notes)
        elif content_type == "multipart/report":
            # RFC 6522: the first part is the human-readable explanation; the returned
            # message must not leak into the body.
            if children:
                _walk_body(children[0], max_bytes, texts, attachments, notes)
        else:
            for child in children:
                _walk_body(child, max_bytes, texts, attachments, notes)
        return
    if content_type in ("message/rfc822", "message/global"):
        attachments.append(AttachmentData("thu-dinh-kem.eml", content_type, len(part.as_bytes()), None, None,
                                          skipped_reason="thư đính kèm (message/rfc822)"))
        return
    if _is_attachment(part):
        attachments.append(_attachment(part, max_bytes))
        return
    if content_type == "text/html":
        texts.append(("html", _part_text(part, notes)))
    elif part.get_content_maintype() == "text":
        texts.append(("plain", _part_text(part, notes)))


def _choose_alternative(
    children: list[EmailMessage], max_bytes: int, texts: list[tuple[str, str]], attachments: list[AttachmentData], notes: list[str]
) -> None:
    collected: list[tuple[list[tuple[str, str]], list[AttachmentData]]] = []
    for child in children:
        child_texts: list[tuple[str, str]] = []
        child_attachments: list[AttachmentData] = []
        _walk_body(child, max_bytes, child_texts, child_attachments, notes)
        collected.append((child_texts, child_attachments))
    plain = next((c for c in collected if c[0] and all(k == "plain" for k, _ in c[0]) and not _is_stub("".join(t for _, t in c[0]))), None)
    rich = next((c for c in reversed(collected) if any(k == "html" for k, _ in c[0])), None)
    chosen = plain or rich or (collected[0] if collected else ([], []))
    texts.extend(chosen[0])
    # Inline images of the HTML branch are still attachments.
    for _texts, found in collected:
        attachments.extend(a for a in found if a not in attachments)


def _render(texts: list[tuple[str, str]], notes: list[str]) -> tuple[str, str]:
    """(full text, text without quoted HTML history) of the collected parts."""
    full: list[str] = []
    clean: list[str] = []
    for kind, text in texts:
        whole, unquoted = html_to_texts(text, notes) if kind == "html" else (text, text)
        full.append(whole.strip())
        clean.append(unquoted.strip())
    return "\n\n".join(t for t in full if t), "\n\n".join(t for t in clean if t)


def _field(notes: list[str], name: str, read: Callable[[], T], default: T) -> T:
    """One field read from the message; a field the policy cannot parse is noted, not fatal."""
    try:
        return read()
    except Exception as exc:  # noqa: BLE001 - the email package raises any class on garbage
        notes.append(f"HeaderUnreadable: {name} ({type(exc).__name__})")
        return default


def _part_defects(message: EmailMessage) -> set[str]:
    return {type(d).__name__ for part in message.walk() for d in getattr(part, "defects", [])}


def parse_email(
    raw: bytes,
    *,
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
    received_at: datetime | None = None,
) -> NormalizedMessage:
    """An email's bytes → NormalizedMessage. Raises EmailParseError only for input that is not an
    email at all; a broken header or part is read as far as it goes and noted in extra["defects"]."""
    _check_is_email(raw)
    bounded, notes = bound_header(_normalize_line_endings(raw))
    bounded, depth_notes = bound_mime_depth(bounded)
    notes += depth_notes
    message: EmailMessage = BytesParser(policy=message_policy()).parsebytes(bounded)  # type: ignore[assignment]
    texts: list[tuple[str, str]] = []
    attachments: list[AttachmentData] = []
    _walk_body(message, max_attachment_bytes, texts, attachments, notes)
    full_text, clean_source = _render(texts, notes)
    clean_text, _history = split_reply(clean_source)
    display_name, address = _field(notes, "From", lambda: headers.sender(message), (None, None))
    kind = _field(notes, "Auto-Submitted", lambda: auto_kind(message, address), None)
    subject = _field(notes, "Subject", lambda: headers.subject(message), headers.NO_SUBJECT)
    own_id = _field(notes, "Message-ID", lambda: headers.own_message_id(message), None)
    parents = _field(notes, "In-Reply-To", lambda: headers.parent_ids(message), [])
    recipients = _field(notes, "To", lambda: headers.recipients(message), [])
    is_bounce = kind == "bounce"
    bounced = _field(notes, "bounce", lambda: bounced_message_id(message), None) if is_bounce else None
    in_reply_to = _field(notes, "In-Reply-To", lambda: (headers.message_ids(headers.safe_header(message, "In-Reply-To")) or [None])[0], None)
    defects = _field(notes, "defects", lambda: _part_defects(message), set())
    return sanitized(
        NormalizedMessage(
            channel=Channel.EMAIL,
            external_id=own_id or f"sha256:{hashlib.sha256(raw).hexdigest()}",
            direction=Direction.INBOUND,
            sender_address=address,
            sender_name=display_name,
            subject=subject,
            full_text=full_text,
            clean_text=clean_text,
            sent_at=_field(notes, "Date", lambda: headers.sent_at(message), None) or received_at,
            parent_keys=tuple(f"msgid:{p}" for p in parents),
            own_key=f"msgid:{own_id}" if own_id else None,
            ticket_ref=headers.ticket_ref(subject),
            reply_token=headers.reply_token(recipients),
            is_auto_reply=kind is not None,
            is_bounce=is_bounce,
            bounced_message_id=bounced,
            recipients=tuple(recipients),
            attachments=tuple(attachments),
            extra={
                "auto_kind": kind,
                "defects": sorted(defects | set(notes)),
                "in_reply_to": in_reply_to,
                "body_sha256": headers.body_fingerprint(raw),
            },
        )
    )
