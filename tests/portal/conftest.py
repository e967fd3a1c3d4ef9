"""The portal over real HTTP: uvicorn on loopback serving the whole web process, the pipeline on
worker threads (the embedded default), aiosmtpd catching the acknowledgement mail."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from config.settings import Settings
from tests.escalation.conftest import escalation_settings, smtp  # noqa: F401  (fixtures)
from tests.escalation.smtp_server import SmtpCapture
from tests.webapp.server import serve
from tiepnhan.embedded import embedded_worker

API_KEY = "khoa-cong-thong-tin-bhxh-2025-abcdef"
CLIENT = "cong-bhxh"


@dataclass
class Portal:
    url: str
    settings: Settings
    smtp: SmtpCapture


@pytest.fixture
def portal_site(escalation_settings: Callable[..., Settings], smtp: SmtpCapture, request: pytest.FixtureRequest) -> Iterator[Portal]:  # noqa: F811
    marker = request.node.get_closest_marker("portal")
    portal: dict[str, Any] = {"min_fill_seconds": 0, "max_per_ip": 50, "max_per_address": 10, **(marker.kwargs if marker else {})}
    settings = escalation_settings(web={"secret_key": "k" * 40, "public_base_url": "http://hoidap.localhost"}, portal=portal,
                                   portal_clients=[{"name": CLIENT, "api_key": API_KEY}])
    with embedded_worker(2), serve(settings) as url:
        yield Portal(url, settings, smtp)


def form_client(url: str) -> tuple[httpx.Client, dict[str, str]]:
    """A browser-like client that opened the form: its cookie, CSRF token and form token."""
    import re

    client = httpx.Client(base_url=url, follow_redirects=False, timeout=30)
    page = client.get("/hoi-dap")
    assert page.status_code == 200, page.text
    token = re.search(r'name="form_token" value="([^"]+)"', page.text)
    assert token is not None
    return client, {"csrftoken": client.cookies["csrftoken"], "form_token": token.group(1)}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "portal(**settings): [portal] settings for the portal_site fixture")
