"""What staff do to a ticket besides escalating it: correct a tag, merge two tickets, split a
message off, resolve, reopen, add an internal note, assign to a colleague.

Each function is one transaction under the ticket lock (tickets/escalations.py::lock_ticket),
checks what it is asked, changes the rows and logs a TicketEvent naming who acted. A request
that cannot be done raises ActionError with a Vietnamese explanation. The pages and the JSON
API both call these; who may call which is decided above (access/roles.py).
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tickets.action_models import TicketAssignment, TicketNote
from tickets.answer_models import Answer
from tickets.db import session_scope
from tickets.escalation_models import AWAITING_REPLY, Escalation, EscalationStatus
from tickets.escalations import TransitionError, lock_ticket, resolve_ticket
from tickets.models import Message, ThreadKey, Ticket, TicketStatus, ticket_reference, utcnow
from tickets.places import province_codes
from tickets.search import refresh_search_text
from tickets.store import add_event, count_messages, set_status

INSURANCE_TYPES = ("BHXH", "BHYT", "BHTN")
CATEGORIES = ("complaint", "question", "other")
MAX_NOTE_CHARS = 10_000
CLOSED_STATUSES = (TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value)


class ActionError(TransitionError):
    """A request on a ticket that cannot be done; the message says why, in Vietnamese."""


def _ticket(session: Session, ticket_id: int) -> Ticket:
    ticket = lock_ticket(session, ticket_id)
    if ticket is None:
        raise ActionError(f"không có phiếu {ticket_reference(ticket_id)}")
    return ticket


@dataclass(frozen=True)
class TagCorrection:
    """The tags a coordinator sets; None leaves a tag as it is."""

    insurance_types: Sequence[str] | None = None
    province_code: str | None = None
    clear_province: bool = False
    category: str | None = None
    topics: Sequence[str] | None = None

    def problems(self) -> list[str]:
        found = []
        if self.insurance_types is not None and (bad := [t for t in self.insurance_types if t not in INSURANCE_TYPES]):
            found.append(f"loại bảo hiểm không hợp lệ: {', '.join(bad)} (chọn trong {', '.join(INSURANCE_TYPES)})")
        if self.province_code is not None and self.province_code not in province_codes():
            found.append(f"mã tỉnh không có trên bản đồ 34 tỉnh: {self.province_code!r}")
        if self.category is not None and self.category not in CATEGORIES:
            found.append(f"loại phiếu không hợp lệ: {self.category!r} (chọn trong {', '.join(CATEGORIES)})")
        return found


def correct_tags(engine: Engine, ticket_id: int, actor: str, correction: TagCorrection) -> Ticket:
    """Set tags by hand; they are locked against re-tagging, and old → new is recorded."""
    if problems := correction.problems():
        raise ActionError("; ".join(problems))
    with session_scope(engine) as session:
        ticket = _ticket(session, ticket_id)
        old = {"insurance_types": list(ticket.insurance_types), "province_code": ticket.province_code, "category": ticket.category, "topics": list(ticket.topics)}
        new = dict(old)
        if correction.insurance_types is not None:
            new["insurance_types"] = sorted(set(correction.insurance_types), key=INSURANCE_TYPES.index)
        if correction.province_code is not None or correction.clear_province:
            new["province_code"] = None if correction.clear_province else correction.province_code
        if correction.category is not None:
            new["category"] = correction.category
        if correction.topics is not None:
            new["topics"] = [t.strip() for t in correction.topics if t.strip()]
        changed = {k: {"old": old[k], "new": new[k]} for k in old if old[k] != new[k]}
        ticket.insurance_types, ticket.province_code = new["insurance_types"], new["province_code"]  # type: ignore[assignment]
        ticket.category, ticket.topics = new["category"], new["topics"]  # type: ignore[assignment]
        ticket.tags_locked, ticket.updated_at = True, utcnow()
        session.add(ticket)
        add_event(session, ticket_id, "tags_corrected", actor, changes=changed, locked=True)
        if "province_code" in changed:
            refresh_search_text(session, ticket_id)
        return ticket


def merge_tickets(engine: Engine, source_id: int, target_id: int, actor: str) -> Ticket:
    """Two tickets of one citizen become one: the source's messages, thread keys, escalations and
    notes move to the target; the source is closed, pointing at the target."""
    if source_id == target_id:
        raise ActionError("không thể gộp một phiếu với chính nó")
    with session_scope(engine) as session:
        # Lock in id order, so two merges of the same pair cannot deadlock.
        first, second = sorted((source_id, target_id))
        locked = {first: _ticket(session, first), second: _ticket(session, second)}
        source, target = locked[source_id], locked[target_id]
        if source.message_count == 0 and count_messages(session, source_id) == 0:
            raise ActionError(f"phiếu {ticket_reference(source_id)} không còn tin nhắn nào (đã được gộp?)")
        for model in (Message, ThreadKey, Escalation, TicketNote, Answer):  # answers follow their ticket (issue 14)
            session.execute(update(model).where(model.ticket_id == source_id).values(ticket_id=target_id))  # type: ignore[attr-defined, arg-type]
        assignment = session.get(TicketAssignment, source_id)
        if assignment is not None:
            if session.get(TicketAssignment, target_id) is None:
                session.add(TicketAssignment(ticket_id=target_id, assignee=assignment.assignee, assigned_by=actor))
            session.delete(assignment)
        session.flush()
        target.message_count = count_messages(session, target_id)
        source.message_count = 0
        target.created_at = min(target.created_at, source.created_at)
        target.updated_at = utcnow()
        session.add_all([source, target])
        set_status(session, source, TicketStatus.CLOSED, actor, f"gộp vào {ticket_reference(target_id)}")
        add_event(session, source_id, "merged_into", actor, target=target_id)
        add_event(session, target_id, "merged_from", actor, source=source_id)
        refresh_search_text(session, target_id)
        refresh_search_text(session, source_id)
        return target


def split_message(engine: Engine, message_id: int, actor: str) -> Ticket:
    """A message that is really another matter becomes a ticket of its own."""
    with session_scope(engine) as session:
        message = session.get(Message, message_id)
        if message is None or message.ticket_id is None:
            raise ActionError(f"không có tin nhắn số {message_id} trong một phiếu")
        old_id = message.ticket_id
        old = _ticket(session, old_id)
        if old.message_count <= 1 or count_messages(session, old_id) <= 1:
            raise ActionError(f"phiếu {ticket_reference(old_id)} chỉ có một tin nhắn: không có gì để tách")
        new = Ticket(
            channel=message.channel, source=message.source, subject=message.subject, sender_address=message.sender_address,
            sender_name=message.sender_name, status=TicketStatus.NEW.value, created_at=message.received_at,
        )
        session.add(new)
        session.flush()
        assert new.id is not None
        message.ticket_id = new.id
        session.add(message)
        if message.own_key:
            # Later replies to this message follow it to its new ticket.
            session.execute(update(ThreadKey).where(ThreadKey.key == message.own_key).values(ticket_id=new.id))  # type: ignore[arg-type]
        session.flush()
        new.message_count, old.message_count = count_messages(session, new.id), count_messages(session, old_id)
        old.updated_at = utcnow()
        session.add_all([new, old])
        add_event(session, new.id, "created", actor, split_from=old_id, message_id=message_id)
        add_event(session, old_id, "message_split", actor, message_id=message_id, new_ticket=new.id)
        refresh_search_text(session, new.id)
        refresh_search_text(session, old_id)
        return new


def resolve(engine: Engine, ticket_id: int, actor: str, reason: str | None = None) -> list[int]:
    """Resolve a ticket and its open escalations (the escalation lifecycle's own function)."""
    return resolve_ticket(engine, ticket_id, actor, reason)


def reopen(engine: Engine, ticket_id: int, actor: str, reason: str | None = None) -> Ticket:
    with session_scope(engine) as session:
        ticket = _ticket(session, ticket_id)
        if ticket.status not in CLOSED_STATUSES:
            raise ActionError(f"phiếu {ticket_reference(ticket_id)} chưa được giải quyết hay đóng: không cần mở lại")
        merged = session.execute(
            select(Message.id).where(Message.ticket_id == ticket_id).limit(1)  # type: ignore[arg-type]
        ).first()
        if merged is None:
            raise ActionError(f"phiếu {ticket_reference(ticket_id)} đã được gộp vào phiếu khác: mở phiếu đó")
        set_status(session, ticket, TicketStatus.TRIAGED if ticket.tagged_at else TicketStatus.NEW, actor, reason)
        ticket.resolved_at = None
        session.add(ticket)
        add_event(session, ticket_id, "reopened", actor, reason=reason)
        return ticket


def add_note(engine: Engine, ticket_id: int, author: str, text: str) -> TicketNote:
    """An internal note, for staff only."""
    body = text.strip()
    if not body:
        raise ActionError("ghi chú trống")
    if len(body) > MAX_NOTE_CHARS:
        raise ActionError(f"ghi chú dài quá {MAX_NOTE_CHARS} ký tự")
    with session_scope(engine) as session:
        _ticket(session, ticket_id)
        note = TicketNote(ticket_id=ticket_id, author=author, text=body)
        session.add(note)
        session.flush()
        add_event(session, ticket_id, "note_added", author, note_id=note.id)
        return note


def assign(engine: Engine, ticket_id: int, assignee: str | None, actor: str, *, known_users: Container[str]) -> str | None:
    """Assign the ticket to a colleague (a user name), or unassign it with None."""
    if assignee is not None and assignee not in known_users:
        raise ActionError(f"không có người dùng {assignee!r} để giao phiếu")
    with session_scope(engine) as session:
        _ticket(session, ticket_id)
        current = session.get(TicketAssignment, ticket_id)
        previous = current.assignee if current else None
        if previous == assignee:
            return assignee
        if current is not None:
            session.delete(current)
            session.flush()
        if assignee is not None:
            session.add(TicketAssignment(ticket_id=ticket_id, assignee=assignee, assigned_by=actor))
        add_event(session, ticket_id, "assigned", actor, previous=previous, assignee=assignee)
        return assignee


# ---------------------------------------------------------------- an office's part

OFFICE_OPEN = (*AWAITING_REPLY, EscalationStatus.ACKNOWLEDGED.value)


def _office_escalation(session: Session, escalation_id: int, allowed: tuple[str, ...], verb: str) -> Escalation:
    escalation = session.get(Escalation, escalation_id)
    if escalation is None:
        raise ActionError(f"không có đề xuất chuyển xử lý số {escalation_id}")
    lock_ticket(session, escalation.ticket_id)
    session.refresh(escalation)
    if escalation.status not in allowed:
        raise ActionError(f"không thể {verb} đề xuất số {escalation_id}: đang ở trạng thái {escalation.status}")
    return escalation


def office_acknowledge(engine: Engine, escalation_id: int, actor: str) -> Escalation:
    """The unit says it has the matter in hand (without answering yet)."""
    with session_scope(engine) as session:
        escalation = _office_escalation(session, escalation_id, AWAITING_REPLY, "xác nhận đã nhận")
        escalation.status, escalation.acknowledged_at = EscalationStatus.ACKNOWLEDGED.value, utcnow()
        session.add(escalation)
        add_event(session, escalation.ticket_id, "escalation_acknowledged", actor, escalation_id=escalation.id, unit=escalation.unit_id, by_web=True)
        return escalation


def office_not_ours(engine: Engine, escalation_id: int, actor: str, reason: str) -> Escalation:
    """The unit says the matter is not its own: the escalation goes back to the coordinators'
    review queue (proposed) with the unit's reason, to be re-routed or rejected there. Until
    then the unit no longer sees the ticket."""
    if not reason.strip():
        raise ActionError("cần nêu lý do không thuộc thẩm quyền của đơn vị")
    with session_scope(engine) as session:
        escalation = _office_escalation(session, escalation_id, OFFICE_OPEN, "trả lại")
        escalation.status, escalation.review_required = EscalationStatus.PROPOSED.value, True
        escalation.reason = f"{escalation.unit_id} báo không thuộc thẩm quyền: {reason.strip()}"[:2000]
        escalation.decided_at = escalation.decided_by = None
        session.add(escalation)
        add_event(session, escalation.ticket_id, "office_not_ours", actor, escalation_id=escalation.id, unit=escalation.unit_id, reason=reason.strip())
        return escalation


def office_resolve(engine: Engine, escalation_id: int, actor: str, note: str | None = None) -> Escalation:
    """The unit has done its part; the ticket itself is closed by a coordinator."""
    with session_scope(engine) as session:
        escalation = _office_escalation(session, escalation_id, OFFICE_OPEN, "đánh dấu đã giải quyết")
        escalation.status, escalation.resolved_at = EscalationStatus.RESOLVED.value, utcnow()
        session.add(escalation)
        add_event(session, escalation.ticket_id, "escalation_resolved", actor, escalation_id=escalation.id, unit=escalation.unit_id, reason=note)
        return escalation
