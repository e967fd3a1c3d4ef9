"""Polling every source on time, and the periodic jobs, as Dramatiq actors plus a small loop.

    scheduler loop ──(each source's interval)──▶ poll_source(name)   queue "poll"
                   ──(periodic jobs)───────────▶ run_periodic(name)  queue "periodic"

Sources are independent: each poll is its own message, so 80 mailboxes are polled in parallel by
however many worker threads there are, and a failing source backs off on its own (exponential
backoff from its consecutive errors in SourceHealth) without delaying the rest.

Two schedulers started by mistake never poll a source twice at once: each poll holds the
source's lock (tiepnhan.locks: TTL, renewed while it runs, with a fencing token checked before
any checkpoint write), and each enqueue first claims the source's slot for the interval
(`SET NX PX` in Redis, shared by all schedulers), so they do not even double the queue.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import dramatiq
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import select
from sqlalchemy.engine import Engine

from config.settings import Settings
from tickets.db import session_scope
from tickets.models import RawItem, RawState, SourceHealth, utcnow
from tiepnhan import runtime
from tiepnhan.broker import remember
from tiepnhan.locks import LeaseLost, guard_checkpoint_writes, holding, source_locks
from tiepnhan.sources import SourceSpec, source_specs

log = logging.getLogger(__name__)

POLL_QUEUE = "poll"
PERIODIC_QUEUE = "periodic"
MAX_ERROR_LENGTH = 2_000


# --- sources (SourceSpec, source_specs: tiepnhan/sources.py) -------------------------------


def backoff_seconds(consecutive_errors: int, interval: float, cap: float) -> float:
    """How long a source waits after its n-th consecutive error: interval·2^(n-1), capped."""
    if consecutive_errors <= 0:
        return 0.0
    return float(min(cap, interval * 2 ** min(consecutive_errors - 1, 20)))


def in_backoff(health: SourceHealth | None, interval: float, cap: float, now: datetime) -> bool:
    if health is None or health.consecutive_errors <= 0 or health.last_attempt_at is None:
        return False
    # The source said when to come back (the Graph API's estimated_time_to_regain_access).
    retry_after = (health.details or {}).get("retry_after_until")
    if retry_after and now < datetime.fromisoformat(retry_after):
        return True
    wait = backoff_seconds(health.consecutive_errors, interval, cap)
    return now < health.last_attempt_at + timedelta(seconds=wait)


def read_health(engine: Engine) -> dict[str, SourceHealth]:
    with session_scope(engine) as session:
        return {h.source: h for h in session.execute(select(SourceHealth)).scalars()}


def _health_row(session: Any, name: str, kind: str) -> SourceHealth:
    row = session.get(SourceHealth, name)
    if row is None:
        row = SourceHealth(source=name, kind=kind)
    return row


def record_poll_success(engine: Engine, name: str, kind: str, details: dict[str, Any] | None = None) -> None:
    with session_scope(engine) as session:
        row = _health_row(session, name, kind)
        now = utcnow()
        row.last_attempt_at = now
        row.last_success_at = now
        row.consecutive_errors = 0
        row.failing_since = None
        row.details = {k: v for k, v in {**(row.details or {}), **(details or {})}.items() if k != "retry_after_until"}
        session.add(row)


def record_poll_failure(engine: Engine, name: str, kind: str, error: str, retry_after_seconds: float = 0.0) -> int:
    with session_scope(engine) as session:
        row = _health_row(session, name, kind)
        now = utcnow()
        row.last_attempt_at = now
        if retry_after_seconds > 0:
            row.details = {**(row.details or {}), "retry_after_until": (now + timedelta(seconds=retry_after_seconds)).isoformat()}
        row.consecutive_errors = (row.consecutive_errors or 0) + 1
        row.failing_since = row.failing_since or now
        row.last_error = error[:MAX_ERROR_LENGTH]
        session.add(row)
        return row.consecutive_errors


# --- running one poll ---------------------------------------------------------------------

_pollers: dict[int, dict[str, Any]] = {}
_pollers_lock = threading.Lock()


def pollers_by_name(settings: Settings) -> dict[str, Any]:
    """The pollers of every configured source (`ingest.sources.build_pollers`), built once."""
    with _pollers_lock:
        found = _pollers.get(id(settings))
        if found is None:
            from ingest.sources import build_pollers

            built = build_pollers(settings)
            items = built.values() if isinstance(built, dict) else built
            found = _pollers[id(settings)] = {_poller_name(p): p for p in items}
        return found


def _poller_name(poller: Any) -> str:
    for attribute in ("name", "source", "source_name"):
        value = getattr(poller, attribute, None)
        if isinstance(value, str):
            return value
    config = getattr(poller, "config", None)
    return str(getattr(config, "name"))


def _call_with(function: Callable[..., Any], available: dict[str, Any]) -> Any:
    """Call `function` with whichever of the available arguments it names."""
    parameters = inspect.signature(function).parameters
    return function(**{name: value for name, value in available.items() if name in parameters})


def run_poller(poller: Any, engine: Engine, settings: Settings) -> Any:
    method = getattr(poller, "poll_once", None) or getattr(poller, "poll")
    return _call_with(method, {"engine": engine, "settings": settings, "enqueue": True})


@dataclass(frozen=True)
class PollOutcome:
    source: str
    status: str  # polled | locked | backing_off | failed | lease_lost | unknown_source
    error: str | None = None


def poll_source_now(settings: Settings, engine: Engine, name: str, *, force: bool = False) -> PollOutcome:
    """Poll one source under its lock, recording the outcome in SourceHealth."""
    spec = next((s for s in source_specs(settings) if s.name == name), None)
    if spec is None:
        return PollOutcome(name, "unknown_source", "not in the configuration")
    if not force and in_backoff(read_health(engine).get(name), spec.interval_seconds, settings.scheduler.max_poll_backoff_seconds, utcnow()):
        return PollOutcome(name, "backing_off")
    guard_checkpoint_writes()
    locks = source_locks(settings.redis_url)
    lease = locks.acquire(name, settings.scheduler.poll_lock_ttl_seconds)
    if lease is None:
        log.info("poll skipped: another poll of this source is running", extra={"source": name})
        return PollOutcome(name, "locked")
    with holding(lease):
        try:
            poller = pollers_by_name(settings)[name]
            run_poller(poller, engine, settings)
            lease.ensure_current()
        except LeaseLost as exc:
            log.warning("poll lost its lock; another poll took over", extra={"source": name, "token": lease.token})
            return PollOutcome(name, "lease_lost", str(exc))
        except Exception as exc:  # noqa: BLE001 - any error of one source is that source's, recorded
            error = f"{type(exc).__name__}: {exc}"
            retry_after = float(getattr(exc, "retry_after_seconds", 0.0) or 0.0)
            errors = record_poll_failure(engine, name, spec.kind, error, retry_after)
            log.warning("poll failed", extra={"source": name, "consecutive_errors": errors, "error": error})
            return PollOutcome(name, "failed", error)
    record_poll_success(engine, name, spec.kind, {"fence_token": lease.token})
    return PollOutcome(name, "polled")


# --- periodic jobs ------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    targets: tuple[str, ...]  # "module:function" candidates, the first that exists is called
    every_seconds: Callable[[Settings], float] | None = None
    daily_at: Callable[[Settings], str] | None = None  # "HH:MM" local time


PERIODIC_JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob(
        "sla_reminders",
        ("notifiers.reminders:send_reminders",),
        every_seconds=lambda s: s.scheduler.reminder_interval_minutes * 60,
    ),
    PeriodicJob(
        "daily_digests",
        ("notifiers.digests:send_digests",),
        daily_at=lambda s: s.scheduler.digest_time,
    ),
    PeriodicJob("reconcile", ("tiepnhan.scheduler:reconcile",), every_seconds=lambda s: s.scheduler.reconcile_interval_minutes * 60),
    PeriodicJob(
        "source_reconcile",
        ("tiepnhan.scheduler:reconcile_sources",),
        every_seconds=lambda s: s.scheduler.source_reconcile_interval_hours * 3600,
    ),
    PeriodicJob(
        "token_health",
        ("ingest.facebook.tokens:check_tokens", "ingest.facebook.health:check_tokens", "ingest.facebook:check_tokens", "ingest.facebook.tokens:check_token_health"),
        every_seconds=lambda s: s.scheduler.token_check_interval_hours * 3600,
    ),
    # Zalo access tokens live about 25 h: refreshed ahead of expiry (ingest/zalo/tokens.py, REFRESH_CHECK_EVERY).
    PeriodicJob("zalo_token_refresh", ("ingest.zalo.tokens:refresh_due_tokens",), every_seconds=lambda s: 600.0),
    # Zalo files the webhook's background task did not get to (ingest/zalo/attachments.py).
    PeriodicJob("zalo_attachments", ("ingest.zalo.attachments:fetch_pending_attachments",), every_seconds=lambda s: 600.0),
)


def resolve_target(targets: tuple[str, ...]) -> Callable[..., Any] | None:
    for target in targets:
        module_name, _, function_name = target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        function = getattr(module, function_name, None)
        if callable(function):
            return function  # type: ignore[no-any-return]
    return None


def run_periodic_now(settings: Settings, engine: Engine, job_name: str) -> Any:
    job = next(j for j in PERIODIC_JOBS if j.name == job_name)
    function = resolve_target(job.targets)
    if function is None:
        log.info("periodic job has nothing to run yet", extra={"job": job_name})
        return None
    return _call_with(function, {"settings": settings, "engine": engine, "now": utcnow()})


def reconcile_sources(engine: Engine, settings: Settings) -> dict[str, Any]:
    """Run each source's own reconciliation (e.g. IMAP: a UID never stored), under its lock."""
    results: dict[str, Any] = {}
    locks = source_locks(settings.redis_url)
    guard_checkpoint_writes()
    for name, poller in pollers_by_name(settings).items():
        method = getattr(poller, "reconcile", None)
        if method is None:
            continue
        lease = locks.acquire(name, settings.scheduler.poll_lock_ttl_seconds)
        if lease is None:
            results[name] = "locked"  # a poll is running; the next pass will do it
            continue
        with holding(lease):
            try:
                results[name] = _call_with(method, {"engine": engine, "settings": settings, "enqueue": True})
            except Exception as exc:  # noqa: BLE001 - one source's failure is reported, the rest go on
                log.warning("source reconcile failed", extra={"source": name, "error": f"{type(exc).__name__}: {exc}"})
                results[name] = f"{type(exc).__name__}: {exc}"
    return results


