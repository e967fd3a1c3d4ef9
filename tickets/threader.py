"""Put each stored message into exactly one ticket: one thread, one ticket.

A message joins an existing ticket when it names it (a ticket reference such as
"[TN-000123]" in the subject, or a reply token in the recipient address), when one of its
parent keys is already known (email In-Reply-To / References, RFC 5322 section 3.6.4; a fanpage
conversation or top-level comment), or, for a bounce, when the bounced Message-ID is known.
Otherwise an inbound, human message opens a new ticket. Auto-replies, bounces and the page's
own messages never open a ticket: they wait, unthreaded, and are adopted by the ticket of their
thread when it appears.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select, text, update
from sqlmodel import Session

from tickets.models import Message, ThreadKey, Ticket, TicketStatus, utcnow
from tickets.store import add_event, count_messages, register_thread_keys, set_status

TICKET_REF = re.compile(r"^TN-(\d+)")


@dataclass(frozen=True)
class ThreadOutcome:
    ticket_id: int | None
    created_ticket: bool
    inbound: bool


def ticket_id_from_reference(reference: str | None) -> int | None:
    match = TICKET_REF.match(reference or "")
    return int(match.group(1)) if match else None


def message_keys(message: Message) -> list[str]:
    keys = list(message.parent_keys)
    if message.own_key:
        keys.append(message.own_key)
    if message.thread_key and message.thread_key not in keys:
        keys.append(message.thread_key)
    return keys


def find_ticket(session: Session, message: Message) -> int | None:
    for reference in (message.reply_token, message.ticket_ref):
        ticket_id = ticket_id_from_reference(reference)
        if ticket_id is not None and session.get(Ticket, ticket_id) is not None:
            return ticket_id
    keys = message_keys(message)
    if message.is_bounce and message.bounced_message_id:
        keys.insert(0, f"msgid:{message.bounced_message_id}")
    if not keys:
        return None
    rows = session.execute(select(ThreadKey.key, ThreadKey.ticket_id).where(ThreadKey.key.in_(keys))).all()  # type: ignore[attr-defined]
    owners = {key: ticket_id for key, ticket_id in rows}
    for key in keys:  # most specific key first
        if key in owners:
            return owners[key]
    return None


def thread_lock_keys(message: Message) -> list[str]:
    """The keys whose lock serializes threading of this message (see `lock_thread_keys`)."""
    return message_keys(message) + ([f"msgid:{message.bounced_message_id}"] if message.bounced_message_id else [])


def lock_thread_keys(session: Session, keys: list[str]) -> None:
    """Serialize threading of messages that share a key.

    Without this, a reply seen as an orphan and its thread's new ticket could pass each other
    in two workers (each committing before seeing the other). PostgreSQL: a transaction-level
    advisory lock per key, taken in sorted order so two workers cannot deadlock; a batch takes
    the locks of all its messages at once, before threading any. SQLite: every write
    transaction begins IMMEDIATE (tickets/db.py), holding the single writer lock throughout.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted(set(keys)):
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})


def _lock_thread(session: Session, message: Message) -> None:
    if session.get_bind().dialect.name == "postgresql":
        lock_thread_keys(session, thread_lock_keys(message))
        session.refresh(message)


def opens_ticket(message: Message) -> bool:
    return message.direction == "inbound" and not message.is_auto_reply and not message.is_bounce


def thread_message(session: Session, message_id: int, *, keys_locked: bool = False) -> ThreadOutcome:
    """Attach a stored message to its ticket, opening one when it starts a thread.

    `keys_locked`: the caller already holds the locks of this message's keys (a batch takes
    them all first, `lock_thread_keys`) and loaded the message after taking them."""
    message = session.get(Message, message_id)
    if message is None:
        raise LookupError(f"message {message_id} does not exist")
    if not keys_locked:
        _lock_thread(session, message)
    inbound = opens_ticket(message)
    if message.ticket_id is not None:  # already threaded by an earlier delivery
        return ThreadOutcome(message.ticket_id, created_ticket=False, inbound=inbound)
    ticket_id = find_ticket(session, message)
    if ticket_id is None and not inbound:
        message.threaded = True
        session.add(message)
        return ThreadOutcome(None, created_ticket=False, inbound=False)
    created = False
    if ticket_id is None:
        ticket_id = _open_ticket(session, message)
        created = True
    _attach(session, message, ticket_id, created)
    return ThreadOutcome(ticket_id, created_ticket=created, inbound=inbound)


