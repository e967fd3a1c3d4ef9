"""Issue 17: a province the classifier is not sure of is not acted on. The complaint is not
forwarded to that provincial office; it waits with the center for a coordinator."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from config.routing import DEFAULT_MIN_PROVINCE_CONFIDENCE
from config.settings import Settings
from tests.escalation.conftest import COMPLAINT, citizen_email, ingest_email
from tickets.db import session_scope
from tickets.escalation_models import Escalation
from tickets.models import Ticket
from tiepnhan import runtime

SHIPPED_RULES = Path(__file__).resolve().parents[2] / "config" / "routing.toml"


def _rules_with_threshold(tmp_path: Path, threshold: float) -> str:
    path = tmp_path / "routing.toml"
    shipped = SHIPPED_RULES.read_text(encoding="utf-8")
    text, count = re.subn(r"(?m)^min_province_confidence = .*$", f"min_province_confidence = {threshold}", shipped)
    assert count == 1  # the shipped file says its threshold
    path.write_text(text, encoding="utf-8")
    return str(path)


def _escalated_units(ticket_id: int) -> list[str]:
    with session_scope(runtime.engine()) as session:
        return [e.unit_id for e in session.execute(select(Escalation).where(Escalation.ticket_id == ticket_id)).scalars()]


def _province_confidence(ticket_id: int) -> float:
    with session_scope(runtime.engine()) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        return float(ticket.tag_confidence["province"])


def test_a_province_below_the_threshold_is_not_forwarded(escalation_settings: Callable[..., Settings], tmp_path: Path) -> None:
    escalation_settings(routing_file=_rules_with_threshold(tmp_path, 1.0))
    ticket_id = ingest_email(citizen_email(*COMPLAINT, message_id="low@dan.localhost"))
    assert ticket_id is not None
    assert _province_confidence(ticket_id) < 1.0
    assert "province-75" not in _escalated_units(ticket_id)


def test_a_province_at_the_threshold_is_forwarded(escalation_settings: Callable[..., Settings], tmp_path: Path) -> None:
    escalation_settings(routing_file=_rules_with_threshold(tmp_path, 0.5))
    ticket_id = ingest_email(citizen_email(*COMPLAINT, message_id="high@dan.localhost"))
    assert ticket_id is not None
    assert _province_confidence(ticket_id) >= 0.5
    assert _escalated_units(ticket_id) == ["province-75"]


def test_the_shipped_threshold_is_the_documented_one() -> None:
    from config.routing import RoutingRules

    assert RoutingRules().min_province_confidence == DEFAULT_MIN_PROVINCE_CONFIDENCE
    assert f"min_province_confidence = {DEFAULT_MIN_PROVINCE_CONFIDENCE}" in SHIPPED_RULES.read_text(encoding="utf-8")
