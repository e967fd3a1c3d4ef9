"""SLA hours in business hours per routing rule and per unit: the escalation's deadline, set when
the real delivery sends it, and the SLA attainment that follows from it, to the minute across the
lunch break, a weekend, Tết and a make-up Saturday. The rule decides, else the unit, else
[business_calendar].sla_in_business_hours."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from config.settings import ConfigError, Settings
from reports.build import build_report
from reports.period import Period
from tests.escalation.conftest import SHIPPED_UNITS, citizen_email, escalation_settings, ingest_email, smtp, units_file  # noqa: F401
from tests.reports.timeline import vn
from tests.webapp.server import HANOI_COMPLAINT, HCM_COMPLAINT, escalation_of
from tickets.clock_models import EscalationClock
from tickets.db import session_scope
from tickets.escalations import approve
from tickets.store import add_event
from tiepnhan import runtime

SHIPPED_RULES = SHIPPED_UNITS.with_name("routing.toml")
RULE = "khieu-nai-ve-tinh"  # complaints with a known province → the provincial office


def _rules(tmp_path: Path, rule_says: bool | None) -> Path:
    """The shipped rules, the provincial complaints' deadline 8 hours, and what that rule says."""
    text = SHIPPED_RULES.read_text(encoding="utf-8")
    head, marker, tail = text.partition(f'name = "{RULE}"')
    rule, sep, rest = tail.partition("sla_hours = 240")
    assert marker and sep
    extra = "" if rule_says is None else f"\nsla_business_hours = {str(rule_says).lower()}"
    path = tmp_path / "routing.toml"
    path.write_text(head + marker + rule + "sla_hours = 8" + extra + rest, encoding="utf-8")
    return path


def _units(tmp_path: Path, unit_says: bool | None, unit: str = "province-79") -> Path:
    path = units_file(tmp_path)
    if unit_says is not None:
        text = path.read_text(encoding="utf-8").replace(f'id = "{unit}"\n', f'id = "{unit}"\nsla_business_hours = {str(unit_says).lower()}\n', 1)
        path.write_text(text, encoding="utf-8")
    return path


def _send(settings: Settings, letter: tuple[str, str], message_id: str, sent: datetime) -> int:
    from notifiers.delivery import Outcome, deliver_escalation

    ticket = ingest_email(citizen_email(*letter, message_id=message_id))
    assert ticket is not None
    escalation = escalation_of(ticket)
    assert escalation.rule == RULE and escalation.sla_hours == 8
    approve(runtime.engine(), escalation.id or 0, "dieuphoi")
    assert deliver_escalation(settings, runtime.engine(), escalation.id or 0, now=sent) is Outcome.SENT
    return escalation.id or 0


CASES = [
    # (the rule says, province-79 says, the calendar says, sent, due)
    # the unit's choice: Fri 7 Mar 11:00 + 8 working hours: 11:00–11:30 (0.5), 13:00–16:30 (3.5), Mon 07:30–11:30 (4)
    pytest.param(None, True, False, vn(2025, 3, 7, 11), vn(2025, 3, 10, 11, 30), id="unit-business-lunch-weekend"),
    # the rule's choice wins over the unit's: eight clock hours
    pytest.param(False, True, False, vn(2025, 3, 7, 11), vn(2025, 3, 7, 19), id="rule-clock-over-unit"),
    # the rule in business hours, the unit silent: Fri 24 Jan 2025 15:00: 1.5 h, Tết 25 Jan – 2 Feb off, Mon 3 Feb 07:30–11:30, 13:00–15:30
    pytest.param(True, None, False, vn(2025, 1, 24, 15), vn(2025, 2, 3, 15, 30), id="rule-business-tet"),
    # the unit's choice over a make-up Saturday: Fri 25 Apr 15:00: 1.5 h, Sat 26 Apr (worked) 07:30–11:30, 13:00–15:30
    pytest.param(None, True, False, vn(2025, 4, 25, 15), vn(2025, 4, 26, 15, 30), id="unit-business-make-up-saturday"),
    # the unit says clock hours while the calendar says business hours
    pytest.param(None, False, True, vn(2025, 3, 7, 11), vn(2025, 3, 7, 19), id="unit-clock-over-calendar"),
    # nobody says: the calendar's switch
    pytest.param(None, None, True, vn(2025, 3, 7, 11), vn(2025, 3, 10, 11, 30), id="calendar-business"),
    pytest.param(None, None, False, vn(2025, 3, 7, 11), vn(2025, 3, 7, 19), id="calendar-clock"),
]


