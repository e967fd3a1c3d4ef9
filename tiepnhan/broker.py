"""The Dramatiq broker: Redis in production, an in-process stub by default.

Actors are declared at import on whatever broker is current; `install_broker` makes a new
broker current and re-declares the actors already imported on it, so the choice can be made
after the configuration is read.

No `.send()` can miss the configured broker: until one is installed, actors live on a
`PendingBroker`, whose first enqueue installs the broker this process's configuration names
(`runtime.settings()`: Redis when `redis_url` is set) and hands the message to it. A command
that only configured the runtime (every CLI command does, in `load`) therefore enqueues on
Redis, never into a stub queue nobody reads. An enqueue that cannot reach Redis raises
`BrokerUnavailable`, whose message says so in Vietnamese; the work it was for is already stored
and is picked up by the periodic jobs (reconcile for the pipeline, `sla_reminders` for
escalations).

Redelivery after a worker dies (dramatiq 2.x, `brokers/redis/dispatch.lua`): every broker
command a process sends records its heartbeat (`zadd __heartbeats__`), and the consumer
threads send one at least every second even while every actor thread is busy (an idle
consumer fetches with a backoff capped at the worker timeout, 1 s; the delay-queue consumers
keep fetching when a queue's prefetch is full). A command that draws maintenance (all of them
with the shipped `maintenance_chance` of 1,000,000) first pushes back onto its queue the
unacknowledged messages of every process whose heartbeat is older than `heartbeat_timeout_ms`.
So a SIGKILLed worker's messages are handed out again about `heartbeat_timeout_ms` + 1 s
after its death (tests/ops/test_sigkill_recovery.py), and a live worker running a long stage
keeps them.
"""

from __future__ import annotations

import threading

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Retries, TimeLimit

from config.settings import Settings
from tiepnhan.broker_errors import BrokerUnavailable

__all__ = ["BrokerUnavailable", "PendingBroker", "build_broker", "ensure_configured_broker", "install_broker", "remember"]

_declared: list[dramatiq.Actor] = []  # type: ignore[type-arg]
_install_lock = threading.RLock()


def _redis_broker_class() -> type[dramatiq.Broker]:
    import redis
    from dramatiq.brokers.redis import RedisBroker

    class TiepnhanRedisBroker(RedisBroker):  # type: ignore[misc]
        """Dramatiq's RedisBroker whose failed enqueue is a `BrokerUnavailable`."""

        def enqueue(self, message: dramatiq.Message, *, delay: int | None = None) -> dramatiq.Message:  # type: ignore[type-arg]
            try:
                return super().enqueue(message, delay=delay)
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
                raise BrokerUnavailable(self._tiepnhan_url, exc) from exc

    return TiepnhanRedisBroker


class PendingBroker(StubBroker):
    """Where actors are declared until the configured broker is installed (see the module doc)."""

    def enqueue(self, message: dramatiq.Message, *, delay: int | None = None) -> dramatiq.Message:  # type: ignore[type-arg]
        from tiepnhan import runtime

        settings = runtime.settings()
        if settings.redis_url and dramatiq.get_broker() is self:
            return ensure_configured_broker(settings).enqueue(message, delay=delay)
        return super().enqueue(message, delay=delay)


def ensure_configured_broker(settings: Settings) -> dramatiq.Broker:
    """The broker `settings` names, installed (with every known actor) if it is not yet."""
    with _install_lock:  # two threads sending at once install it once
        current = dramatiq.get_broker()
        if isinstance(current, PendingBroker) or (settings.redis_url and getattr(current, "_tiepnhan_url", None) != settings.redis_url):
            from tiepnhan.middleware import install as install_middleware

            current = install_broker(settings)
            install_middleware(current)
        return current


def build_broker(settings: Settings) -> dramatiq.Broker:
    if settings.redis_url:
        broker: dramatiq.Broker = _redis_broker_class()(
            url=settings.redis_url,
            namespace="tiepnhan",
            heartbeat_timeout=settings.worker.heartbeat_timeout_ms,
            maintenance_chance=settings.worker.maintenance_chance,
            dead_message_ttl=settings.worker.dead_message_ttl_ms,
        )
        broker._tiepnhan_url = settings.redis_url  # type: ignore[attr-defined]
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


# Actors are declared at import on the current broker; make it the pending one, never a
# default dramatiq would pick on its own (RabbitMQ, then a local Redis).
import dramatiq.broker as _broker_module  # noqa: E402

if _broker_module.global_broker is None:
    dramatiq.set_broker(PendingBroker())
