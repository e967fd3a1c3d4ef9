"""What `tiepnhan status` and `/metrics` report: each source's health, intake delay, queues.

Intake delay is measured from a message's arrival at its source (RawItem.arrived_at: the
mailbox's INTERNALDATE, the Graph created_time; copied to Message.received_at) to the moment
it joined its ticket (the ticket's "created" or "message_added" event).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from config.settings import Settings
from tickets.db import session_scope
from tickets.models import Message, RawItem, SourceHealth, TicketEvent, utcnow
from tiepnhan.sources import source_specs  # not the scheduler: no broker or actors for a status

QUEUES = ("pipeline", "poll", "periodic", "notify")
DELAY_WINDOW = timedelta(hours=1)


@dataclass
class SourceStatus:
    name: str
    kind: str
    configured: bool
    last_success_at: datetime | None = None
    last_attempt_at: datetime | None = None
    consecutive_errors: int = 0
    failing_since: datetime | None = None
    last_error: str | None = None
    delay_median_seconds: float | None = None
    delay_worst_seconds: float | None = None
    delay_samples: int = 0
    failing_too_long: bool = False
    warning: str | None = None  # e.g. the page token expires soon (ingest/facebook/tokens.py)

    def as_dict(self) -> dict[str, Any]:
        data = dict(vars(self))
        for key in ("last_success_at", "last_attempt_at", "failing_since"):
            value = data[key]
            data[key] = value.isoformat() if value else None
        return data


@dataclass
class QueueStatus:
    name: str
    waiting: int  # in the queue, not yet taken by a worker
    unacked: int  # queued or being processed (held until acknowledged)
    delayed: int  # waiting for a retry's backoff
    dead: int  # dead-lettered in the broker


@dataclass
class Status:
    sources: list[SourceStatus]
    queues: list[QueueStatus] = field(default_factory=list)
    live_workers: int | None = None  # None: no Redis (everything runs in one process)
    broker: str = "in-process"
    escalations: dict[str, int] = field(default_factory=dict)  # by status

    @property
    def problems(self) -> list[str]:
        """What makes the service unhealthy, in Vietnamese (empty when healthy)."""
        found = [f"nguồn {s.name} lỗi liên tiếp quá ngưỡng ({s.consecutive_errors} lần)" for s in self.sources if s.failing_too_long]
        if self.broker == "redis" and not self.live_workers:
            # With Redis nothing is processed (intake, escalations) unless a worker runs.
            found.append("không có worker nào đang hoạt động (Redis không nhận được nhịp tim của worker nào)")
        return found

    @property
    def healthy(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "healthy": self.healthy,
            "problems": self.problems,
            "broker": self.broker,
            "live_workers": self.live_workers,
            "sources": [s.as_dict() for s in self.sources],
            "queues": [vars(q) for q in self.queues],
            "escalations": self.escalations,
        }


def intake_delays(engine: Engine, since: datetime) -> dict[str, list[float]]:
    """Seconds from arrival to ticket, per source, for messages threaded since `since`."""
    delays: dict[str, list[float]] = {}
    with session_scope(engine) as session:
        events = session.execute(
            select(TicketEvent.at, TicketEvent.data).where(
                TicketEvent.at >= since, TicketEvent.kind.in_(("created", "message_added"))  # type: ignore[attr-defined]
            )
        ).all()
        joined_at: dict[int, datetime] = {}
        for at, data in events:
            message_id = (data or {}).get("message_id")
            if isinstance(message_id, int):
                joined_at[message_id] = min(at, joined_at.get(message_id, at))
        ids = list(joined_at)
        for start in range(0, len(ids), 500):
            rows = session.execute(
                select(Message.id, Message.source, Message.received_at).where(Message.id.in_(ids[start : start + 500]))  # type: ignore[union-attr]
            )
            for message_id, source, received_at in rows:
                delays.setdefault(source, []).append(max(0.0, (joined_at[message_id] - received_at).total_seconds()))
    return delays


def source_statuses(settings: Settings, engine: Engine, now: datetime | None = None) -> list[SourceStatus]:
    now = now or utcnow()
    with session_scope(engine) as session:
        health = {h.source: h for h in session.execute(select(SourceHealth)).scalars()}
    delays = intake_delays(engine, now - DELAY_WINDOW)
    threshold = timedelta(minutes=settings.source_failing_threshold_minutes)
    statuses = [SourceStatus(spec.name, spec.kind, True) for spec in source_specs(settings)]
    known = {s.name for s in statuses}
    # Zalo accounts are not polled (webhooks only): listed here with their refresh token's health.
    statuses += [SourceStatus(z.name, "zalo", True) for z in settings.zalo_accounts if z.name not in known]
    # The web portal and the call center (issue 18, docs/channels.md) take what is sent to them.
    pushed = [("portal", "portal")] if settings.portal.enabled and "portal" in delays else []  # the form (on by default): once it has been used
    pushed += [(c.name, "portal") for c in settings.portal_clients]
    pushed += [(settings.call_center.name, "call")] if settings.call_center.secret is not None else []
    statuses += [SourceStatus(name, kind, True) for name, kind in pushed if name not in known]
    known = {s.name for s in statuses}
    statuses += [SourceStatus(name, row.kind, False) for name, row in sorted(health.items()) if name not in known]
    for status in statuses:
        row = health.get(status.name)
        if row is not None:
            status.last_success_at = row.last_success_at
            status.last_attempt_at = row.last_attempt_at
            status.consecutive_errors = row.consecutive_errors
            status.failing_since = row.failing_since
            status.last_error = row.last_error
            token = (row.details or {}).get("token")
            if isinstance(token, dict) and token.get("warning"):
                status.warning = str(token["warning"])
            status.warning = status.warning or sync_in_progress((row.details or {}).get("sync_progress"))
            status.failing_too_long = bool(
                status.configured and row.consecutive_errors > 0 and row.failing_since is not None and now - row.failing_since > threshold
            )
        if status.kind == "zalo" and status.configured:
            from ingest.zalo.tokens import account_token_warning

            account = next(z for z in settings.zalo_accounts if z.name == status.name)
            status.warning = status.warning or account_token_warning(engine, account, now)
        samples = delays.get(status.name, [])
        if samples:
            status.delay_median_seconds = round(statistics.median(samples), 3)
            status.delay_worst_seconds = round(max(samples), 3)
            status.delay_samples = len(samples)
    return statuses


def redis_client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)


def queue_statuses(client: Any, namespace: str = "tiepnhan") -> list[QueueStatus]:
    """Depths of Dramatiq's Redis queues (keys `<ns>:<queue>`, `.msgs`, `.DQ`, `.XQ`)."""
    names = set(QUEUES)
    for key in client.scan_iter(match=f"{namespace}:*.msgs", count=500):
        text = key.decode() if isinstance(key, bytes) else key
        base = text.removeprefix(f"{namespace}:").removesuffix(".msgs")
        names.add(base.removesuffix(".DQ").removesuffix(".XQ"))
    result = []
    for name in sorted(n for n in names if not n.startswith("__")):
        key = f"{namespace}:{name}"
        pipe = client.pipeline(transaction=False)
        pipe.llen(key)
        pipe.hlen(f"{key}.msgs")
        pipe.hlen(f"{key}.DQ.msgs")
        pipe.zcard(f"{key}.XQ")
        waiting, unacked, delayed, dead = pipe.execute()
        result.append(QueueStatus(name, int(waiting), int(unacked), int(delayed), int(dead)))
    return result


