"""Approve → mail delay: `tiepnhan escalation approve ID` until the unit's mail is at the SMTP server.

    uv run python bench/bench_approve_to_mail.py [N]     (default N = 5 approvals per mode)

Measured in one run, on this machine, with real servers on loopback (aiosmtpd, redis-server):
  baseline  the embedded default: the CLI sends the mail itself before it exits;
  redis     TIEPNHAN_REDIS_URL set: the CLI enqueues on the "notify" queue and one running
            `dramatiq tiepnhan.worker` process sends it (no scheduler, so no periodic pass).
Prints, per mode, the median and worst delay from the CLI's start to the mail's arrival, and
for Redis how long after the CLI exited the mail arrived; then the ratio redis / baseline.
Most of either figure is the CLI's own start-up (imports, settings, database).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

N = int(sys.argv[1]) if len(sys.argv) > 1 else 5


def main() -> None:
    from config.settings import load_settings
    from tests.escalation.conftest import COMPLAINT, INTAKE_ADDRESS, citizen_email, ingest_email, units_file
    from tests.escalation.smtp_server import smtp_capture
    from tests.workers.conftest import WorkerProcess, wait_for, worker_env
    from tests.workers.redis_server import RedisServer
    from tickets.escalations import list_escalations
    from tiepnhan import runtime
    from tiepnhan.broker import install_broker
    from tiepnhan.status import live_workers

    tmp = Path(tempfile.mkdtemp(prefix="bench-approve-"))
    smtp, redis_server = smtp_capture(), RedisServer(tmp / "redis")
    redis_server.start()
    units = units_file(tmp)
    settings = runtime.configure(
        load_settings(None, database_url=f"sqlite:///{tmp / 'bench.db'}", redis_url=None, data_dir=str(tmp / "var"), units_file=str(units),
                      smtp=smtp.settings(), intake={"reply_address": INTAKE_ADDRESS})
    )  # fmt: skip
    install_broker(settings)
    for number in range(2 * N):
        ingest_email(citizen_email(*COMPLAINT, message_id=f"bench-approve-{number}@dan.localhost"))
    proposals = [e.id for e in list_escalations(runtime.engine(), "proposed")]
    assert len(proposals) == 2 * N, f"expected {2 * N} proposals, got {len(proposals)}"
    config = tmp / "tiepnhan.toml"
    config.write_text(
        f'units_file = "{units}"\n[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "plain"\nfrom_address = "{INTAKE_ADDRESS}"\n'
        f'[intake]\nreply_address = "{INTAKE_ADDRESS}"\n',
        encoding="utf-8",
    )

    def approve_all(ids: list[int], env: dict[str, str]) -> tuple[list[float], list[float]]:
        delays, after_exit = [], []
        for escalation_id in ids:
            before = len(smtp.received)
            started = time.monotonic()
            result = subprocess.run([sys.executable, "-m", "tiepnhan.cli", "escalation", "approve", str(escalation_id), "--by", "bench"],
                                    env=env, cwd=REPO, capture_output=True, text=True, timeout=120)  # fmt: skip
            exited = time.monotonic()
            assert result.returncode == 0, result.stderr
            smtp.wait_for(before + 1, timeout=60)
            arrived = time.monotonic()
            assert len(smtp.received) == before + 1, "the mail did not arrive"
            delays.append(arrived - started)
            after_exit.append(arrived - exited)
        return delays, after_exit

    try:
        baseline, _ = approve_all(proposals[:N], worker_env(settings.database_url, None, TIEPNHAN_CONFIG=str(config)))
        env = worker_env(settings.database_url, redis_server.url, TIEPNHAN_CONFIG=str(config))
        worker = WorkerProcess(env, tmp / "worker.log")
        try:
            wait_for(lambda: live_workers(redis_server.client(), 3000) > 0, 60, "the worker")
            redis_delays, redis_after_exit = approve_all(proposals[N:], env)
        finally:
            worker.stop()
    finally:
        smtp.stop()
        redis_server.stop()

    def line(name: str, values: list[float]) -> str:
        return f"{name:<40} median {statistics.median(values):6.2f} s   worst {max(values):6.2f} s   (n={len(values)})"

    print(line("baseline: embedded, CLI start → mail", baseline))
    print(line("redis: CLI start → mail (worker sends)", redis_delays))
    print(line("redis: CLI exit → mail", redis_after_exit))
    print(f"ratio redis / baseline (median, CLI start → mail): {statistics.median(redis_delays) / statistics.median(baseline):.2f}")


if __name__ == "__main__":
    main()
