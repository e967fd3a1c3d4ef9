"""Search ignores tone marks and đ/d on SQLite and PostgreSQL, stays in the user's scope and is
kept up to date by the pipeline; `tiepnhan users add` enforces one unit per office user."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from access.models import User
from access.search import search_tickets
from config.settings import Settings
from tests.escalation.conftest import INTAKE_ADDRESS, citizen_email, ingest_email, units_file
from tests.escalation.smtp_server import SmtpCapture
from tests.webapp.server import HANOI_COMPLAINT, HCM_COMPLAINT, deliver, escalation_of
from tickets.db import session_scope
from tickets.search import fts5_query, query_words, tsquery
from tiepnhan import runtime
from tiepnhan.cli import app

DA_NANG = ("Hỏi về bảo hiểm thất nghiệp", "Tôi ở Đà Nẵng, vừa nghỉ việc, xin hỏi thủ tục hưởng trợ cấp thất nghiệp ở đâu?")


def test_query_words_are_folded_and_cannot_inject_syntax() -> None:
    assert query_words("Bảo  hiểm THẤT-nghiệp!") == ["bao", "hiem", "that", "nghiep"]
    assert query_words('Đà Nẵng" OR x* NEAR(') == ["da", "nang", "or", "x", "near"]
    assert fts5_query(["da", "nang"]) == '"da"* "nang"*'
    assert tsquery(["da", "nang"]) == "da:* & nang:*"
    assert query_words("") == []


def scope_checks() -> None:
    coordinator = User(name="c", role="coordinator")
    office79 = User(name="o", role="office", unit_id="province-79")
    hcm = ingest_email(citizen_email(*HCM_COMPLAINT, message_id="s-hcm@dan.localhost"))
    hanoi = ingest_email(citizen_email(*HANOI_COMPLAINT, message_id="s-hn@dan.localhost"))
    danang = ingest_email(citizen_email(*DA_NANG, message_id="s-dn@dan.localhost", sender="Đặng Văn Đức <duc@dan.localhost>"))
    for ticket in (hcm, hanoi):
        assert ticket is not None
        escalation = escalation_of(ticket)
        assert escalation.id is not None
        deliver(escalation.id)
    engine = runtime.engine()

    def ids(user: User, q: str) -> list[int]:
        with session_scope(engine) as session:
            return [t.id for t in search_tickets(session, user, q).tickets if t.id is not None]

    assert ids(coordinator, "bao hiem that nghiep") == [danang]
    assert ids(coordinator, "Da Nang") == [danang]
    assert ids(coordinator, "dang van duc") == [danang]  # the sender, đ folded to d
    assert ids(coordinator, "thành phố hồ chí minh") == [hcm]  # also the province's name
    assert ids(coordinator, "luong huu") == [hanoi]
    assert ids(coordinator, "luo hu") == [hanoi]  # word prefixes
    assert ids(coordinator, "luong huu da nang") == []
    assert ids(office79, "luong huu") == []  # the other province's ticket is out of scope
    assert ids(office79, "the bhyt") == [hcm]
    assert set(ids(coordinator, "")) == {hcm, hanoi, danang}
    # A later message is searchable at once (the pipeline refreshed the text).
    follow_up = citizen_email("Re: Khiếu nại chậm chi trả lương hưu", "Bổ sung: sổ BHXH số hiệu Quỳnh Lưu gửi kèm.", message_id="s-hn-2@dan.localhost", in_reply_to="<s-hn@dan.localhost>")
    assert ingest_email(follow_up) == hanoi
    assert ids(coordinator, "quynh luu") == [hanoi]


def test_search_on_sqlite(configure: Callable[..., Settings], sqlite_url: str, web_settings: Callable[..., Settings]) -> None:
    web_settings()
    scope_checks()


@pytest.mark.postgres
def test_search_and_scope_on_postgres(configure: Callable[..., Settings], postgres_url: str, tmp_path: Path, smtp: SmtpCapture) -> None:
    settings = configure(postgres_url, units_file=str(units_file(tmp_path)), smtp=smtp.settings(), intake={"reply_address": INTAKE_ADDRESS})
    assert settings.database_url.startswith("postgresql")
    scope_checks()


def test_users_add_refuses_an_office_user_with_two_units_or_none(configure: Callable[..., Settings], sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(sqlite_url)
    monkeypatch.setenv("TIEPNHAN_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("PW", "mat-khau-du-dai-2025")
    runner = CliRunner()
    two = runner.invoke(app, ["users", "add", "vp", "--role", "office", "--unit", "province-79", "--unit", "province-01", "--password-env", "PW"])
    assert two.exit_code == 2 and "đúng một đơn vị" in two.output
    none = runner.invoke(app, ["users", "add", "vp", "--role", "office", "--password-env", "PW"])
    assert none.exit_code == 2 and "cần đúng một đơn vị" in none.output
    unknown = runner.invoke(app, ["users", "add", "vp", "--role", "office", "--unit", "province-99", "--password-env", "PW"])
    assert unknown.exit_code == 2 and "province-99" in unknown.output
    coordinator_with_unit = runner.invoke(app, ["users", "add", "dp", "--role", "coordinator", "--unit", "province-79", "--password-env", "PW"])
    assert coordinator_with_unit.exit_code == 2
    short = runner.invoke(app, ["users", "add", "vp", "--role", "office", "--unit", "province-79"], env={"TIEPNHAN_DATABASE_URL": sqlite_url, "PW": "ngan"}, input="ngan\nngan\n")
    assert short.exit_code == 2 and "ít nhất" in short.output
    ok = runner.invoke(app, ["users", "add", "vp", "--role", "office", "--unit", "province-79", "--password-env", "PW"])
    assert ok.exit_code == 0, ok.output
    token = runner.invoke(app, ["users", "token", "vp"])
    assert token.exit_code == 0 and token.output.strip().splitlines()[-1].startswith("tnk_")
    listed = runner.invoke(app, ["users", "list", "--json"])
    assert '"unit": "province-79"' in listed.output and "mat-khau" not in listed.output and '"name": "dp"' not in listed.output
