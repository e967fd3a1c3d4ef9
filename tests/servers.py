"""Helpers for tests that start real servers on loopback.

A test that needs a server binary calls `require_binary(name)`. Locally a missing binary
skips the test with the install hint; with CI=true it fails, because CI must never
silently run less than the whole suite.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

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


@contextmanager
def serve_asgi(app: Any, **options: Any) -> Iterator[tuple[str, int]]:
    """(base URL, port) of `app` on a real uvicorn server on a free loopback port, run in a
    thread of this process for the duration; `options` go to uvicorn.Config (e.g. log_config)."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", port
    finally:
        server.should_exit = True
        thread.join(timeout=10)
