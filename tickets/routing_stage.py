"""Routing stage: propose escalations for a tagged ticket, by the rules in `routing_file`.

Idempotent: a ticket is escalated at most once per rule and once per unit while that
escalation is open, so a repeated delivery of this stage (or a re-tagging) creates nothing
new. A proposal still waiting for review follows the tags when they change (a second
message names the province); anything a coordinator has decided on is left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tickets.db import session_scope
from tickets.directory import routing
from tickets.escalation_models import Escalation, EscalationStatus
from tickets.escalations import create_escalation, lock_ticket
from tickets.models import Ticket, TicketStatus
from tickets.routing import TicketTags, first_matching_rule, target_unit_id
from tickets.store import add_event
from tiepnhan import runtime

log = logging.getLogger(__name__)
CLOSED_TICKET_STATUSES = (TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value, TicketStatus.SPAM.value)


def min_province_confidence() -> float:
    """The routing file's threshold under which a province is neither stored nor acted on."""
    return routing(runtime.settings()).rules.min_province_confidence


def trusted_province(ticket: Ticket, min_confidence: float) -> str | None:
    """The ticket's province when its confidence reaches the routing file's threshold; a
    province a coordinator set by hand (tags locked) is always trusted."""
    if ticket.province_code is None or ticket.tags_locked:
        return ticket.province_code
    confidence = (ticket.tag_confidence or {}).get("province")
    return ticket.province_code if confidence is None or confidence >= min_confidence else None


def ticket_tags(ticket: Ticket, text: Callable[[], str], min_province_confidence: float = 0.0) -> TicketTags:
    return TicketTags(
        category=ticket.category,
        insurance_types=tuple(ticket.insurance_types),
        province_code=trusted_province(ticket, min_province_confidence),
        topics=tuple(ticket.topics),
        channel=ticket.channel,
        confidence=dict(ticket.tag_confidence),
        text=text,
    )


def _lock_for_routing(session: Session, ticket_id: int) -> Ticket | None:
    """`tickets.escalations.lock_ticket` for a transaction known to write: on SQLite it began
    IMMEDIATE (tickets/db.py) and already holds the writer lock, so no UPDATE is needed to take
    it (an ORM UPDATE also scans every ticket a batch holds in its session)."""
    if session.get_bind().dialect.name == "postgresql":
        return lock_ticket(session, ticket_id)
    return session.get(Ticket, ticket_id)


def route(engine: Engine, ticket_id: int) -> list[int]:
    """Returns the ids of escalations that are ready to send now (rules without review)."""
    from tickets.pipeline import request_text

    with session_scope(engine) as session:
        return route_in_session(session, ticket_id, lambda: request_text(session, ticket_id))


def route_in_session(session: Session, ticket_id: int, request_text: Callable[[], str]) -> list[int]:
    """`route` in the caller's transaction (a batch routes all its tickets in one);
    `request_text` gives the ticket's request text, called only when a rule needs it."""
    routing_rules = routing(runtime.settings()).rules
    rules, min_province = routing_rules.rules, routing_rules.min_province_confidence
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or ticket.status in CLOSED_TICKET_STATUSES:
        return []
    text = cache(lambda: f"{ticket.subject}\n{request_text()}")
    if first_matching_rule(rules, ticket_tags(ticket, text, min_province)) is None:
        return []  # most tickets (questions, thanks) end here, without a lock
    ticket = _lock_for_routing(session, ticket_id)
    if ticket is None:
        return []
    tags = ticket_tags(ticket, text, min_province)
    rule = first_matching_rule(rules, tags)  # again, under the lock: the tags may just have changed
    unit_id = target_unit_id(rule, tags) if rule is not None else None
    if rule is None or unit_id is None:
        return []
    existing = list(session.execute(select(Escalation).where(Escalation.ticket_id == ticket_id)).scalars())  # type: ignore[arg-type]
    if any(e.unit_id == unit_id or e.rerouted_from == unit_id for e in existing):
        return []  # already with that unit (or a coordinator moved it away from it)
    same_rule = [e for e in existing if e.rule == rule.name]
    waiting = [e for e in same_rule if e.status == EscalationStatus.PROPOSED.value]
    if waiting:
        proposal = waiting[0]
        previous, proposal.unit_id = proposal.unit_id, unit_id
        session.add(proposal)
        add_event(session, ticket_id, "escalation_retargeted", escalation_id=proposal.id, unit=unit_id, previous_unit=previous, rule=rule.name)
        return []
    if same_rule:
        return []  # that rule's escalation was decided on: the coordinator owns it now
    escalation = create_escalation(
        session, ticket, unit_id, rule=rule.name, review_required=rule.review, priority=rule.priority, sla_hours=rule.sla_hours, actor="system"
    )
    log.info("escalation proposed", extra={"ticket_id": ticket_id, "unit": unit_id, "rule": rule.name, "review": rule.review})
    return [] if rule.review else [escalation.id or 0]
