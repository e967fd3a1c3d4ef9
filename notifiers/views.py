"""Read what a notification shows about an escalation from the store."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from config.settings import Settings
from notifiers.compose import AttachmentView, EscalationView, MessageView
from tickets.escalation_models import Escalation
from tickets.escalations import reply_address
from tickets.models import Attachment, Blob, Message, Ticket, ticket_reference
from tickets.pipeline import request_messages
from tickets.places import province_name

MAX_MESSAGES = 20


def sender_text(name: str | None, address: str | None) -> str:
    if name and address:
        return f"{name} <{address}>"
    return name or address or "không rõ"


def escalation_view(session: Session, settings: Settings, escalation: Escalation, unit_name: str, *, with_content: bool = True) -> EscalationView:
    ticket = session.get(Ticket, escalation.ticket_id)
    assert ticket is not None and ticket.id is not None
    messages = list(
        session.execute(
            select(Message)
            .where(*request_messages(ticket.id))
            .order_by(Message.id)  # type: ignore[arg-type]
            .limit(MAX_MESSAGES)
        ).scalars()
    )
    attachments: list[AttachmentView] = []
    if messages:
        rows = session.execute(
            select(Attachment).where(Attachment.message_id.in_([m.id for m in messages])).order_by(Attachment.id)  # type: ignore[attr-defined, arg-type]
        ).scalars()
        for row in rows:
            content = None
            if with_content and row.sha256:
                blob = session.get(Blob, row.sha256)
                content = bytes(blob.content) if blob is not None else None
            attachments.append(AttachmentView(row.filename, row.content_type, row.size, content, row.url))
    intake = settings.intake.reply_address or (settings.smtp.from_address if settings.smtp else None)
    return EscalationView(
        escalation_id=escalation.id or 0,
        reference=ticket_reference(ticket.id),
        unit_id=escalation.unit_id,
        unit_name=unit_name,
        reply_address=reply_address(intake, escalation.reply_token) if intake else None,
        subject=ticket.subject,
        channel=ticket.channel,
        category=ticket.category,
        insurance_types=tuple(ticket.insurance_types),
        province_name=province_name(ticket.province_code),
        topics=tuple(ticket.topics),
        confidence=dict(ticket.tag_confidence),
        evidence=tuple(ticket.tag_evidence),
        priority=escalation.priority,
        due_at=escalation.due_at,
        sender=sender_text(ticket.sender_name, ticket.sender_address),
        messages=tuple(MessageView(m.sent_at or m.received_at, sender_text(m.sender_name, m.sender_address), m.clean_text or m.full_text) for m in messages),
        attachments=tuple(attachments),
        note=escalation.reason,
        province_code=ticket.province_code,
        page_url=ticket_page_url(settings.web.public_base_url, ticket.id),
    )


def ticket_page_url(public_base_url: str | None, ticket_id: int | None) -> str | None:
    """The ticket's page (web/pages.py: /tickets/{id}) for links in mail; None without a base URL."""
    if not public_base_url or ticket_id is None:
        return None
    return f"{public_base_url.rstrip('/')}/tickets/{ticket_id}"


def stable_message_id(kind: str, key: str, from_address: str) -> str:
    """The same notification always carries the same Message-ID (RFC 5322 section 3.6.4)."""
    domain = from_address.rpartition("@")[2] or "tiepnhan.invalid"
    return f"<tiepnhan.{kind}.{key}@{domain}>"


def digest_key(unit_id: str, day: datetime) -> str:
    return f"{unit_id}.{day:%Y%m%d}"
