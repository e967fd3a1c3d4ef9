"""Clocks stored when events happen: checked to the minute on hand-built timelines."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.reports.timeline import new_escalation, new_ticket, status, vn
from tickets import escalations
from tickets.clock_models import EscalationClock, TicketClock
from tickets.db import session_scope
from tickets.models import TicketEvent
from tickets.store import add_event


def test_ticket_clocks_across_lunch_weekend_and_a_reopening(sqlite_engine: Engine) -> None:
    with session_scope(sqlite_engine) as session:
        ticket = new_ticket(session, vn(2025, 3, 3, 10))  # Monday 10:00
        tid = ticket.id
        status(session, ticket, "new", "triaged", vn(2025, 3, 3, 10, 30), actor="dieu.phoi")
        status(session, ticket, "triaged", "escalated", vn(2025, 3, 3, 14))
        # An auto-acknowledgement is not a response
        add_event(session, tid, "message_added", direction="outbound", auto_reply=True, at=vn(2025, 3, 3, 10, 1))
        add_event(session, tid, "first_response", "BHXH-HN", at=vn(2025, 3, 4, 9), by="unit")
        status(session, ticket, "escalated", "resolved", vn(2025, 3, 4, 10), actor="dieu.phoi")
        status(session, ticket, "resolved", "triaged", vn(2025, 3, 7, 16))  # the citizen wrote again on Friday
        status(session, ticket, "triaged", "resolved", vn(2025, 3, 10, 8), actor="dieu.phoi")
    with Session(sqlite_engine) as session:
        clock = session.get(TicketClock, tid)
        assert clock is not None
        # Mon 10:00 -> Tue 09:00: 23 h; business: Mon 10:00-11:30, 13:00-16:30 (300) + Tue 07:30-09:00 (90)
        assert (clock.first_response_minutes, clock.first_response_business_minutes) == (23 * 60, 390)
        # Mon 10:00 -> next Mon 08:00: 7 days less 2 h; business 300 + 4 x 450 + 30
        assert (clock.resolution_minutes, clock.resolution_business_minutes) == (7 * 24 * 60 - 120, 2130)
        assert clock.reopen_count == 1
        # Waiting on the center: Mon 10:00-14:00 (240 / 150) + Fri 16:00 -> Mon 08:00 (64 h = 3840 / 60)
        assert (clock.waiting_minutes, clock.waiting_business_minutes) == (240 + 3840, 210)
        assert clock.waiting_since is None
        assert (clock.first_action_by, clock.first_action_at) == ("dieu.phoi", vn(2025, 3, 3, 10, 30))


def test_reopened_ticket_has_no_resolution_until_resolved_again(sqlite_engine: Engine) -> None:
    with session_scope(sqlite_engine) as session:
        ticket = new_ticket(session, vn(2025, 3, 3, 10))
        tid = ticket.id
        status(session, ticket, "new", "resolved", vn(2025, 3, 3, 11))
        status(session, ticket, "resolved", "new", vn(2025, 3, 3, 13))
    with Session(sqlite_engine) as session:
        clock = session.get(TicketClock, tid)
        assert clock is not None and clock.resolved_at is None and clock.resolution_minutes is None
        assert clock.reopen_count == 1 and clock.waiting_since == vn(2025, 3, 3, 13)


def test_first_response_over_tet_and_over_a_make_up_saturday(sqlite_engine: Engine) -> None:
    with session_scope(sqlite_engine) as session:
        tet = new_ticket(session, vn(2025, 1, 24, 16))  # Friday before Tết 2025
        add_event(session, tet.id or 0, "first_response", "BHXH-HN", at=vn(2025, 2, 3, 8))
        saturday = new_ticket(session, vn(2025, 4, 25, 16))  # Friday before the make-up Saturday
        add_event(session, saturday.id or 0, "first_response", "BHXH-HN", at=vn(2025, 4, 28, 8))
        ids = tet.id, saturday.id
    with Session(sqlite_engine) as session:
        tet_clock, saturday_clock = (session.get(TicketClock, i) for i in ids)
        assert tet_clock is not None and saturday_clock is not None
        assert (tet_clock.first_response_minutes, tet_clock.first_response_business_minutes) == (10 * 24 * 60 - 8 * 60, 60)
        assert (saturday_clock.first_response_minutes, saturday_clock.first_response_business_minutes) == (64 * 60, 30 + 450 + 30)


def test_escalation_rerouted_twice(sqlite_engine: Engine) -> None:
    with session_scope(sqlite_engine) as session:
        ticket = new_ticket(session, vn(2025, 3, 3, 9))
        tid = ticket.id or 0
        escalation = new_escalation(session, ticket, "BHXH-HN", vn(2025, 3, 3, 10))
        eid = escalation.id
        add_event(session, tid, "escalation_rerouted", "dieu.phoi", escalation_id=eid, unit="BHXH-HP", previous_unit="BHXH-HN", at=vn(2025, 3, 3, 11))
        escalation.due_at = vn(2025, 3, 4, 13, 30)
        add_event(session, tid, "escalation_sent", escalation_id=eid, unit="BHXH-HP", at=vn(2025, 3, 3, 13, 30))
        add_event(session, tid, "escalation_rerouted", "dieu.phoi", escalation_id=eid, unit="BHXH-BN", previous_unit="BHXH-HP", at=vn(2025, 3, 4, 8))
        escalation.due_at = vn(2025, 3, 5, 9)
        add_event(session, tid, "escalation_sent", escalation_id=eid, unit="BHXH-BN", at=vn(2025, 3, 4, 9))
        add_event(session, tid, "escalation_acknowledged", "BHXH-BN", escalation_id=eid, at=vn(2025, 3, 5, 10))
        add_event(session, tid, "escalation_resolved", "dieu.phoi", escalation_id=eid, unit="BHXH-BN", at=vn(2025, 3, 6, 8))
    with Session(sqlite_engine) as session:
        clock = session.get(EscalationClock, eid)
        assert clock is not None
        assert (clock.unit_id, clock.reroute_count) == ("BHXH-BN", 2)
        # Review: the first decision (the first reroute), 10:00 -> 11:00
        assert (clock.decision, clock.decided_by, clock.review_minutes, clock.review_business_minutes) == ("rerouted", "dieu.phoi", 60, 60)
        # With the last unit: sent Tue 09:00, answered Wed 10:00 (an hour late)
        assert clock.sent_at == vn(2025, 3, 4, 9)
        assert (clock.acknowledge_minutes, clock.acknowledge_business_minutes, clock.acknowledge_sla_met) == (25 * 60, 150 + 210 + 150, False)
        # Resolved Thu 08:00: Tue 360 + Wed 450 + Thu 30
        assert (clock.resolve_minutes, clock.resolve_business_minutes, clock.resolve_sla_met) == (47 * 60, 840, False)


def test_real_lifecycle_functions_are_clocked(sqlite_engine: Engine) -> None:
    with session_scope(sqlite_engine) as session:
        ticket = new_ticket(session, vn(2025, 3, 3, 9))
        escalation = escalations.create_escalation(session, ticket, "BHXH-HN", rule=None, review_required=True, priority="normal", sla_hours=24, actor="system")
        eid = escalation.id or 0
    escalations.reroute(sqlite_engine, eid, "BHXH-HP", "dieu.phoi", "sai tỉnh")
    escalations.reroute(sqlite_engine, eid, "BHXH-BN", "dieu.phoi.2", "sai tỉnh lần nữa")
    with Session(sqlite_engine) as session:
        clock = session.get(EscalationClock, eid)
        row = session.get(escalations.Escalation, eid)
        assert clock is not None and row is not None
        assert (clock.unit_id, clock.reroute_count, clock.decided_by, clock.decision) == ("BHXH-BN", 2, "dieu.phoi", "rerouted")
        assert clock.proposed_at == row.created_at
        first_decision = [e for e in session.exec(select(TicketEvent).where(TicketEvent.kind == "escalation_rerouted").order_by(TicketEvent.id))][0]
        assert clock.decided_at is not None and abs((clock.decided_at - first_decision.at).total_seconds()) < 1
        assert clock.review_minutes == (clock.decided_at - clock.proposed_at).total_seconds() / 60
