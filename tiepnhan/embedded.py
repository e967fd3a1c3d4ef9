"""The embedded default: actors run on worker threads inside this process, no Redis needed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dramatiq
from dramatiq.brokers.stub import StubBroker


@contextmanager
def embedded_worker(threads: int = 4) -> Iterator[dramatiq.Worker]:
    """Run the current (stub) broker's actors on `threads` threads for the duration."""
    broker = dramatiq.get_broker()
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=100)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


def drain(timeout_ms: int | None = None) -> None:
    """Wait until every queue of the in-process broker is empty and all work is done."""
    broker = dramatiq.get_broker()
    if not isinstance(broker, StubBroker):
        raise RuntimeError("drain() is for the in-process broker; Redis workers run separately")
    from tickets.actors import flush_enqueued

    flush_enqueued()  # raw items still lingering to join a batch (tickets/actors.py)
    # A stage enqueues the next before its own message is acknowledged, and join() also
    # watches the delay queue (retries), so one join per queue sees the whole chain through.
    for queue in [q for q in broker.queues if not q.endswith(".DQ")]:
        broker.join(queue, timeout=timeout_ms, fail_fast=False)
