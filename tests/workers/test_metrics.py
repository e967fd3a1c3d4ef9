"""`/metrics` reads the shared truth (database, broker), whichever process did the work."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.workers.conftest import backlog
from tickets.db import session_scope
from tickets.models import SourceHealth, utcnow
from tickets.store import RawInput
from tiepnhan.intake import accept


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_report_ingestion_failures_delay_and_poll_lag(configure: Any, sqlite_url: str) -> None:
    mailbox = {"name": "hop-thu", "host": "127.0.0.1", "security": "plain", "username": "u", "password": "p"}
    settings = configure(sqlite_url, mailboxes=[mailbox])
    from tiepnhan import runtime
    from tiepnhan.embedded import drain, embedded_worker
    from tiepnhan.web.metrics import MetricsEndpoint

    engine = runtime.engine()
    items = [RawInput(source="hop-thu", kind=i.kind, external_id=i.external_id, content=i.content) for i in backlog(6)]
    with embedded_worker(2):
        accept(engine, items, enqueue=True)
        accept(engine, [RawInput(source="hop-thu", kind="email", external_id="empty", content=b"")], enqueue=True)
        drain()
    with session_scope(engine) as session:
        session.add(SourceHealth(source="hop-thu", kind="imap", last_success_at=utcnow(), consecutive_errors=0))
    samples = _samples(MetricsEndpoint(settings).render().decode())
    assert samples[("tiepnhan_items_ingested_total", (("channel", "email"), ("source", "hop-thu")))] == 7
    assert samples[("tiepnhan_raw_items", (("state", "processed"),))] == 6
    assert samples[("tiepnhan_raw_items", (("state", "quarantined"),))] == 1
    assert samples[("tiepnhan_failed_jobs", ())] == 0
    assert 0 <= samples[("tiepnhan_poll_lag_seconds", (("source", "hop-thu"),))] < 60
    median = samples[("tiepnhan_intake_delay_seconds", (("quantile", "0.5"), ("source", "hop-thu")))]
    worst = samples[("tiepnhan_intake_delay_seconds", (("quantile", "1"), ("source", "hop-thu")))]
    assert 0 <= median <= worst < 60  # arrival (stored just now) to ticket, in seconds
