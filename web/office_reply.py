"""An office's answer written on the web, recorded exactly like an answer the unit emails.

The answer becomes an RFC 5322 message from the unit to the escalation's reply address
(hotro+TN-000123.<token>@…, RFC 5233 subaddress) and enters through `tiepnhan.intake.accept`
like any mail: stored raw first, parsed, threaded into the ticket by its token, and
acknowledging the escalation (tickets/escalations.py::acknowledge_from_message). Nothing of
that path is re-implemented here.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy import select
from sqlalchemy.engine import Engine

from access.models import User
from config.settings import Settings
from tickets.db import session_scope
from tickets.escalation_models import Escalation
from tickets.escalations import reply_address
from tickets.models import Message, Ticket, utcnow
from tickets.pipeline import process_raw_item_now
from tickets.store import RawInput, add_event
from tiepnhan.intake import accept

WEB_SOURCE = "web"
# Where the answer is addressed when no intake mailbox is configured: never a real domain (RFC 2606).
FALLBACK_INTAKE = "hotro@tiepnhan.invalid"
MAX_ANSWER_CHARS = 20_000


def answer_mail(ticket: Ticket, escalation: Escalation, user: User, unit_address: str, text: str, intake_address: str) -> EmailMessage:
    """The mail the unit would have sent (pure)."""
    mail = EmailMessage()
    mail["From"] = f"{user.label} <{unit_address}>" if user.label else unit_address
    mail["To"] = reply_address(intake_address, escalation.reply_token)
    mail["Subject"] = f"Re: [{ticket.reference}] {ticket.subject}"[:900]
    mail["Date"] = format_datetime(utcnow())
    mail["Message-ID"] = make_msgid(domain=unit_address.rpartition("@")[2] or "tiepnhan.invalid")
    mail["X-Tiepnhan-Web-User"] = user.name
    mail.set_content(text)
    return mail


def unit_address_for(settings: Settings, unit_id: str) -> str:
    from tickets.directory import routing

    unit = routing(settings).units.get(unit_id)
    if unit is not None and unit.emails:
        return unit.emails[0]
    return f"{unit_id}@tiepnhan.invalid"


def record_office_answer(engine: Engine, settings: Settings, user: User, escalation: Escalation, ticket: Ticket, text: str) -> int | None:
    """Store the answer as the unit's mail and run it through the pipeline now; the message id."""
    mail = answer_mail(ticket, escalation, user, unit_address_for(settings, escalation.unit_id), text, settings.intake.reply_address or FALLBACK_INTAKE)
    message_id = str(mail["Message-ID"])
    saved = accept(
        engine,
        [RawInput(source=WEB_SOURCE, kind="email", external_id=message_id, content=bytes(mail), origin={"web_user": user.name, "escalation_id": escalation.id})],
        enqueue=False,
    )
    process_raw_item_now(engine, saved[0].raw_item_id, settings.max_attachment_bytes)
    with session_scope(engine) as session:
        assert ticket.id is not None
        stored = session.execute(select(Message.id).where(Message.raw_item_id == saved[0].raw_item_id)).scalar_one_or_none()  # type: ignore[arg-type]
        add_event(session, ticket.id, "office_answered", user.name, escalation_id=escalation.id, unit=escalation.unit_id, message_id=stored)
    return stored
