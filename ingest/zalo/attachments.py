"""The files of `user_send_image` / `user_send_file` events, fetched by URL after the webhook's answer.

A Zalo event carries its attachments as URLs on Zalo's CDN (payload.url); the webhook answers
within Zalo's 2 s first (tiepnhan/web/webhooks.py runs this as a background task), then:
  1. wait until the pipeline has stored the message (its Attachment rows hold the URL);
  2. fetch each URL over http(s) from Zalo's hosts only (or the account's own api_url host,
     the stand-in in tests), streaming, stopping past `max_bytes`;
  3. check the content type: the one served must be an accepted type, and the file's first bytes
     (its signature) must say the same family, so an HTML error page or a renamed program is
     not kept as a photo;
  4. keep the bytes as a Blob and the Attachment row points at it (sha256, size, type); a file
     refused or not fetched keeps its URL and gets the reason in `skipped_reason`.
Nothing is lost: the raw event is stored before any of this, and a refused file's URL stays. A
file the webhook's task did not get to (a slow worker, a restart) is fetched by the scheduler's
periodic job "zalo_attachments" (`fetch_pending_attachments`).
Signatures: JPEG SOI FF D8 FF (ITU T.81), PNG (RFC 2083 §3.1), GIF87a/89a, WebP "RIFF....WEBP"
(RFC 9649 §2), PDF "%PDF-" (ISO 32000-1 §7.5.2), ZIP "PK\\x03\\x04" (OOXML documents, ISO/IEC
29500-2), OLE2 compound file D0 CF 11 E0 A1 B1 1A E1 (older Word/Excel).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import httpx
from sqlalchemy import select
from sqlalchemy.engine import Engine

from config.settings import Settings, ZaloAccountConfig
from ingest.zalo.intake import wait_processed
from tickets.db import session_scope
from tickets.models import Attachment, Message, utcnow
from tickets.store import save_blobs

log = logging.getLogger(__name__)

ATTACHMENT_EVENTS = frozenset({"user_send_image", "user_send_file", "user_send_gif"})
ZALO_FILE_HOSTS = ("zdn.vn", "zadn.vn", "zalo.me", "zaloapp.com", "zalo.vn")  # Zalo's CDN and API domains
# Accepted content types, by the family their signature must show.
ACCEPTED_TYPES: dict[str, str] = {
    "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/png": "png", "image/gif": "gif", "image/webp": "webp",
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "zip",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "zip",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "zip",
    "application/zip": "zip",
    "application/msword": "ole", "application/vnd.ms-excel": "ole", "application/vnd.ms-powerpoint": "ole",
}
SIGNATURES: tuple[tuple[str, bytes, int], ...] = (  # family, bytes, offset
    ("jpeg", b"\xff\xd8\xff", 0), ("png", b"\x89PNG\r\n\x1a\n", 0), ("gif", b"GIF87a", 0), ("gif", b"GIF89a", 0),
    ("webp", b"WEBP", 8), ("pdf", b"%PDF-", 0), ("zip", b"PK\x03\x04", 0), ("ole", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0),
)
LINK_TYPE = "text/uri-list"  # user_send_link: a link, not a file
CATCH_UP_AFTER = timedelta(minutes=2)  # the webhook's own task waits 30 s: older ones were missed
CATCH_UP_BATCH = 200


@dataclass(frozen=True)
class Fetched:
    content_type: str
    content: bytes


def family_of(content: bytes) -> str | None:
    """The file family its first bytes show, or None. Pure."""
    for family, signature, offset in SIGNATURES:
        if content[offset : offset + len(signature)] == signature and (family != "webp" or content[:4] == b"RIFF"):
            return family
    return None


def check_content(served_type: str | None, content: bytes) -> str:
    """The content type kept for a fetched file, or ValueError with the Vietnamese reason. Pure."""
    declared = (served_type or "").split(";")[0].strip().lower()
    family = family_of(content)
    expected = ACCEPTED_TYPES.get(declared)
    if expected is None:
        raise ValueError(f"loại tệp không được nhận ({declared or 'không rõ'})")
    if family != expected:
        raise ValueError(f"nội dung tệp không đúng loại {declared} (chữ ký tệp: {family or 'không rõ'})")
    return "image/jpeg" if declared == "image/jpg" else declared


def allowed_url(url: str, account: ZaloAccountConfig) -> bool:
    """Only http(s) URLs on Zalo's hosts (or the account's api_url host) are fetched. Pure."""
    parsed = urlparse(url)
    host = (parsed.hostname or "").lower()
    if parsed.scheme not in ("http", "https") or not host:
        return False
    own = (urlparse(account.api_url).hostname or "").lower()
    return host == own or any(host == suffix or host.endswith("." + suffix) for suffix in ZALO_FILE_HOSTS)


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".replace(".", ",") + " MB"


def fetch(client: httpx.Client, url: str, max_bytes: int) -> Fetched:
    """Stream one file; ValueError (Vietnamese reason) when too large, refused or unreachable."""
    try:
        with client.stream("GET", url) as response:
            if response.status_code != 200:
                raise ValueError(f"Zalo trả về HTTP {response.status_code} khi tải tệp")
            length = response.headers.get("content-length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise ValueError(f"tệp lớn {_megabytes(int(length))}, quá giới hạn {_megabytes(max_bytes)}")
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise ValueError(f"tệp lớn hơn giới hạn {_megabytes(max_bytes)}")
                chunks.append(chunk)
            content = b"".join(chunks)
            return Fetched(check_content(response.headers.get("content-type"), content), content)
    except httpx.HTTPError as exc:
        raise ValueError(f"không tải được tệp từ Zalo ({type(exc).__name__})") from None


def _pending(*conditions: Any) -> Any:
    """Zalo attachments known by URL only: neither kept nor refused yet, and not links."""
    return select(Attachment.id, Attachment.url).join(Message, Message.id == Attachment.message_id).where(  # type: ignore[arg-type]
        Message.channel == "zalo", Attachment.sha256.is_(None), Attachment.url.is_not(None),  # type: ignore[arg-type, union-attr]
        Attachment.skipped_reason.is_(None), Attachment.content_type != LINK_TYPE, *conditions,  # type: ignore[union-attr, arg-type]
    )


def fetch_attachments(engine: Engine, account: ZaloAccountConfig, raw_ids: Sequence[int], max_bytes: int, *,
                      wait_seconds: float = 30.0, transport: httpx.BaseTransport | None = None) -> dict[str, int]:
    """Fetch and keep the files of the messages made from `raw_ids` (see the module doc)."""
    wait_processed(engine, raw_ids, wait_seconds)
    with session_scope(engine) as session:
        rows = [(int(i), str(u)) for i, u in session.execute(_pending(Message.raw_item_id.in_(list(raw_ids)))).all()]  # type: ignore[union-attr]
    return _fetch_rows(engine, account, rows, max_bytes, transport)


def fetch_pending_attachments(settings: Settings, engine: Engine, now: datetime | None = None, *, min_age: timedelta = CATCH_UP_AFTER,
                              transport: httpx.BaseTransport | None = None) -> dict[str, dict[str, int]]:
    """The scheduler's catch-up (job "zalo_attachments"): files the webhook's own task did not get to
    (a worker slower than its wait, a process restarted), for messages older than `min_age`."""
    now = now or utcnow()
    results: dict[str, dict[str, int]] = {}
    for account in settings.zalo_accounts:
        with session_scope(engine) as session:
            rows = [(int(i), str(u)) for i, u in session.execute(
                _pending(Message.source == account.name, Message.received_at <= now - min_age).order_by(Attachment.id).limit(CATCH_UP_BATCH)  # type: ignore[arg-type, operator]
            ).all()]
        if rows:
            results[account.name] = _fetch_rows(engine, account, rows, settings.max_attachment_bytes, transport)
    return results


def _fetch_rows(engine: Engine, account: ZaloAccountConfig, rows: list[tuple[int, str]], max_bytes: int,
                transport: httpx.BaseTransport | None) -> dict[str, int]:
    summary = {"kept": 0, "refused": 0}
    if not rows:
        return summary
    with httpx.Client(timeout=account.timeout_seconds, transport=transport, follow_redirects=False) as client:
        for attachment_id, url in rows:
            try:
                if not allowed_url(str(url), account):
                    raise ValueError("địa chỉ tệp không thuộc Zalo: không tải")
                fetched: Fetched | None = fetch(client, str(url), max_bytes)
                reason = None
            except ValueError as exc:
                fetched, reason = None, str(exc)
            with session_scope(engine) as session:
                attachment = session.get(Attachment, attachment_id)
                if attachment is None:
                    continue
                if fetched is not None:
                    (digest,) = save_blobs(session, [fetched.content])
                    attachment.sha256, attachment.size, attachment.content_type = digest, len(fetched.content), fetched.content_type
                else:
                    attachment.skipped_reason = reason
                session.add(attachment)
            summary["kept" if fetched is not None else "refused"] += 1
            if reason:
                log.warning("zalo attachment not kept", extra={"source": account.name, "attachment_id": attachment_id, "reason": reason})
    log.info("zalo attachments fetched", extra={"source": account.name, **summary})
    return summary
