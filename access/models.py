"""Users of the web app, their API tokens, and the login throttle.

Passwords and tokens are never stored: a password as its Argon2 hash (access/passwords.py), an
API token as the SHA-256 of its random bytes (a 256-bit random secret needs no slow hash).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from tickets.dbtypes import UTCDateTime
from tickets.models import utcnow


def _tz() -> Any:
    return UTCDateTime()


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)  # the login name
    display_name: str = Field(default="", max_length=200)
    role: str = Field(max_length=20)  # access.roles.Role
    unit_id: str | None = Field(default=None, max_length=100)  # office users only
    password_hash: str | None = None  # None: cannot log in with a password (token only)
    disabled: bool = False
    # A login session is valid while it carries this number: a password change or disabling the
    # user moves it on, so every session opened before ends (web/auth.py checks it per request).
    session_epoch: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = Field(default_factory=utcnow, sa_type=_tz())
    last_login_at: datetime | None = Field(default=None, sa_type=_tz())

    @property
    def label(self) -> str:
        return self.display_name or self.name


class ApiToken(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)  # sha256 hex of the token
    prefix: str = Field(max_length=12)  # the first characters, to tell tokens apart in lists
    created_at: datetime = Field(default_factory=utcnow, sa_type=_tz())
    last_used_at: datetime | None = Field(default=None, sa_type=_tz())
    revoked: bool = False


class LoginThrottle(SQLModel, table=True):
    """Failed logins per key ("user:NAME" or "ip:ADDRESS") in the current window."""

    key: str = Field(primary_key=True, max_length=300)
    failures: int = 0
    window_start: datetime = Field(default_factory=utcnow, sa_type=_tz())
    locked_until: datetime | None = Field(default=None, sa_type=_tz())