def in_process_pipeline_idle() -> bool:
    """Without Redis: True when the in-process broker has no pipeline work queued or running."""
    broker = dramatiq.get_broker()
    if isinstance(broker, StubBroker):
        return all(broker.queues[q].unfinished_tasks == 0 for q in ("pipeline", "pipeline.DQ") if q in broker.queues)
    return False


def queued_pipeline_jobs(settings: Settings) -> set[tuple[str, tuple[Any, ...]]] | None:
    """(actor, args) of the pipeline messages Redis holds that are still on their way. None
    without Redis.

    A message waiting in a queue (or the delay queue) is on its way. One that a worker took
    (its id has left the queue; the body stays until acknowledged) is on its way for at most
    the actor time limit after it was sent or became due; past that, the worker that took it
    lost it (seen after a Redis restart: a live worker whose consumer reconnected never
    acknowledges nor returns what it held): it is dropped from Redis, and the caller re-sends
    the work.
    """
    if not settings.redis_url:
        return None
    import json

    import redis

    client = redis.Redis.from_url(settings.redis_url, socket_timeout=30, socket_connect_timeout=10)
    now_ms = int(time.time() * 1000)
    held_for_at_most = settings.worker.time_limit_ms + 60_000
    jobs: set[tuple[str, tuple[Any, ...]]] = set()
    from tickets.actors import single_jobs

    for queue in ("tiepnhan:pipeline", "tiepnhan:pipeline.DQ"):
        waiting = {i.decode() for i in client.lrange(queue, 0, -1)}
        for message_id, body in client.hscan_iter(f"{queue}.msgs", count=1_000):
            try:
                data = json.loads(body)
                job = single_jobs(str(data["actor_name"]), tuple(data["args"]))  # a batch: its items
                since = max(int(data.get("message_timestamp", 0)), int(data.get("options", {}).get("eta", 0)))
            except (ValueError, KeyError, TypeError):
                continue
            if message_id.decode() in waiting or now_ms - since < held_for_at_most:
                jobs.update(job)
            else:
                # Lost: forget it as dramatiq's acknowledgement would (body and ack-set entry),
                # so the queue drains; its work is re-sent by the caller.
                client.hdel(f"{queue}.msgs", message_id)
                for ack_set in client.scan_iter(f"tiepnhan:__acks__.*.{queue.removeprefix('tiepnhan:')}"):
                    client.srem(ack_set, message_id)
    return jobs


