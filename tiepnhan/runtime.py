"""The process's configuration, database engine and broker, set up once at start-up."""

from __future__ import annotations

import threading

from sqlalchemy.engine import Engine

from config.settings import Settings, load_settings
from tickets.business_time import use_calendar
from tickets.db import get_engine, migrate

_lock = threading.RLock()
_settings: Settings | None = None
_migrated: set[str] = set()


def configure(settings: Settings) -> Settings:
    """Make `settings` this process's configuration (the CLI and tests call this first).

    Tests pass None between cases to forget it; the next `settings()` reads it again.
    """
    global _settings
    with _lock:
        _settings = settings
    if settings is not None:
        use_calendar(settings.business_calendar)  # the clocks count business time on this calendar
    return settings


def settings() -> Settings:
    global _settings
    with _lock:
        if _settings is None:
            _settings = load_settings()
        return _settings


def engine() -> Engine:
    """The database engine, its schema migrated to the newest version on first use."""
    url = settings().database_url
    db = get_engine(url)
    with _lock:
        if url not in _migrated:
            migrate(db)
            _migrated.add(url)
    return db
