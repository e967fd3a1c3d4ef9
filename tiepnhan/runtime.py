"""The process's configuration, database engine and broker, set up once at start-up.

Nothing heavy is imported here: the configuration, the database layer and Alembic are loaded
when first used, so a command that needs none of them (`--help`, `classify`) starts fast.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from config.settings import Settings

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
        from tickets.business_time import use_calendar

        use_calendar(settings.business_calendar)  # the clocks count business time on this calendar
    return settings


def settings() -> Settings:
    global _settings
    with _lock:
        if _settings is None:
            from config.settings import load_settings

            _settings = load_settings()
        return _settings


def engine() -> Engine:
    """The database engine, its schema migrated to the newest version on first use.

    The check is cheap (tiepnhan.schema_version: the stored revision against the migration
    files' head, no Alembic); Alembic runs only when they differ.
    """
    from tickets.db import get_engine

    url = settings().database_url
    db = get_engine(url)
    with _lock:
        if url not in _migrated:
            from tiepnhan.schema_version import schema_is_current

            if not schema_is_current(db):
                from tickets.db import migrate

                migrate(db)
            _migrated.add(url)
    return db
