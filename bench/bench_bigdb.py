"""The operator's commands and the periodic scans at two database sizes (issue 16: no cost that
grows with the database).

    uv run python bench/bench_bigdb.py [SMALL LARGE] [--postgres]   (default 1000 1000000, SQLite;
                                                                   --postgres: on a throwaway PostgreSQL instead)

Each database is built with core bulk inserts (tests/ops/bigdb.py, not the pipeline): N tickets,
each with its raw item, message, thread key and event, one in ten escalated, and the same fixed
amount of unfinished work at every size (20 pending raw items, untagged tickets, waiting and
unthreaded messages, open escalations). Printed for each size (median of 5, in-process unless
said): adoption of waiting messages (the threader's query), reconcile (the scheduler's job),
`status`, `tickets` (the table: 50 rows and the count of the rest), `show`, and `tickets --json`
(a separate process: wall time and peak RSS, which must stay flat). On the large database the
baseline of the same run follows the indexed figures: adoption, reconcile and status with the
scan indexes dropped (the JSON listing, which reads everything, comes last).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

REPEAT = 5
SCAN_INDEXES = ("ix_message_unthreaded", "ix_message_waiting", "ix_ticket_untagged", "ix_ticket_status_id", "ix_ticket_province_id")


def median_seconds(fn: Callable[[], Any]) -> float:
    for _ in range(2):  # warm: the first calls load modules and bring the pages into the caches
        fn()
    runs = []
    for _ in range(REPEAT):
        began = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - began)
    return statistics.median(runs)


def json_listing(url: str) -> tuple[float, float, int]:
    """`tiepnhan tickets --json` in its own process: wall seconds, peak RSS in MB, lines."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIEPNHAN_")} | {"TIEPNHAN_DATABASE_URL": url, "TIEPNHAN_LOG_FORMAT": "json"}
    began = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", "from tiepnhan.cli import main; main()", "tickets", "--json"], cwd=REPO, env=env, stdout=subprocess.PIPE)
    lines = sum(1 for _ in process.stdout)  # type: ignore[union-attr]
    _, status, usage = os.wait4(process.pid, 0)
    assert status == 0, status
    return time.perf_counter() - began, usage.ru_maxrss / 1024, lines


def measure(url: str, n: int, tmp: Path) -> dict[str, Any]:
    import dramatiq
    from typer.testing import CliRunner

    from config.settings import load_settings
    from tests.ops.bigdb import build
    from tickets.db import dispose_engines, session_scope
    from tiepnhan import runtime
    from tiepnhan.broker import install_broker

    settings = runtime.configure(load_settings(None, database_url=url, redis_url=None, data_dir=str(tmp / "var")))
    install_broker(settings)
    import tickets.actors  # noqa: F401

    engine = runtime.engine()
    began = time.perf_counter()
    build(engine, n)
    built = time.perf_counter() - began
    if engine.dialect.name == "sqlite":  # as a database in service is: its write-ahead log checkpointed
        raw = engine.raw_connection()  # outside any transaction
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
    from tickets.threader import _adopt_waiting_messages
    from tiepnhan.cli import app
    from tiepnhan.scheduler import reconcile
    from tiepnhan.status import collect

    def adoption() -> None:
        with session_scope(engine) as session:
            _adopt_waiting_messages(session, n // 2)
            session.rollback()

    def reconcile_once() -> None:
        dramatiq.get_broker().flush_all()
        found = reconcile(engine, settings)
        assert found.get("tickets") == 20, found

    runner = CliRunner(env={"TIEPNHAN_DATABASE_URL": url, "TIEPNHAN_DATA_DIR": str(tmp / "var")})

    def command(*args: str) -> Callable[[], None]:
        def run() -> None:
            result = runner.invoke(app, list(args))
            assert result.exit_code == 0, result.output[-500:]

        return run

    figures: dict[str, Any] = {"build (s)": built}
    figures["adoption"] = median_seconds(adoption)
    figures["reconcile"] = median_seconds(reconcile_once)
    figures["status"] = median_seconds(lambda: collect(settings, engine))
    figures["tickets (50 rows)"] = median_seconds(command("tickets"))
    figures["tickets --status new"] = median_seconds(command("tickets", "--status", "new"))
    figures["show"] = median_seconds(command("show", str(n // 2)))
    figures["_baseline"] = {}
    if n >= 100_000:  # the baseline, right after: the same scans without the indexes of issue 16
        with engine.begin() as connection:
            for name in SCAN_INDEXES:
                connection.exec_driver_sql(f"DROP INDEX {name}")
        figures["_baseline"] = {"adoption": median_seconds(adoption), "reconcile": median_seconds(reconcile_once), "status": median_seconds(lambda: collect(settings, engine))}
    seconds, rss, lines = json_listing(url)  # last: it reads the whole database
    assert lines == n, (lines, n)
    figures["tickets --json (s, process)"] = seconds
    figures["tickets --json peak RSS (MB)"] = rss
    dramatiq.get_broker().flush_all()
    runtime.configure(None)  # type: ignore[arg-type]
    dispose_engines()
    return figures


def postgres_url(tmp: Path) -> tuple[str, Any]:
    from tests.pg import start_postgres

    tmp.chmod(0o755)  # initdb runs as the unprivileged postgres user when we are root (tests/pg.py)
    server = start_postgres(tmp / "pg")
    return server.create_database(), server


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    small, large = (int(args[0]), int(args[1])) if len(args) >= 2 else (1_000, 1_000_000)
    backends = ["postgresql"] if "--postgres" in sys.argv else ["sqlite"]
    for backend in backends:
        results = {}
        for n in (small, large):
            with tempfile.TemporaryDirectory(prefix="bench-bigdb-") as directory:
                tmp = Path(directory)
                server = None
                url = f"sqlite:///{tmp / 'big.db'}"
                if backend == "postgresql":
                    url, server = postgres_url(tmp)
                try:
                    results[n] = measure(url, n, tmp)
                finally:
                    if server is not None:
                        server.stop()
            print(f"  built {n:,} tickets on {backend} in {results[n]['build (s)']:.1f} s", flush=True)
        print(f"\n{backend}: seconds (median of {REPEAT}) at {small:,} and {large:,} tickets; ratio = large / small (1.0: no growth)")
        print(f"  {'':32} {small:>12,} {large:>12,} {'ratio':>7}")
        for key in results[small]:
            if key.startswith("_") or key == "build (s)":
                continue
            a, b = results[small][key], results[large][key]
            print(f"  {key:32} {a:12.4f} {b:12.4f} {b / a if a else float('nan'):7.2f}")
        baseline = results[large]["_baseline"]
        if baseline:
            print(f"\n  baseline at {large:,} tickets, same run: without the scan indexes ({', '.join(SCAN_INDEXES)})")
            print(f"  {'':32} {'indexed':>12} {'no index':>12} {'ratio':>7}")
            for key, seconds in baseline.items():
                print(f"  {key:32} {results[large][key]:12.4f} {seconds:12.4f} {seconds / results[large][key]:7.1f}")


if __name__ == "__main__":
    main()
