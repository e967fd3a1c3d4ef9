"""tickets/actions.py on tickets made by the real pipeline: each change is checked, recorded
with who did it, and keeps the ticket's search text and counts right."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from access.models import User
from access.search import search_tickets
from config.settings import Settings
from tests.escalation.conftest import citizen_email, ingest_email
from tests.webapp.server import HANOI_COMPLAINT, HCM_COMPLAINT
from tickets import actions
from tickets.action_models import TicketAssignment, TicketNote
from tickets.db import session_scope
from tickets.models import Message, Ticket, TicketEvent
from tickets.pipeline import classify_ticket
from tiepnhan import runtime

COORDINATOR = User(name="dieuphoi", role="coordinator")


def events(ticket_id: int) -> list[TicketEvent]:
    with session_scope(runtime.engine()) as session:
        return list(session.execute(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)).scalars())  # type: ignore[arg-type]


def ticket(ticket_id: int) -> Ticket:
    with session_scope(runtime.engine()) as session:
        found = session.get(Ticket, ticket_id)
        assert found is not None
        return found


def found_by(q: str) -> list[int]:
    with session_scope(runtime.engine()) as session:
        return [t.id for t in search_tickets(session, COORDINATOR, q).tickets if t.id is not None]


def test_tag_correction_is_checked_locked_and_recorded(web_settings: Callable[..., Settings]) -> None:
    web_settings()
    hcm = ingest_email(citizen_email(*HCM_COMPLAINT, message_id="t-1@dan.localhost"))
    assert hcm is not None and ticket(hcm).province_code == "79"
    engine = runtime.engine()
    with pytest.raises(actions.ActionError, match="BHXX"):
        actions.correct_tags(engine, hcm, "dieuphoi", actions.TagCorrection(insurance_types=["BHXX"]))
    with pytest.raises(actions.ActionError, match="'99'"):
        actions.correct_tags(engine, hcm, "dieuphoi", actions.TagCorrection(province_code="99"))
    actions.correct_tags(engine, hcm, "dieuphoi", actions.TagCorrection(province_code="75", category="question"))
    corrected = ticket(hcm)
    assert (corrected.province_code, corrected.category, corrected.tags_locked) == ("75", "question", True)
    event = [e for e in events(hcm) if e.kind == "tags_corrected"][-1]
    assert event.actor == "dieuphoi" and event.data["changes"]["province_code"] == {"old": "79", "new": "75"}
    assert found_by("dong nai") == [hcm]  # the corrected province's name is searchable at once
    assert classify_ticket(engine, hcm) is False  # the classifiers leave locked tags alone
    assert ticket(hcm).province_code == "75"


def test_merge_split_resolve_reopen_note_assign(web_settings: Callable[..., Settings]) -> None:
    web_settings()
    engine = runtime.engine()
    first = ingest_email(citizen_email(*HANOI_COMPLAINT, message_id="m-1@dan.localhost", sender="Lê Thị Bình <binh@dan.localhost>"))
    second = ingest_email(citizen_email("Bổ sung hồ sơ lương hưu", "Tôi gửi thêm quyết định nghỉ hưu, ở Kim Liên.", message_id="m-2@dan.localhost", sender="Lê Thị Bình <binh@dan.localhost>"))
    assert first is not None and second is not None and first != second
    with pytest.raises(actions.ActionError):
        actions.merge_tickets(engine, first, first, "dieuphoi")
    actions.merge_tickets(engine, second, first, "dieuphoi")
    assert ticket(first).message_count == 2 and ticket(second).status == "closed"
    assert found_by("kim lien") == [first]
    assert {("merged_from", "dieuphoi")} <= {(e.kind, e.actor) for e in events(first)}
    with pytest.raises(actions.ActionError, match="mở phiếu đó"):
        actions.reopen(engine, second, "dieuphoi")
    with session_scope(engine) as session:
        moved = session.execute(select(Message).where(Message.external_id.like("%m-2@%"))).scalar_one()  # type: ignore[attr-defined]
    split = actions.split_message(engine, moved.id or 0, "dieuphoi")
    assert split.id not in (first, second) and ticket(first).message_count == 1 and split.message_count == 1
    assert found_by("kim lien") == [split.id]
    with pytest.raises(actions.ActionError, match="chỉ có một tin nhắn"):
        actions.split_message(engine, moved.id or 0, "dieuphoi")
    # A reply to the split message follows it to its new ticket.
    reply = citizen_email("Re: Bổ sung hồ sơ lương hưu", "Thêm giấy tờ nữa.", message_id="m-3@dan.localhost", in_reply_to="<m-2@dan.localhost>", sender="Lê Thị Bình <binh@dan.localhost>")
    assert ingest_email(reply) == split.id

    with pytest.raises(actions.ActionError, match="không cần mở lại"):
        actions.reopen(engine, first, "dieuphoi")
    actions.resolve(engine, first, "dieuphoi", "đã chi trả")
    assert ticket(first).status == "resolved"
    actions.reopen(engine, first, "dieuphoi", "công dân báo chưa nhận")
    assert ticket(first).status in ("triaged", "new") and ticket(first).resolved_at is None

    with pytest.raises(actions.ActionError, match="trống"):
        actions.add_note(engine, first, "dieuphoi", "   ")
    actions.add_note(engine, first, "dieuphoi", "Đã gọi điện cho công dân.")
    with pytest.raises(actions.ActionError, match="ai-do"):
        actions.assign(engine, first, "ai-do", "dieuphoi", known_users={"tuvan"})
    actions.assign(engine, first, "tuvan", "dieuphoi", known_users={"tuvan"})
    actions.assign(engine, first, None, "dieuphoi", known_users={"tuvan"})
    with session_scope(engine) as session:
        assert [n.text for n in session.execute(select(TicketNote).where(TicketNote.ticket_id == first)).scalars()] == ["Đã gọi điện cho công dân."]  # type: ignore[arg-type]
        assert session.get(TicketAssignment, first) is None
    kinds = [(e.kind, e.actor, e.data.get("assignee")) for e in events(first) if e.kind in ("assigned", "note_added", "reopened")]
    assert kinds == [("reopened", "dieuphoi", None), ("note_added", "dieuphoi", None), ("assigned", "dieuphoi", "tuvan"), ("assigned", "dieuphoi", None)]


def test_an_office_acknowledges_resolves_or_hands_back(web_settings: Callable[..., Settings]) -> None:
    from access.scope import visible_ticket
    from tests.webapp.server import deliver, escalation_of

    web_settings()
    engine = runtime.engine()
    first = ingest_email(citizen_email(*HCM_COMPLAINT, message_id="o-1@dan.localhost"))
    second = ingest_email(citizen_email("Khiếu nại nợ đóng BHXH", "Công ty ở Thủ Đức, Thành phố Hồ Chí Minh nợ đóng BHXH của tôi hai năm. Đề nghị xử lý.", message_id="o-2@dan.localhost"))
    assert first is not None and second is not None
    one, two = escalation_of(first), escalation_of(second)
    assert one.id is not None and two.id is not None and two.unit_id == "province-79"
    with pytest.raises(actions.ActionError, match="proposed"):
        actions.office_acknowledge(engine, one.id, "vp79")  # not sent to the unit yet
    deliver(one.id)
    deliver(two.id)
    assert actions.office_acknowledge(engine, one.id, "vp79").status == "acknowledged"
    assert actions.office_resolve(engine, one.id, "vp79", "đã cấp thẻ").status == "resolved"
    with pytest.raises(actions.ActionError, match="resolved"):
        actions.office_not_ours(engine, one.id, "vp79", "nhầm")
    with pytest.raises(actions.ActionError, match="lý do"):
        actions.office_not_ours(engine, two.id, "vp79", "  ")
    back = actions.office_not_ours(engine, two.id, "vp79", "doanh nghiệp đóng BHXH tại Đồng Nai")
    assert back.status == "proposed" and "Đồng Nai" in (back.reason or "")
    office = User(name="vp79", role="office", unit_id="province-79")
    with session_scope(engine) as session:
        assert visible_ticket(session, office, second) is None  # back with the coordinators
        assert visible_ticket(session, office, first) is not None  # its resolved part stays visible
    kinds = [(e.kind, e.actor) for e in events(first) + events(second) if e.actor == "vp79"]
    assert kinds == [("escalation_acknowledged", "vp79"), ("escalation_resolved", "vp79"), ("office_not_ours", "vp79")]
