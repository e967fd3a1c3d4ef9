"""Routing stage: propose escalations for a tagged ticket.

Filled in by the routing and escalation work (issue 7); until then a ticket stays with the center.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine


def route(engine: Engine, ticket_id: int) -> None:
    return None
