"""Web app tests: real HTTP on loopback, tickets made by the real pipeline, a real SMTP server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from config.settings import Settings
from tests.escalation.conftest import escalation_settings, smtp  # noqa: F401  (fixtures)
from tests.webapp.server import Scenario, add_users, make_scenario, serve


@pytest.fixture
def web_settings(escalation_settings: Callable[..., Settings]) -> Callable[..., Settings]:  # noqa: F811
    def _settings(**overrides: Any) -> Settings:
        overrides.setdefault("web", {"secret_key": "k" * 40, "login_max_failures": 3})
        return escalation_settings(**overrides)

    return _settings


@pytest.fixture
def scenario(web_settings: Callable[..., Settings]) -> tuple[Settings, Scenario]:
    settings = web_settings()
    found = make_scenario()
    add_users()
    return settings, found


@pytest.fixture
def base_url(scenario: tuple[Settings, Scenario]) -> Iterator[str]:
    with serve(scenario[0]) as url:
        yield url
