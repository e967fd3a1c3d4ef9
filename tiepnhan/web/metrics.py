"""`/metrics` for Prometheus, computed at scrape time from the database and Redis.

Workers run in other processes (often on other machines), so counters kept in this process would
see nothing; instead every scrape reads the shared truth: raw items stored per source and kind,
failures, intake delay over the last hour, poll lag and errors per source, queue depths and live
workers. A scrape costs a few grouped queries; results are cached for a few seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from config.settings import Settings

CACHE_SECONDS = 5.0


class TiepnhanCollector:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self) -> Iterator[Metric]:
        from sqlalchemy import func, select

        from tickets.db import session_scope
        from tickets.models import utcnow
        from tiepnhan import runtime, status
        from tiepnhan.failures import FailedJob

        engine = runtime.engine()
        ingested = CounterMetricFamily("tiepnhan_items_ingested", "Raw items stored, per source and channel (kind)", labels=["source", "channel"])
        for source, kind, count in status.ingested_counts(engine):
            ingested.add_metric([source, kind], count)
        yield ingested

        states = GaugeMetricFamily("tiepnhan_raw_items", "Raw items by processing state", labels=["state"])
        for state, count in status.raw_state_counts(engine).items():
            states.add_metric([state], count)
        yield states

        escalations = GaugeMetricFamily("tiepnhan_escalations", "Escalations by status", labels=["status"])
        for state, count in status.escalation_counts(engine).items():
            escalations.add_metric([state], count)
        yield escalations

        with session_scope(engine) as session:
            dead = session.execute(select(func.count()).select_from(FailedJob).where(FailedJob.resolved.is_(False))).scalar_one()  # type: ignore[attr-defined]
        failures = GaugeMetricFamily("tiepnhan_failed_jobs", "Dead-lettered jobs not yet retried")
        failures.add_metric([], int(dead))
        yield failures

        now = utcnow()
        sources = status.source_statuses(self.settings, engine, now)
        lag = GaugeMetricFamily("tiepnhan_poll_lag_seconds", "Seconds since the source's last successful poll", labels=["source"])
        errors = GaugeMetricFamily("tiepnhan_source_consecutive_errors", "Consecutive poll errors", labels=["source"])
        delay = GaugeMetricFamily(
            "tiepnhan_intake_delay_seconds", "Arrival at the source to ticket, last hour", labels=["source", "quantile"]
        )
        for source in sources:
            if source.last_success_at is not None:
                lag.add_metric([source.name], (now - source.last_success_at).total_seconds())
            errors.add_metric([source.name], source.consecutive_errors)
            if source.delay_samples:
                delay.add_metric([source.name, "0.5"], source.delay_median_seconds or 0.0)
                delay.add_metric([source.name, "1"], source.delay_worst_seconds or 0.0)
        yield lag
        yield errors
        yield delay

        depth = GaugeMetricFamily("tiepnhan_queue_depth", "Messages in the broker's queues", labels=["queue", "state"])
        workers = GaugeMetricFamily("tiepnhan_live_workers", "Broker connections with a recent heartbeat")
        if self.settings.redis_url:
            client = status.redis_client(self.settings.redis_url)
            queues = status.queue_statuses(client)
            workers.add_metric([], status.live_workers(client, self.settings.worker.heartbeat_timeout_ms))
        else:
            queues = status.in_process_queue_statuses()
        for queue in queues:
            for state in ("waiting", "unacked", "delayed", "dead"):
                depth.add_metric([queue.name, state], getattr(queue, state))
        yield depth
        yield workers
        yield from _service_gauges(engine, now)


def _service_gauges(engine: Any, now: Any) -> Iterator[Metric]:
    """Backlog, oldest waiting and overdue escalations (issue 15, reports/live.py)."""
    from sqlmodel import Session

    from reports.live import live_gauges

    with Session(engine) as session:
        gauges = live_gauges(session, now)
    for name, help_text, value in (
        ("tiepnhan_backlog_tickets", "Tickets still open", gauges.backlog),
        ("tiepnhan_oldest_waiting_seconds", "Longest a ticket has now been waiting on the center", gauges.oldest_waiting_seconds),
        ("tiepnhan_overdue_escalations", "Escalations sent, not answered, past their deadline", gauges.overdue_escalations),
    ):
        gauge = GaugeMetricFamily(name, help_text)
        gauge.add_metric([], value)
        yield gauge


class MetricsEndpoint:
    def __init__(self, settings: Settings) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(TiepnhanCollector(settings))  # type: ignore[arg-type]
        self._lock = threading.Lock()
        self._cached: tuple[float, bytes] | None = None

    def render(self) -> bytes:
        with self._lock:
            if self._cached is None or time.monotonic() - self._cached[0] > CACHE_SECONDS:
                self._cached = (time.monotonic(), generate_latest(self.registry))
            return self._cached[1]

    async def __call__(self, request: Request) -> Response:
        from starlette.concurrency import run_in_threadpool

        body = await run_in_threadpool(self.render)
        return Response(body, media_type=CONTENT_TYPE_LATEST)


def metrics_route(settings: Settings) -> Route:
    # A bound method, so Starlette treats it as a request → response endpoint (an object with
    # __call__ would be taken for a raw ASGI app).
    return Route("/metrics", MetricsEndpoint(settings).__call__, methods=["GET"])


def add_metrics(app: Any, settings: Settings) -> None:
    """The one line `create_app` calls: mount `/metrics` on the Starlette app."""
    app.router.routes.append(metrics_route(settings))
