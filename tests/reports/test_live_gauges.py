"""/metrics carries the live gauges: backlog, oldest waiting on the center, overdue escalations."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.reports.dataset import build_dataset
from tests.reports.timeline import new_ticket, vn
from tickets.db import session_scope
from tickets.models import utcnow


def test_metrics_show_backlog_oldest_waiting_and_overdue(configure: Any, sqlite_url: str) -> None:
    settings = configure(sqlite_url)
    from tiepnhan import runtime
    from tiepnhan.web.metrics import MetricsEndpoint

    engine = runtime.engine()
    build_dataset(engine)  # open: T2 (escalated, no longer waiting on the center); overdue: one escalation
    waiting_since = vn(2025, 3, 20, 10)
    with session_scope(engine) as session:
        new_ticket(session, waiting_since)  # still new: waiting on the center
    samples = {s.name: s.value for family in text_string_to_metric_families(MetricsEndpoint(settings).render().decode()) for s in family.samples}
    assert samples["tiepnhan_backlog_tickets"] == 2
    assert samples["tiepnhan_overdue_escalations"] == 1
    expected = (utcnow() - waiting_since).total_seconds()
    assert expected - 60 <= samples["tiepnhan_oldest_waiting_seconds"] <= expected