def reconcile(engine: Engine, settings: Settings) -> dict[str, int]:
    """Re-send the stage of anything the pipeline left unfinished whose message is gone.

    A stage commits its work and then sends the next stage's message; if the broker is down at
    that moment (Redis restarting), or an in-process queue was lost with its process, the next
    message never exists. On Redis, every message still queued, in flight or waiting for a
    retry is read from the broker, and only work with no message left is re-sent (a stage that
    just committed and is about to send may be re-sent too: stages are idempotent, so that is
    harmless). In-process, whose in-flight work cannot be seen, it waits for an idle queue.
    """
    queued = queued_pipeline_jobs(settings)
    if queued is None and not in_process_pipeline_idle():
        return {"skipped_busy": 1}
    from tickets.actors import chunks, classify_batch, normalize_batch, single_jobs, thread_batch
    from tickets.models import Message, Ticket

    with session_scope(engine) as session:
        # Failed (transiently) with the queue idle: its retry message was lost, or it was
        # dead-lettered, which the filter below leaves to the operator.
        unfinished = (RawState.PENDING.value, RawState.FAILED.value)
        raws = list(session.execute(select(RawItem.id).where(RawItem.state.in_(unfinished)).order_by(RawItem.id).limit(10_000)).scalars())  # type: ignore[attr-defined, arg-type]
        messages = list(session.execute(select(Message.id).where(Message.threaded.is_(False)).order_by(Message.id).limit(10_000)).scalars())  # type: ignore[attr-defined, arg-type]
        tickets = list(
            session.execute(
                select(Ticket.id).where(Ticket.tagged_at.is_(None), Ticket.tags_locked.is_(False)).order_by(Ticket.id).limit(10_000)  # type: ignore[union-attr, attr-defined, arg-type]
            ).scalars()
        )
        # Work that already failed for good waits for an operator (`tiepnhan retry`), not a storm.
        from tiepnhan.failures import FailedJob

        dead = {
            job
            for actor, args in session.execute(select(FailedJob.actor, FailedJob.args).where(FailedJob.resolved.is_(False)))  # type: ignore[attr-defined]
            for job in single_jobs(actor, tuple(args))  # a dead batch: its items
        }
    skip = dead | (queued or set())
    raws = [i for i in raws if ("normalize_raw_item", (i,)) not in skip]
    messages = [i for i in messages if ("thread_message", (i,)) not in skip]
    tickets = [i for i in tickets if ("classify_ticket", (i,)) not in skip]
    for raw_batch in chunks(raws):  # in batches, as intake sends them (tickets/actors.py)
        normalize_batch.send(raw_batch)
    for message_batch in chunks(messages):
        thread_batch.send(message_batch)
    for ticket_batch in chunks(tickets):
        classify_batch.send(ticket_batch)
    found = {"raw_items": len(raws), "messages": len(messages), "tickets": len(tickets)}
    if any(found.values()):
        log.warning("reconcile re-sent unfinished pipeline work", extra=found)
    return found


