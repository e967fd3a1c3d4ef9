"""Fixtures for the browser tests: a real `tiepnhan web` (uvicorn) on loopback over a SQLite
database filled by the real pipeline, aiosmtpd for the units' mail, and Debian's chromium
driven by Playwright (`playwright install` cannot download here; the system browser is used).

With CI=true a missing chromium fails the run (tests/servers.py::require_binary).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.escalation.conftest import INTAKE_ADDRESS, citizen_email, ingest_email, units_file
from tests.escalation.smtp_server import SmtpCapture, smtp_capture
from tests.servers import free_port, require_binary

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PASSWORD = "mat-khau-thu-nghiem-2025"
SCREENSHOTS = Path(__file__).resolve().parents[1] / "output" / "screenshots"
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}

# Citizens' letters, each made into a ticket by the real pipeline.
HCM_COMPLAINT = (
    "Khiếu nại chậm cấp thẻ BHYT",
    "Tôi ở phường Bến Thành, Thành phố Hồ Chí Minh. Tôi đã nộp hồ sơ cấp lại thẻ BHYT từ tháng 9/2025 "
    "nhưng đến nay BHXH vẫn chưa cấp thẻ, tôi đi khám bệnh phải trả toàn bộ chi phí. Đề nghị giải quyết sớm.",
)
HANOI_COMPLAINT = (
    "Khiếu nại chậm chi trả lương hưu",
    "Tôi nghỉ hưu từ tháng 8/2025, sống ở quận Hoàn Kiếm, Hà Nội, nhưng đến nay BHXH vẫn chưa chi trả "
    "lương hưu cho tôi. Đề nghị cơ quan BHXH kiểm tra và giải quyết sớm.",
)
HANOI_ATTACHMENT = ("quyet-dinh-nghi-huu.pdf", b"%PDF-1.4 quyet dinh nghi huu cua cong dan\n")
HOSTILE_SUBJECT = "Hỏi về BHXH <script>window.__pwned = 1; alert('x')</script>"
HOSTILE_BODY = (
    "Cho tôi hỏi thủ tục hưởng BHXH một lần. <img src=x onerror=\"window.__pwned = 2; alert('y')\"> "
    "<script>document.title = 'bị chiếm'; alert(document.cookie)</script>"
)


@dataclass
class Site:
    """The running web app and what the fixtures put in it."""

    url: str
    smtp: SmtpCapture
    database_url: str
    tickets: dict[str, int] = field(default_factory=dict)
    escalations: dict[str, int] = field(default_factory=dict)
    attachments: dict[str, int] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)  # role → login name


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"tiepnhan web exited with {process.returncode}:\n{log.read_text(errors='replace')[-4000:]}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:  # noqa: S310 - loopback
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"tiepnhan web did not answer within {timeout}s:\n{log.read_text(errors='replace')[-4000:]}")


def _seed(site: Site, known_units: list[str]) -> None:
    """Tickets through the real pipeline; users through access.users; the Hà Nội complaint
    approved and delivered to province-01 (so an office of province-79 must never see it)."""
    from sqlalchemy import select

    from access.users import create_user
    from notifiers.delivery import deliver_escalation
    from tickets.db import session_scope
    from tickets.escalation_models import Escalation
    from tickets.escalations import approve
    from tickets.models import Attachment, Message
    from tiepnhan import runtime

    engine = runtime.engine()
    hcm = ingest_email(citizen_email(*HCM_COMPLAINT, message_id="hcm-1@dan.localhost", sender="Trần Thị Bình <binh@dan.localhost>"))
    hanoi = ingest_email(citizen_email(*HANOI_COMPLAINT, message_id="hn-1@dan.localhost", attachments=[HANOI_ATTACHMENT]))
    hostile = ingest_email(citizen_email(HOSTILE_SUBJECT, HOSTILE_BODY, message_id="xss-1@dan.localhost", sender="Kẻ Lạ <la@dan.localhost>"))
    assert hcm and hanoi and hostile
    site.tickets.update(hcm=hcm, hanoi=hanoi, hostile=hostile)
    with session_scope(engine) as session:
        for name, ticket_id in (("hcm", hcm), ("hanoi", hanoi)):
            escalation = session.execute(select(Escalation).where(Escalation.ticket_id == ticket_id)).scalar_one()
            site.escalations[name] = escalation.id or 0
        site.attachments["hanoi"] = session.execute(
            select(Attachment.id).join(Message, Message.id == Attachment.message_id).where(Message.ticket_id == hanoi)  # type: ignore[arg-type]
        ).scalar_one()
    approve(engine, site.escalations["hanoi"], "dieuphoi.truoc")
    deliver_escalation(runtime.settings(), engine, site.escalations["hanoi"])
    site.smtp.received.clear()
    for role, name, unit, display in (
        ("coordinator", "dieuphoi", None, "Lê Văn Điều Phối"),
        ("office", "bhxh79", "province-79", "Phạm Thị Tỉnh"),
        ("office", "bhxh01", "province-01", "Hoàng Văn Hà"),
        ("viewer", "lanhdao", None, "Lãnh Đạo"),
        ("admin", "quantri", None, "Quản Trị"),
    ):
        create_user(engine, name, role, known_units=known_units, unit_id=unit, password=PASSWORD, display_name=display)
        site.users.setdefault(role, name)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    from config.settings import load_settings
    from tickets.db import dispose_engines
    from tiepnhan import runtime

    root = tmp_path_factory.mktemp("webapp")
    port = free_port()
    smtp = smtp_capture()
    database_url = f"sqlite:///{root / 'tiepnhan.db'}"
    units = units_file(root)
    config = root / "tiepnhan.toml"
    config.write_text(
        f'database_url = "{database_url}"\n'
        f'data_dir = "{root / "var"}"\n'
        f'units_file = "{units}"\n'
        'log_format = "text"\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "plain"\nfrom_address = "hotro@tiepnhan.localhost"\ntimeout_seconds = 5\n'
        f'[intake]\nreply_address = "{INTAKE_ADDRESS}"\n'
        '[escalation]\nretry_min_seconds = 1\nretry_max_seconds = 60\n'
        f'[web]\npublic_base_url = "http://127.0.0.1:{port}"\n',
        encoding="utf-8",
    )
    saved_env = {k: os.environ.pop(k) for k in ("TIEPNHAN_DATABASE_URL", "TIEPNHAN_REDIS_URL", "TIEPNHAN_CONFIG") if k in os.environ}
    settings = runtime.configure(load_settings(config))
    from tiepnhan.broker import install_broker

    install_broker(settings)
    site = Site(url=f"http://127.0.0.1:{port}", smtp=smtp, database_url=database_url)
    from tickets.directory import routing

    _seed(site, [u.id for u in routing(settings).units.units])
    try:
        with serving(port, {"TIEPNHAN_CONFIG": str(config)}, root):
            yield site
    finally:
        smtp.stop()
        dispose_engines()
        os.environ.update(saved_env)


TIEPNHAN = str(Path(sys.executable).with_name("tiepnhan"))


@contextmanager
def serving(port: int, env: dict[str, str], cwd: Path) -> Iterator[str]:
    """`tiepnhan web` on 127.0.0.1:port as its own process, until the block ends."""
    log = cwd / "web.log"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("TIEPNHAN_")} | env
    command = [TIEPNHAN, "web", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=full_env, cwd=cwd, stdout=output, stderr=subprocess.STDOUT)  # noqa: S603 - our own CLI
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = require_binary("chromium", hint="apt-get install chromium (scripts/install-test-servers)", search=("/usr/bin/chromium",))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Visit:
    """One person's browser tab, with what the page did behind their back."""

    page: Any
    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


def open_tab(browser: Any, site: Site, viewport: dict[str, int] = DESKTOP, *, bypass_csp: bool = False) -> Visit:
    context = browser.new_context(viewport=viewport, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", base_url=site.url, bypass_csp=bypass_csp)
    page = context.new_page()
    visit = Visit(page)

    def on_dialog(dialog: Any) -> None:
        visit.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda message: visit.console_errors.append(message.text) if message.type == "error" else None)
    return visit


def log_in(browser: Any, site: Site, name: str, viewport: dict[str, int] = DESKTOP, *, bypass_csp: bool = False, password: str = PASSWORD) -> Visit:
    visit = open_tab(browser, site, viewport, bypass_csp=bypass_csp)
    page = visit.page
    page.goto("/login")
    page.get_by_label("Tên đăng nhập").fill(name)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{site.url}/")
    return visit


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
