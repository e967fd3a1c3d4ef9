"""A bank with nothing published yet (a fresh install): questions get no suggestion and all
count as unanswered, instead of the ranking library failing on an empty corpus (the ticket
page answered 500 for every question ticket before)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from qbank.entry import BankEntry
from qbank.grow import unanswered_clusters
from qbank.store import save_entry
from qbank.suggestions import suggestions_for_ticket
from tests.samples import sample_email
from tickets.db import get_engine, migrate, session_scope
from tickets.models import Ticket
from tickets.pipeline import process_raw_item_now
from tickets.store import RawInput, save_raw_items

QUESTIONS = ["Năm nay BHXH có thi tuyển viên chức không, khi nào thi?", "Cho hỏi lịch thi tuyển viên chức ngành BHXH năm nay?"]


def test_no_published_entry_means_no_suggestion_and_every_question_unanswered(db_url: str) -> None:
    engine = get_engine(db_url)
    migrate(engine)
    with session_scope(engine) as session:  # a draft only: nothing published
        save_entry(session, BankEntry("draft-1", "Thi tuyển viên chức?", "Chưa có kế hoạch.", status="draft"), "tuvan")
    for index, body in enumerate(QUESTIONS):
        raw = RawInput("mailbox", "email", f"<empty{index}@example.vn>", sample_email(index, subject="Hỏi", body=body, id_prefix="eb"))
        (saved,) = save_raw_items(engine, [raw])
        process_raw_item_now(engine, saved.raw_item_id, 1_000_000)
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        ids = [t.id for t in session.exec(select(Ticket).where(Ticket.category == "question")).all()]
        assert len(ids) == 2
        assert all(suggestions_for_ticket(session, i) == [] for i in ids if i is not None)
        clusters = unanswered_clusters(session, now - timedelta(hours=1), now + timedelta(hours=1))
    assert [sorted(c.ticket_ids) for c in clusters] == [sorted(ids)]
