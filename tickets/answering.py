"""An answer to a citizen is created here, checked, and logged (issue 14, docs/answers.md).

Pure checks and one store write; sending is the notifiers' (notifiers/answer_delivery.py).
"""

from __future__ import annotations

from sqlmodel import Session

from tickets.answer_models import MAX_ANSWER_CHARS, Answer, AnswerMode, AnswerStatus
from tickets.models import Ticket, TicketStatus, ticket_reference
from tickets.normalized import Channel, safe_text
from tickets.store import add_event

# The ways a ticket of each channel can be answered; the first is the default.
MODES_BY_CHANNEL: dict[str, tuple[str, ...]] = {
    Channel.EMAIL.value: (AnswerMode.EMAIL.value,),
    Channel.FACEBOOK_MESSAGE.value: (AnswerMode.MESSENGER.value,),
    Channel.FACEBOOK_COMMENT.value: (AnswerMode.COMMENT_PUBLIC.value, AnswerMode.COMMENT_PRIVATE.value),
    Channel.ZALO.value: (AnswerMode.ZALO.value,),
    Channel.PORTAL.value: (AnswerMode.PORTAL.value,),
}
# Channels with no way to answer in writing, and why (the refusal's reason).
NO_ANSWER_CHANNEL: dict[str, str] = {
    Channel.CALL.value: "phiếu từ tổng đài: trả lời qua điện thoại",
}
MODE_LABELS = {
    AnswerMode.EMAIL.value: "thư trả lời",
    AnswerMode.MESSENGER.value: "tin nhắn fanpage",
    AnswerMode.COMMENT_PUBLIC.value: "trả lời công khai bình luận",
    AnswerMode.COMMENT_PRIVATE.value: "nhắn riêng cho người bình luận",
    AnswerMode.ZALO.value: "tin nhắn Zalo",
    AnswerMode.PORTAL.value: "trả lời trên cổng thông tin (và thư khi có địa chỉ)",
}


class AnswerRefused(Exception):
    """The answer cannot be made; the reason is Vietnamese, for the person who tried."""

    def __init__(self, reason_vi: str) -> None:
        super().__init__(reason_vi)
        self.reason_vi = reason_vi


def answer_modes(ticket: Ticket) -> list[str]:
    return list(MODES_BY_CHANNEL.get(ticket.channel, ()))


def check_text(text: str) -> str:
    """The text as it will be sent (control characters removed, trimmed), or AnswerRefused."""
    if not isinstance(text, str):
        raise AnswerRefused("nội dung trả lời phải là văn bản")
    cleaned = safe_text(text).strip()
    if not cleaned:
        raise AnswerRefused("nội dung trả lời trống")
    if len(cleaned) > MAX_ANSWER_CHARS:
        raise AnswerRefused(f"nội dung trả lời dài {len(cleaned)} ký tự, quá giới hạn {MAX_ANSWER_CHARS} ký tự")
    return cleaned


def check_answerable(ticket: Ticket) -> None:
    reference = ticket_reference(ticket.id or 0)
    if ticket.status == TicketStatus.SPAM.value:
        raise AnswerRefused(f"phiếu {reference} là thư rác: không trả lời")
    if ticket.status == TicketStatus.CLOSED.value and ticket.message_count == 0:
        raise AnswerRefused(f"phiếu {reference} đã được gộp vào phiếu khác: trả lời trên phiếu đó")


def choose_mode(ticket: Ticket, mode: str | None) -> str:
    modes = answer_modes(ticket)
    if not modes:
        reason = NO_ANSWER_CHANNEL.get(ticket.channel)
        if reason is not None:
            raise AnswerRefused(f"phiếu {ticket_reference(ticket.id or 0)} không trả lời bằng văn bản được: {reason}")
        raise AnswerRefused(f"chưa trả lời được phiếu kênh {ticket.channel!r}")
    if mode is None or mode == "":
        return modes[0]
    if mode not in modes:
        labels = ", ".join(f"{m} ({MODE_LABELS.get(m, m)})" for m in modes)
        raise AnswerRefused(f"phiếu {ticket_reference(ticket.id or 0)} không trả lời được theo cách {mode!r}; chọn một trong: {labels}")
    return mode


def create_answer(
    session: Session,
    ticket: Ticket,
    text: str,
    author: str,
    *,
    user_id: int | None = None,
    entry_id: int | None = None,
    mode: str | None = None,
    automatic: bool = False,
) -> Answer:
    """A pending answer on the ticket (sent by notifiers/answer_delivery.py), with its event."""
    check_answerable(ticket)
    chosen = choose_mode(ticket, mode)
    final = check_text(text)
    if not author.strip():
        raise AnswerRefused("câu trả lời phải có người trả lời")
    assert ticket.id is not None
    answer = Answer(
        ticket_id=ticket.id, channel=ticket.channel, mode=chosen, status=AnswerStatus.PENDING.value, text=final,
        author=author.strip()[:200], user_id=user_id, entry_id=entry_id, automatic=automatic, message_id="",
    )
    session.add(answer)
    session.flush()
    # The idempotency key; an email sender replaces it by the Message-ID it sends.
    answer.message_id = f"tiepnhan.answer.{answer.id}"
    session.add(answer)
    add_event(session, ticket.id, "answer_requested", answer.author, answer_id=answer.id, mode=chosen, entry_id=entry_id, automatic=automatic)
    return answer
