"""Helpers for tests that start real servers on loopback.

A test that needs a server binary calls `require_binary(name)`. Locally a missing binary
skips the test with the install hint; with CI=true it fails, because CI must never
silently run less than the whole suite.
"""

from __future__ import annotations

import os
import shutil
import socket
from typing import NoReturn

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_binary(name: str, *, hint: str, search: tuple[str, ...] = ()) -> str:
    """Return the path of `name`, or fail (CI) / skip (locally) with `hint`."""
    found = shutil.which(name) or next((p for p in search if os.path.exists(p)), None)
    if found:
        return found
    unavailable(f"{name} not found: {hint}")


def unavailable(reason: str) -> NoReturn:
    """A test cannot run here: fail under CI (never silently run less), skip locally."""
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
