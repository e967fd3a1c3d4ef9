"""Suggestions for stored tickets: the published bank, indexed once per change, against the
ticket's latest message from the citizen and its tags."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func
from sqlmodel import Session, select

from qbank.models import BankEntryRow
from qbank.store import all_entries
from tickets.models import Message, Ticket
from tickets.normalized import Direction

if TYPE_CHECKING:  # retrieval (bm25s, numpy, scipy) loads only when something is published
    from qbank.retrieve import BankIndex, Suggestion

_lock = threading.Lock()
_cache: dict[tuple[str, int, int], BankIndex] = {}


@dataclass(frozen=True)
class TicketSuggestion:
    suggestion: Suggestion
    question: str  # the entry's canonical question, to show beside its id


def published_index(session: Session) -> BankIndex | None:
    """The index of the published entries, rebuilt only when an entry changed (every change
    raises an entry's version, so count and sum of versions say whether it is still current).
    None while nothing is published (an empty bank has nothing to rank)."""
    count, versions = session.exec(
        select(func.count(BankEntryRow.id), func.coalesce(func.sum(BankEntryRow.version), 0)).where(BankEntryRow.status == "published")
    ).one()
    if not count:
        return None
    url = str(session.get_bind().engine.url)
    key = (url, int(count), int(versions))
    with _lock:
        index = _cache.get(key)
    if index is None:
        from qbank.index_cache import cached_index

        index = cached_index(all_entries(session, statuses=("published",)))
        with _lock:
            for old in [k for k in _cache if k[0] == url]:
                del _cache[old]
            _cache[key] = index
    return index


def latest_citizen_message(session: Session, ticket_id: int) -> Message | None:
    return session.exec(
        select(Message)
        .where(Message.ticket_id == ticket_id, Message.direction == Direction.INBOUND.value)
        .order_by(Message.received_at.desc(), Message.id.desc())  # type: ignore[attr-defined,union-attr]
    ).first()


def suggestions_for_ticket(session: Session, ticket_id: int, threshold: float | None = None) -> list[TicketSuggestion]:
    """The best published entries (at most 3) for a ticket tagged as a question; [] otherwise.

    `threshold`: the configured question_bank.suggestion_threshold; None for the calibrated one."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or ticket.category != "question":
        return []
    message = latest_citizen_message(session, ticket_id)
    if message is None:
        return []
    index = published_index(session)
    if index is None:
        return []
    from qbank.retrieve import DEFAULT_THRESHOLD, suggest

    found = suggest(
        index,
        message.subject or ticket.subject,
        message.full_text,
        insurance_types=list(ticket.insurance_types),
        topics=list(ticket.topics),
        category=ticket.category,
        threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
    )
    questions = {item.entry.id: item.entry.question for item in index.entries}
    return [TicketSuggestion(s, questions[s.entry_id]) for s in found]
