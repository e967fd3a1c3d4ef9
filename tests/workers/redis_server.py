"""A throwaway Debian `redis-server` on a loopback port, restartable on the same port and data."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis

from tests.servers import free_port, require_binary


class RedisServer:
    def __init__(self, directory: Path, *, appendonly: bool = False) -> None:
        self.binary = require_binary("redis-server", hint="apt-get install redis-server")
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.appendonly = appendonly
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--dir", str(self.directory), "--protected-mode", "no",
            "--appendonly", "yes" if self.appendonly else "no",
        ]  # fmt: skip
        if self.appendonly:
            argv += ["--appendfsync", "always"]
        log = open(self.directory / "redis.log", "ab")  # noqa: SIM115 - lives as long as the server
        self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        client = redis.Redis(port=self.port, socket_connect_timeout=1)
        deadline = time.monotonic() + 15
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start: " + (self.directory / "redis.log").read_text()[-1000:]) from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: redis flushes the append-only file and exits
            self.process.wait(timeout=15)
        self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port)
