"""A worker killed in the middle of a batch (SIGKILL: no rollback of its own, no acknowledgement)
leaves nothing half-done: the batch's transaction never committed, and the redelivered batch
makes every ticket exactly once."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from typing import Any

from tests.pipeline.conftest import citizen_emails, table_counts, thread_email
from tests.workers.conftest import REPO, worker_env
from tickets import pipeline
from tiepnhan import runtime
from tiepnhan.intake import accept

CHILD = textwrap.dedent(
    """
    import os, signal, sys
    from config.settings import load_settings
    from tiepnhan import runtime
    from tickets import pipeline, threader

    runtime.configure(load_settings(None))
    ids = [int(i) for i in sys.argv[1].split(",")]
    real = threader.thread_message
    calls = []

    def dying(session, message_id, **options):
        calls.append(message_id)
        if len(calls) == 3:  # the third message the threader takes: the batch is half done
            session.flush()  # its rows are written to the database, uncommitted
            os.kill(os.getpid(), signal.SIGKILL)
        return real(session, message_id, **options)

    pipeline.thread_message = dying
    pipeline.normalize_and_thread(runtime.engine(), ids, 1 << 20)
    print("finished")  # never reached
    """
)


def test_a_batch_killed_midway_is_redone_without_duplicates(configure: Any, db_url: str) -> None:
    configure(db_url)
    engine = runtime.engine()
    # Replies to mail never seen go through the threader one by one (tickets/new_threads.py
    # opens the plain new threads of the batch at once, before them).
    items = citizen_emails(10) + [
        thread_email(f"reply-{n}@example.vn", f"Re: Hỏi số {n}", "Bổ sung.", in_reply_to=f"unseen-{n}@example.vn") for n in range(5)
    ]
    ids = [s.raw_item_id for s in accept(engine, items, enqueue=False)]
    child = subprocess.run(
        [sys.executable, "-c", CHILD, ",".join(map(str, ids))],
        env=worker_env(db_url, None), cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert child.returncode == -signal.SIGKILL, child.stdout + child.stderr
    assert "finished" not in child.stdout
    found = table_counts(engine)
    assert found["messages"] == found["tickets"] == found["processed"] == 0  # nothing of the batch is visible
    redone = pipeline.normalize_and_thread(engine, ids, 1 << 20)  # the broker redelivers it
    pipeline.classify_and_route(engine, redone.to_classify)
    found = table_counts(engine)
    assert found["processed"] == found["messages"] == found["threaded"] == found["tickets"] == found["tagged"] == 15
    assert found["created_events"] == 15 and found["added_events"] == 15
