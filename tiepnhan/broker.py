"""The Dramatiq broker: Redis in production, an in-process stub by default.

Actors are declared at import on whatever broker is current; `install_broker` makes a new
broker current and re-declares the actors already imported on it, so the choice can be made
after the configuration is read.
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Retries, TimeLimit

from config.settings import Settings

_declared: list[dramatiq.Actor] = []  # type: ignore[type-arg]


def build_broker(settings: Settings) -> dramatiq.Broker:
    if settings.redis_url:
        from dramatiq.brokers.redis import RedisBroker

        broker: dramatiq.Broker = RedisBroker(
            url=settings.redis_url,
            namespace="tiepnhan",
            heartbeat_timeout=settings.worker.heartbeat_timeout_ms,
            maintenance_chance=settings.worker.maintenance_chance,
        )
    else:
        broker = StubBroker()
        broker.emit_after("process_boot")
    for middleware in broker.middleware:
        if isinstance(middleware, Retries):
            middleware.max_retries = settings.worker.max_retries
            middleware.min_backoff = settings.worker.min_backoff_ms
            middleware.max_backoff = settings.worker.max_backoff_ms
        elif isinstance(middleware, TimeLimit):
            middleware.time_limit = settings.worker.time_limit_ms
    return broker


def install_broker(settings: Settings) -> dramatiq.Broker:
    broker = build_broker(settings)
    dramatiq.set_broker(broker)
    for actor in _declared:
        broker.declare_actor(actor)
        actor.broker = broker
    return broker


def remember(actor: dramatiq.Actor) -> dramatiq.Actor:  # type: ignore[type-arg]
    """Called by the actor modules for each actor they declare."""
    _declared.append(actor)
    return actor