def _open_ticket(session: Session, message: Message) -> int:
    ticket = Ticket(
        channel=message.channel,
        source=message.source,
        subject=message.subject,
        sender_address=message.sender_address,
        sender_name=message.sender_name,
        created_at=message.received_at or utcnow(),
        updated_at=utcnow(),
    )
    session.add(ticket)
    session.flush()
    assert ticket.id is not None
    keys = message_keys(message)
    register_thread_keys(session, ticket.id, keys)
    # Keys are the arbiter between concurrent workers: if another ticket already owns one of
    # this thread's keys, that ticket wins and ours is dropped before anyone can see it.
    owners = {
        owner
        for (owner,) in session.execute(select(ThreadKey.ticket_id).where(ThreadKey.key.in_(keys))).all()  # type: ignore[attr-defined]
    }
    others = sorted(owners - {ticket.id})
    if others:
        winner = others[0]
        session.execute(update(ThreadKey).where(ThreadKey.ticket_id == ticket.id).values(ticket_id=winner))  # type: ignore[arg-type]
        session.delete(ticket)
        session.flush()
        return winner
    add_event(session, ticket.id, "created", channel=message.channel, source=message.source, message_id=message.id)
    return ticket.id


def _attach(session: Session, message: Message, ticket_id: int, created: bool) -> None:
    message.ticket_id = ticket_id
    message.threaded = True
    session.add(message)
    register_thread_keys(session, ticket_id, message_keys(message))
    if message.is_bounce and message.bounced_message_id:
        register_thread_keys(session, ticket_id, [f"msgid:{message.bounced_message_id}"])
    session.flush()
    adopted = _adopt_waiting_messages(session, ticket_id)
    ticket = session.get(Ticket, ticket_id)
    assert ticket is not None
    ticket.message_count = count_messages(session, ticket_id)
    if not created and opens_ticket(message) and not message.parent_keys and message.received_at <= ticket.created_at:
        # The thread's first message arrived after a reply had opened the ticket.
        ticket.subject, ticket.sender_address, ticket.sender_name = message.subject, message.sender_address, message.sender_name
        ticket.created_at = message.received_at
    ticket.updated_at = utcnow()
    if not created and _reopens(message, ticket):
        why = "công dân viết tiếp sau câu trả lời" if ticket.status == TicketStatus.ANSWERED.value else "tin nhắn mới sau khi đã giải quyết"
        set_status(session, ticket, TicketStatus.TRIAGED if ticket.tagged_at else TicketStatus.NEW, "system", why)
        ticket.resolved_at = None
        add_event(session, ticket_id, "reopened", "system", message_id=message.id)
    for waiting in [message, *adopted]:
        if waiting.direction == "outbound":
            responded = waiting.sent_at or waiting.received_at
            if ticket.first_response_at is None or (responded and responded < ticket.first_response_at):
                ticket.first_response_at = responded
    session.add(ticket)
    add_event(
        session,
        ticket_id,
        "message_added",
        message_id=message.id,
        direction=message.direction,
        auto_reply=message.is_auto_reply,
        bounce=message.is_bounce,
    )
    for waiting in adopted:
        add_event(session, ticket_id, "message_added", message_id=waiting.id, direction=waiting.direction, adopted=True)
    from tickets.search import refresh_search_text

    refresh_search_text(session, ticket_id)  # the ticket is found by its new text at once


REOPENED_BY_CITIZEN = (TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value, TicketStatus.ANSWERED.value)


def _reopens(message: Message, ticket: Ticket) -> bool:
    """A citizen writing again after resolution, or after the center answered (`answered`, waiting
    on the citizen), reopens the ticket (not an auto-reply or bounce, not a unit's reply, which
    carries its reply token, and not a message that arrived before the resolution)."""
    if not opens_ticket(message) or message.reply_token or ticket.status not in REOPENED_BY_CITIZEN:
        return False
    arrived = message.received_at or message.sent_at
    return ticket.resolved_at is None or arrived is None or arrived > ticket.resolved_at


def _adopt_waiting_messages(session: Session, ticket_id: int) -> list[Message]:
    """Messages that arrived before their thread had a ticket (the page's reply seen first)."""
    keys = [k for (k,) in session.execute(select(ThreadKey.key).where(ThreadKey.ticket_id == ticket_id)).all()]  # type: ignore[arg-type]
    if not keys:
        return []
    waiting = session.exec(  # type: ignore[call-overload]
        select(Message).where(Message.ticket_id.is_(None), Message.threaded.is_(True), Message.thread_key.in_(keys))  # type: ignore[union-attr, attr-defined]
    ).scalars().all()
    for message in waiting:
        message.ticket_id = ticket_id
        session.add(message)
    if waiting:
        session.flush()
    return list(waiting)
