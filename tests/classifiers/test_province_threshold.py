"""Issue 17: a province whose calibrated confidence is below the routing file's threshold is
not stored on the ticket and not routed; the candidate and its evidence stay for a
coordinator. Through the real pipeline (email in, SQLite, the shipped rules but the threshold)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from config.settings import Settings
from tests.escalation.conftest import COMPLAINT, citizen_email, escalation_settings, ingest_email, smtp  # noqa: F401  (fixtures)
from tickets.db import session_scope
from tickets.escalation_models import Escalation
from tickets.labels import describe_event
from tickets.models import Ticket, TicketEvent
from tiepnhan import runtime

SHIPPED_RULES = Path(__file__).resolve().parents[2] / "config" / "routing.toml"
DONG_NAI = "75"  # where COMPLAINT's pension is paid ("Biên Hòa, Đồng Nai")


def _rules_with_threshold(tmp_path: Path, threshold: float) -> str:
    path = tmp_path / "routing.toml"
    text, count = re.subn(r"(?m)^min_province_confidence = .*$", f"min_province_confidence = {threshold}", SHIPPED_RULES.read_text(encoding="utf-8"))
    assert count == 1
    path.write_text(text, encoding="utf-8")
    return str(path)


def _ticket(ticket_id: int) -> tuple[Ticket, list[TicketEvent], list[str]]:
    with session_scope(runtime.engine()) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        session.expunge(ticket)
        events = list(session.execute(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "tagged")).scalars())  # type: ignore[arg-type]
        for event in events:
            session.expunge(event)
        units = [e.unit_id for e in session.execute(select(Escalation).where(Escalation.ticket_id == ticket_id)).scalars()]  # type: ignore[arg-type]
        return ticket, events, units


def test_a_province_below_the_threshold_is_not_stored_nor_routed(escalation_settings: Callable[..., Settings], tmp_path: Path) -> None:  # noqa: F811
    # 1.0 is above every calibrated confidence (they stop at 0.99): no province is sure enough.
    escalation_settings(routing_file=_rules_with_threshold(tmp_path, 1.0))
    ticket_id = ingest_email(citizen_email(*COMPLAINT, message_id="unsure@dan.localhost"))
    assert ticket_id is not None
    ticket, events, units = _ticket(ticket_id)
    assert ticket.province_code is None
    assert ticket.category == "complaint"
    assert 0 < ticket.tag_confidence["province"] < 1.0  # the candidate's confidence is kept
    assert any(item["tag"] == f"province:{DONG_NAI}" for item in ticket.tag_evidence)  # and what it rests on
    assert [event.data.get("province_candidate") for event in events] == [DONG_NAI]
    assert "Đồng Nai" in describe_event(events[0])  # the coordinator reads the candidate's name
    assert f"province-{DONG_NAI}" not in units


def test_a_province_at_the_threshold_is_stored_and_routed(escalation_settings: Callable[..., Settings], tmp_path: Path) -> None:  # noqa: F811
    escalation_settings(routing_file=_rules_with_threshold(tmp_path, 0.5))
    ticket_id = ingest_email(citizen_email(*COMPLAINT, message_id="sure@dan.localhost"))
    assert ticket_id is not None
    ticket, events, units = _ticket(ticket_id)
    assert ticket.province_code == DONG_NAI
    assert all("province_candidate" not in event.data for event in events)
    assert units == [f"province-{DONG_NAI}"]