# --- actors -------------------------------------------------------------------------------


def _broker() -> dramatiq.Broker:
    import dramatiq.broker as broker_module

    if broker_module.global_broker is None:
        dramatiq.set_broker(StubBroker())
    return dramatiq.get_broker()


@remember
@dramatiq.actor(queue_name=POLL_QUEUE, broker=_broker(), max_retries=0)
def poll_source(source_name: str) -> None:
    """Poll one source; its own errors are recorded in SourceHealth, never retried here
    (the scheduler polls it again after its backoff)."""
    poll_source_now(runtime.settings(), runtime.engine(), source_name)


@remember
@dramatiq.actor(queue_name=PERIODIC_QUEUE, broker=_broker(), max_retries=3)
def run_periodic(job_name: str) -> None:
    run_periodic_now(runtime.settings(), runtime.engine(), job_name)


def apply_time_limits(settings: Settings) -> None:
    poll_source.options["time_limit"] = settings.worker.poll_time_limit_ms


# --- the scheduler loop -------------------------------------------------------------------


class SlotClaims:
    """At most one enqueue per key per period, across every scheduler (Redis) or in-process."""

    def __init__(self, redis_url: str | None) -> None:
        self._client: Any = None
        self._local: dict[str, float] = {}
        if redis_url:
            import redis

            self._client = redis.Redis.from_url(redis_url, socket_timeout=10, socket_connect_timeout=10)

    def claim(self, key: str, period_seconds: float) -> bool:
        if self._client is not None:
            return bool(self._client.set(f"tiepnhan:slot:{key}", "1", nx=True, px=max(1, int(period_seconds * 1000))))
        now = time.monotonic()
        if self._local.get(key, 0.0) > now:
            return False
        self._local[key] = now + period_seconds
        return True


