"""The email answer: a reply in the citizen's own thread (issue 14, docs/answers.md).

RFC 5322 section 3.6.4: In-Reply-To names the message answered (the citizen's last one),
References the thread's ids, oldest first, ending with it. The subject is the original one
with a single "Re: " (no "Re: Re:" stacking) and the ticket's reference, so the citizen's next
mail threads back by its In-Reply-To, by the reference, or by both. From is the mailbox the
citizen wrote to; the Message-ID is stable per answer, so a repeated send is one mail in the
citizen's client.
"""

from __future__ import annotations

import html
import re
import smtplib
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from sqlalchemy import select
from sqlmodel import Session

from config.settings import Settings
from notifiers.answer_errors import AnswerPermanentError, AnswerTransientError
from notifiers.answer_senders import PreparedAnswer, SentAnswer, register
from notifiers.compose import CENTER_NAME
from notifiers.smtp import SmtpPermanentError, SmtpTransientError, send_message
from notifiers.views import stable_message_id
from tickets.answer_models import Answer, AnswerMode
from tickets.models import Message, Ticket, utcnow
from tickets.normalized import Channel, safe_line, safe_text

# "Re:", "RE :", "Aw:", "SV:", "TL:", "Trả lời:", "Fwd:" ... at the start, any number of times.
_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|aw|sv|tl|tr[aả]\s*l[oờ]i|fwd?|tr)\s*(?:\[\d+\])?\s*[:：]\s*)+", re.IGNORECASE)
_REFERENCE_TAG = re.compile(r"\[\s*TN[-\s]?\d{1,9}\s*\]", re.IGNORECASE)
_ADDRESS = re.compile(r"^[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+\.[^@\s<>\"(),;:]+$")
MAX_REFERENCES = 20  # the first id and the latest ones (RFC 5322 allows trimming the middle)
MAX_SUBJECT_CHARS = 300
NO_SUBJECT = "(không có tiêu đề)"


def reply_subject(original: str, reference: str) -> str:
    """`Re: <original subject> [TN-000123]`, whatever prefixes and tags the original had."""
    subject = _REFERENCE_TAG.sub(" ", safe_line(original or ""))
    subject = _REPLY_PREFIX.sub("", subject)
    subject = re.sub(r"\s+", " ", subject).strip()[:MAX_SUBJECT_CHARS] or NO_SUBJECT
    return f"Re: {subject} [{reference}]"


def _is_message_id(value: str | None) -> bool:
    """A real msg-id (RFC 5322 3.6.4), not a stand-in (`sha256:…`) or a shortened over-long one."""
    return value is not None and "@" in value and len(value) <= 250 and re.search(r"[\s<>]", value) is None


def thread_ids(messages: list[Message]) -> tuple[str | None, list[str]]:
    """(the Message-ID answered, the References list) from the ticket's email messages in order."""
    answered: str | None = None
    ordered: list[str] = []
    for message in messages:
        # parent_keys: In-Reply-To first, then References from the newest (ingest/email/headers.py).
        for key in reversed(message.parent_keys or []):
            if key.startswith("msgid:"):
                ordered.append(key.removeprefix("msgid:"))
        ordered.append(message.external_id)
        if message.direction == "inbound" and not message.is_auto_reply and not message.is_bounce and _is_message_id(message.external_id):
            answered = message.external_id
    ids = [i for i in dict.fromkeys(ordered) if _is_message_id(i) and i != answered]
    if answered:
        ids.append(answered)
    if len(ids) > MAX_REFERENCES:
        ids = ids[:1] + ids[-(MAX_REFERENCES - 1):]
    return answered, ids


def from_address(settings: Settings, ticket: Ticket) -> str:
    """The mailbox the citizen wrote to (its `address`, or its username when that is an
    address), else smtp.from_address."""
    for mailbox in settings.mailboxes:
        if mailbox.name == ticket.source:
            for candidate in (mailbox.address, mailbox.username):
                if candidate and _ADDRESS.match(candidate.strip()):
                    return candidate.strip()
    if settings.smtp is not None:
        return settings.smtp.from_address
    raise AnswerPermanentError("chưa cấu hình máy chủ gửi thư [smtp]: không gửi được thư trả lời")


