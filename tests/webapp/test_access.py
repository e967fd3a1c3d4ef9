"""Logins, API tokens, CSRF, and the API's decisions, over real HTTP."""

from __future__ import annotations

import logging

import httpx
import pytest

from access.users import disable_user, issue_token
from config.settings import Settings
from tests.escalation.smtp_server import SmtpCapture
from tests.webapp.server import PASSWORD, Scenario, escalation_of, logged_in
from tickets.db import session_scope
from tickets.models import Message, TicketEvent
from tiepnhan import runtime


def login_attempt(client: httpx.Client, name: str, password: str) -> httpx.Response:
    client.get("/login")
    return client.post("/login", data={"username": name, "password": password, "next": "/", "csrftoken": client.cookies["csrftoken"]})


def test_login_is_rate_limited_and_the_lockout_is_logged_without_the_password(
    scenario: tuple[Settings, Scenario], base_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="access.users")
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for attempt in range(3):  # web.login_max_failures = 3 in these tests
            assert login_attempt(client, "vp79", f"doan-sai-{attempt}-xyz").status_code in (401, 429)
        locked = login_attempt(client, "vp79", PASSWORD)  # the right password, but locked out now
        assert locked.status_code == 429
        assert "quá nhiều lần" in locked.text
        assert "tiepnhan_session" not in client.cookies
    refused = [r for r in caplog.records if r.getMessage() == "login refused: locked out"]
    assert refused and refused[0].__dict__["user"] == "vp79"
    logged = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert PASSWORD not in logged and "doan-sai" not in logged
    # Another user is not locked out by vp79's failures (the address allows four times as many).
    assert logged_in(base_url, "dieuphoi").get("/api/tickets").status_code == 200


def test_wrong_password_is_refused_and_the_right_one_logs_in(scenario: tuple[Settings, Scenario], base_url: str) -> None:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        assert login_attempt(client, "dieuphoi", "khong-dung-mat-khau").status_code == 401
        assert client.get("/api/tickets").status_code == 401
        response = login_attempt(client, "dieuphoi", PASSWORD)
        assert response.status_code == 303
        session_cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("tiepnhan_session="))
        attributes = {part.strip().split("=")[0].lower(): part for part in session_cookie.split(";")[1:]}
        assert "httponly" in attributes and attributes["samesite"].strip().lower() == "samesite=lax"
        assert "max-age" in attributes and "secure" not in attributes  # plain http here; Secure over https
        assert client.get("/api/tickets").status_code == 200


def test_api_token_authenticates_only_the_api_and_stops_when_the_user_is_disabled(scenario: tuple[Settings, Scenario], base_url: str) -> None:
    _, found = scenario
    token = issue_token(runtime.engine(), "vp79")
    bearer = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, timeout=30, follow_redirects=False) as client:
        tickets = client.get("/api/tickets", headers=bearer).json()["tickets"]
        assert [t["id"] for t in tickets] == [found.hcm_ticket]
        assert client.get(f"/api/tickets/{found.hanoi_ticket}", headers=bearer).status_code == 404
        assert client.get("/api/tickets", headers={"Authorization": f"Bearer {token}x"}).status_code == 401
        assert client.get("/api/tickets", headers={"Authorization": "Bearer tnk_forged"}).json()["error"]
        assert client.get("/tickets", headers=bearer).status_code == 303  # pages need a login
        disable_user(runtime.engine(), "vp79")
        assert client.get("/api/tickets", headers=bearer).status_code == 401


def test_a_forged_post_without_the_csrf_token_is_refused(scenario: tuple[Settings, Scenario], base_url: str) -> None:
    _, found = scenario
    coordinator = logged_in(base_url, "dieuphoi")
    path = f"/api/escalations/{found.hcm_escalation}/reject"
    forged = coordinator.post(path, json={"reason": "giả mạo"})
    assert forged.status_code == 403 and "CSRF" in forged.json()["error"]
    wrong = coordinator.post(path, json={"reason": "giả mạo"}, headers={"x-csrftoken": "sai"})
    assert wrong.status_code == 403
    page_form = coordinator.post(f"/escalations/{found.hcm_escalation}/reject", data={"reason": "giả mạo"})
    assert page_form.status_code == 403
    assert escalation_of(found.hcm_ticket).status == "sent"  # nothing happened
    # A login posted from elsewhere (no cookie at all) is refused too: no forged sign-in.
    with httpx.Client(base_url=base_url, timeout=30) as stranger:
        assert stranger.post("/login", data={"username": "dieuphoi", "password": PASSWORD}).status_code == 403
    # With a cookie AND a Bearer header, only the token counts: the cookie session is not used.
    token = issue_token(runtime.engine(), "lanhdao")
    as_viewer = coordinator.post(path, json={"reason": "x"}, headers={"Authorization": f"Bearer {token}"})
    assert as_viewer.status_code == 403  # the viewer's token, not the coordinator's cookie
    assert escalation_of(found.hcm_ticket).status == "sent"


