"""Load a period's rows and compute one report (the one side-effecting step: reading)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from config.settings import ReportTargetsConfig
from reports import rows
from reports.acceptance import acceptance_report
from reports.model import Report
from reports.period import Period
from reports.quality import quality_report
from reports.sla import sla_report
from reports.volume import volume_report
from reports.workload import workload_report
from tickets.business_time import active_calendar

REPORTS = ("volume", "quality", "sla", "workload", "acceptance", "calls")
Progress = Callable[[str], None]


def build_report(
    engine: Engine,
    name: str,
    period: Period,
    by: str | None,
    *,
    targets: ReportTargetsConfig,
    now: datetime,
    unit_names: dict[str, str] | None = None,
    progress: Progress = lambda step: None,
    scope: rows.RowScope = rows.EVERYTHING,
    drill: bool = False,
) -> Report:
    """`scope`: what the reader may count (the web app's access scope); `drill`: also read what
    only a drill-down needs (each person's tickets, for the workload report)."""
    with Session(engine) as session:
        if name == "volume":
            progress("đọc phiếu")
            tickets = rows.load_tickets(session, period, scope)
            progress("đọc thư")
            messages = rows.load_messages(session, period, scope)
            return volume_report(tickets, messages, period, by, unit_names)
        if name == "quality":
            progress("đọc phiếu")
            tickets = rows.load_tickets(session, period, scope)
            progress("đọc chuyển xử lý")
            escalations, overdue = rows.load_escalations(session, period, scope), rows.load_overdue_escalations(session, now, scope)
            auto_answered = rows.load_auto_answered(session, period, scope)
            return quality_report(tickets, escalations, overdue, period, by, targets, now, unit_names, auto_answered=auto_answered)
        if name == "sla":
            progress("đọc chuyển xử lý")
            return sla_report(rows.load_escalations(session, period, scope), rows.load_overdue_escalations(session, now, scope), period, unit_names)
        if name == "workload":
            progress("đọc việc đã làm")
            person_tickets = rows.load_person_tickets(session, period, scope) if drill else None
            people, first_acted = rows.load_person_counts(session, period, scope), rows.load_first_acted(session, period, scope)
            return workload_report(people, first_acted, period, active_calendar(), person_tickets)
        if name == "acceptance":
            progress("đọc phiếu và chuyển xử lý")
            tickets, escalations = rows.load_tickets(session, period, scope), rows.load_escalations(session, period, scope)
            return acceptance_report(tickets, escalations, period, targets, now, active_calendar())
        if name == "calls":
            from reports.calls import build_calls_report, load_call_rows

            progress("đọc cuộc gọi")
            return build_calls_report(load_call_rows(session, period, scope), period, by)
    raise ValueError(f"không có báo cáo {name!r}; chọn một trong: {', '.join(REPORTS)}")
