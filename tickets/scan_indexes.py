"""Indexes that keep the periodic scans and the operator's commands off whole tables (issue 16).

Partial indexes hold only the rows a scan looks for, so they stay as small as the unfinished
work, however large the database grows:
- messages not yet threaded (reconcile) and messages waiting for their ticket (adoption: a reply
  that arrived before its original, looked up by thread key),
- tickets not yet tagged (reconcile).
Raw items by state (pending/failed for reconcile, failed/quarantined for `failures`) and
escalations by status (`status` counts the open ones) use the plain indexes on those columns
(ix_raw_item_state, ix_escalation_status): the queries name several states with bound
parameters (`IN (?, ?)`), which SQLite cannot match against a partial index's condition, and a
search of those indexes already costs what the matching rows cost. Composite ones give `tiepnhan tickets --status/--province` its rows in ticket order, so a page
is read straight from the index.

Each partial index's condition is written as the very expression the queries use (SQLite uses a
partial index only when the query's WHERE contains the index's condition term for term), for
both dialects. tests/ops/test_query_plans.py checks the plans on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import Index

from tickets.models import Message, Ticket

_message = Message.__table__.c  # type: ignore[attr-defined]
_ticket = Ticket.__table__.c  # type: ignore[attr-defined]


def _partial(name: str, *columns: object, where: object) -> Index:
    return Index(name, *columns, sqlite_where=where, postgresql_where=where)


MESSAGE_UNTHREADED = _partial("ix_message_unthreaded", _message.id, where=_message.threaded.is_(False))
MESSAGE_WAITING = _partial("ix_message_waiting", _message.thread_key, where=_message.ticket_id.is_(None))
TICKET_UNTAGGED = _partial("ix_ticket_untagged", _ticket.id, where=_ticket.tagged_at.is_(None))
TICKET_STATUS_ID = Index("ix_ticket_status_id", _ticket.status, _ticket.id)
TICKET_PROVINCE_ID = Index("ix_ticket_province_id", _ticket.province_code, _ticket.id)
