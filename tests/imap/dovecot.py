"""A throwaway Dovecot IMAP server on loopback, from Debian's dovecot-imapd.

Runs in the foreground under the test's control (`dovecot -F -c FILE`), with a passwd-file
user, Maildir storage in a temporary folder and plaintext login allowed on loopback only.
Dovecot refuses to access mail as uid 0, so mail is owned by and accessed as `mail`.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers import free_port, require_binary

USER, PASSWORD = "hotro", "mat-khau-thu"


@dataclass
class Dovecot:
    port: int
    root: Path
    maildir: Path
    process: subprocess.Popen[bytes]
    binary: str
    config: Path

    def folder_path(self, folder: str = "INBOX") -> Path:
        if folder == "INBOX":
            return self.maildir
        from imapclient.imap_utf7 import encode

        return self.maildir / ("." + encode(folder).decode("ascii"))

    def deliver(self, raw: bytes, folder: str = "INBOX", name: str | None = None) -> None:
        """Write a message straight into the Maildir (as an MTA's local delivery would)."""
        box = self.folder_path(folder)
        for sub in ("cur", "new", "tmp"):
            (box / sub).mkdir(parents=True, exist_ok=True)
        filename = name or f"{time.time_ns()}.{os.getpid()}.tiepnhan"
        (box / "new" / filename).write_bytes(raw)
        self.chown()

    def chown(self) -> None:
        mail = pwd.getpwnam("mail")
        for path in [self.maildir, *self.maildir.rglob("*")]:
            os.chown(path, mail.pw_uid, mail.pw_gid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        _wait_until_closed(self.port)

    def start(self) -> None:
        self.process = _spawn(self.binary, self.config)
        _wait_for(self.port, self.process)


def _spawn(binary: str, config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([binary, "-F", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_until_closed(port: int) -> None:
    """The master has exited, but its login processes may hold the listener a moment longer: a
    restart that connected to them would think the new server up, then find nothing there."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                pass
        except OSError:
            return
        time.sleep(0.05)
    raise RuntimeError("dovecot's port is still open after it stopped")


def _wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dovecot exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("dovecot did not start")


CONFIG = """
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
mail_uid = mail
mail_gid = mail
first_valid_uid = 1
default_login_user = mail
default_internal_user = mail
default_internal_group = mail
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {root}/users
}}
userdb {{
  driver = static
  args = uid=mail gid=mail home={root}/home/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
"""


@pytest.fixture
def dovecot() -> Iterator[Dovecot]:
    binary = require_binary("dovecot", hint="apt-get install dovecot-imapd (scripts/install-test-servers)", search=("/usr/sbin/dovecot",))
    yield from running_dovecot(binary)


def running_dovecot(binary: str = "/usr/sbin/dovecot") -> Iterator[Dovecot]:
    # pytest's own temporary folders are private to root; the mail user must reach this one.
    root = Path(tempfile.mkdtemp(prefix="tiepnhan-dovecot-"))
    os.chmod(root, 0o755)
    for sub in ("run", "state", "mail", "home"):
        (root / sub).mkdir(parents=True)
    port = free_port()
    (root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    config = root / "dovecot.conf"
    config.write_text(CONFIG.format(root=root, port=port))
    mail = pwd.getpwnam("mail")
    for path in (root / "mail", root / "home", root / "state"):
        os.chown(path, mail.pw_uid, mail.pw_gid)
    maildir = root / "mail" / USER
    process = _spawn(binary, config)
    server = Dovecot(port, root, maildir, process, binary, config)
    try:
        _wait_for(port, process)
        for sub in ("cur", "new", "tmp"):
            (maildir / sub).mkdir(parents=True, exist_ok=True)
        server.chown()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
