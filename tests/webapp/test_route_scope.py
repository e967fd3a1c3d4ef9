"""The one scope, on every route: an office of province-79 never sees a ticket sent only to
province-01 — not its page, its JSON, its attachment, nor a trace of it in any list or search.

Driven by tests/webapp/route_table.py: every route of the app must be listed there (a route
added without a row fails here), and every non-public route is driven as that office user
against the other province's ticket, escalation and attachment, over real HTTP.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from starlette.routing import BaseRoute, Mount, Route

from config.settings import Settings
from tests.webapp.route_table import ROUTES
from tests.escalation.conftest import INTAKE_ADDRESS, units_file
from tests.escalation.smtp_server import SmtpCapture
from tests.webapp.server import HANOI_COMPLAINT, HANOI_SECRET_WORD, Scenario, add_users, escalation_of, logged_in, make_scenario, serve
from tiepnhan.web.app import create_app

PARAM = re.compile(r"\{[^}]+\}")


def app_routes(settings: Settings) -> list[tuple[str, str]]:
    """(method, path) of every endpoint the web process serves, mounts flattened."""

    def walk(routes: list[BaseRoute], prefix: str) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for route in routes:
            if isinstance(route, Mount):
                inner = getattr(route.app, "routes", None)
                found.extend(walk(list(inner), prefix + route.path) if inner is not None else [("GET", prefix + route.path)])
            elif isinstance(route, Route):
                found.extend((m, prefix + route.path) for m in sorted(route.methods or ()) if m != "HEAD")
            else:
                raise AssertionError(f"unexpected route kind {route!r}")
        return found

    return walk(list(create_app(settings).routes), "")


def concrete(path: str, value: int) -> str:
    return PARAM.sub(str(value), path)


def target_id(scenario: Scenario, target: str | None, *, own: bool = False) -> int:
    if target == "ticket":
        return scenario.hcm_ticket if own else scenario.hanoi_ticket
    if target == "escalation":
        return scenario.hcm_escalation if own else scenario.hanoi_escalation
    if target == "attachment":
        return scenario.hanoi_attachment
    if target == "bank_entry":
        return bank_entry_id()
    raise AssertionError(target)


def bank_entry_id() -> int:
    """A question-bank entry (coordinators' pages): an office is refused it like a ticket not its own."""
    from qbank.entry import BankEntry
    from qbank.store import save_entry
    from tickets.db import session_scope
    from tiepnhan import runtime

    with session_scope(runtime.engine()) as session:
        row, _ = save_entry(session, BankEntry("route-test", "Tra cứu quá trình đóng BHXH ở đâu?", "Trên ứng dụng VssID."), "dieuphoi")
        assert row.id is not None
        return row.id


def post(client: httpx.Client, path: str) -> httpx.Response:
    token = client.cookies["csrftoken"]
    fields = {"note": "thử", "reason": "thử", "to": "province-79", "text": "thử", "unit": "province-79"}
    if path.startswith("/api/"):
        return client.post(path, json=fields, headers={"x-csrftoken": token})
    return client.post(path, data={**fields, "csrftoken": token})


def traces(scenario: Scenario) -> list[str]:
    subject, body = HANOI_COMPLAINT
    return [scenario.hanoi_reference, subject, HANOI_SECRET_WORD, "Hoàn Kiếm", "quyet-dinh-nghi-huu", f"/tickets/{scenario.hanoi_ticket}\""]


def test_every_route_is_in_the_table(scenario: tuple[Settings, Scenario]) -> None:
    served = app_routes(scenario[0])
    missing = [f"{m} {p}" for m, p in served if (m, p) not in ROUTES]
    assert not missing, f"routes without a row in tests/webapp/route_table.py: {missing}"
    stale = [f"{m} {p}" for m, p in ROUTES if (m, p) not in served]
    assert not stale, f"rows for routes the app no longer serves: {stale}"


def test_anonymous_callers_get_nothing(scenario: tuple[Settings, Scenario], base_url: str) -> None:
    settings, found = scenario
    with httpx.Client(base_url=base_url, follow_redirects=False, timeout=30) as client:
        for method, path in app_routes(settings):
            row = ROUTES[(method, path)]
            if row.public or method != "GET":
                continue
            url = concrete(path, target_id(found, row.target)) if row.target else path
            response = client.get(url)
            assert response.status_code in (401, 303), f"{method} {url}: {response.status_code}"
            assert HANOI_SECRET_WORD not in response.text


def test_office_of_another_province_sees_nothing_on_any_route(scenario: tuple[Settings, Scenario], base_url: str) -> None:
    office_sees_nothing(*scenario, base_url)


@pytest.mark.postgres
def test_office_sees_nothing_on_postgres(configure: Callable[..., Settings], postgres_url: str, tmp_path: Path, smtp: SmtpCapture) -> None:
    settings = configure(postgres_url, units_file=str(units_file(tmp_path)), smtp=smtp.settings(), intake={"reply_address": INTAKE_ADDRESS},
                         web={"secret_key": "p" * 40})
    assert settings.database_url.startswith("postgresql")
    found = make_scenario()
    add_users()
    with serve(settings) as url:
        office_sees_nothing(settings, found, url)


def office_sees_nothing(settings: Settings, found: Scenario, base_url: str) -> None:
    office = logged_in(base_url, "vp79")
    coordinator = logged_in(base_url, "dieuphoi")
    driven = 0
    for method, path in app_routes(settings):
        row = ROUTES[(method, path)]
        if row.public:
            continue
        driven += 1
        if row.target is not None:
            url = concrete(path, target_id(found, row.target))
            response = office.get(url) if method == "GET" else post(office, url)
            # Not 403: the other province's ticket must not even be known to exist.
            assert response.status_code == 404, f"{method} {url} as vp79: {response.status_code} {response.text[:200]}"
            assert HANOI_SECRET_WORD not in response.text and found.hanoi_reference not in response.text, f"{method} {url}"
            if method == "GET":
                # The same route does answer, for the right people: it is the scope that refused.
                allowed = coordinator.get(url)
                assert allowed.status_code == 200, f"{method} {url} as coordinator: {allowed.status_code}"
                if row.target not in ("attachment", "bank_entry"):
                    own = office.get(concrete(path, target_id(found, row.target, own=True)))
                    assert own.status_code == 200, f"{method} {path} on its own ticket: {own.status_code}"
            continue
        assert method == "GET", f"{method} {path}: a state-changing route needs a target in the table"
        for query in ("", "?q=" + HANOI_SECRET_WORD, "?q=trinh+quoc", "?q=hoan+kiem", "?unit=province-01", "?province=01", "?status=escalated"):
            response = office.get(path + query)
            if "office" not in row.roles:
                assert response.status_code in (403, 404), f"GET {path} as vp79: {response.status_code}"
                continue
            assert response.status_code == 200, f"GET {path}{query} as vp79: {response.status_code}"
            for trace in traces(found):
                if trace in query:
                    continue  # the page may repeat the user's own query; the ticket's text is what must not show
                where = response.text.find(trace)
                assert where < 0, f"GET {path}{query} as vp79 shows {trace!r}: …{response.text[max(0, where - 300):where + 100]}…"
    assert driven >= 15
    # Nothing the office tried changed the other province's escalation.
    assert escalation_of(found.hanoi_ticket).status == "sent"


def test_lists_and_search_do_show_what_is_in_scope(scenario: tuple[Settings, Scenario], base_url: str) -> None:
    """The counter-test: the same lists and searches find the ticket for those who may see it."""
    _, found = scenario
    coordinator = logged_in(base_url, "dieuphoi")
    office01 = logged_in(base_url, "vp01")
    for client in (coordinator, office01):
        body = client.get("/api/tickets", params={"q": "trinh quoc hoan kiem"}).json()
        assert [t["id"] for t in body["tickets"]] == [found.hanoi_ticket]
        assert found.hanoi_reference in client.get("/tickets").text
    assert coordinator.get("/api/tickets", params={"q": "Da Nang"}).json()["total"] == 0
    office79_ids = [t["id"] for t in logged_in(base_url, "vp79").get("/api/tickets").json()["tickets"]]
    assert office79_ids == [found.hcm_ticket]


@pytest.mark.parametrize("name", ["dieuphoi", "lanhdao", "quantri", "tuvan"])
def test_central_roles_see_both_provinces(scenario: tuple[Settings, Scenario], base_url: str, name: str) -> None:
    _, found = scenario
    ids = {t["id"] for t in logged_in(base_url, name).get("/api/tickets").json()["tickets"]}
    assert {found.hcm_ticket, found.hanoi_ticket} <= ids