def test_office_answer_is_recorded_like_an_emailed_reply_and_acknowledges(scenario: tuple[Settings, Scenario], base_url: str) -> None:
    _, found = scenario
    office = logged_in(base_url, "vp79")
    token = office.cookies["csrftoken"]
    answer = "BHXH TP.HCM đã tiếp nhận, sẽ cấp lại thẻ BHYT cho ông trong 5 ngày làm việc."
    refused = office.post(f"/api/tickets/{found.hanoi_ticket}/reply", json={"text": answer}, headers={"x-csrftoken": token})
    assert refused.status_code == 404
    empty = office.post(f"/api/tickets/{found.hcm_ticket}/reply", json={"text": "  "}, headers={"x-csrftoken": token})
    assert empty.status_code == 400 and "text" in empty.json()["error"]
    bad = office.post(f"/api/tickets/{found.hcm_ticket}/reply", content=b"{not json", headers={"x-csrftoken": token, "content-type": "application/json"})
    assert bad.status_code == 400 and "JSON" in bad.json()["error"]
    response = office.post(f"/api/tickets/{found.hcm_ticket}/reply", json={"text": answer}, headers={"x-csrftoken": token})
    assert response.status_code == 201, response.text
    assert response.json()["escalation"]["status"] == "acknowledged"
    reply_token = escalation_of(found.hcm_ticket).reply_token  # its own session: one at a time on SQLite's writer lock
    with session_scope(runtime.engine()) as session:
        message = session.get(Message, response.json()["message_id"])
        assert message is not None and message.ticket_id == found.hcm_ticket and answer in message.clean_text
        assert message.reply_token == reply_token
        kinds = {(e.kind, e.actor) for e in session.query(TicketEvent).filter(TicketEvent.ticket_id == found.hcm_ticket)}  # type: ignore[arg-type]
    assert ("office_answered", "vp79") in kinds and ("escalation_acknowledged", "province-79") in kinds
    # The coordinator sees the answer on the ticket, marked as the unit's.
    detail = logged_in(base_url, "dieuphoi").get(f"/api/tickets/{found.hcm_ticket}").json()
    assert any(m["from_unit"] and answer in m["text"] for m in detail["messages"])
    # A coordinator cannot answer in the unit's name.
    coordinator = logged_in(base_url, "dieuphoi")
    assert coordinator.post(f"/api/tickets/{found.hcm_ticket}/reply", json={"text": "x"}, headers={"x-csrftoken": coordinator.cookies["csrftoken"]}).status_code == 403


def test_coordinator_decisions_through_the_api(web_settings, smtp: SmtpCapture) -> None:  # type: ignore[no-untyped-def]
    from tests.escalation.conftest import citizen_email, ingest_email
    from tests.webapp.server import HANOI_COMPLAINT, HCM_COMPLAINT, add_users, serve

    settings = web_settings()
    hcm = ingest_email(citizen_email(*HCM_COMPLAINT, message_id="a@dan.localhost"))
    hanoi = ingest_email(citizen_email(*HANOI_COMPLAINT, message_id="b@dan.localhost"))
    assert hcm is not None and hanoi is not None
    add_users()
    with serve(settings) as url:
        coordinator = logged_in(url, "dieuphoi")
        headers = {"x-csrftoken": coordinator.cookies["csrftoken"]}
        proposed = coordinator.get("/api/escalations", params={"status": "proposed"}).json()["escalations"]
        assert {e["ticket_id"] for e in proposed} == {hcm, hanoi}
        first = escalation_of(hcm).id
        approved = coordinator.post(f"/api/escalations/{first}/approve", json={"note": "gửi gấp"}, headers=headers)
        assert approved.status_code == 200 and approved.json()["status"] == "sent" and approved.json()["decided_by"] == "dieuphoi"
        assert any("bhxh.hochiminh@donvi.localhost" in r.recipients for r in smtp.wait_for(1))
        again = coordinator.post(f"/api/escalations/{first}/approve", json={}, headers=headers)
        assert again.status_code == 409 and "không thể duyệt" in again.json()["error"]
        second = escalation_of(hanoi).id
        unknown = coordinator.post(f"/api/escalations/{second}/reroute", json={"to": "province-99"}, headers=headers)
        assert unknown.status_code == 400 and "province-99" in unknown.json()["error"]
        no_reason = coordinator.post(f"/api/escalations/{second}/reject", json={}, headers=headers)
        assert no_reason.status_code == 400 and "reason" in no_reason.json()["error"]
        moved = coordinator.post(f"/api/escalations/{second}/reroute", json={"to": "central-bhxh-policy", "note": "chế độ hưu"}, headers=headers)
        assert moved.status_code == 200 and moved.json()["unit"] == "central-bhxh-policy"
        assert coordinator.get("/api/escalations/99999/approve").json()["error"]  # 405, as JSON
        missing = coordinator.post("/api/escalations/99999/approve", json={}, headers=headers)
        assert missing.status_code == 404 and missing.json()["error"]
    with session_scope(runtime.engine()) as session:
        events = {(e.kind, e.actor) for e in session.query(TicketEvent).filter(TicketEvent.ticket_id.in_([hcm, hanoi]))}  # type: ignore[attr-defined]
    assert {("escalation_approved", "dieuphoi"), ("escalation_rerouted", "dieuphoi")} <= events


def test_api_routing_errors_are_json_in_vietnamese(scenario: tuple[Settings, Scenario], base_url: str) -> None:
    _, found = scenario
    coordinator = logged_in(base_url, "dieuphoi")
    unknown = coordinator.get("/api/khong-co")
    assert unknown.status_code == 404 and unknown.json()["error"].startswith("không tìm thấy")
    wrong_method = coordinator.get(f"/api/escalations/{found.hcm_escalation}/approve")
    assert wrong_method.status_code == 405 and "phương thức" in wrong_method.json()["error"]
    bad_id = coordinator.get("/api/tickets/abc")
    assert bad_id.status_code == 400 and "abc" in bad_id.json()["error"]
    bad_limit = coordinator.get("/api/tickets", params={"limit": "-1"})
    assert bad_limit.status_code == 400 and "limit" in bad_limit.json()["error"]
