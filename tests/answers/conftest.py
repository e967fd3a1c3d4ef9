"""Answer tests: a real SMTP server (aiosmtpd), tickets made from real emails through the pipeline."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from config.settings import Settings
from tests.escalation.conftest import INTAKE_ADDRESS, citizen_email, ingest_email  # noqa: F401  (shared helpers)
from tests.escalation.smtp_server import SmtpCapture, smtp_capture

MAILBOX_ADDRESS = "hoidap@bhxh.localhost"


def mailbox(name: str = "hotro", address: str | None = MAILBOX_ADDRESS) -> dict[str, Any]:
    """An intake mailbox in the config (never polled here: the citizen's mail is ingested directly)."""
    config: dict[str, Any] = {"name": name, "host": "127.0.0.1", "port": 1, "security": "plain", "username": "hotro", "password": "x"}
    if address:
        config["address"] = address
    return config


@pytest.fixture
def smtp() -> Iterator[SmtpCapture]:
    capture = smtp_capture()
    yield capture
    capture.stop()


@pytest.fixture
def answer_settings(configure: Callable[..., Settings], sqlite_url: str, smtp: SmtpCapture) -> Callable[..., Settings]:
    def _settings(database_url: str | None = None, **overrides: Any) -> Settings:
        overrides.setdefault("smtp", smtp.settings())
        overrides.setdefault("mailboxes", [mailbox()])
        overrides.setdefault("intake", {"reply_address": INTAKE_ADDRESS})
        overrides.setdefault("escalation", {"retry_min_seconds": 1, "retry_max_seconds": 60})
        return configure(database_url or sqlite_url, **overrides)

    return _settings
