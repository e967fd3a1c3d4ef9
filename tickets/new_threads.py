"""Open the tickets of a batch's new threads with set-based SQL (tickets/threader.py is the rule).

Most messages of a first sync or a backfill start a thread of their own: an inbound, human
message naming no parent, no ticket and no reply token, none of whose keys any ticket or waiting
message holds, and which shares no key with another message of its batch. For those the
threader's decision is known in advance (a new ticket holding just that message), so their
tickets, thread keys, message links, events and search texts are written together, a few
statements for the whole set instead of a dozen per message. Everything else goes through
`thread_message` one message at a time. The caller holds the batch's thread locks
(`lock_thread_keys`; SQLite's writer lock), so no key can be taken meanwhile; should one be
(a writer that skipped the locks), the unique key makes the insert fail and every message of
the set takes the one-at-a-time path instead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from tickets.models import Message, ThreadKey, Ticket, utcnow
from tickets.search import search_text
from tickets.search_models import TicketSearch
from tickets.store import add_event
from tickets.threader import ThreadOutcome, message_keys, opens_ticket, thread_lock_keys

CHUNK = 500


def _could_start_a_thread(message: Message) -> bool:
    return (
        message.ticket_id is None
        and not message.threaded
        and opens_ticket(message)
        and not message.parent_keys
        and not message.reply_token
        and not message.ticket_ref
        and bool(message_keys(message))
    )


def _taken(session: Session, keys: Sequence[str]) -> set[str]:
    """Keys a ticket owns, or a waiting (unthreaded) message sits on."""
    taken: set[str] = set()
    for start in range(0, len(keys), CHUNK):
        chunk = list(keys[start : start + CHUNK])
        taken.update(session.execute(select(ThreadKey.key).where(ThreadKey.key.in_(chunk))).scalars())  # type: ignore[attr-defined]
        waiting = select(Message.thread_key).where(Message.ticket_id.is_(None), Message.threaded.is_(True), Message.thread_key.in_(chunk))  # type: ignore[union-attr, attr-defined]
        taken.update(k for k in session.execute(waiting).scalars() if k)
    return taken


def new_thread_messages(session: Session, messages: Sequence[Message]) -> list[Message]:
    """The messages of `messages` that certainly open a ticket of their own (see the module doc)."""
    uses = Counter(key for message in messages for key in set(thread_lock_keys(message)))
    candidates = [m for m in messages if _could_start_a_thread(m) and all(uses[k] == 1 for k in message_keys(m))]
    taken = _taken(session, [k for m in candidates for k in message_keys(m)])
    return [m for m in candidates if not taken.intersection(message_keys(m))]


def open_tickets(session: Session, messages: Sequence[Message]) -> dict[int, ThreadOutcome]:
    """Open one ticket per message (each from `new_thread_messages`), as `thread_message`
    would: the same rows and events. Returns {} when a key was taken after all (nothing written)."""
    if not messages:
        return {}
    now = utcnow()
    try:
        with session.begin_nested():
            tickets = [
                Ticket(
                    channel=m.channel,
                    source=m.source,
                    subject=m.subject,
                    sender_address=m.sender_address,
                    sender_name=m.sender_name,
                    message_count=1,
                    created_at=m.received_at or now,
                    updated_at=now,
                )
                for m in messages
            ]
            session.add_all(tickets)
            session.flush()
            keys = [{"key": key, "ticket_id": t.id} for m, t in zip(messages, tickets, strict=True) for key in dict.fromkeys(message_keys(m))]
            session.execute(insert(ThreadKey), keys)
            for message, ticket in zip(messages, tickets, strict=True):
                assert ticket.id is not None
                message.ticket_id, message.threaded = ticket.id, True
                add_event(session, ticket.id, "created", channel=message.channel, source=message.source, message_id=message.id)
                add_event(
                    session, ticket.id, "message_added",
                    message_id=message.id, direction=message.direction, auto_reply=message.is_auto_reply, bounce=message.is_bounce,
                )  # fmt: skip
            session.add_all(
                TicketSearch(
                    ticket_id=t.id or 0,
                    folded=search_text(t.subject, t.sender_address, t.sender_name, t.province_code, [m.clean_text]),
                    updated_at=now,
                )
                for m, t in zip(messages, tickets, strict=True)
            )
            session.flush()
    except IntegrityError:
        return {}
    return {m.id or 0: ThreadOutcome(t.id, created_ticket=True, inbound=True) for m, t in zip(messages, tickets, strict=True)}
