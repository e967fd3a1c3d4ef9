"""The rows each page shows, read through the one scope function (`access.scope`) and nothing
else: a query here never touches a ticket or an escalation without `ticket_scope(user)` or
`escalation_scope(user)` in its WHERE clause."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import String, and_, bindparam, case, cast, exists, false, func, select
from sqlmodel import Session

from access.models import User
from access.scope import escalation_scope, ticket_scope
from config.units import UnitDirectory
from tickets.escalation_models import AWAITING_REPLY, OPEN, Escalation, EscalationStatus
from tickets.labels import TIMEZONE
from tickets.models import Attachment, Message, Ticket, TicketEvent, ticket_reference
from tickets.pipeline import request_messages
from tickets.search import TicketFilters as SearchFilters
from tickets.search import search_in_scope
from web import pages_view as view

PRIORITY_ORDER = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
EXCERPT_CHARS = 400


@dataclass(frozen=True)
class TicketFilters:
    q: str = ""
    status: str = ""
    channel: str = ""
    province: str = ""
    insurance: str = ""
    category: str = ""
    unit: str = ""
    assignee: str = ""
    sla: str = ""  # "late" | "ok" | ""
    date_from: str = ""  # yyyy-mm-dd, local dates
    date_to: str = ""
    drill: str = ""  # a reports page figure (web/pages_reports.py::drill_token)
    ids: frozenset[int] | None = None  # the tickets that figure counts, resolved by the page

    def as_query(self) -> dict[str, str]:
        return {
            "q": self.q, "status": self.status, "channel": self.channel, "province": self.province,
            "insurance": self.insurance, "category": self.category, "unit": self.unit,
            "assignee": self.assignee, "sla": self.sla, "from": self.date_from, "to": self.date_to,
            "drill": self.drill,
        }


@dataclass
class Listing:
    rows: list[dict[str, Any]]
    total: int
    errors: list[str] = field(default_factory=list)


def unit_name(directory: UnitDirectory, unit_id: str) -> str:
    unit = directory.get(unit_id)
    return unit.name if unit else unit_id


def _local_day_start(day: str) -> datetime | None:
    from zoneinfo import ZoneInfo

    try:
        parsed = datetime.strptime(day, "%Y-%m-%d").date()
    except ValueError:
        return None
    return datetime.combine(parsed, time.min, tzinfo=ZoneInfo(TIMEZONE))


def _late(now: datetime) -> Any:
    return and_(Escalation.status.in_(AWAITING_REPLY), Escalation.due_at <= now)  # type: ignore[attr-defined,operator]


def ticket_conditions(user: User, filters: TicketFilters, now: datetime) -> tuple[list[Any], list[str]]:
    """The WHERE clause of the ticket list (scope first) and the filters it could not read."""
    conditions: list[Any] = [ticket_scope(user)]
    errors: list[str] = []
    if filters.ids is not None:  # integers only, rendered inline: no limit on bound parameters
        conditions.append(Ticket.id.in_(bindparam("drill_ids", sorted(filters.ids), literal_execute=True)) if filters.ids else false())  # type: ignore[union-attr]
    if filters.status:
        conditions.append(Ticket.status == filters.status)
    if filters.channel:
        conditions.append(Ticket.channel == filters.channel)
    if filters.province:
        conditions.append(Ticket.province_code == filters.province)
    if filters.category:
        conditions.append(Ticket.category == filters.category)
    if filters.insurance:
        # insurance_types is a JSON list of fixed codes: its text holds "BHYT" with the quotes
        conditions.append(cast(Ticket.insurance_types, String).like(f'%"{filters.insurance}"%'))
    visible = escalation_scope(user)
    if filters.unit:
        conditions.append(exists().where(Escalation.ticket_id == Ticket.id, Escalation.unit_id == filters.unit, visible))
    if filters.sla == "late":
        conditions.append(exists().where(Escalation.ticket_id == Ticket.id, _late(now), visible))
    elif filters.sla == "ok":
        conditions.append(~exists().where(Escalation.ticket_id == Ticket.id, _late(now), visible))
    for value, label, compare in ((filters.date_from, "Từ ngày", "from"), (filters.date_to, "Đến ngày", "to")):
        if not value:
            continue
        start = _local_day_start(value)
        if start is None:
            errors.append(f"{label} “{value}” không phải ngày hợp lệ (năm-tháng-ngày); bộ lọc này bị bỏ qua.")
        elif compare == "from":
            conditions.append(Ticket.created_at >= start)
        else:
            conditions.append(Ticket.created_at < start + timedelta(days=1))
    return conditions, errors


def ticket_row(ticket: Ticket) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "reference": ticket_reference(ticket.id or 0),
        "subject": ticket.subject or "(không có tiêu đề)",
        "sender": ticket.sender_name or ticket.sender_address or "",
        "chips": view.tag_chips(ticket.insurance_types, ticket.province_code, ticket.category, ticket.topics, ticket.tag_confidence, ticket.tags_locked),
        "status": ticket.status,
        "status_label": view.ticket_status_label(ticket.status),
        "channel_label": view.channel_label(ticket.channel),
        "updated_text": view.format_time(ticket.updated_at),
    }


def list_tickets(session: Session, user: User, filters: TicketFilters, conditions: list[Any], offset: int, limit: int) -> Listing:
    total = session.execute(select(func.count()).select_from(Ticket).where(*conditions)).scalar_one()
    query = select(Ticket).where(*conditions).order_by(Ticket.updated_at.desc(), Ticket.id.desc()).offset(offset).limit(limit)  # type: ignore[attr-defined,union-attr]
    return Listing([ticket_row(t) for t in session.execute(query).scalars()], total)


def _request_texts(session: Session, ticket_id: int) -> list[tuple[int, str]]:
    query = select(Message.id, Message.clean_text).where(*request_messages(ticket_id)).order_by(Message.id)  # type: ignore[arg-type]
    return [(row[0], row[1]) for row in session.execute(query)]


def escalation_item(session: Session, escalation: Escalation, ticket: Ticket, directory: UnitDirectory, now: datetime, can_approve: bool) -> dict[str, Any]:
    texts = _request_texts(session, ticket.id or 0)
    first = texts[0][1] if texts else ""
    segments = view.body_segments([first], ticket.tag_evidence)[0] if first else []
    excerpt, cut = _cut(segments, EXCERPT_CHARS)
    age = now - escalation.created_at
    return {
        "id": escalation.id,
        "ticket_id": ticket.id,
        "reference": ticket_reference(ticket.id or 0),
        "subject": ticket.subject,
        "subject_segments": view.subject_segments(ticket.subject or "(không có tiêu đề)", ticket.tag_evidence),
        "status": escalation.status,
        "status_label": view.escalation_status_label(escalation.status),
        "unit_id": escalation.unit_id,
        "unit_name": unit_name(directory, escalation.unit_id),
        "priority": escalation.priority,
        "priority_label": view.priority_label(escalation.priority),
        "created_iso": escalation.created_at.isoformat(),
        "created_text": view.format_time(escalation.created_at),
        "age_text": age_text(age),
        "due_text": view.format_time(escalation.due_at),
        "sla": view.sla_state(escalation.due_at, escalation.status, now),
        "channel_label": view.channel_label(ticket.channel),
        "sender": ticket.sender_name or ticket.sender_address or "",
        "chips": view.tag_chips(ticket.insurance_types, ticket.province_code, ticket.category, ticket.topics, ticket.tag_confidence, ticket.tags_locked),
        "excerpt_segments": excerpt,
        "excerpt_cut": cut,
        "evidence": view.evidence_sentences(ticket.tag_evidence),
        "can_approve": can_approve and escalation.status == EscalationStatus.PROPOSED.value,
    }


def _cut(segments: list[view.Segment], limit: int) -> tuple[list[view.Segment], bool]:
    kept, used = [], 0
    for segment in segments:
        if used + len(segment.text) > limit:
            kept.append(view.Segment(segment.text[: max(0, limit - used)], segment.tag, segment.label))
            return kept, True
        kept.append(segment)
        used += len(segment.text)
    return kept, False


def age_text(age: timedelta) -> str:
    minutes = int(age.total_seconds() // 60)
    if minutes < 60:
        return f"{max(0, minutes)} phút"
    if minutes < 48 * 60:
        return f"{minutes // 60} giờ"
    return f"{minutes // (24 * 60)} ngày"


def queue_conditions(user: User) -> tuple[list[Any], Any]:
    """Coordinators: proposals waiting for review, highest priority then oldest first.
    Offices: what was sent to them and is still open, the earliest due first."""
    priority = case(PRIORITY_ORDER, value=Escalation.priority, else_=9)
    if user.role == "office":
        return [escalation_scope(user), Escalation.status.in_(OPEN)], (Escalation.due_at.asc(), Escalation.id.asc())  # type: ignore[attr-defined,union-attr]
    return [escalation_scope(user), Escalation.status == EscalationStatus.PROPOSED.value], (priority, Escalation.created_at.asc(), Escalation.id.asc())  # type: ignore[attr-defined]


def work_queue(session: Session, user: User, directory: UnitDirectory, now: datetime, offset: int, limit: int, can_approve: bool) -> Listing:
    conditions, order = queue_conditions(user)
    total = session.execute(select(func.count()).select_from(Escalation).where(*conditions)).scalar_one()
    query = (
        select(Escalation, Ticket)
        .join(Ticket, Ticket.id == Escalation.ticket_id)  # type: ignore[arg-type]
        .where(*conditions, ticket_scope(user))
        .order_by(*order)
        .offset(offset)
        .limit(limit)
    )
    rows = [escalation_item(session, e, t, directory, now, can_approve) for e, t in session.execute(query)]
    return Listing(rows, total)


def list_escalations(session: Session, user: User, directory: UnitDirectory, now: datetime, status: str, unit: str, offset: int, limit: int) -> Listing:
    conditions: list[Any] = [escalation_scope(user), ticket_scope(user)]
    if status:
        conditions.append(Escalation.status == status)
    if unit:
        conditions.append(Escalation.unit_id == unit)
    base = select(Escalation, Ticket).join(Ticket, Ticket.id == Escalation.ticket_id).where(*conditions)  # type: ignore[arg-type]
    total = session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    rows = []
    for e, t in session.execute(base.order_by(Escalation.created_at.desc(), Escalation.id.desc()).offset(offset).limit(limit)):  # type: ignore[attr-defined,union-attr]
        rows.append({
            "ticket_id": t.id, "reference": ticket_reference(t.id or 0), "subject": t.subject,
            "unit_name": unit_name(directory, e.unit_id), "status": e.status,
            "status_label": view.escalation_status_label(e.status), "created_text": view.format_time(e.created_at),
            "due_text": view.format_time(e.due_at), "sla": view.sla_state(e.due_at, e.status, now),
        })
    return Listing(rows, total)


def ticket_detail(session: Session, user: User, ticket: Ticket, directory: UnitDirectory, now: datetime) -> dict[str, Any]:
    """Everything the ticket page shows; the caller already found the ticket through the scope."""
    ticket_id = ticket.id or 0
    messages = list(session.execute(select(Message).where(Message.ticket_id == ticket_id).order_by(Message.id)).scalars())  # type: ignore[arg-type]
    request_ids = [mid for mid, _ in _request_texts(session, ticket_id)]
    request_segments = dict(zip(request_ids, view.body_segments([m.clean_text for m in messages if m.id in request_ids], ticket.tag_evidence), strict=True))
    attachments: dict[int, list[Attachment]] = {}
    if messages:
        for a in session.execute(select(Attachment).where(Attachment.message_id.in_([m.id for m in messages])).order_by(Attachment.id)).scalars():  # type: ignore[attr-defined]
            attachments.setdefault(a.message_id, []).append(a)
    escalations = list(session.execute(select(Escalation).where(Escalation.ticket_id == ticket_id, escalation_scope(user)).order_by(Escalation.id)).scalars())  # type: ignore[arg-type]
    events = list(session.execute(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)).scalars())  # type: ignore[arg-type]
    reply_tokens = {e.reply_token for e in escalations}
    from tickets.action_models import TicketAssignment, TicketNote

    assignment = session.get(TicketAssignment, ticket_id)
    notes = list(session.execute(select(TicketNote).where(TicketNote.ticket_id == ticket_id).order_by(TicketNote.id)).scalars())  # type: ignore[arg-type]
    names = directory.name_of
    return {
        "assignee": assignment.assignee if assignment else "",
        "assignee_name": assignment.assignee if assignment else "",
        "notes": [{"author": n.author, "time_text": view.format_time(n.created_at), "text": n.text} for n in notes],
        "id": ticket_id,
        "reference": ticket_reference(ticket_id),
        "subject_segments": view.subject_segments(ticket.subject or "(không có tiêu đề)", ticket.tag_evidence),
        "status": ticket.status,
        "status_label": view.ticket_status_label(ticket.status),
        "chips": view.tag_chips(ticket.insurance_types, ticket.province_code, ticket.category, ticket.topics, ticket.tag_confidence, ticket.tags_locked),
        "insurance_types": ticket.insurance_types,
        "province_code": ticket.province_code,
        "category": ticket.category,
        "channel_label": view.channel_label(ticket.channel),
        "source": ticket.source,
        "sender": ticket.sender_name or ticket.sender_address or "",
        "created_text": view.format_time(ticket.created_at),
        "updated_text": view.format_time(ticket.updated_at),
        "evidence": view.evidence_sentences(ticket.tag_evidence),
        "messages": [_message_view(m, request_segments.get(m.id or 0), attachments.get(m.id or 0, []), reply_tokens) for m in messages],
        "split_choices": [(str(m.id), f"#{m.id} — {view.format_time(m.sent_at or m.received_at)} — {(m.clean_text or '')[:60]}") for m in messages[1:]],
        "escalations": [_escalation_view(e, directory, now) for e in escalations],
        "events": [
            {"time_iso": ev.at.isoformat(), "time_text": view.format_time(ev.at), "actor": view.actor_label(ev.actor, names), "text": view.event_sentence(ev.kind, ev.data, names)}
            for ev in events
        ],
        "suggested_unit": f"province-{ticket.province_code}" if ticket.province_code else "",
    }


def _message_view(message: Message, segments: list[view.Segment] | None, attachments: list[Attachment], reply_tokens: set[str]) -> dict[str, Any]:
    from_unit = message.reply_token is not None and message.reply_token in reply_tokens
    kind = "unit-answer" if from_unit else ("outbound" if message.direction == "outbound" else "inbound")
    direction = "Đơn vị trả lời" if from_unit else ("Trung tâm gửi" if message.direction == "outbound" else "Người dân gửi")
    when = message.sent_at or message.received_at
    return {
        "id": message.id,
        "kind": kind,
        "direction_label": direction,
        "sender": message.sender_name or message.sender_address or "(không rõ người gửi)",
        "subject": message.subject,
        # an HTML mail's clean_text is already its text (ingest/email renders HTML to text)
        "segments": segments if segments is not None else [view.Segment(message.clean_text or message.full_text or "")],
        "time_iso": when.isoformat() if when else "",
        "time_text": view.format_time(when),
        "attachments": [
            {
                "filename": a.filename,
                "href": f"/attachments/{a.id}" if a.skipped_reason is None and a.url is None else a.url if a.url and a.url.startswith("https://") else None,
                "size_text": _size(a.size),
                "note": "không lưu: " + a.skipped_reason if a.skipped_reason else "",
            }
            for a in attachments
        ],
    }


def _size(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{max(1, size // 1024)} KB"


def _escalation_view(e: Escalation, directory: UnitDirectory, now: datetime) -> dict[str, Any]:
    return {
        "id": e.id, "unit_id": e.unit_id, "unit_name": unit_name(directory, e.unit_id), "status": e.status,
        "status_label": view.escalation_status_label(e.status),
        "created_text": view.format_time(e.created_at), "created_by": view.actor_label(e.created_by),
        "decided_text": view.format_time(e.decided_at), "decided_by": e.decided_by or "",
        "reason": e.reason or "", "due_text": view.format_time(e.due_at), "sla": view.sla_state(e.due_at, e.status, now),
        "acknowledged_text": view.format_time(e.acknowledged_at),
    }


def dashboard(session: Session, user: User, directory: UnitDirectory, now: datetime) -> dict[str, Any]:
    """Counts by status, oldest waiting, past SLA, per unit — every count through the scope."""
    scope, esc_scope = ticket_scope(user), escalation_scope(user)
    by_status = dict(session.execute(select(Ticket.status, func.count()).where(scope).group_by(Ticket.status)).all())  # type: ignore[call-overload]
    visible_esc = select(Escalation).join(Ticket, Ticket.id == Escalation.ticket_id).where(esc_scope, scope)  # type: ignore[arg-type]
    per_unit_rows = session.execute(
        select(
            Escalation.unit_id,
            func.count(),
            func.sum(case((Escalation.status == EscalationStatus.PROPOSED.value, 1), else_=0)),
            func.sum(case((Escalation.status.in_(AWAITING_REPLY), 1), else_=0)),  # type: ignore[attr-defined]
            func.sum(case((_late(now), 1), else_=0)),
            func.sum(case((Escalation.status == EscalationStatus.ACKNOWLEDGED.value, 1), else_=0)),
        )
        .join(Ticket, Ticket.id == Escalation.ticket_id)  # type: ignore[arg-type]
        .where(esc_scope, scope)
        .group_by(Escalation.unit_id)
        .order_by(Escalation.unit_id)
    ).all()
    late = list(session.execute(visible_esc.where(_late(now)).order_by(Escalation.due_at.asc()).limit(20)).scalars())  # type: ignore[union-attr]
    waiting = list(
        session.execute(
            select(Ticket).where(scope, Ticket.status.in_(("new", "triaged"))).order_by(Ticket.created_at.asc()).limit(10)  # type: ignore[attr-defined,union-attr]
        ).scalars()
    )
    return {
        "by_status": [(view.ticket_status_label(s), by_status.get(s, 0)) for s in ("new", "triaged", "escalated", "answered", "resolved", "closed")],
        "total": sum(by_status.values()),
        "proposed": sum(int(r[2] or 0) for r in per_unit_rows),
        "late_count": sum(int(r[4] or 0) for r in per_unit_rows),
        "per_unit": [
            {"name": unit_name(directory, r[0]), "total": r[1], "proposed": int(r[2] or 0), "awaiting": int(r[3] or 0), "late": int(r[4] or 0), "acknowledged": int(r[5] or 0)}
            for r in per_unit_rows
        ],
        "late": [
            {"ticket_id": e.ticket_id, "reference": ticket_reference(e.ticket_id), "unit_name": unit_name(directory, e.unit_id), "due_text": view.format_time(e.due_at), "age_text": age_text(now - (e.due_at or now))}
            for e in late
        ],
        "waiting": [{"id": t.id, "reference": ticket_reference(t.id or 0), "subject": t.subject, "created_text": view.format_time(t.created_at), "age_text": age_text(now - t.created_at)} for t in waiting],
    }


def find_tickets(session: Session, user: User, filters: TicketFilters, now: datetime, offset: int, limit: int) -> Listing:
    """The ticket list: the scope, the filters, and the search box (tone marks and đ ignored,
    by the shared search in tickets/search.py, which applies the same scope)."""
    conditions, errors = ticket_conditions(user, filters, now)
    if filters.assignee:
        from tickets.action_models import TicketAssignment

        conditions.append(exists().where(TicketAssignment.ticket_id == Ticket.id, TicketAssignment.assignee == filters.assignee))
    # One search for every list: the query (empty: every ticket) within the user's scope.
    found = search_in_scope(session, ticket_scope(user), filters.q, SearchFilters(extra=tuple(conditions)), limit=limit, offset=offset)
    return Listing([ticket_row(t) for t in found.tickets], found.total, errors)


OFFICE_OPEN = {
    "office_acknowledge": ("sent", "overdue"),
    "office_answer": ("sent", "overdue", "acknowledged"),
    "office_not_ours": ("sent", "overdue", "acknowledged"),
    "office_resolve": ("sent", "overdue", "acknowledged"),
}


def office_actions_open(detail: dict[str, Any]) -> set[str]:
    """What an office may still do on this ticket: only while its escalation is open (the
    escalations in `detail` are already only its own, through escalation_scope)."""
    statuses = {e["status"] for e in detail["escalations"]}
    return {action for action, allowed in OFFICE_OPEN.items() if statuses & set(allowed)}


def rule_conditions_text(rule: Any) -> str:
    """A routing rule's conditions in words, as loaded: "loại: phản ánh; bảo hiểm: BHYT"."""
    when = rule.when
    parts = []
    if when.category:
        parts.append("loại: " + ", ".join(view.category_label(c) for c in when.category))
    if when.insurance_types:
        parts.append("bảo hiểm: " + ", ".join(when.insurance_types))
    if when.province == "known":
        parts.append("tỉnh: đã xác định")
    elif when.province == "unknown":
        parts.append("tỉnh: chưa xác định")
    elif when.province:
        parts.append("tỉnh: " + ", ".join(view.province_label(p) for p in when.province))
    if when.topics:
        parts.append("chủ đề: " + ", ".join(when.topics))
    if when.channel:
        parts.append("kênh: " + ", ".join(view.channel_label(c) for c in when.channel))
    if when.min_confidence is not None:
        parts.append(f"độ tin cậy từ {when.min_confidence:.0%}")
    if when.keywords:
        parts.append("từ khoá: " + ", ".join(when.keywords))
    return "; ".join(parts) or "mọi phiếu"
