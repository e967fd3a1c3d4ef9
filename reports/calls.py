"""The call center's figures over a period (issue 18): calls by outcome, waiting and talk time.

Every call counts, whether or not it had a summary (a call with one is also a message on a
ticket, and counts in the other reports through it). Pure figures (`call_figures`) over rows
read by `call_rows`; `calls_report` puts them in the shape every report has (reports/model.py),
one row per group: day, week, month, agent, direction or outcome.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from ingest.calls.models import CallRecord
from reports.model import Column, Report
from reports.period import Period, time_group
from reports.rows import EVERYTHING, RowScope
from tickets.db import session_scope
from tickets.models import Message, Ticket

GROUPINGS = ("day", "week", "month", "agent", "direction", "outcome")
OUTCOME_LABELS = {"answered": "đã trả lời", "missed": "gọi nhỡ", "abandoned": "bỏ máy", None: "đang diễn ra"}
DIRECTION_LABELS = {"inbound": "gọi đến", "outbound": "gọi đi"}
COLUMNS = [
    Column("label", "Nhóm"), Column("calls", "Cuộc gọi"), Column("answered", "Đã trả lời"), Column("missed", "Gọi nhỡ"),
    Column("abandoned", "Bỏ máy"), Column("share", "Tỷ lệ trả lời"), Column("with_summary", "Có tóm tắt (thành phiếu)"),
    Column("wait_mean_seconds", "Chờ trung bình (giây)"), Column("wait_median_seconds", "Chờ trung vị (giây)"),
    Column("talk_mean_seconds", "Đàm thoại trung bình (giây)"), Column("talk_total_minutes", "Tổng đàm thoại (phút)"),
]  # fmt: skip


@dataclass(frozen=True)
class CallRow:
    started_at: datetime
    direction: str
    agent: str
    outcome: str | None
    wait_seconds: int
    duration_seconds: int
    has_summary: bool


def call_figures(rows: Sequence[CallRow]) -> dict[str, Any]:
    answered = [r for r in rows if r.outcome == "answered"]
    finished = [r for r in rows if r.outcome is not None]
    waits = [r.wait_seconds for r in finished]
    talks = [r.duration_seconds for r in answered]
    return {
        "calls": len(rows),
        "answered": len(answered),
        "missed": sum(1 for r in rows if r.outcome == "missed"),
        "abandoned": sum(1 for r in rows if r.outcome == "abandoned"),
        "share": len(answered) / len(finished) if finished else None,
        "with_summary": sum(1 for r in rows if r.has_summary),
        "wait_mean_seconds": round(statistics.fmean(waits), 1) if waits else None,
        "wait_median_seconds": statistics.median(waits) if waits else None,
        "talk_mean_seconds": round(statistics.fmean(talks), 1) if talks else None,
        "talk_total_minutes": round(sum(talks) / 60, 1),
    }


def group_of(row: CallRow, by: str, period: Period) -> tuple[str | None, str]:
    """(group key, label) of one call."""
    if by in ("day", "week", "month"):
        key = time_group(row.started_at, by, period.zone)
        return key, key
    if by == "agent":
        return (row.agent or None), (row.agent or "không rõ")
    if by == "direction":
        return row.direction, DIRECTION_LABELS.get(row.direction, row.direction)
    if by == "outcome":
        return row.outcome, OUTCOME_LABELS.get(row.outcome, str(row.outcome))
    raise ValueError(f"không nhóm cuộc gọi được theo {by!r}; chọn một trong: {', '.join(GROUPINGS)}")


def build_calls_report(rows: Iterable[CallRow], period: Period, by: str | None) -> Report:
    rows = list(rows)
    total = {"group": "*", "label": "Tổng", **call_figures(rows)}
    lines: list[dict[str, Any]] = []
    if by is not None:
        groups: dict[str | None, tuple[str, list[CallRow]]] = {}
        for row in rows:
            key, label = group_of(row, by, period)
            groups.setdefault(key, (label, []))[1].append(row)
        lines = [{"group": key, "label": label, **call_figures(members)} for key, (label, members) in sorted(groups.items(), key=lambda item: str(item[0]))]
    return Report(name="calls", title="Cuộc gọi tổng đài", period=period, by=by, columns=COLUMNS, rows=lines, total=total)


def load_call_rows(session: Session, period: Period, scope: RowScope = EVERYTHING) -> list[CallRow]:
    """The period's calls. A scope on tickets (an office, or one province asked for) keeps only
    the calls whose summary is a message on a ticket in it: a call has no province of its own,
    so a call without a summary is counted only by a reader who sees everything."""
    begin, finish = period.utc_bounds()
    query = select(CallRecord.started_at, CallRecord.direction, CallRecord.agent, CallRecord.outcome, CallRecord.wait_seconds,
                   CallRecord.duration_seconds, CallRecord.has_summary).where(CallRecord.started_at >= begin, CallRecord.started_at < finish)  # type: ignore[arg-type]
    if scope.tickets is not None:
        on_tickets = select(Message.raw_item_id).join(Ticket, Ticket.id == Message.ticket_id).where(scope.tickets)  # type: ignore[arg-type]
        query = query.where(CallRecord.raw_item_id.in_(on_tickets))  # type: ignore[union-attr]
    return [CallRow(*row) for row in session.execute(query).all()]


def call_rows(engine: Engine, period: Period) -> list[CallRow]:
    with session_scope(engine) as session:
        return load_call_rows(session, period)


def calls_report(engine: Engine, period: Period, by: str | None) -> Report:
    return build_calls_report(call_rows(engine, period), period, by)
