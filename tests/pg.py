"""A throwaway PostgreSQL server from Debian's `postgresql` package, on a loopback port.

`postgres_url` (session-scoped server, a fresh database per test) is exposed to the whole suite
through tests/conftest.py. The server runs as an unprivileged user when the tests run as root
(PostgreSQL refuses to run as root), with fsync off: it lives only as long as the test session.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers import free_port, require_binary, unavailable

HINT = "apt-get install postgresql"
START_TIMEOUT_S = 30.0


def _bin_dir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    path = require_binary("postgres", hint=HINT, search=tuple(reversed(candidates)))
    return Path(path).resolve().parent


def _unprivileged_user() -> str | None:
    """The user to run PostgreSQL as: None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    unavailable("running as root with no unprivileged user to run PostgreSQL as")


def _as_user(user: str | None, argv: list[str]) -> list[str]:
    if user is None:
        return argv
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", user, "--", *argv]
    return ["su", "-s", "/bin/sh", user, "-c", " ".join(argv)]  # pragma: no cover


@dataclass
class PostgresServer:
    bin_dir: Path
    data_dir: Path
    port: int
    process: subprocess.Popen[bytes]
    _counter: itertools.count[int]

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        import psycopg

        name = f"tiepnhan_test_{next(self._counter)}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # "fast shutdown"
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_postgres(root: Path) -> PostgresServer:
    bin_dir = _bin_dir()
    user = _unprivileged_user()
    data_dir = root / "data"
    data_dir.mkdir(parents=True)
    if user is not None:
        entry = pwd.getpwnam(user)
        for path in (root, data_dir):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        os.chmod(root, 0o755)
    initdb = subprocess.run(
        _as_user(user, [str(bin_dir / "initdb"), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "-D", str(data_dir)]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=root,
    )
    if initdb.returncode != 0:  # e.g. a parent directory the server's user cannot enter
        raise RuntimeError("initdb failed: " + initdb.stderr.decode(errors="replace")[-2000:])
    port = free_port()
    argv = [
        str(bin_dir / "postgres"), "-D", str(data_dir), "-k", str(data_dir), "-p", str(port),
        "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
        "-c", "full_page_writes=off", "-c", "max_connections=300",
    ]  # fmt: skip
    log = open(root / "postgres.log", "wb")  # noqa: SIM115 - lives as long as the server
    process = subprocess.Popen(_as_user(user, argv), stdout=log, stderr=subprocess.STDOUT, cwd=root)
    server = PostgresServer(bin_dir, data_dir, port, process, itertools.count(1))
    _wait_ready(server, root / "postgres.log")
    return server


def _wait_ready(server: PostgresServer, log_path: Path) -> None:
    import psycopg

    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if server.process.poll() is not None:
            raise RuntimeError("PostgreSQL exited at start:\n" + log_path.read_text(errors="replace")[-2000:])
        try:
            with psycopg.connect(f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres", connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError("PostgreSQL did not accept connections:\n" + log_path.read_text(errors="replace")[-2000:]) from None
            time.sleep(0.1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    root = Path(tempfile.mkdtemp(prefix="tiepnhan-pg-"))
    server = start_postgres(root)
    try:
        yield server
    finally:
        from tickets.db import dispose_engines

        dispose_engines()  # close pooled connections before the server goes away
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A URL to a fresh, empty database on the session's PostgreSQL server."""
    url = postgres_server.create_database()
    yield url
    from tickets.db import dispose_engines

    dispose_engines()
