"""The key that signs login cookies and CSRF tokens."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from config.settings import Settings

SECRET_FILE = "web-secret.key"


def web_secret(settings: Settings) -> str:
    """The configured secret_key, or one made once and kept (mode 0600) in data_dir."""
    if settings.web.secret_key is not None:
        return settings.web.secret_key.get_secret_value()
    path = Path(settings.data_dir) / SECRET_FILE
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written whole under a temporary name, then linked into place (atomic; fails if it exists),
    # so a second process never reads a half-written key.
    temporary = path.with_name(f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_urlsafe(48))
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass  # another process made it first: theirs is the one
    finally:
        temporary.unlink()
    return path.read_text(encoding="ascii").strip()
