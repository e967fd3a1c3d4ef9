"""Full-text search over tickets that ignores tone marks and đ/d ("Da Nang" finds "Đà Nẵng").

Each ticket has one folded text (tickets/search_models.py): its subject, every message's text,
the sender, and its province's name. The pipeline refreshes it whenever a message is added or
the tags change (`refresh_search_text`, called inside that transaction).

A query is folded the same way and split into words; a ticket matches when it has every word,
each as a word prefix ("bao hiem that nghiep", "nguyen van"). SQLite answers with FTS5,
PostgreSQL with `to_tsvector('simple', folded) @@ to_tsquery(...)` on a GIN expression index.

Who may see which ticket is not decided here: callers pass the scope predicate
(access/scope.py::ticket_scope); `access.search.search_tickets` is the entry point for users.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, Integer, Select, column, func, select, text, true
from sqlmodel import Session

from tickets.models import Message, Ticket, utcnow
from tickets.places import province_name
from tickets.search_models import TicketSearch
from tickets.textfold import fold

MAX_SEARCH_CHARS = 50_000  # of one ticket's text: enough for a long thread, bounded for the index
MAX_QUERY_WORDS = 12
_WORD = re.compile(r"[a-z0-9]+")


def search_text(subject: str, sender_address: str | None, sender_name: str | None, province_code: str | None, texts: Iterable[str]) -> str:
    """The folded text a ticket is found by (pure)."""
    parts = [subject, sender_name or "", sender_address or "", province_name(province_code), *texts]
    return fold("\n".join(p for p in parts if p))[:MAX_SEARCH_CHARS]


def query_words(query: str) -> list[str]:
    """'Bảo hiểm  thất-nghiệp!' → ['bao', 'hiem', 'that', 'nghiep'] (pure; at most 12 words)."""
    return _WORD.findall(fold(query))[:MAX_QUERY_WORDS]


def refresh_search_text(session: Session, ticket_id: int) -> None:
    """Recompute one ticket's search text in the caller's transaction."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        return
    texts = session.execute(
        select(Message.clean_text).where(Message.ticket_id == ticket_id).order_by(Message.id)  # type: ignore[arg-type]
    ).scalars()
    folded = search_text(ticket.subject, ticket.sender_address, ticket.sender_name, ticket.province_code, texts)
    row = session.get(TicketSearch, ticket_id)
    if row is None:
        session.add(TicketSearch(ticket_id=ticket_id, folded=folded))
    elif row.folded != folded:
        row.folded, row.updated_at = folded, utcnow()
        session.add(row)
    session.flush()


def fts5_query(words: list[str]) -> str:
    # Each word quoted (no FTS5 operator can come from the user), as a prefix: "bao"* "hiem"*
    return " ".join(f'"{w}"*' for w in words)


def tsquery(words: list[str]) -> str:
    # Words are [a-z0-9]+ only, so nothing in them is tsquery syntax.
    return " & ".join(f"{w}:*" for w in words)


def matching(session: Session, query: str) -> ColumnElement[bool]:
    """A predicate on Ticket: the tickets whose text has every word of the query."""
    words = query_words(query)
    if not words:
        return true()
    if session.get_bind().dialect.name == "sqlite":
        hits = text("SELECT rowid AS ticket_id FROM ticketsearch_fts WHERE ticketsearch_fts MATCH :q").bindparams(q=fts5_query(words))
    else:
        hits = text("SELECT ticket_id FROM ticketsearch WHERE to_tsvector('simple', folded) @@ to_tsquery('simple', :q)").bindparams(q=tsquery(words))
    return Ticket.id.in_(hits.columns(column("ticket_id", Integer)))  # type: ignore[union-attr]


@dataclass(frozen=True)
class TicketFilters:
    status: str | None = None
    province: str | None = None
    channel: str | None = None
    category: str | None = None
    unit: str | None = None  # tickets with an escalation to this unit (any state)
    ticket_ids: tuple[int, ...] | None = None
    extra: tuple[ColumnElement[bool], ...] = field(default_factory=tuple)

    def conditions(self) -> list[ColumnElement[bool]]:
        from tickets.escalation_models import Escalation

        found: list[ColumnElement[bool]] = list(self.extra)
        if self.status:
            found.append(Ticket.status == self.status)  # type: ignore[arg-type]
        if self.province:
            found.append(Ticket.province_code == self.province)  # type: ignore[arg-type]
        if self.channel:
            found.append(Ticket.channel == self.channel)  # type: ignore[arg-type]
        if self.category:
            found.append(Ticket.category == self.category)  # type: ignore[arg-type]
        if self.unit:
            found.append(Ticket.id.in_(select(Escalation.ticket_id).where(Escalation.unit_id == self.unit)))  # type: ignore[union-attr,arg-type]
        if self.ticket_ids is not None:
            found.append(Ticket.id.in_(self.ticket_ids))  # type: ignore[union-attr]
        return found


@dataclass(frozen=True)
class SearchResult:
    tickets: list[Ticket]
    total: int


def tickets_query(session: Session, scope: ColumnElement[bool], query: str, filters: TicketFilters) -> Select[tuple[Ticket]]:
    return select(Ticket).where(scope, matching(session, query), *filters.conditions())


def search_in_scope(
    session: Session, scope: ColumnElement[bool], query: str, filters: TicketFilters = TicketFilters(), limit: int = 50, offset: int = 0
) -> SearchResult:
    """Tickets in `scope` matching the query and the filters, newest first, with the total."""
    base = tickets_query(session, scope, query, filters)
    total = session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
    rows = session.execute(base.order_by(Ticket.id.desc()).limit(limit).offset(offset)).scalars()  # type: ignore[union-attr]
    return SearchResult(list(rows), int(total))