@pytest.mark.parametrize(("rule_says", "unit_says", "calendar_says", "sent", "due"), CASES)
def test_the_deadline_counts_as_the_rule_else_the_unit_else_the_calendar_says(
    escalation_settings: Callable[..., Settings], tmp_path: Path, rule_says: bool | None, unit_says: bool | None, calendar_says: bool, sent: datetime, due: datetime  # noqa: F811
) -> None:
    settings = escalation_settings(
        units_file=str(_units(tmp_path, unit_says)), routing_file=str(_rules(tmp_path, rule_says)), business_calendar={"sla_in_business_hours": calendar_says}
    )
    escalation_id = _send(settings, HCM_COMPLAINT, "hcm-sla@dan.localhost", sent)
    row = escalation_of(_ticket_of(escalation_id))
    assert row.due_at == due
    with session_scope(runtime.engine()) as session:
        clock = session.get(EscalationClock, escalation_id)
        assert clock is not None and clock.due_at == due and clock.sent_at == sent


def _ticket_of(escalation_id: int) -> int:
    from tickets.escalation_models import Escalation

    with session_scope(runtime.engine()) as session:
        row = session.get(Escalation, escalation_id)
        assert row is not None
        return row.ticket_id


def test_sla_attainment_follows_the_units_business_hours(escalation_settings: Callable[..., Settings], tmp_path: Path) -> None:  # noqa: F811
    """Province-79 counts working hours, province-01 clock hours; both answer on Monday 10 Mar at
    11:00 an escalation sent on Friday 7 Mar at 11:00: in time for one, 64 hours late for the other."""
    settings = escalation_settings(units_file=str(_units(tmp_path, True)), routing_file=str(_rules(tmp_path, None)))
    hcm = _send(settings, HCM_COMPLAINT, "hcm-sla@dan.localhost", vn(2025, 3, 7, 11))
    hanoi = _send(settings, HANOI_COMPLAINT, "hn-sla@dan.localhost", vn(2025, 3, 7, 11))
    answered = vn(2025, 3, 10, 11)
    tickets = {e: _ticket_of(e) for e in (hcm, hanoi)}
    with session_scope(runtime.engine()) as session:
        for escalation_id, unit in ((hcm, "province-79"), (hanoi, "province-01")):
            add_event(session, tickets[escalation_id], "escalation_acknowledged", unit, escalation_id=escalation_id, at=answered)
    with session_scope(runtime.engine()) as session:
        met = {e: session.get(EscalationClock, e).acknowledge_sla_met for e in (hcm, hanoi)}  # type: ignore[union-attr]
    assert met == {hcm: True, hanoi: False}
    report = build_report(runtime.engine(), "sla", Period(date(2025, 3, 1), date(2025, 3, 31)), None, targets=settings.report_targets, now=answered + timedelta(days=1))
    attainment = {row["group"]: row["sla_attainment"] for row in report.rows}
    assert attainment == {"province-01": 0.0, "province-79": 1.0}


@pytest.mark.parametrize("where", ["units", "rules"])
def test_a_wrong_choice_is_named_in_vietnamese(escalation_settings: Callable[..., Settings], tmp_path: Path, where: str) -> None:  # noqa: F811
    from tickets.directory import load_routing

    units, rules = _units(tmp_path, None), _rules(tmp_path, None)
    target = units if where == "units" else rules
    needle = 'id = "province-79"\n' if where == "units" else f'name = "{RULE}"\n'
    target.write_text(target.read_text(encoding="utf-8").replace(needle, needle + 'sla_business_hours = "có"\n', 1), encoding="utf-8")
    settings: Any = escalation_settings(units_file=str(units), routing_file=str(rules))
    with pytest.raises(ConfigError) as raised:
        load_routing(settings)
    text = str(raised.value) + " ".join(getattr(raised.value, "problems", []) or [])
    named = "(province-79).sla_business_hours" if where == "units" else f"({RULE}).sla_business_hours"
    assert named in text and "phải là true hoặc false" in text
