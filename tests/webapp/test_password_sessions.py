"""A password change ends the user's other login sessions; disabling a user ends all of them and
its API tokens (issue 13). Real HTTP on loopback, each browser its own cookie jar."""

from __future__ import annotations

import httpx
from typer.testing import CliRunner

from access.users import disable_user, issue_token
from config.settings import Settings
from tests.webapp.server import PASSWORD, Scenario, logged_in
from tiepnhan import runtime

NEW_PASSWORD = "mat-khau-moi-rat-dai-2026"


def signed_in(client: httpx.Client) -> bool:
    """Whether this browser's session still opens the work queue (not sent to /login)."""
    response = client.get("/")
    assert response.status_code in (200, 303), response.status_code
    return response.status_code == 200


def change_password(client: httpx.Client, current: str, new: str, again: str | None = None) -> httpx.Response:
    return client.post("/account/password", data={
        "current_password": current, "new_password": new, "new_password_again": new if again is None else again,
        "csrftoken": client.cookies["csrftoken"],
    })


def test_web_password_change_ends_the_other_sessions_and_keeps_this_one(scenario: tuple[Settings, Scenario], base_url: str) -> None:
    laptop, phone, colleague = logged_in(base_url, "vp79"), logged_in(base_url, "vp79"), logged_in(base_url, "dieuphoi")
    assert signed_in(laptop) and signed_in(phone)
    before = laptop.cookies["tiepnhan_session"]

    refused = change_password(laptop, "sai-mat-khau-hien-tai", NEW_PASSWORD)
    assert refused.status_code == 401 and "Mật khẩu hiện tại không đúng" in refused.text
    mismatch = change_password(laptop, PASSWORD, NEW_PASSWORD, again=NEW_PASSWORD + "x")
    assert mismatch.status_code == 400 and "không khớp" in mismatch.text
    assert signed_in(phone)  # nothing changed yet

    done = change_password(laptop, PASSWORD, NEW_PASSWORD)
    assert done.status_code == 303, done.text
    assert laptop.cookies["tiepnhan_session"] != before  # rotated: a fresh session
    home = laptop.get("/")
    assert home.status_code == 200 and "Đã đổi mật khẩu" in home.text  # this browser stays in, told so
    assert not signed_in(phone)  # the other browser is logged out
    assert signed_in(colleague)  # another user's session is untouched
    # An old cookie replayed does not come back either.
    replay = httpx.Client(base_url=base_url, follow_redirects=False, timeout=30, cookies={"tiepnhan_session": before})
    assert not signed_in(replay)
    # The new password logs in, the old one no longer does.
    assert signed_in(logged_in(base_url, "vp79", NEW_PASSWORD))
    old = httpx.Client(base_url=base_url, follow_redirects=False, timeout=30)
    old.get("/login")
    assert old.post("/login", data={"username": "vp79", "password": PASSWORD, "next": "/", "csrftoken": old.cookies["csrftoken"]}).status_code == 401


def test_cli_set_password_ends_every_web_session(scenario: tuple[Settings, Scenario], base_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tiepnhan.cli import app

    settings, _found = scenario
    browser = logged_in(base_url, "vp79")
    assert signed_in(browser)
    monkeypatch.setenv("TIEPNHAN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TIEPNHAN_UNITS_FILE", str(settings.units_file))
    monkeypatch.setenv("NEW_PASSWORD_FOR_TEST", NEW_PASSWORD)
    result = CliRunner().invoke(app, ["users", "set-password", "vp79", "--password-env", "NEW_PASSWORD_FOR_TEST"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "đăng xuất" in result.output
    assert not signed_in(browser)
    assert signed_in(logged_in(base_url, "vp79", NEW_PASSWORD))


def test_disabling_ends_every_session_and_revokes_the_tokens(scenario: tuple[Settings, Scenario], base_url: str) -> None:
    browser = logged_in(base_url, "vp79")
    token = issue_token(runtime.engine(), "vp79")
    api = httpx.Client(base_url=base_url, timeout=30, headers={"Authorization": f"Bearer {token}"})
    assert signed_in(browser) and api.get("/api/tickets").status_code == 200
    disable_user(runtime.engine(), "vp79")
    assert not signed_in(browser)
    assert api.get("/api/tickets").status_code == 401
