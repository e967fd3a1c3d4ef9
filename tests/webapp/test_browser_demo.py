"""`tiepnhan demo` then `tiepnhan web`: a newcomer logs in with the printed password and sees
the proposals waiting for review."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

from tests.servers import free_port
from tests.webapp.browser import TIEPNHAN, Site, browser, log_in, serving  # noqa: F401  (fixture)
from tests.escalation.smtp_server import SmtpCapture

LOGIN_LINE = re.compile(r"tên đăng nhập (\S+), mật khẩu (\S+)")


def test_the_demo_prints_logins_that_open_the_pages(browser: Any, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIEPNHAN_")} | {"TIEPNHAN_LOG_LEVEL": "WARNING", "COLUMNS": "200"}
    demo = subprocess.run([TIEPNHAN, "demo", "--database", str(tmp_path / "demo.db")], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)  # noqa: S603
    assert demo.returncode == 0, demo.stderr[-3000:]
    logins = dict(LOGIN_LINE.findall(demo.stdout))
    assert set(logins) == {"dieuphoi", "bhxh79"}, demo.stdout[-2000:]
    assert "tiepnhan web" in demo.stdout
    port = free_port()
    with serving(port, {"TIEPNHAN_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"}, tmp_path) as url:
        site = Site(url=url, smtp=SmtpCapture(port=0), database_url="")
        page = log_in(browser, site, "dieuphoi", password=logins["dieuphoi"]).page
        assert page.locator("h1").inner_text() == "Chờ duyệt chuyển đơn vị"
        assert page.locator("article.queue-item").count() >= 1
        page.context.close()
