"""Escalating by hand takes the unit's SLA hours unless hours are given (issue 15): the web
escalate form (real HTTP) with its hours field empty or filled, and `tiepnhan escalate` with and
without --sla-hours; the precedence itself is tickets/escalations.py::create_escalation's."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from config.settings import Settings
from tests.escalation.conftest import INTAKE_ADDRESS, units_file
from tests.escalation.smtp_server import SmtpCapture
from tests.webapp.server import Scenario, add_users, logged_in, make_scenario, serve
from tickets.db import session_scope
from tickets.directory import DEFAULT_SLA_HOURS
from tickets.escalation_models import Escalation
from tiepnhan import runtime

UNIT_HOURS = {"province-01": 32.0}  # Hà Nội's own deadline; province-48 (Đà Nẵng) has none


def _units(tmp_path: Path) -> Path:
    path = units_file(tmp_path)
    text = path.read_text(encoding="utf-8")
    for unit, hours in UNIT_HOURS.items():
        needle = f'id = "{unit}"\n'
        assert needle in text
        text = text.replace(needle, f"{needle}sla_hours = {hours:g}\n", 1)
    path.write_text(text, encoding="utf-8")
    return path


def _hours(ticket_id: int, unit_id: str) -> list[float]:
    with session_scope(runtime.engine()) as session:
        rows = session.execute(select(Escalation.sla_hours).where(Escalation.ticket_id == ticket_id, Escalation.unit_id == unit_id)).scalars()  # type: ignore[arg-type]
        return list(rows)


@pytest.fixture
def site(web_settings: Callable[..., Settings], tmp_path: Path) -> tuple[Settings, Scenario]:
    settings = web_settings(units_file=str(_units(tmp_path)))
    found = make_scenario()
    add_users()
    return settings, found


def test_the_web_form_takes_the_units_hours_unless_hours_are_given(site: tuple[Settings, Scenario]) -> None:
    settings, found = site
    with serve(settings) as url:
        coordinator = logged_in(url, "dieuphoi")
        page = coordinator.get(f"/tickets/{found.hcm_ticket}")
        assert 'name="sla_hours"' in page.text and "để trống: theo hạn của đơn vị" in page.text

        def escalate(unit: str, hours: str) -> str:
            done = coordinator.post(f"/tickets/{found.hcm_ticket}/escalate",
                                    data={"to": unit, "note": "", "sla_hours": hours, "csrftoken": coordinator.cookies["csrftoken"]})
            assert done.status_code == 303, done.text
            return coordinator.get(f"/tickets/{found.hcm_ticket}").text

        shown = escalate("province-48", "ba ngày")  # a mistake: refused, said in Vietnamese, nothing made
        assert "Hạn trả lời phải là một số giờ" in shown and _hours(found.hcm_ticket, "province-48") == []
        escalate("province-48", "0")
        assert _hours(found.hcm_ticket, "province-48") == []
        escalate("province-01", "")  # empty: the unit's own hours
        assert _hours(found.hcm_ticket, "province-01") == [UNIT_HOURS["province-01"]]
        escalate("province-48", "")  # a unit with none: the default
        assert _hours(found.hcm_ticket, "province-48") == [DEFAULT_SLA_HOURS]
        escalate("central-inspection", "12,5")  # given by hand: they win
        assert _hours(found.hcm_ticket, "central-inspection") == [12.5]


def test_the_cli_takes_the_units_hours_unless_sla_hours_is_given(site: tuple[Settings, Scenario], smtp: SmtpCapture, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tiepnhan.cli import app

    settings, found = site
    config = tmp_path / "tiepnhan.toml"
    config.write_text(
        f'database_url = "{settings.database_url}"\nunits_file = "{settings.units_file}"\n'
        f'[smtp]\nhost = "127.0.0.1"\nport = {smtp.port}\nsecurity = "plain"\nfrom_address = "hotro@tiepnhan.localhost"\n'
        f'[intake]\nreply_address = "{INTAKE_ADDRESS}"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("TIEPNHAN_CONFIG", str(config))

    def escalate(*args: str) -> None:
        result = CliRunner().invoke(app, ["escalate", str(found.hanoi_ticket), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output

    escalate("--to", "province-48", "--sla-hours", "20")
    assert _hours(found.hanoi_ticket, "province-48") == [20.0]
    escalate("--to", "central-inspection")
    assert _hours(found.hanoi_ticket, "central-inspection") == [DEFAULT_SLA_HOURS]
    # The unit's own hours (the Hanoi ticket already has province-01's part open: the HCM one).
    result = CliRunner().invoke(app, ["escalate", str(found.hcm_ticket), "--to", "province-01"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert _hours(found.hcm_ticket, "province-01") == [UNIT_HOURS["province-01"]]
