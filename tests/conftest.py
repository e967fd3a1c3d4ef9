"""Fixtures shared by the whole suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from config.settings import Settings, load_settings
from tickets.db import dispose_engines, get_engine, migrate
from tiepnhan import runtime

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'tiepnhan.db'}"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store tests run on both backends."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tiepnhan.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    """A migrated SQLite database of this test's own."""
    engine = get_engine(sqlite_url)
    migrate(engine)
    yield engine
    dispose_engines()


def make_settings(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    overrides.setdefault("data_dir", str(tmp_path / "var"))
    return load_settings(None, database_url=database_url, redis_url=None, **overrides)


@pytest.fixture
def configure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Configure this process (settings, database, in-process broker) for one test."""
    monkeypatch.delenv("TIEPNHAN_DATABASE_URL", raising=False)
    monkeypatch.delenv("TIEPNHAN_REDIS_URL", raising=False)
    monkeypatch.delenv("TIEPNHAN_CONFIG", raising=False)

    def _configure(database_url: str, **overrides: Any) -> Settings:
        from tiepnhan.broker import install_broker

        settings = runtime.configure(make_settings(database_url, tmp_path, **overrides))
        install_broker(settings)
        import tickets.actors  # noqa: F401

        return settings

    yield _configure
    dispose_engines()
from tests.pg import postgres_server, postgres_url  # noqa: E402,F401  (PostgreSQL fixtures)
