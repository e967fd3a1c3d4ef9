"""A fixed data set for the report tests, written through the real store: raw items saved by
save_raw_items, messages and tickets as rows, every transition through add_event (so the clocks
are kept by the real hook). The expected figures are worked out by hand in the tests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.reports.timeline import new_ticket, status, vn
from tickets.db import session_scope
from tickets.escalation_models import Escalation
from tickets.models import Message, Ticket, TicketEvent
from tickets.store import RawInput, add_event, save_raw_items

NOW = vn(2025, 4, 1, 9)


def _message(session: Session, engine_raw: int, ticket: Ticket, at: datetime, direction: str = "inbound", **flags: bool) -> None:
    message = Message(
        ticket_id=ticket.id, raw_item_id=engine_raw, channel=ticket.channel, source=ticket.source, external_id=f"m-{ticket.id}-{at.isoformat()}-{direction}",
        direction=direction, subject=ticket.subject, clean_text="nội dung", full_text="nội dung", received_at=at, sent_at=at, **flags,
    )  # fmt: skip
    session.add(message)
    session.flush()
    add_event(session, ticket.id or 0, "message_added", message_id=message.id, direction=direction, auto_reply=message.is_auto_reply, bounce=message.is_bounce)


def _escalation(session: Session, ticket: Ticket, unit: str, proposed: datetime, decided: datetime, sent: datetime, due: datetime, answered: datetime | None) -> None:
    escalation = Escalation(ticket_id=ticket.id or 0, unit_id=unit, reply_token=f"tok-{ticket.id}-{unit}", created_at=proposed)
    session.add(escalation)
    session.flush()
    tid, eid = ticket.id or 0, escalation.id
    add_event(session, tid, "escalation_proposed", escalation_id=eid, unit=unit, at=proposed)
    add_event(session, tid, "escalation_approved", "dieu.phoi", escalation_id=eid, unit=unit, at=decided)
    escalation.due_at = due
    add_event(session, tid, "escalation_sent", escalation_id=eid, unit=unit, at=sent)
    if answered is not None:
        add_event(session, tid, "escalation_acknowledged", unit, escalation_id=eid, at=answered)


def build_dataset(engine: Engine) -> None:
    saved = save_raw_items(engine, [RawInput(source="hopthu", kind="email", external_id="fixed-1", content=b"Subject: x\r\n\r\nx")])
    raw = saved[0].raw_item_id
    with session_scope(engine) as session:
        # T1: Hanoi question, Mon 3 Mar 10:00; answered Tue 09:00 (390 business minutes), resolved Tue 10:00 (450)
        t1 = new_ticket(session, vn(2025, 3, 3, 10), province_code="01", category="question", insurance_types=["BHXH"])
        _message(session, raw, t1, vn(2025, 3, 3, 10))
        _message(session, raw, t1, vn(2025, 3, 3, 10, 1), "outbound", is_auto_reply=True)
        _message(session, raw, t1, vn(2025, 3, 3, 15))
        _message(session, raw, t1, vn(2025, 3, 4, 9), "outbound")
        _escalation(session, t1, "province-01", vn(2025, 3, 3, 10, 30), vn(2025, 3, 3, 11), vn(2025, 3, 3, 11), vn(2025, 3, 4, 11), vn(2025, 3, 3, 14))
        status(session, t1, "new", "resolved", vn(2025, 3, 4, 10), actor="dieu.phoi")
        # T2: HCMC complaint on the fanpage, Wed 5 Mar 08:00; a unit answered 16:00 (390); still open
        t2 = new_ticket(session, vn(2025, 3, 5, 8), channel="facebook_message", source="fanpage", province_code="79", category="complaint", insurance_types=["BHYT"])
        _message(session, raw, t2, vn(2025, 3, 5, 8))
        _message(session, raw, t2, vn(2025, 3, 5, 9), is_bounce=True)
        _escalation(session, t2, "province-79", vn(2025, 3, 5, 8, 30), vn(2025, 3, 5, 9, 30), vn(2025, 3, 5, 9, 30), vn(2025, 3, 6, 9, 30), vn(2025, 3, 6, 10))
        add_event(session, t2.id or 0, "first_response", "province-79", at=vn(2025, 3, 5, 16))
        status(session, t2, "new", "escalated", vn(2025, 3, 5, 9, 30))
        # T3: no province, Fri 7 Mar 16:00; answered Mon 08:00 (60); resolved 09:00, reopened 10:00, resolved 13:30 (300)
        t3 = new_ticket(session, vn(2025, 3, 7, 16), category="question", insurance_types=["BHXH", "BHYT"])
        _message(session, raw, t3, vn(2025, 3, 7, 16))
        _message(session, raw, t3, vn(2025, 3, 10, 8), "outbound")
        status(session, t3, "new", "resolved", vn(2025, 3, 10, 9), actor="dieu.phoi")
        add_event(session, t3.id or 0, "tags_corrected", "dieu.phoi", changes={"province_code": {"old": "01", "new": None}, "category": {"old": "complaint", "new": "question"}}, at=vn(2025, 3, 10, 9, 30))
        status(session, t3, "resolved", "triaged", vn(2025, 3, 10, 10))
        _message(session, raw, t3, vn(2025, 3, 10, 10))
        status(session, t3, "triaged", "resolved", vn(2025, 3, 10, 13, 30), actor="dieu.phoi.2")
        # An escalation of T3 never answered: overdue now
        _escalation(session, t3, "central-cntt", vn(2025, 3, 10, 8), vn(2025, 3, 10, 8), vn(2025, 3, 10, 9), vn(2025, 3, 11, 9), None)
        # T4: spam, Wed 12 Mar
        t4 = new_ticket(session, vn(2025, 3, 12, 10), status="spam")
        _message(session, raw, t4, vn(2025, 3, 12, 10))
        # T5: opened in February, a reply in March (counted as a March message, not a March ticket)
        t5 = new_ticket(session, vn(2025, 2, 28, 10), province_code="01", category="question")
        _message(session, raw, t5, vn(2025, 2, 28, 10))
        _message(session, raw, t5, vn(2025, 3, 3, 8))
        status(session, t5, "new", "resolved", vn(2025, 2, 28, 11))
    with session_scope(engine) as session:
        # The events were written now; in the story each happened at its `at`.
        for event in session.exec(select(TicketEvent)).all():
            if isinstance(event.data.get("at"), str):
                event.at = datetime.fromisoformat(event.data["at"])
                session.add(event)
