"""Password hashing with Argon2id (argon2-cffi's recommended parameters, RFC 9106)."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 10


@cache
def hasher() -> PasswordHasher:
    return PasswordHasher()


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return hasher().check_needs_rehash(password_hash)


def password_problem(password: str) -> str | None:
    """A Vietnamese reason this password is refused, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"mật khẩu cần ít nhất {MIN_PASSWORD_LENGTH} ký tự"
    if password.strip() != password or not password.isprintable():
        return "mật khẩu không được có khoảng trắng ở đầu/cuối hoặc ký tự điều khiển"
    return None
