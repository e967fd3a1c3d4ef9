"""A database of N tickets built quickly with core bulk inserts (not the pipeline), with a
FIXED amount of unfinished work whatever N is: the query-plan tests use a small one,
bench/bench_bigdb.py large ones.

Each ticket has one message (threaded, with its thread key), one "created" event, and one in
ten an escalation (resolved, but UNFINISHED of them open). Unfinished work: UNFINISHED raw items
pending, tickets untagged, messages waiting for their ticket (thread key known), messages not
yet threaded, open escalations.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Engine

UNFINISHED = 20
CHUNK = 10_000
START = datetime(2025, 1, 1, tzinfo=UTC)
# 34 provinces and no province, each about 3%; most tickets long closed, the new ones few (the
# last UNFINISHED), as in a real database.
PROVINCES = (*(f"{n:02d}" for n in range(1, 35)), None)
STATUSES = ("resolved", "resolved", "resolved", "closed", "triaged", "escalated")


def _raw(raw_id: int, state: str, arrived: datetime) -> dict[str, Any]:
    return {"id": raw_id, "source": "hopthu", "kind": "email", "external_id": f"<m{raw_id}@bench>", "sha256": "0" * 64, "size": 0,
            "arrived_at": arrived, "origin": {}, "state": state, "attempts": int(state == "processed")}  # fmt: skip


def build(engine: Engine, n: int, unfinished: int = UNFINISHED) -> None:
    """Fill a migrated, empty database."""
    from tickets.db import session_scope
    from tickets.escalation_models import Escalation
    from tickets.models import Blob, Message, RawItem, ThreadKey, Ticket, TicketEvent

    def insert_all(model: Any, rows: list[dict[str, Any]]) -> None:
        for first in range(0, len(rows), CHUNK):
            with session_scope(engine) as session:
                session.execute(insert(model), rows[first : first + CHUNK])

    with session_scope(engine) as session:
        session.execute(insert(Blob), [{"sha256": "0" * 64, "size": 0, "content": b"", "created_at": START}])
    # Raw items 1..n processed (one per message), then the unfinished ones.
    for first in range(1, n + 1, CHUNK):
        with session_scope(engine) as session:
            session.execute(insert(RawItem), [_raw(i, "processed", START + timedelta(seconds=i * 30)) for i in range(first, min(first + CHUNK, n + 1))])
    insert_all(RawItem, [_raw(n + 1 + i, "pending", START + timedelta(seconds=(n + 1) * 30)) for i in range(unfinished)])
    for first in range(1, n + 1, CHUNK):
        ids = range(first, min(first + CHUNK, n + 1))
        tickets, messages, keys, events, escalations = [], [], [], [], []
        for tid in ids:
            created = START + timedelta(seconds=tid * 30)
            tickets.append({"id": tid, "channel": "email", "source": "hopthu", "subject": f"Hỏi về BHXH #{tid}", "sender_address": f"c{tid}@example.vn",
                            "status": "new" if tid > n - unfinished else STATUSES[tid % len(STATUSES)], "message_count": 1, "insurance_types": ["BHXH"], "province_code": PROVINCES[tid % len(PROVINCES)],
                            "category": "question" if tid % 3 else "complaint", "topics": [], "tag_confidence": {"category": 0.9}, "tag_evidence": [],
                            "tagged_at": None if tid > n - unfinished else created, "tags_locked": False, "created_at": created, "updated_at": created})  # fmt: skip
            messages.append({"id": tid, "ticket_id": tid, "raw_item_id": tid, "channel": "email", "source": "hopthu", "external_id": f"<m{tid}@bench>",
                             "direction": "inbound", "subject": f"Hỏi về BHXH #{tid}", "clean_text": "Tôi muốn hỏi về sổ BHXH.", "full_text": "Tôi muốn hỏi về sổ BHXH.",
                             "received_at": created, "sent_at": created, "thread_key": f"<m{tid}@bench>", "parent_keys": [], "previous_texts": [], "extra": {},
                             "is_auto_reply": False, "is_bounce": False, "is_deleted": False, "threaded": True})  # fmt: skip
            keys.append({"key": f"<m{tid}@bench>", "ticket_id": tid})
            events.append({"ticket_id": tid, "at": created, "kind": "created", "actor": "system", "data": {"message_id": tid}})
            if tid % 10 == 0:
                escalations.append({"ticket_id": tid, "unit_id": "province-79", "status": "resolved", "review_required": True, "priority": "normal",
                                    "sla_hours": 240.0, "reply_token": f"t{tid}", "created_at": created, "created_by": "system", "attempts": 1})  # fmt: skip
        with session_scope(engine) as session:
            session.execute(insert(Ticket), tickets)
            session.execute(insert(Message), messages)
            session.execute(insert(ThreadKey), keys)
            session.execute(insert(TicketEvent), events)
            if escalations:
                session.execute(insert(Escalation), escalations)
    late = START + timedelta(seconds=(n + 1) * 30)
    waiting = [{"id": n + 1 + i, "ticket_id": None, "raw_item_id": 1, "channel": "email", "source": "hopthu", "external_id": f"<w{i}@bench>",
                "direction": "inbound", "subject": "Re: chờ thư gốc", "clean_text": "", "full_text": "", "received_at": late, "sent_at": late,
                "thread_key": f"<original-{i}@bench>", "parent_keys": [f"<original-{i}@bench>"], "previous_texts": [], "extra": {},
                "is_auto_reply": False, "is_bounce": False, "is_deleted": False, "threaded": i % 2 == 0}  # fmt: skip
               for i in range(2 * unfinished)]  # even: waiting for their original; odd: not yet threaded
    insert_all(Message, waiting)
    insert_all(Escalation, [{"ticket_id": 1 + i, "unit_id": "province-79", "status": "proposed", "review_required": True, "priority": "normal", "sla_hours": 240.0,
                             "reply_token": f"open{i}", "created_at": late, "created_by": "system", "attempts": 0} for i in range(unfinished)])  # fmt: skip
    if engine.dialect.name == "postgresql":
        from sqlalchemy import text

        with engine.begin() as connection:  # ids were given explicitly: move the sequences past them
            for table in ("ticket", "message", "rawitem", "ticketevent", "escalation"):
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"))
            connection.execute(text("ANALYZE"))  # autovacuum would, soon after a bulk load
    # SQLite: no ANALYZE, as in production (tiepnhan never runs it): its planner then assumes
    # large tables and picks the indexes.
