"""Throughput of the workers: a backlog of raw emails processed into tagged tickets.

    uv run python bench/bench_workers.py [--n 20000] [--threads 4]

The pipeline takes batches of up to 200 ids (tickets/actors.py): N should be many batches, so
that both processes get work (each prefetches a few messages).

Measures, in one run, on this machine:
  (a) 1 `dramatiq tiepnhan.worker` process on Redis + PostgreSQL (the baseline),
  (b) 2 such processes against the same Redis and database,
  (c) `tiepnhan run` (in-process broker, worker threads) on SQLite,
and prints items/s for each, the speed-up (b)/(a), (c)/(a), and the peak resident memory of
every process (VmHWM). Each run starts from a fresh database holding the same N raw items;
the clock starts when the workers are started (their boot, ~1 s, is included) and stops when
the last ticket is tagged. Throwaway PostgreSQL and Redis servers are started on loopback.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.pg import start_postgres  # noqa: E402
from tests.workers.conftest import backlog, worker_env  # noqa: E402
from tests.workers.redis_server import RedisServer  # noqa: E402


def peak_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def descendants(pid: int) -> list[int]:
    found = []
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    for child in map(int, children):
        found.append(child)
        found += descendants(child)
    return found


def counts(database_url: str) -> dict[str, int]:
    """Tickets made and tagged so far, read without waiting for the writer (tickets.db.read_scope:
    on SQLite a pipeline batch holds the writer lock for its whole transaction)."""
    from sqlalchemy import func, select

    from tickets.db import get_engine, read_scope
    from tickets.models import Ticket

    with read_scope(get_engine(database_url)) as session:
        tickets = int(session.execute(select(func.count()).select_from(Ticket)).scalar_one())
        tagged = int(session.execute(select(func.count()).select_from(Ticket).where(Ticket.tagged_at.is_not(None))).scalar_one())  # type: ignore[union-attr]
    return {"tickets": tickets, "tagged": tagged}


def store(database_url: str, n: int) -> None:
    from config.settings import load_settings
    from tickets.db import dispose_engines
    from tiepnhan import runtime
    from tiepnhan.intake import accept

    runtime.configure(load_settings(None, database_url=database_url, redis_url=None))
    engine = runtime.engine()
    items = backlog(n)
    for start in range(0, n, 1000):
        accept(engine, items[start : start + 1000], enqueue=False)
    dispose_engines()


def enqueue_all(database_url: str, redis_url: str, n: int) -> None:
    from config.settings import load_settings
    from tickets.actors import enqueue_raw_items
    from tickets.pipeline import pending_raw_item_ids
    from tiepnhan import runtime
    from tiepnhan.actor_setup import setup

    settings = load_settings(None, database_url=database_url, redis_url=redis_url)
    setup(settings)
    ids = pending_raw_item_ids(runtime.engine())
    assert len(ids) == n, (len(ids), n)
    enqueue_raw_items(ids)


def wait_done(database_url: str, n: int, processes: list[subprocess.Popen[bytes]], timeout: float) -> tuple[float, dict[int, float]]:
    started = time.perf_counter()
    peaks: dict[int, float] = {}
    while True:
        for process in processes:
            for pid in [process.pid, *descendants(process.pid)]:
                peaks[pid] = max(peaks.get(pid, 0.0), peak_rss_mb(pid))
        if counts(database_url)["tagged"] >= n:
            return time.perf_counter() - started, peaks
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"timed out: {counts(database_url)}")
        if any(p.poll() is not None for p in processes):
            raise SystemExit("a worker process died")
        time.sleep(0.5)


def run_redis(pg: object, redis: RedisServer, n: int, workers: int, threads: int, logs: Path) -> tuple[float, dict[int, float]]:
    database_url = pg.create_database()  # type: ignore[attr-defined]
    store(database_url, n)
    redis.client().flushall()
    enqueue_all(database_url, redis.url, n)
    env = worker_env(database_url, redis.url)
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "dramatiq", "tiepnhan.worker", "--processes", "1", "--threads", str(threads)],
            env=env, cwd=REPO, stdout=open(logs / f"redis-{workers}-{i}.log", "wb"), stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        for i in range(workers)
    ]
    try:
        seconds, peaks = wait_done(database_url, n, processes, timeout=3600)
        assert counts(database_url)["tickets"] == n
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)
    return seconds, peaks


def run_embedded(n: int, threads: int, root: Path, logs: Path) -> tuple[float, dict[int, float]]:
    database_url = f"sqlite:///{root / 'embedded.db'}"
    store(database_url, n)
    env = worker_env(database_url, None, TIEPNHAN_WORKER__THREADS=str(threads))
    process = subprocess.Popen(
        [sys.executable, "-c", "from tiepnhan.cli import main; main()", "run", "--no-web"],
        env=env, cwd=REPO, stdout=open(logs / "embedded.log", "wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        seconds, peaks = wait_done(database_url, n, [process], timeout=3600)
        assert counts(database_url)["tickets"] == n
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    return seconds, peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="tiepnhan-bench-"))
    root.chmod(0o755)  # PostgreSQL runs as its own user beneath it
    logs = root / "logs"
    logs.mkdir()
    pg = start_postgres(root / "pg")
    redis = RedisServer(root / "redis")
    redis.start()
    results = {}
    try:
        for label, run in (
            ("1 worker process, Redis + PostgreSQL", lambda: run_redis(pg, redis, args.n, 1, args.threads, logs)),
            ("2 worker processes, Redis + PostgreSQL", lambda: run_redis(pg, redis, args.n, 2, args.threads, logs)),
            ("tiepnhan run (embedded), SQLite", lambda: run_embedded(args.n, args.threads, root, logs)),
        ):
            seconds, peaks = run()
            results[label] = (seconds, peaks)
            per_process = ", ".join(f"{mb:.0f}" for mb in sorted(peaks.values(), reverse=True) if mb > 0)
            print(f"{label:42s} {args.n / seconds:8.1f} items/s  ({seconds:6.1f} s)  peak RSS MB per process: {per_process}", flush=True)
    finally:
        redis.stop()
        from tickets.db import dispose_engines

        dispose_engines()
        pg.stop()
    base = args.n / results["1 worker process, Redis + PostgreSQL"][0]
    two = args.n / results["2 worker processes, Redis + PostgreSQL"][0]
    embedded = args.n / results["tiepnhan run (embedded), SQLite"][0]
    print(f"speed-up 1 → 2 worker processes: {two / base:.2f}x   embedded / 1 worker process: {embedded / base:.2f}x")
    print(f"N = {args.n}, {args.threads} threads per process, {os.cpu_count()} CPUs")
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