def live_workers(client: Any, heartbeat_timeout_ms: int, namespace: str = "tiepnhan") -> int:
    """Broker connections with a heartbeat within the timeout (each worker process has one)."""
    now_ms = int(time.time() * 1000)
    return int(client.zcount(f"{namespace}:__heartbeats__", now_ms - heartbeat_timeout_ms, "+inf"))


def in_process_queue_statuses() -> list[QueueStatus]:
    import dramatiq
    from dramatiq.brokers.stub import StubBroker

    broker = dramatiq.get_broker()
    if not isinstance(broker, StubBroker):
        return []
    result = []
    for name, queue in sorted(broker.queues.items()):
        if name.endswith((".DQ", ".XQ")):
            continue
        delayed = broker.queues.get(f"{name}.DQ")
        result.append(QueueStatus(name, queue.qsize(), queue.unfinished_tasks, delayed.qsize() if delayed else 0, len(broker.dead_letters_by_queue.get(name, []))))
    return result


def collect(settings: Settings, engine: Engine, *, in_process: bool = False) -> Status:
    status = Status(sources=source_statuses(settings, engine), escalations=escalation_counts(engine))
    if settings.redis_url:
        client = redis_client(settings.redis_url)
        status.broker = "redis"
        status.queues = queue_statuses(client)
        status.live_workers = live_workers(client, settings.worker.heartbeat_timeout_ms)
    elif in_process:
        status.queues = in_process_queue_statuses()
    return status


def ingested_counts(engine: Engine) -> list[tuple[str, str, int]]:
    """(source, kind, raw items stored) for the metrics."""
    with session_scope(engine) as session:
        rows = session.execute(select(RawItem.source, RawItem.kind, func.count()).group_by(RawItem.source, RawItem.kind)).all()
    return [(str(s), str(k), int(n)) for s, k, n in rows]


def raw_state_counts(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as session:
        rows = session.execute(select(RawItem.state, func.count()).group_by(RawItem.state)).all()
    return {str(s): int(n) for s, n in rows}


def escalation_counts(engine: Engine) -> dict[str, int]:
    """Open escalations by status: what waits for a coordinator, what is overdue, what failed.

    Only the open ones (their number stays small however many were ever closed), counted from
    the status index (a search per open status, not a scan of every escalation)."""
    from tickets.escalation_models import OPEN, Escalation

    with session_scope(engine) as session:
        rows = session.execute(
            select(Escalation.status, func.count()).where(Escalation.status.in_(OPEN)).group_by(Escalation.status)  # type: ignore[arg-type, attr-defined]
        ).all()
    return {str(s): int(n) for s, n in rows}


def sync_in_progress(progress: Any) -> str | None:
    """"đồng bộ INBOX: 2,400/10,000" while a large sync (a first sync, a resync) is under way."""
    if not isinstance(progress, dict):
        return None
    running = [f"{folder}: {p['fetched']:,}/{p['total']:,}" for folder, p in progress.items() if isinstance(p, dict) and p.get("fetched", 0) < p.get("total", 0)]
    return ("đồng bộ " + "; ".join(running)) if running else None
