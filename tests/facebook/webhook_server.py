"""The web app on a real uvicorn server on loopback, and signed requests to it."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette

from config.settings import Settings
from tests.facebook.conftest import APP_SECRET
from tests.servers import free_port
from tiepnhan.web.webhooks import webhook_routes

PAGE_ID = "1001"
USER = "900001"


@contextmanager
def serving(settings: Settings, *, whole_app: bool = False) -> Iterator[tuple[str, int]]:
    """(base URL, port) of the webhook routes (or the whole web app) served in a thread of this process."""
    from tiepnhan.web.app import create_app

    port = free_port()
    app = create_app(settings) if whole_app else Starlette(routes=webhook_routes(settings))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_signed(base: str, body: bytes) -> tuple[int, dict[str, Any] | str]:
    request = urllib.request.Request(f"{base}/webhooks/facebook", data=body, method="POST",
                                     headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(body)})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            text = response.read().decode()
            return int(response.status), json.loads(text) if response.headers.get_content_type() == "application/json" else text
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
