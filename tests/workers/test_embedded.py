"""`tiepnhan run` (one process, no Redis) and failure handling on the in-process broker."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.workers.conftest import REPO, backlog, counts, wait_for, worker_env
from tickets.store import RawInput
from tiepnhan.intake import accept


def _cli_run(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", "from tiepnhan.cli import main; main()", "run", "--no-web"],
        env=env, cwd=REPO, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip


def test_run_resumes_unfinished_items_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    """Items stored but never processed (the last run died) are finished by the next run."""
    url = f"sqlite:///{tmp_path / 'run.db'}"
    from config.settings import load_settings
    from tickets.db import dispose_engines
    from tiepnhan import runtime

    runtime.configure(load_settings(None, database_url=url, redis_url=None))
    accept(runtime.engine(), backlog(40), enqueue=False)
    dispose_engines()
    assert counts(url)["processed"] == 0
    process = _cli_run(worker_env(url, None), tmp_path / "run.log")
    try:
        wait_for(lambda: counts(url)["tagged"] == 40, 60, "tiepnhan run to process the backlog")
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    log = (tmp_path / "run.log").read_text()
    assert code == 0, log[-2000:]
    assert "stopped" in log
    found = counts(url)
    assert found["tickets"] == 40 and found["messages"] == 40


def test_dead_lettered_job_is_recorded_while_the_rest_flows(configure: Any, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = configure(sqlite_url, worker={"max_retries": 2, "min_backoff_ms": 10, "max_backoff_ms": 50})
    from tiepnhan.actor_setup import setup

    setup(settings)
    import tickets.pipeline as pipeline
    from tiepnhan import runtime
    from tiepnhan.embedded import drain, embedded_worker

    real_classify = pipeline.tags_for
    poisoned: list[str] = []

    def classify(subject: str, body: str, channel: str) -> Any:
        if "#7" in subject:
            poisoned.append(subject)
            raise ConnectionError("classifier service unreachable")
        return real_classify(subject, body, channel)

    monkeypatch.setattr(pipeline, "tags_for", classify)
    engine = runtime.engine()
    with embedded_worker(4):
        accept(engine, backlog(10), enqueue=True)
        drain()
    assert len(poisoned) == 3  # the first attempt and 2 retries, then dead-lettered
    assert counts(sqlite_url)["tagged"] == 9

    from tiepnhan.cli import app

    result = CliRunner().invoke(app, ["failures", "--json"], env={"TIEPNHAN_DATABASE_URL": sqlite_url})
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(rows) == 1
    job = rows[0]
    assert job["kind"] == "job" and job["state"] == "dead_letter" and job["stage"] == "pipeline"
    from tickets.db import session_scope
    from tickets.models import Ticket

    with session_scope(engine) as session:
        [poisoned_id] = session.execute(select(Ticket.id).where(Ticket.subject == poisoned[0])).scalars()
    # Its batch went on; the ticket alone was retried and dead-lettered as itself.
    assert job["what"] == f"classify_ticket({poisoned_id})" and "ConnectionError" in job["error"] and job["count"] == 1

    # The service is back: `tiepnhan retry` re-sends the job and the ticket gets its tags.
    monkeypatch.setattr(pipeline, "tags_for", real_classify)
    from tiepnhan.failures import list_failures, parse_ref, retry_jobs

    with embedded_worker(2):
        assert retry_jobs(engine, [parse_ref(job["id"])[1]]) == [parse_ref(job["id"])[1]]
        drain()
    assert counts(sqlite_url)["tagged"] == 10
    assert list_failures(engine) == []


def test_retry_resets_a_quarantined_item_to_pending_and_normalizes_it_again(configure: Any, sqlite_url: str) -> None:
    settings = configure(sqlite_url)
    from tiepnhan.actor_setup import setup

    setup(settings)
    from ingest import registry
    from tiepnhan import runtime
    from tiepnhan.embedded import drain, embedded_worker
    from tiepnhan.failures import list_failures, retry_raw_items

    engine = runtime.engine()
    item = RawInput(source="hop-thu", kind="email", external_id="late-parser", content=b"")
    with embedded_worker(2):
        saved = accept(engine, [item], enqueue=True)
        drain()
    [row] = list_failures(engine)
    assert row.ref == f"raw-{saved[0].raw_item_id}" and row.state == "quarantined" and row.stage == "normalize"
    # A parser fix ships (here: the registry learns the kind); retry processes the kept bytes.
    real = registry.PARSERS["email"]
    try:
        registry.PARSERS["email"] = lambda content, context: real(backlog(1, start=900)[0].content, context)
        with embedded_worker(2):
            assert retry_raw_items(engine, [saved[0].raw_item_id]) == [saved[0].raw_item_id]
            drain()
    finally:
        registry.PARSERS["email"] = real
    assert list_failures(engine) == []
    assert counts(sqlite_url)["tickets"] == 1


def test_reconcile_resends_stages_whose_message_was_lost(configure: Any, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = configure(sqlite_url)
    from tiepnhan.actor_setup import setup

    setup(settings)
    import tickets.actors as actors
    from tiepnhan import runtime
    from tiepnhan.embedded import drain, embedded_worker
    from tiepnhan.scheduler import reconcile

    engine = runtime.engine()
    # The broker "goes away" right after normalizing and threading: the classify stage's messages are lost.
    monkeypatch.setattr(actors.classify_batch, "send", lambda *_args, **_kwargs: None)
    with embedded_worker(2):
        accept(engine, backlog(12), enqueue=True)
        accept(engine, backlog(5, start=100), enqueue=False)  # stored, never enqueued
        drain()
    found = counts(sqlite_url)
    assert found["messages"] == 12 and found["threaded"] == 12 and found["processed"] == 12 and found["tagged"] == 0
    monkeypatch.undo()
    with embedded_worker(2):
        assert reconcile(engine, settings) == {"raw_items": 5, "messages": 0, "tickets": 12}
        drain()
        assert reconcile(engine, settings) == {"raw_items": 0, "messages": 0, "tickets": 0}
    found = counts(sqlite_url)
    assert found["tickets"] == 17 and found["tagged"] == 17 and found["processed"] == 17