def citizen_address(ticket: Ticket, messages: list[Message]) -> str:
    candidates = [m.sender_address for m in reversed(messages) if m.direction == "inbound" and not m.is_auto_reply and not m.is_bounce and m.sender_address]
    for candidate in [*candidates, ticket.sender_address or ""]:
        address = parseaddr(candidate)[1]
        if _ADDRESS.match(address):
            if not address.isascii():
                # SMTPUTF8 (RFC 6531) is not used: the configured server may not offer it.
                raise AnswerPermanentError(f"địa chỉ thư của công dân có ký tự ngoài bảng mã ASCII ({address}): chưa gửi được thư trả lời tới địa chỉ này")
            return address
    raise AnswerPermanentError(f"phiếu {ticket.reference} không có địa chỉ thư hợp lệ của công dân: không gửi được thư trả lời")


def html_part(text: str) -> str:
    """A simple HTML alternative: the text escaped, line breaks kept; nothing in it is markup."""
    body = "<br>\n".join(html.escape(line) for line in safe_text(text).split("\n"))
    return f'<!DOCTYPE html>\n<html lang="vi"><head><meta charset="utf-8"></head>\n<body><div style="font-family: sans-serif">\n{body}\n</div></body></html>\n'


def answer_email(
    answer: Answer, ticket: Ticket, *, sender: str, to: str, message_id: str, in_reply_to: str | None, references: list[str]
) -> EmailMessage:
    """The mail (pure)."""
    mail = EmailMessage()
    mail["Subject"] = reply_subject(ticket.subject, ticket.reference)
    mail["From"] = Address(CENTER_NAME, addr_spec=sender)
    mail["To"] = Address(addr_spec=to)
    mail["Date"] = format_datetime(utcnow())
    mail["Message-ID"] = message_id
    if in_reply_to:
        mail["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        mail["References"] = " ".join(f"<{i}>" for i in references)
    mail["X-Tiepnhan-Ticket"] = ticket.reference
    if answer.automatic:
        mail["Auto-Submitted"] = "auto-generated"  # RFC 3834
    text = safe_text(answer.text)
    mail.set_content(text)
    mail.add_alternative(html_part(text), subtype="html")
    return mail


class EmailAnswerSender:
    mode = AnswerMode.EMAIL.value

    def prepare(self, settings: Settings, session: Session, answer: Answer, ticket: Ticket) -> PreparedAnswer:
        if settings.smtp is None:
            raise AnswerPermanentError("chưa cấu hình máy chủ gửi thư [smtp]: không gửi được thư trả lời")
        messages = list(
            session.execute(
                select(Message).where(Message.ticket_id == ticket.id, Message.channel == Channel.EMAIL.value).order_by(Message.received_at, Message.id)  # type: ignore[arg-type]
            ).scalars()
        )
        sender = from_address(settings, ticket)
        to = citizen_address(ticket, messages)
        in_reply_to, references = thread_ids(messages)
        message_id = stable_message_id("answer", str(answer.id), sender)
        mail = answer_email(answer, ticket, sender=sender, to=to, message_id=message_id, in_reply_to=in_reply_to, references=references)
        assert answer.id is not None and ticket.id is not None
        return PreparedAnswer(
            answer_id=answer.id, ticket_id=ticket.id, mode=self.mode, message_id=message_id, text=mail.get_body(("plain",)).get_content().rstrip("\n"),  # type: ignore[union-attr]
            source=ticket.source, recipients=(to,), sender_address=sender, subject=str(mail["Subject"]), email=mail,
            thread_keys=(f"msgid:{message_id.strip('<>')}",),
        )

    def send(self, settings: Settings, prepared: PreparedAnswer) -> SentAnswer:
        if settings.smtp is None or prepared.email is None:
            raise AnswerPermanentError("chưa cấu hình máy chủ gửi thư [smtp]: không gửi được thư trả lời")
        try:
            send_message(settings.smtp, prepared.email, prepared.recipients)
        except SmtpTransientError as exc:
            raise AnswerTransientError(str(exc)) from exc
        except SmtpPermanentError as exc:
            raise AnswerPermanentError(str(exc)) from exc
        except smtplib.SMTPException as exc:  # e.g. the server does not offer what the mail needs
            raise AnswerPermanentError(f"máy chủ SMTP không nhận thư trả lời: {exc}") from exc
        return SentAnswer(external_id=None, sent_at=utcnow())


register(EmailAnswerSender())
