"""Users: create, disable, set a password, issue an API token, authenticate (rate-limited).

Each function is one transaction. Mistakes raise UserError with a Vietnamese message for the
operator. A failed login counts against the user name and against the client address; N failures
within a window lock that key out for a while; a locked-out attempt is logged, never with the
password.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from access.models import ApiToken, LoginThrottle, User
from access.passwords import hash_password, needs_rehash, password_problem, verify_password
from access.roles import Role
from tickets.db import session_scope
from tickets.models import utcnow

log = logging.getLogger(__name__)

USER_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
TOKEN_PREFIX = "tnk_"


class UserError(Exception):
    """A user-management request that cannot be done, with the reason in Vietnamese."""


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5  # per user name
    # per client address: higher, since a whole office may share one address behind NAT
    max_failures_per_client: int = 20
    window: timedelta = timedelta(minutes=15)
    lockout: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class LoginResult:
    user: User | None
    locked_out: bool = False

    @property
    def ok(self) -> bool:
        return self.user is not None


def check_role_and_unit(role: str, unit_id: str | None, known_units: Container[str]) -> tuple[Role, str | None]:
    """An office user has exactly one known unit; every other role has none."""
    try:
        parsed = Role(role)
    except ValueError:
        raise UserError(f"vai trò không hợp lệ: {role!r} (chọn một trong: {', '.join(r.value for r in Role)})") from None
    if parsed is Role.OFFICE:
        if not unit_id:
            raise UserError("người dùng vai trò office cần đúng một đơn vị (--unit), ví dụ --unit province-79")
        if "," in unit_id or " " in unit_id.strip():
            raise UserError(f"người dùng vai trò office chỉ thuộc đúng một đơn vị, không phải {unit_id!r}")
        if unit_id not in known_units:
            raise UserError(f"không có đơn vị {unit_id!r} trong danh bạ đơn vị; xem: tiepnhan units")
        return parsed, unit_id
    if unit_id:
        raise UserError(f"chỉ người dùng vai trò office mới gắn với một đơn vị (vai trò {parsed.value} không có --unit)")
    return parsed, None


def _by_name(session: Session, name: str) -> User | None:
    return session.execute(select(User).where(User.name == name)).scalar_one_or_none()  # type: ignore[arg-type]


def _require_user(session: Session, name: str) -> User:
    user = _by_name(session, name)
    if user is None:
        raise UserError(f"không có người dùng {name!r}")
    return user


def create_user(
    engine: Engine,
    name: str,
    role: str,
    *,
    known_units: Container[str],
    unit_id: str | None = None,
    password: str | None = None,
    display_name: str = "",
) -> User:
    if not USER_NAME.match(name):
        raise UserError(f"tên đăng nhập không hợp lệ: {name!r} (chữ thường không dấu, số, '.', '_', '-'; 2–63 ký tự)")
    parsed_role, unit = check_role_and_unit(role, unit_id, known_units)
    if password is not None and (problem := password_problem(password)):
        raise UserError(problem)
    with session_scope(engine) as session:
        if _by_name(session, name) is not None:
            raise UserError(f"đã có người dùng {name!r}")
        user = User(
            name=name, display_name=display_name.strip(), role=parsed_role.value, unit_id=unit,
            password_hash=hash_password(password) if password is not None else None,
        )
        session.add(user)
        session.flush()
        log.info("user created", extra={"user": name, "role": parsed_role.value, "unit": unit})
        return user


def list_users(engine: Engine) -> list[User]:
    with session_scope(engine) as session:
        return list(session.execute(select(User).order_by(User.name)).scalars())  # type: ignore[arg-type]


def get_user(engine: Engine, name: str) -> User | None:
    with session_scope(engine) as session:
        return _by_name(session, name)


def disable_user(engine: Engine, name: str) -> User:
    """Disabled users cannot log in, and their API tokens stop working."""
    with session_scope(engine) as session:
        user = _require_user(session, name)
        user.disabled = True
        user.session_epoch += 1  # every login session of the user ends
        session.add(user)
        for token in session.execute(select(ApiToken).where(ApiToken.user_id == user.id)).scalars():  # type: ignore[arg-type]
            token.revoked = True
            session.add(token)
        log.info("user disabled", extra={"user": name})
        return user


def set_password(engine: Engine, name: str, password: str) -> User:
    """A new password; every login session opened before ends (the returned user carries the
    new session epoch: a web handler logs its own session in again with it)."""
    if problem := password_problem(password):
        raise UserError(problem)
    with session_scope(engine) as session:
        user = _require_user(session, name)
        user.password_hash = hash_password(password)
        user.session_epoch += 1
        session.add(user)
        log.info("password set", extra={"user": name})
        return user


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_token(engine: Engine, name: str) -> str:
    """A new API token for this user: returned once, only its hash is kept."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with session_scope(engine) as session:
        user = _require_user(session, name)
        if user.disabled:
            raise UserError(f"người dùng {name!r} đã bị khóa")
        assert user.id is not None
        session.add(ApiToken(user_id=user.id, token_hash=_token_hash(token), prefix=token[: len(TOKEN_PREFIX) + 4]))
        log.info("api token issued", extra={"user": name})
    return token


