"""Install the configured broker with tiepnhan's middleware, and declare every actor on it.

Used by the worker processes (tiepnhan/worker.py), the scheduler, `tiepnhan run` and `tiepnhan retry`.
"""

from __future__ import annotations

import importlib
import logging

import dramatiq

from config.settings import Settings, load_settings
from tiepnhan import runtime

# Modules whose actors the workers run. Optional ones are imported when they exist.
ACTOR_MODULES = ("tickets.actors", "tiepnhan.scheduler")
OPTIONAL_ACTOR_MODULES = ("notifiers.actors", "tickets.escalations.actors", "tickets.escalation_actors", "notifiers.tasks")

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


def setup(settings: Settings) -> dramatiq.Broker:
    """Install the configured broker, tiepnhan's middleware and every actor on it."""
    from tiepnhan.broker import install_broker
    from tiepnhan.middleware import install as install_middleware

    runtime.configure(settings)
    broker = install_broker(settings)
    install_middleware(broker)
    import_actor_modules()
    from tiepnhan.scheduler import apply_time_limits

    apply_time_limits(settings)
    return broker
