"""The web app on a real uvicorn server on loopback, and signed requests to it."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.applications import Starlette

from config.settings import Settings
from tests.facebook.conftest import APP_SECRET
from tests.servers import serve_asgi
from tiepnhan.web.webhooks import webhook_routes

PAGE_ID = "1001"
USER = "900001"


@contextmanager
def serving(settings: Settings, *, whole_app: bool = False) -> Iterator[tuple[str, int]]:
    """(base URL, port) of the webhook routes (or the whole web app) served in a thread of this process."""
    from tiepnhan.web.app import create_app

    app = create_app(settings) if whole_app else Starlette(routes=webhook_routes(settings))
    with serve_asgi(app, log_config=None) as served:
        yield served


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