def user_for_token(engine: Engine, token: str) -> User | None:
    """The active user this token belongs to, or None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    with session_scope(engine) as session:
        row = session.execute(
            select(ApiToken, User).join(User, User.id == ApiToken.user_id).where(ApiToken.token_hash == _token_hash(token))  # type: ignore[arg-type]
        ).first()
        if row is None:
            return None
        api_token, user = row
        if api_token.revoked or user.disabled:
            return None
        api_token.last_used_at = utcnow()
        session.add(api_token)
        return user


def _throttle(session: Session, key: str, now: datetime, policy: ThrottlePolicy) -> LoginThrottle:
    row = session.get(LoginThrottle, key)
    if row is None:
        row = LoginThrottle(key=key, failures=0, window_start=now)
    elif now - row.window_start > policy.window and not (row.locked_until and row.locked_until > now):
        row.failures, row.window_start, row.locked_until = 0, now, None
    return row


def _lock_key(kind: str, value: str) -> str:
    return f"{kind}:{value[:280]}"


def authenticate(
    engine: Engine, name: str, password: str, client: str | None, policy: ThrottlePolicy = ThrottlePolicy(), now: datetime | None = None
) -> LoginResult:
    """Check a login. While the name or the client address is locked out, even the right
    password is refused (so guessing gains nothing), and the attempt is logged."""
    now = now or utcnow()
    keys = [_lock_key("user", name.strip().lower())] + ([_lock_key("ip", client)] if client else [])
    with session_scope(engine) as session:
        throttles = [_throttle(session, key, now, policy) for key in keys]
        if any(t.locked_until and t.locked_until > now for t in throttles):
            log.warning("login refused: locked out", extra={"user": name[:100], "client": client})
            return LoginResult(None, locked_out=True)
        user = _by_name(session, name.strip().lower())
        valid = user is not None and not user.disabled and verify_password(user.password_hash, password)
        if not valid:
            locked = False
            for throttle in throttles:
                throttle.failures += 1
                limit = policy.max_failures if throttle.key.startswith("user:") else policy.max_failures_per_client
                if throttle.failures >= limit:
                    throttle.locked_until = now + policy.lockout
                    locked = True
                session.add(throttle)
            if locked:
                log.warning("login locked out after repeated failures", extra={"user": name[:100], "client": client, "minutes": policy.lockout.total_seconds() / 60})
            else:
                log.info("login failed", extra={"user": name[:100], "client": client})
            return LoginResult(None, locked_out=locked)
        assert user is not None and user.password_hash is not None
        for throttle in throttles:
            if throttle.key.startswith("user:") and session.get(LoginThrottle, throttle.key) is not None:
                session.delete(throttle)  # the user's count starts again; the address keeps its own
        if needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        user.last_login_at = now
        session.add(user)
        log.info("login", extra={"user": user.name})
        return LoginResult(user)
