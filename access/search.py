"""Search for a user: tickets/search.py within what this user may see (access/scope.py)."""

from __future__ import annotations

from sqlmodel import Session

from access.models import User
from access.scope import ticket_scope
from tickets.search import SearchResult, TicketFilters, search_in_scope


def search_tickets(
    session: Session, user: User | None, q: str, filters: TicketFilters = TicketFilters(), limit: int = 50, offset: int = 0
) -> SearchResult:
    return search_in_scope(session, ticket_scope(user), q, filters, limit=limit, offset=offset)
