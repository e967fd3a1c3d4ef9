"""Install the configured broker with tiepnhan's middleware, and declare every actor on it.

Used by the worker processes (tiepnhan/worker.py), the scheduler, `tiepnhan run` and `tiepnhan retry`.
"""

from __future__ import annotations

import fcntl
import importlib
import logging
import zlib
from pathlib import Path

import dramatiq

from config.settings import Settings
from tiepnhan import runtime

# Modules whose actors the workers run. Optional ones are imported when they exist.
ACTOR_MODULES = ("tickets.actors", "tiepnhan.scheduler", "notifiers.actors")
OPTIONAL_ACTOR_MODULES: tuple[str, ...] = ()

log = logging.getLogger(__name__)


def import_actor_modules() -> list[str]:
    imported = []
    for name in ACTOR_MODULES:
        importlib.import_module(name)
        imported.append(name)
    for name in OPTIONAL_ACTOR_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                continue  # that package has no actors (yet)
            raise
        imported.append(name)
    return imported


MIGRATION_LOCK_KEY = zlib.crc32(b"tiepnhan:migrate")


def migrate_once(settings: Settings) -> None:
    """Bring the schema up to date, one process at a time.

    A Procfile starts the worker processes, the scheduler and the web process at once; on an
    empty database they would all run the first migration together. PostgreSQL serializes them
    with an advisory lock, SQLite with a lock file beside the database.
    """
    url = settings.database_url
    if url.startswith("postgresql"):
        from sqlalchemy import text

        from tickets.db import get_engine

        with get_engine(url).connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            try:
                runtime.engine()
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
                connection.commit()
        return
    path = url.removeprefix("sqlite:///")
    if not path or path == ":memory:" or path.startswith("sqlite:"):
        runtime.engine()
        return
    lock_path = Path(f"{path}.migrate.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            runtime.engine()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def setup(settings: Settings) -> dramatiq.Broker:
    """Install the configured broker, tiepnhan's middleware and every actor on it."""
    from tiepnhan.broker import install_broker
    from tiepnhan.middleware import install as install_middleware

    runtime.configure(settings)
    migrate_once(settings)
    broker = install_broker(settings)
    install_middleware(broker)
    import_actor_modules()
    from tiepnhan.scheduler import apply_time_limits

    apply_time_limits(settings)
    return broker
