"""What keeps the public question form from abuse, and the lookup code of a portal ticket.

- The form token: the form carries a signed, timestamped nonce (itsdangerous, keyed by the web
  secret). A form sent sooner than `portal.min_fill_seconds` after it was shown, or older than
  `portal.max_form_age_minutes`, or with a forged token, is refused; the nonce makes a reload or
  a double click one question (the raw item's external id).
- Rate limits in the database (table portal_attempt), so several web processes agree: each
  attempt is written first, then counted, under a per-key lock (PostgreSQL: a transaction-level
  advisory lock on the key; SQLite: the single writer lock taken by the insert), so processes
  racing can never let more through than the limit. Per client address every attempt counts; per sender address
  only accepted questions.
- The lookup code: an HMAC of the ticket id with the web secret (8 characters of base32), so the
  same question sent again through the API gets the same code, and nothing secret is stored.
  Changing the web secret changes every code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from ingest.portal.models import PortalAttempt
from tickets.db import session_scope
from tickets.models import utcnow

FORM_SALT = "tiepnhan.portal.form"
DONE_SALT = "tiepnhan.portal.done"
PRUNE_AFTER = timedelta(days=1)


class FormRefused(ValueError):
    """The form cannot be taken (Vietnamese message); nothing is stored."""


def _serializer(secret: str, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=salt)


def new_form_token(secret: str) -> str:
    return _serializer(secret, FORM_SALT).dumps({"n": secrets.token_urlsafe(16)})


def check_form_token(secret: str, token: str, *, now: datetime, min_fill_seconds: float, max_age_minutes: float) -> str:
    """The form's nonce; FormRefused when forged, expired or sent too fast."""
    try:
        data, signed_at = _serializer(secret, FORM_SALT).loads(token, max_age=int(max_age_minutes * 60), return_timestamp=True)
    except SignatureExpired:
        raise FormRefused("biểu mẫu đã quá hạn; hãy tải lại trang và gửi lại") from None
    except BadSignature:
        raise FormRefused("biểu mẫu không hợp lệ; hãy tải lại trang và gửi lại") from None
    if (now - signed_at).total_seconds() < min_fill_seconds:
        raise FormRefused("biểu mẫu được gửi quá nhanh sau khi mở; hãy đọc lại câu hỏi rồi gửi lại")
    nonce = data.get("n") if isinstance(data, dict) else None
    if not isinstance(nonce, str) or not nonce:
        raise FormRefused("biểu mẫu không hợp lệ; hãy tải lại trang và gửi lại")
    return nonce


def done_token(secret: str, raw_item_id: int) -> str:
    return _serializer(secret, DONE_SALT).dumps(raw_item_id)


def raw_id_from_done_token(secret: str, token: str, max_age_minutes: float) -> int | None:
    try:
        value = _serializer(secret, DONE_SALT).loads(token, max_age=int(max_age_minutes * 60))
    except BadSignature:
        return None
    return value if isinstance(value, int) else None


def keyed_hash(secret: str, kind: str, value: str) -> str:
    """An address kept only as a keyed hash: countable, not readable."""
    return hmac.new(secret.encode("utf-8"), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def lookup_code(secret: str, ticket_id: int) -> str:
    digest = hmac.new(secret.encode("utf-8"), f"portal-lookup:{ticket_id}".encode(), hashlib.sha256).digest()
    code = base64.b32encode(digest).decode("ascii")[:8]
    return f"{code[:4]}-{code[4:]}"


def code_matches(secret: str, ticket_id: int, given: str) -> bool:
    cleaned = "".join(c for c in given.upper() if c.isalnum())
    return hmac.compare_digest(lookup_code(secret, ticket_id).replace("-", ""), cleaned)


@dataclass(frozen=True)
class Limits:
    max_per_ip: int
    max_per_address: int
    window: timedelta


def _lock(session: Session, key: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": "portal:" + key})


def record_attempt(engine: Engine, ip_key: str, limits: Limits, *, now: datetime | None = None) -> tuple[int, bool]:
    """Write the attempt, then count this client address's attempts in the window: (attempt id, allowed)."""
    now = now or utcnow()
    with session_scope(engine) as session:
        _lock(session, ip_key)
        attempt = PortalAttempt(at=now, ip_key=ip_key, address_key=None, outcome="pending")
        session.add(attempt)
        session.flush()
        attempt_id = attempt.id
        assert attempt_id is not None
        by_ip = session.execute(select(func.count()).select_from(PortalAttempt).where(PortalAttempt.ip_key == ip_key, PortalAttempt.at > now - limits.window)).scalar_one()  # type: ignore[arg-type]
        allowed = by_ip <= limits.max_per_ip
        if not allowed:
            attempt.outcome = "limited"
            session.add(attempt)
        if attempt_id % 100 == 0:
            session.execute(delete(PortalAttempt).where(PortalAttempt.at < now - max(PRUNE_AFTER, limits.window)))  # type: ignore[arg-type]
    return attempt_id, allowed


def address_allowed(engine: Engine, attempt_id: int, address_key: str, limits: Limits, *, now: datetime | None = None) -> bool:
    """Name the attempt's sender address, then count that address's questions in the window."""
    now = now or utcnow()
    with session_scope(engine) as session:
        _lock(session, address_key)
        session.execute(update(PortalAttempt).where(PortalAttempt.id == attempt_id).values(address_key=address_key))  # type: ignore[arg-type]
        earlier = session.execute(select(func.count()).select_from(PortalAttempt).where(
            PortalAttempt.address_key == address_key, PortalAttempt.at > now - limits.window,  # type: ignore[arg-type]
            PortalAttempt.outcome.in_(("accepted", "pending")), PortalAttempt.id != attempt_id)).scalar_one()  # type: ignore[attr-defined, arg-type]
        allowed = earlier < limits.max_per_address
        if not allowed:
            session.execute(update(PortalAttempt).where(PortalAttempt.id == attempt_id).values(outcome="limited"))  # type: ignore[arg-type]
    return allowed


def finish_attempt(engine: Engine, attempt_id: int, outcome: str) -> None:
    with session_scope(engine) as session:
        session.execute(update(PortalAttempt).where(PortalAttempt.id == attempt_id).values(outcome=outcome))  # type: ignore[arg-type]


def claim_acknowledgement(engine: Engine, attempt_id: int, address_key: str, window: timedelta, *, now: datetime | None = None) -> bool:
    """True for the one attempt of this address in the window that may send the acknowledgement mail."""
    now = now or utcnow()
    with session_scope(engine) as session:
        _lock(session, "ack:" + address_key)
        already = session.execute(select(PortalAttempt.id).where(PortalAttempt.address_key == address_key, PortalAttempt.acknowledged.is_(True),  # type: ignore[arg-type, attr-defined]
                                                                 PortalAttempt.at > now - window).limit(1)).first()
        if already is not None:
            return False
        session.execute(update(PortalAttempt).where(PortalAttempt.id == attempt_id).values(acknowledged=True))  # type: ignore[arg-type]
    return True
