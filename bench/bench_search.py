"""Search over 100,000 tickets: tone-mark-insensitive full text on SQLite (FTS5) and PostgreSQL
(GIN on to_tsvector('simple', folded)), within a user's scope.

    uv run python bench/bench_search.py [N]     (default N = 100000 tickets)

The tickets are bulk-inserted (not the pipeline): Vietnamese subjects and texts drawn from a
fixed vocabulary, with senders and provinces; one ticket in 34 is escalated (sent) to its
province's office. For each query it prints the median time of search_tickets (the count and
the first page of 50, as the list page and the API ask), for a coordinator and for an office
user, and the baseline measured in the same run on the same data: the same words matched by
LIKE '%word%' over the folded text (a full scan, what a search without an index does). Ratio =
baseline / indexed.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
REPEAT = 5
QUERIES = ["bao hiem that nghiep", "Da Nang", "nguyen van an", "luong huu ha noi", "the bhyt het han", "quynh luu"]

SUBJECTS = ["Hỏi về bảo hiểm thất nghiệp", "Khiếu nại chậm chi trả lương hưu", "Thẻ BHYT hết hạn", "Hỏi thủ tục hưởng BHXH một lần",
            "Phản ánh bệnh viện không nhận thẻ BHYT", "Hỏi về chế độ thai sản", "Đóng BHXH tự nguyện", "Cấp lại sổ BHXH"]
PHRASES = ["tôi đã nộp hồ sơ từ tháng trước", "đến nay vẫn chưa được giải quyết", "xin hỏi thủ tục như thế nào", "công ty nợ đóng bảo hiểm",
           "tôi nghỉ việc và muốn hưởng trợ cấp", "thẻ bảo hiểm y tế của tôi bị mất", "bệnh viện yêu cầu trả toàn bộ chi phí",
           "mong cơ quan bảo hiểm xã hội kiểm tra", "tôi sinh con vào tháng chín", "lương hưu tháng này chưa về tài khoản"]
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ"]
MIDDLE = ["Văn", "Thị", "Đức", "Minh", "Quốc", "Ngọc"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Hoa", "Lan", "Khánh", "Trang", "Tuấn", "Yến"]
PLACES = ["Hà Nội", "Đà Nẵng", "Hải Phòng", "Cần Thơ", "Huế", "Nghệ An", "Đồng Nai", "Quỳnh Lưu", "Biên Hòa", "Thủ Đức"]


def build(url: str, n: int) -> None:
    from sqlalchemy import insert

    from tickets.db import get_engine, migrate, session_scope
    from tickets.escalation_models import Escalation
    from tickets.models import Ticket
    from tickets.places import province_codes
    from tickets.search import search_text
    from tickets.search_models import TicketSearch

    engine = get_engine(url)
    migrate(engine)
    rng = random.Random(13)
    codes = province_codes()
    start = datetime(2025, 7, 1, tzinfo=UTC)
    chunk = 5_000
    for first in range(1, n + 1, chunk):
        tickets, texts, escalations = [], [], []
        for ticket_id in range(first, min(first + chunk, n + 1)):
            name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
            subject = rng.choice(SUBJECTS)
            body = f"Tôi là {name} ở {rng.choice(PLACES)}, {rng.choice(PHRASES)}, {rng.choice(PHRASES)}."
            province = rng.choice(codes)
            at = start + timedelta(minutes=ticket_id)
            tickets.append({"id": ticket_id, "channel": "email", "source": "bench", "subject": subject, "sender_address": f"dan{ticket_id}@example.vn",
                            "sender_name": name, "status": "triaged", "message_count": 1, "insurance_types": [], "topics": [], "tag_confidence": {},
                            "tag_evidence": [], "province_code": province, "tags_locked": False, "created_at": at, "updated_at": at})
            texts.append({"ticket_id": ticket_id, "folded": search_text(subject, f"dan{ticket_id}@example.vn", name, province, [body]), "updated_at": at})
            if ticket_id % 34 == 0:
                escalations.append({"ticket_id": ticket_id, "unit_id": f"province-{province}", "status": "sent", "review_required": True, "priority": "normal",
                                    "sla_hours": 240.0, "reply_token": f"TN-{ticket_id:06d}.bench", "created_at": at, "created_by": "bench", "attempts": 0})
        with session_scope(engine) as session:
            session.execute(insert(Ticket), tickets)
            session.execute(insert(TicketSearch), texts)
            if escalations:
                session.execute(insert(Escalation), escalations)


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    runs = []
    for _ in range(REPEAT):
        began = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - began)
    return statistics.median(runs)


def measure(label: str, url: str) -> None:
    from sqlalchemy import and_, func, select

    from access.models import User
    from access.scope import ticket_scope
    from access.search import search_tickets
    from tickets.db import get_engine
    from tickets.models import Ticket
    from tickets.search import query_words
    from tickets.search_models import TicketSearch
    from tickets.db import session_scope

    engine = get_engine(url)
    coordinator = User(name="c", role="coordinator")
    office = User(name="o", role="office", unit_id="province-79")
    print(f"\n{label}: {N:,} tickets")
    print(f"  {'query':24} {'hits':>7} {'coordinator':>12} {'office-79':>10} {'baseline LIKE':>14} {'ratio':>7}")
    for query in QUERIES:
        with session_scope(engine) as session:
            total = search_tickets(session, coordinator, query).total

            def indexed(user: User) -> None:
                search_tickets(session, user, query, limit=50)

            def baseline() -> None:
                words = query_words(query)
                condition = and_(*(TicketSearch.folded.like(f"%{w}%") for w in words))  # type: ignore[attr-defined]
                base = select(Ticket).join(TicketSearch, TicketSearch.ticket_id == Ticket.id).where(condition, ticket_scope(coordinator))  # type: ignore[arg-type]
                session.execute(select(func.count()).select_from(base.subquery())).scalar_one()
                list(session.execute(base.order_by(Ticket.id.desc()).limit(50)).scalars())  # type: ignore[union-attr]

            coordinator_time, office_time, baseline_time = timed(lambda: indexed(coordinator)), timed(lambda: indexed(office)), timed(baseline)
        print(f"  {query:24} {total:>7,} {coordinator_time * 1000:>10.1f}ms {office_time * 1000:>8.1f}ms {baseline_time * 1000:>12.1f}ms {baseline_time / coordinator_time:>6.1f}x")


def main() -> None:
    from tests.pg import start_postgres
    from tickets.db import dispose_engines

    tmp = Path(tempfile.mkdtemp(prefix="bench-search-"))
    tmp.chmod(0o755)  # PostgreSQL runs as an unprivileged user when we are root
    sqlite_url = f"sqlite:///{tmp / 'search.db'}"
    began = time.perf_counter()
    build(sqlite_url, N)
    print(f"SQLite: built {N:,} tickets in {time.perf_counter() - began:.1f}s")
    measure("SQLite (FTS5)", sqlite_url)
    server = start_postgres(tmp / "pg")
    try:
        pg_url = server.create_database()
        began = time.perf_counter()
        build(pg_url, N)
        from sqlalchemy import text

        from tickets.db import get_engine

        with get_engine(pg_url).begin() as connection:
            connection.execute(text("ANALYZE"))
        print(f"\nPostgreSQL: built {N:,} tickets in {time.perf_counter() - began:.1f}s")
        measure("PostgreSQL (GIN to_tsvector)", pg_url)
    finally:
        dispose_engines()
        server.stop()


if __name__ == "__main__":
    main()