class Scheduler:
    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        send_poll: Callable[[str], Any] | None = None,
        send_periodic: Callable[[str], Any] | None = None,
        idle_watchers: bool = False,
    ) -> None:
        self.settings = settings
        self.idle_watchers = idle_watchers  # run() also starts IMAP IDLE watchers (see start_idle_watchers)
        self.engine = engine
        self.send_poll = send_poll or poll_source.send
        self.send_periodic = send_periodic or run_periodic.send
        self.claims = SlotClaims(settings.redis_url)
        self.specs = source_specs(settings)
        self.tz = ZoneInfo(settings.timezone)

    def tick(self) -> list[str]:
        """Enqueue whatever is due now; returns what was enqueued (for logs and tests)."""
        sent: list[str] = []
        now = utcnow()
        health = read_health(self.engine) if self.specs else {}
        cap = self.settings.scheduler.max_poll_backoff_seconds
        for spec in self.specs:
            if in_backoff(health.get(spec.name), spec.interval_seconds, cap, now):
                continue
            # The slot lasts slightly less than the interval, so tick jitter never skips one.
            if self.claims.claim(f"poll:{spec.name}", max(spec.interval_seconds / 2, spec.interval_seconds - self.settings.scheduler.tick_seconds / 2)):
                self.send_poll(spec.name)
                sent.append(f"poll:{spec.name}")
        for job in PERIODIC_JOBS:
            key, period = self._periodic_slot(job, now)
            if key is not None and self.claims.claim(key, period):
                self.send_periodic(job.name)
                sent.append(f"periodic:{job.name}")
        return sent

    def _periodic_slot(self, job: PeriodicJob, now: datetime) -> tuple[str | None, float]:
        if job.every_seconds is not None:
            return f"periodic:{job.name}", job.every_seconds(self.settings)
        assert job.daily_at is not None
        hour, minute = (int(part) for part in job.daily_at(self.settings).split(":"))
        local = now.astimezone(self.tz)
        if (local.hour, local.minute) < (hour, minute):
            return None, 0.0
        return f"periodic:{job.name}:{local.date().isoformat()}", 26 * 3600.0

    def run(self, stop: threading.Event) -> None:
        log.info("scheduler started", extra={"sources": len(self.specs)})
        watchers = self.start_idle_watchers(stop) if self.idle_watchers else []
        while not stop.is_set():
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - a database or Redis hiccup: try again next tick
                log.exception("scheduler tick failed")
            stop.wait(self.settings.scheduler.tick_seconds)
        for thread in watchers:
            thread.join(timeout=10)
        log.info("scheduler stopped")

    def start_idle_watchers(self, stop: threading.Event) -> list[threading.Thread]:
        """IMAP IDLE (RFC 2177, ingest/imap/idle.py): one thread per folder of each mailbox with
        `idle = true`, syncing as soon as mail arrives; the interval polls stay the safety net."""
        from ingest.imap.idle import start_idle_watchers

        return start_idle_watchers(self.settings, self.engine, stop)
