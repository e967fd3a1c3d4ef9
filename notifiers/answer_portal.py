"""The portal answer (issue 18, docs/answers.md): published on the lookup page, mailed when the
question gave an email address.

The lookup page /hoi-dap/tra-cuu shows a portal ticket's sent answers (escaped, web/portal.py),
so "sent" means stored: with no address the answer is sent once it is recorded. When the
question gave an address (and [smtp] is configured) the answer is also mailed to it, built from
the email sender's blocks (notifiers/answer_email.py): From the configured smtp address (a
mailbox the center reads as an intake mailbox, so the reply comes in), Subject `Trả lời câu hỏi [TN-000123]`, a stable
Message-ID registered as the ticket's thread key, so the citizen's reply by mail (In-Reply-To,
RFC 5322 section 3.6.4, or the reference in its subject) threads into the ticket.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from config.settings import Settings
from notifiers.answer_email import _ADDRESS, EmailAnswerSender, answer_email
from notifiers.answer_senders import PreparedAnswer, SentAnswer, register
from notifiers.views import stable_message_id
from tickets.answer_models import Answer, AnswerMode
from tickets.models import Message, Ticket, utcnow
from tickets.normalized import Channel, safe_text


def portal_subject(reference: str) -> str:
    return f"Trả lời câu hỏi [{reference}]"


def question_address(messages: list[Message]) -> str | None:
    """The email address the latest question gave (the form's or the API's `email`), if it is
    one a mail can go to (ASCII: SMTPUTF8, RFC 6531, is not used)."""
    for message in reversed(messages):
        if message.direction != "inbound":
            continue
        address = str((message.extra or {}).get("email") or "").strip()
        if address and _ADDRESS.match(address) and address.isascii():
            return address
    return None


class PortalAnswerSender:
    mode = AnswerMode.PORTAL.value

    def prepare(self, settings: Settings, session: Session, answer: Answer, ticket: Ticket) -> PreparedAnswer:
        assert answer.id is not None and ticket.id is not None
        messages = list(
            session.execute(
                select(Message).where(Message.ticket_id == ticket.id, Message.channel == Channel.PORTAL.value).order_by(Message.received_at, Message.id)  # type: ignore[arg-type]
            ).scalars()
        )
        address = question_address(messages)
        text = safe_text(answer.text)
        if address is None or settings.smtp is None:
            # Only the lookup page: the idempotency key is the answer's own.
            return PreparedAnswer(answer_id=answer.id, ticket_id=ticket.id, mode=self.mode, message_id=answer.message_id or f"tiepnhan.answer.{answer.id}",
                                  text=text, source=ticket.source, subject=portal_subject(ticket.reference))
        sender = settings.smtp.from_address
        message_id = stable_message_id("answer", str(answer.id), sender)
        mail = answer_email(answer, ticket, sender=sender, to=address, message_id=message_id, in_reply_to=None, references=[])
        del mail["Subject"]
        mail["Subject"] = portal_subject(ticket.reference)
        return PreparedAnswer(
            answer_id=answer.id, ticket_id=ticket.id, mode=self.mode, message_id=message_id, text=text, source=ticket.source,
            recipients=(address,), sender_address=sender, subject=portal_subject(ticket.reference), email=mail,
            thread_keys=(f"msgid:{message_id.strip('<>')}",),
        )

    def send(self, settings: Settings, prepared: PreparedAnswer) -> SentAnswer:
        if prepared.email is None:
            return SentAnswer(external_id=None, sent_at=utcnow())
        return EmailAnswerSender().send(settings, prepared)


register(PortalAnswerSender())
