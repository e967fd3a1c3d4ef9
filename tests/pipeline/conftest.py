"""Raw emails for the batched pipeline tests: threads built from real RFC 5322 headers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from tickets.db import session_scope
from tickets.models import Message, RawItem, Ticket, TicketEvent
from tickets.store import RawInput


def thread_email(message_id: str, subject: str, body: str, *, in_reply_to: str | None = None, sender: str = "dan@example.vn") -> RawInput:
    """A citizen's email; `in_reply_to` names its parent's Message-ID (RFC 5322 section 3.6.4)."""
    reply = f"In-Reply-To: <{in_reply_to}>\r\nReferences: <{in_reply_to}>\r\n" if in_reply_to else ""
    content = (
        f"From: Dan <{sender}>\r\nTo: hotro@example.vn\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n{reply}"
        "Date: Mon, 06 Oct 2025 08:00:00 +0700\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
    ).encode()
    return RawInput(source="hotro", kind="email", external_id=f"<{message_id}>", content=content)


def citizen_emails(count: int, prefix: str = "batch") -> list[RawInput]:
    return [
        thread_email(f"{prefix}-{n}@example.vn", f"Hỏi về thẻ BHYT số {n}", f"Tôi ở Hải Dương, thẻ BHYT của tôi hết hạn, xin hỏi gia hạn thế nào? ({n})")
        for n in range(count)
    ]


def table_counts(engine: Any) -> dict[str, int]:
    with session_scope(engine) as session:
        def scalar(query: Any) -> int:
            return int(session.execute(query).scalar_one())

        return {
            "processed": scalar(select(func.count()).select_from(RawItem).where(RawItem.state == "processed")),
            "quarantined": scalar(select(func.count()).select_from(RawItem).where(RawItem.state == "quarantined")),
            "messages": scalar(select(func.count()).select_from(Message)),
            "threaded": scalar(select(func.count()).select_from(Message).where(Message.ticket_id.is_not(None))),  # type: ignore[union-attr]
            "tickets": scalar(select(func.count()).select_from(Ticket)),
            "tagged": scalar(select(func.count()).select_from(Ticket).where(Ticket.tagged_at.is_not(None))),  # type: ignore[union-attr]
            "created_events": scalar(select(func.count()).select_from(TicketEvent).where(TicketEvent.kind == "created")),
            "added_events": scalar(select(func.count()).select_from(TicketEvent).where(TicketEvent.kind == "message_added")),
        }
