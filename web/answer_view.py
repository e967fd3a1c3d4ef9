"""What the ticket page shows of answers to the citizen, as pure functions: the status of each
answer in words, the greeting and signature a mode wraps around the body (the preview), and
the body of a stored answer without them (what "save as a draft entry" keeps)."""

from __future__ import annotations

from dataclasses import dataclass

from config.settings import Settings
from notifiers.answer_templates import compose_answer_text
from tickets.answer_models import Answer
from tickets.answering import MODE_LABELS
from tickets.labels import format_time
from tickets.models import Ticket

# A body no agent writes: where the body sits in a composed answer.
_BODY_MARK = "\u2063tiepnhan-answer-body\u2063"
STATUS_WORDS = {"pending": "Đang gửi", "sending": "Đang gửi", "sent": "Đã gửi", "failed": "Lỗi", "refused": "Lỗi, không gửi được"}


@dataclass(frozen=True)
class Wrapping:
    mode: str
    label: str
    greeting: str
    signature: str


def mode_label(mode: str) -> str:
    label = MODE_LABELS.get(mode, mode)
    return label[:1].upper() + label[1:]


def wrapping(settings: Settings, ticket: Ticket, mode: str) -> Wrapping:
    """The words the mode puts before and after the agent's body, as the citizen will read them."""
    composed = compose_answer_text(settings, ticket, _BODY_MARK, mode)
    greeting, _, signature = composed.partition(_BODY_MARK)
    return Wrapping(mode, mode_label(mode), greeting.strip(), signature.strip())


def answer_body(settings: Settings, ticket: Ticket, answer: Answer) -> str:
    """The agent's own words in a stored answer: its text without the mode's greeting and
    signature (the whole text when the configured ones changed since it was written)."""
    wrap = wrapping(settings, ticket, answer.mode)
    text = answer.text.strip()
    if wrap.greeting and text.startswith(wrap.greeting):
        text = text[len(wrap.greeting):]
    if wrap.signature and text.endswith(wrap.signature):
        text = text[: len(text) - len(wrap.signature)]
    return text.strip() or answer.text.strip()


def answer_item(answer: Answer, can_save_draft: bool) -> dict[str, object]:
    status = answer.status
    words = STATUS_WORDS.get(status, status)
    if status in ("failed", "refused") and answer.last_error:
        words += f": {answer.last_error}"
    elif status == "pending" and answer.attempts and answer.last_error:
        words += f" (thử lại sau lỗi tạm thời: {answer.last_error})"
    return {
        "id": answer.id, "status": status, "status_text": words, "mode_label": mode_label(answer.mode), "author": answer.author,
        "automatic": answer.automatic, "from_entry": answer.entry_id is not None, "text": answer.text,
        "created_text": format_time(answer.created_at), "sent_text": format_time(answer.sent_at) if answer.sent_at else "",
        "can_save_draft": can_save_draft,
    }
