"""What failed and how to try it again: failed raw items and dead-lettered jobs.

A raw item that failed (a transient error, retried by the broker) or was quarantined (the item
itself is at fault) carries its stage, error and attempts on its own row. A job whose retries
were exhausted is dead-lettered by the broker and recorded here, by `tiepnhan.middleware`, as a
FailedJob: one row per actor and arguments, counting how often it ended that way.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, select, update
from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel

from tickets.db import session_scope
from tickets.dbtypes import UTCDateTime
from tickets.models import RawItem, RawState, utcnow
from tickets.store import safe_error_text

MAX_ERROR_LENGTH = 4_000


class FailedJob(SQLModel, table=True):
    """A broker message whose retries were exhausted (dead-lettered)."""

    __table_args__ = (Index("ix_failedjob_resolved", "resolved"), Index("ix_failedjob_actor", "actor"))

    id: int | None = Field(default=None, primary_key=True)
    actor: str = Field(max_length=200)
    args: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    kwargs: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    queue: str = Field(max_length=200)
    error: str
    count: int = 1
    first_failed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    last_failed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime())
    message_id: str = Field(max_length=100)
    resolved: bool = False


def _args_key(args: Any) -> str:
    return json.dumps(args, sort_keys=True, default=str)


def record_failed_job(
    engine: Engine, *, actor: str, args: list[Any], kwargs: dict[str, Any], queue: str, error: str, message_id: str
) -> int:
    """Record a dead-lettered message; the same actor and arguments again adds to its count."""
    error = safe_error_text(error)  # never SQL parameters, ID numbers or secrets
    now = utcnow()
    key = _args_key(args), _args_key(kwargs)
    with session_scope(engine) as session:
        candidates = session.execute(
            select(FailedJob).where(FailedJob.actor == actor).order_by(FailedJob.id.desc())  # type: ignore[union-attr]
        ).scalars()
        for job in candidates:
            if (_args_key(job.args), _args_key(job.kwargs)) == key:
                if job.message_id == message_id and not job.resolved:
                    return job.id or 0  # the same dead letter reported twice (redelivery)
                job.count += 1
                job.error = error
                job.last_failed_at = now
                job.message_id = message_id
                job.resolved = False
                session.add(job)
                session.flush()
                return job.id or 0
        job = FailedJob(
            actor=actor, args=list(args), kwargs=dict(kwargs), queue=queue, error=error,
            first_failed_at=now, last_failed_at=now, message_id=message_id,
        )  # fmt: skip
        session.add(job)
        session.flush()
        return job.id or 0


# --- listing ------------------------------------------------------------------------------

FAILED_STATES = (RawState.FAILED.value, RawState.QUARANTINED.value)


@dataclass(frozen=True)
class FailureRow:
    ref: str  # "raw-12" or "job-3": what `tiepnhan retry` takes
    kind: str  # "raw_item" | "job"
    what: str  # source and kind of the raw item, or the actor and its arguments
    state: str  # failed / quarantined / dead_letter
    stage: str | None
    error: str | None
    count: int
    at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.ref, "kind": self.kind, "what": self.what, "state": self.state, "stage": self.stage,
            "error": self.error, "count": self.count, "at": self.at.isoformat() if self.at else None,
        }  # fmt: skip


def list_failures(engine: Engine, *, include_resolved: bool = False) -> list[FailureRow]:
    rows: list[FailureRow] = []
    with session_scope(engine) as session:
        raws = session.execute(
            select(RawItem).where(RawItem.state.in_(FAILED_STATES)).order_by(RawItem.id)  # type: ignore[attr-defined, arg-type]
        ).scalars()
        for raw in raws:
            rows.append(
                FailureRow(
                    ref=f"raw-{raw.id}", kind="raw_item", what=f"{raw.source} · {raw.kind} · {raw.external_id[:80]}",
                    state=raw.state, stage=raw.error_stage, error=raw.last_error, count=raw.attempts, at=raw.arrived_at,
                )  # fmt: skip
            )
        query = select(FailedJob).order_by(FailedJob.id)  # type: ignore[arg-type]
        if not include_resolved:
            query = query.where(FailedJob.resolved.is_(False))  # type: ignore[attr-defined]
        for job in session.execute(query).scalars():
            arguments = ", ".join(json.dumps(a, ensure_ascii=False, default=str) for a in job.args)
            rows.append(
                FailureRow(
                    ref=f"job-{job.id}", kind="job", what=f"{job.actor}({arguments})", state="dead_letter",
                    stage=job.queue, error=job.error, count=job.count, at=job.last_failed_at,
                )  # fmt: skip
            )
    return rows


# --- retrying -----------------------------------------------------------------------------

_REF = re.compile(r"^(?:(raw|job)[-:]?)?(\d+)$", re.IGNORECASE)


def parse_ref(text: str) -> tuple[str, int]:
    """`raw-12`, `12` (a raw item) or `job-3` → ("raw"|"job", id)."""
    match = _REF.match(text.strip())
    if not match:
        raise ValueError(f"not a failure id: {text!r} (e.g. raw-12 or job-3)")
    return (match.group(1) or "raw").lower(), int(match.group(2))


def retry_raw_items(engine: Engine, raw_item_ids: list[int]) -> list[int]:
    """Reset failed/quarantined raw items to pending and enqueue them for normalizing again."""
    with session_scope(engine) as session:
        ids = list(
            session.execute(
                select(RawItem.id).where(RawItem.id.in_(raw_item_ids), RawItem.state.in_(FAILED_STATES))  # type: ignore[union-attr, attr-defined]
            ).scalars()
        )
        if ids:
            session.execute(
                update(RawItem)
                .where(RawItem.id.in_(ids))  # type: ignore[union-attr]
                .values(state=RawState.PENDING.value, last_error=None, error_stage=None)
            )
    if ids:
        from tickets.actors import enqueue_raw_items

        enqueue_raw_items(ids)
    return ids


def retry_jobs(engine: Engine, job_ids: list[int]) -> list[int]:
    """Send each dead-lettered job's actor message again, and mark it resolved."""
    import dramatiq

    broker = dramatiq.get_broker()
    sent = []
    with session_scope(engine) as session:
        jobs = session.execute(select(FailedJob).where(FailedJob.id.in_(job_ids))).scalars()  # type: ignore[union-attr]
        for job in jobs:
            actor = broker.get_actor(job.actor)  # raises ActorNotFound for an unknown actor
            actor.send_with_options(args=tuple(job.args), kwargs=dict(job.kwargs))
            job.resolved = True
            session.add(job)
            sent.append(job.id or 0)
    return sent


def all_failure_ids(engine: Engine) -> tuple[list[int], list[int]]:
    with session_scope(engine) as session:
        raws = list(session.execute(select(RawItem.id).where(RawItem.state.in_(FAILED_STATES))).scalars())  # type: ignore[attr-defined, arg-type]
        jobs = list(session.execute(select(FailedJob.id).where(FailedJob.resolved.is_(False))).scalars())  # type: ignore[attr-defined, arg-type]
    return raws, jobs  # type: ignore[return-value]
