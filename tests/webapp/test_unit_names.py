"""Where people read a unit they read its Vietnamese name, the id beside it (issue 13): the
ticket page's event log and header over real HTTP, and `tiepnhan show`'s escalations and log."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from config.settings import Settings
from tests.webapp.server import Scenario, logged_in
from tickets.directory import routing
from tickets.labels import unit_label


def _unit_text(settings: Settings, unit_id: str) -> str:
    name = routing(settings).units.name_of(unit_id)
    assert name and name != unit_id
    return f"{name} ({unit_id})"


def test_ticket_page_names_the_units_in_its_log_and_header(scenario: tuple[Settings, Scenario], base_url: str) -> None:
    settings, found = scenario
    hcm = _unit_text(settings, "province-79")
    page = logged_in(base_url, "dieuphoi").get(f"/tickets/{found.hcm_ticket}")
    assert page.status_code == 200
    log = page.text[page.text.index("Nhật ký"):]
    assert f"đơn vị: {hcm}" in log  # the approval and proposal events
    assert "đơn vị: province-79" not in log
    page = logged_in(base_url, "vp79").get(f"/tickets/{found.hcm_ticket}")
    assert page.status_code == 200
    assert f"Đơn vị xử lý · {hcm}" in page.text  # the header names the office user's unit


def test_show_names_the_units(scenario: tuple[Settings, Scenario], monkeypatch: pytest.MonkeyPatch) -> None:
    from tiepnhan.cli import app

    settings, found = scenario
    monkeypatch.setenv("TIEPNHAN_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("TIEPNHAN_UNITS_FILE", str(settings.units_file))
    result = CliRunner().invoke(app, ["show", str(found.hanoi_ticket)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    hanoi = _unit_text(settings, "province-01")
    output = " ".join(result.output.split())  # the terminal's line wrapping undone
    escalations = output[output.index("Chuyển xử lý"):output.index("Nhật ký")]
    assert f"→ {hanoi}: " in escalations
    log = output[output.index("Nhật ký"):]
    assert f"đơn vị: {hanoi}" in log and "đơn vị: province-01" not in log


def test_unit_label_keeps_an_unknown_id_as_it_is() -> None:
    names = {"province-79": "Bảo hiểm xã hội Thành phố Hồ Chí Minh"}.get
    assert unit_label("province-79", names) == "Bảo hiểm xã hội Thành phố Hồ Chí Minh (province-79)"
    assert unit_label("province-99", names) == "province-99"
    assert unit_label("province-79") == "province-79"
