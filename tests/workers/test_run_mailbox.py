"""`tiepnhan run` with no Redis: a real Dovecot mailbox polled on schedule into tagged tickets."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.imap.dovecot import PASSWORD, USER, Dovecot, dovecot  # noqa: F401  (fixture)
from tests.samples import sample_email
from tests.workers.conftest import REPO, counts, wait_for, worker_env

pytestmark = [pytest.mark.dovecot]


def citizen_email(index: int) -> bytes:
    return sample_email(
        index, subject="Hỏi về chế độ thai sản lần {index}", id_prefix="run", date="Mon, 24 Nov 2025 08:00:00 +0700",
        body="Tôi ở Đà Nẵng, đóng BHXH bắt buộc được 8 tháng, xin hỏi có được hưởng thai sản không? (thư {index})",
    )


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from tiepnhan.cli import main; main()", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
    )


def test_run_polls_a_mailbox_end_to_end_without_redis(dovecot: Dovecot, tmp_path: Path) -> None:  # noqa: F811
    url = f"sqlite:///{tmp_path / 'run.db'}"
    config = tmp_path / "tiepnhan.toml"
    config.write_text(
        "[[mailboxes]]\n"
        f'name = "hotro"\nhost = "127.0.0.1"\nport = {dovecot.port}\nsecurity = "plain"\n'
        f'username = "{USER}"\npassword = "{PASSWORD}"\npoll_interval_seconds = 0.5\ntimeout_seconds = 10\n'
        "[scheduler]\ntick_seconds = 0.1\n",
        encoding="utf-8",
    )
    env = worker_env(url, None, TIEPNHAN_CONFIG=str(config))
    from tickets.db import get_engine, migrate

    migrate(get_engine(url))  # so this test can count rows from the start
    for index in range(5):
        dovecot.deliver(citizen_email(index))
    log = tmp_path / "run.log"
    process = subprocess.Popen(
        [sys.executable, "-c", "from tiepnhan.cli import main; main()", "run", "--no-web"],
        env=env, cwd=REPO, stdout=open(log, "wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for(lambda: counts(url)["tagged"] == 5, 60, "the first 5 emails to become tagged tickets")
        for index in range(5, 8):  # mail arriving while it runs is picked up on the next poll
            dovecot.deliver(citizen_email(index))
        wait_for(lambda: counts(url)["tagged"] == 8, 60, "the later emails to become tagged tickets")
        status = _cli(env, "status", "--json")
        assert status.returncode == 0, status.stdout + status.stderr
        [source] = json.loads(status.stdout.strip().splitlines()[-1])["sources"]
        assert source["name"] == "hotro" and source["consecutive_errors"] == 0 and source["last_success_at"]
        assert source["delay_samples"] >= 3  # the later mails, arrived minutes ago at most
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    output = log.read_text()
    assert code == 0, output[-3000:]
    found = counts(url)
    assert found == {**found, "raw": 8, "messages": 8, "tickets": 8, "multi_message_tickets": 0}
    assert PASSWORD not in output  # the mailbox password never reaches the logs


@pytest.mark.redis
def test_production_shape_scheduler_and_worker_poll_a_mailbox(dovecot: Dovecot, tmp_path: Path, redis_server, start_worker) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    """The Procfile's scheduler and worker on Redis: polls travel as `poll_source` messages."""
    url = f"sqlite:///{tmp_path / 'prod.db'}"
    config = tmp_path / "tiepnhan.toml"
    config.write_text(
        "[[mailboxes]]\n"
        f'name = "hotro"\nhost = "127.0.0.1"\nport = {dovecot.port}\nsecurity = "plain"\n'
        f'username = "{USER}"\npassword = "{PASSWORD}"\npoll_interval_seconds = 0.5\ntimeout_seconds = 10\n'
        "[scheduler]\ntick_seconds = 0.1\n",
        encoding="utf-8",
    )
    env = worker_env(url, redis_server.url, TIEPNHAN_CONFIG=str(config))
    from tickets.db import get_engine, migrate

    migrate(get_engine(url))
    for index in range(20, 26):
        dovecot.deliver(citizen_email(index))
    start_worker(env)
    scheduler = subprocess.Popen(
        [sys.executable, "-c", "from tiepnhan.cli import main; main()", "scheduler"],
        env=env, cwd=REPO, stdout=open(tmp_path / "scheduler.log", "wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for(lambda: counts(url)["tagged"] == 6, 60, "the mailbox to be polled by the workers")
        status = _cli(env, "status", "--json")
        data = json.loads(status.stdout.strip().splitlines()[-1])
        assert status.returncode == 0 and data["broker"] == "redis" and data["live_workers"] >= 1
        assert {q["name"] for q in data["queues"]} >= {"pipeline", "poll"}
    finally:
        scheduler.send_signal(signal.SIGTERM)
        assert scheduler.wait(timeout=30) == 0
    assert counts(url)["tickets"] == 6
