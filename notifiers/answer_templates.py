"""The words around an answer: a greeting and a signature per channel, from `[answers]` in the
config, with the citizen's name and the ticket's reference filled in (docs/answers.md).

Pure functions. The templates are the operator's; the citizen's name is a value filled into
them, never read as a template itself.
"""

from __future__ import annotations

from typing import Protocol

from config.settings import Settings
from tickets.answer_models import AnswerMode
from tickets.models import Ticket
from tickets.normalized import safe_line

MAX_NAME_CHARS = 80


class EntryLike(Protocol):
    answer: str


def citizen_name(settings: Settings, ticket: Ticket) -> str:
    name = " ".join(safe_line(ticket.sender_name or "").split())[:MAX_NAME_CHARS].strip()
    return name or settings.answers.anonymous_name


def _fill(template: str, settings: Settings, ticket: Ticket) -> str:
    return template.format(name=citizen_name(settings, ticket), reference=ticket.reference).strip()


def compose_answer_text(settings: Settings, ticket: Ticket, body: str, mode: str) -> str:
    """Greeting, the agent's text, signature: the plain text the citizen receives."""
    config = settings.answers
    if mode in (AnswerMode.EMAIL.value, AnswerMode.PORTAL.value):  # the portal's answer is read as a letter
        greeting, signature = config.greeting_email, config.signature_email
    else:
        greeting, signature = config.greeting_chat, config.signature_chat
    parts = [_fill(greeting, settings, ticket), body.strip(), _fill(signature, settings, ticket)]
    return "\n\n".join(part for part in parts if part)


def entry_draft(settings: Settings, ticket: Ticket, entry: EntryLike) -> str:
    """The body an agent starts from when picking a bank entry (greeting and signature are added
    when sent). A bank answer may name the citizen or the ticket with {name} / {reference}."""
    text = entry.answer.strip()
    name, reference = citizen_name(settings, ticket), ticket.reference
    return text.replace("{name}", name).replace("{reference}", reference)
