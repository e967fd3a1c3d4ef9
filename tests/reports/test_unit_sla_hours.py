"""A unit's own SLA hours (issue 15): `sla_hours = N` on a unit, validated with a Vietnamese
message; the hours of an escalation are the rule's, else its unit's, else the default, through
the real pipeline and delivery; a reroute takes the new unit's hours when the rule set none."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from config.settings import ConfigError, Settings
from tests.escalation.conftest import SHIPPED_UNITS, citizen_email, escalation_settings, ingest_email, smtp, units_file  # noqa: F401
from tests.reports.timeline import vn
from tests.webapp.server import HANOI_COMPLAINT, HCM_COMPLAINT, escalation_of
from tickets.directory import DEFAULT_SLA_HOURS, load_routing
from tickets.escalations import approve, escalate_by_hand, reroute
from tiepnhan import runtime

RULE = "khieu-nai-ve-tinh"  # complaints with a known province → the provincial office


def _rules(tmp_path: Path, rule_hours: float | None) -> Path:
    """The shipped rules, the provincial complaints' rule with these hours (None: no sla_hours)."""
    text = SHIPPED_UNITS.with_name("routing.toml").read_text(encoding="utf-8")
    head, marker, tail = text.partition(f'name = "{RULE}"')
    rule, sep, rest = tail.partition("sla_hours = 240\n")
    assert marker and sep
    path = tmp_path / "routing.toml"
    path.write_text(head + marker + rule + ("" if rule_hours is None else f"sla_hours = {rule_hours}\n") + rest, encoding="utf-8")
    return path


def _units(tmp_path: Path, hours: dict[str, str]) -> Path:
    path = units_file(tmp_path)
    text = path.read_text(encoding="utf-8")
    for unit, value in hours.items():
        needle = f'id = "{unit}"\n'
        assert needle in text
        text = text.replace(needle, f"{needle}sla_hours = {value}\n", 1)
    path.write_text(text, encoding="utf-8")
    return path


def _escalation(letter: tuple[str, str], message_id: str) -> Any:
    ticket = ingest_email(citizen_email(*letter, message_id=message_id))
    assert ticket is not None
    escalation = escalation_of(ticket)
    assert escalation.rule == RULE
    return escalation


@pytest.mark.parametrize(("value", "message"), [('"hai ngày"', "phải là số"), ("0", "phải lớn hơn 0"), ("9000", "phải nhỏ hơn hoặc bằng 8760")])
def test_a_wrong_unit_sla_hours_is_named_in_vietnamese(escalation_settings: Callable[..., Settings], tmp_path: Path, value: str, message: str) -> None:  # noqa: F811
    settings: Any = escalation_settings(units_file=str(_units(tmp_path, {"province-79": value})), routing_file=str(_rules(tmp_path, None)))
    with pytest.raises(ConfigError) as raised:
        load_routing(settings)
    text = str(raised.value) + " ".join(getattr(raised.value, "problems", []) or [])
    assert "(province-79).sla_hours" in text and message in text, text


def test_the_hours_are_the_rules_else_the_units_else_the_default(escalation_settings: Callable[..., Settings], tmp_path: Path) -> None:  # noqa: F811
    escalation_settings(units_file=str(_units(tmp_path, {"province-79": "16"})), routing_file=str(_rules(tmp_path, None)))
    assert _escalation(HCM_COMPLAINT, "hcm-1@dan.localhost").sla_hours == 16  # the rule names none: the unit's
    assert _escalation(HANOI_COMPLAINT, "hn-1@dan.localhost").sla_hours == DEFAULT_SLA_HOURS  # neither: the default


def test_the_rules_hours_win_over_the_units(escalation_settings: Callable[..., Settings], tmp_path: Path) -> None:  # noqa: F811
    escalation_settings(units_file=str(_units(tmp_path, {"province-79": "16"})), routing_file=str(_rules(tmp_path, 8)))
    assert _escalation(HCM_COMPLAINT, "hcm-1@dan.localhost").sla_hours == 8


def test_a_reroute_takes_the_new_units_hours_when_the_rule_set_none(escalation_settings: Callable[..., Settings], tmp_path: Path) -> None:  # noqa: F811
    from notifiers.delivery import Outcome, deliver_escalation

    settings = escalation_settings(units_file=str(_units(tmp_path, {"province-79": "16", "province-01": "32"})), routing_file=str(_rules(tmp_path, None)),
                                   business_calendar={"sla_in_business_hours": False})
    escalation = _escalation(HCM_COMPLAINT, "hcm-1@dan.localhost")
    assert escalation.sla_hours == 16
    rerouted = reroute(runtime.engine(), escalation.id, "province-01", "dieuphoi", "đúng địa bàn Hà Nội")
    assert rerouted.sla_hours == 32
    sent = vn(2025, 3, 7, 11)
    assert deliver_escalation(settings, runtime.engine(), escalation.id, now=sent) is Outcome.SENT
    assert escalation_of(escalation.ticket_id).due_at == vn(2025, 3, 8, 19)  # 32 clock hours after
    # to a unit without hours of its own: the hours stay as they were
    assert reroute(runtime.engine(), escalation.id, "province-48", "dieuphoi", None).sla_hours == 32


def test_a_reroute_keeps_the_rules_hours(escalation_settings: Callable[..., Settings], tmp_path: Path) -> None:  # noqa: F811
    escalation_settings(units_file=str(_units(tmp_path, {"province-79": "16", "province-01": "32"})), routing_file=str(_rules(tmp_path, 8)))
    escalation = _escalation(HCM_COMPLAINT, "hcm-1@dan.localhost")
    approve(runtime.engine(), escalation.id, "dieuphoi")
    assert reroute(runtime.engine(), escalation.id, "province-01", "dieuphoi", None).sla_hours == 8


def test_by_hand_without_hours_takes_the_units(escalation_settings: Callable[..., Settings], tmp_path: Path) -> None:  # noqa: F811
    escalation_settings(units_file=str(_units(tmp_path, {"province-01": "32"})), routing_file=str(_rules(tmp_path, None)))
    ticket = _escalation(HCM_COMPLAINT, "hcm-1@dan.localhost").ticket_id
    assert escalate_by_hand(runtime.engine(), ticket, "province-01", "dieuphoi", "cần cả Hà Nội xem").sla_hours == 32
    assert escalate_by_hand(runtime.engine(), ticket, "province-48", "dieuphoi", None, 12).sla_hours == 12  # hours given by hand win
