"""Reports for one month over 100,000 tickets with their messages, events and clocks, on SQLite
and on PostgreSQL (a throwaway server, as tests/pg.py starts).

    uv run python bench/bench_reports.py [N]     (default N = 100000 tickets)

The data is bulk-inserted (not the pipeline): N tickets spread over 2025 with their clocks, two
messages each (one in ten a filtered auto-reply), four events each (created, triaged, resolved
by a coordinator, first response) and one in five escalated with its clock. For each report of
March 2025 it prints the median of 3 runs (target: under 2 s), then the baseline measured in the
same run on the same data: the same report with the period indexes dropped. Ratio = baseline /
indexed.

Then the web reports page (web/pages_reports.py) on the indexed data: the page for March (the
report through the user's access scope, its table of links, its chart, the template) for a
coordinator and for the office of province-01, against the CLI's build_report of the same
report in the same run; and a drill-down (the figure recomputed, then the ticket list filtered
to its tickets).
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
REPEAT = 3
CASES = [("volume", "province"), ("volume", "day"), ("quality", "category"), ("sla", None), ("workload", None)]
PERIOD_INDEXES = [
    ("ix_ticket_created_at", "ticket"), ("ix_message_received_at", "message"), ("ix_ticket_event_at", "ticketevent"),
    ("ix_ticket_clock_first_action", "ticket_clock"), ("ix_ticket_clock_opened", "ticket_clock"), ("ix_escalation_clock_proposed", "escalation_clock"),
]  # fmt: skip


def build(url: str, n: int) -> None:
    from sqlalchemy import insert

    from tickets.clock_models import EscalationClock, TicketClock
    from tickets.db import get_engine, migrate, session_scope
    from tickets.escalation_models import Escalation
    from tickets.models import Blob, Message, RawItem, Ticket, TicketEvent
    from tickets.places import province_codes

    engine = get_engine(url)
    migrate(engine)
    rng = random.Random(15)
    codes = [*province_codes(), None]
    start = datetime(2025, 1, 1, tzinfo=UTC)
    with session_scope(engine) as session:
        session.execute(insert(Blob), [{"sha256": "0" * 64, "size": 0, "content": b"", "created_at": start}])
        session.execute(insert(RawItem), [{"id": 1, "source": "bench", "kind": "email", "external_id": "bench", "sha256": "0" * 64, "size": 0, "arrived_at": start, "origin": {}, "state": "processed", "attempts": 0}])
    chunk, message_id, escalation_id = 5_000, 1, 1
    for first in range(1, n + 1, chunk):
        tickets, clocks, messages, events, escalations, escalation_clocks = [], [], [], [], [], []
        for tid in range(first, min(first + chunk, n + 1)):
            opened = start + timedelta(minutes=tid * 525_600 // n)
            province = rng.choice(codes)
            responded = opened + timedelta(minutes=rng.randrange(10, 3000))
            resolved = responded + timedelta(minutes=rng.randrange(10, 6000))
            status = rng.choice(["resolved", "resolved", "resolved", "triaged", "escalated", "spam"])
            person = f"dieu.phoi.{tid % 7}"
            tickets.append({"id": tid, "channel": rng.choice(["email", "facebook_message"]), "source": rng.choice(["hopthu", "fanpage"]), "subject": "Hỏi về BHXH",
                            "status": status, "message_count": 2, "insurance_types": rng.choice([["BHXH"], ["BHYT"], ["BHXH", "BHYT"], []]), "topics": [],
                            "tag_confidence": {}, "tag_evidence": [], "province_code": province, "category": rng.choice(["question", "complaint", "other"]),
                            "tags_locked": False, "created_at": opened, "updated_at": resolved})  # fmt: skip
            clocks.append({"ticket_id": tid, "opened_at": opened, "first_response_at": responded, "first_response_minutes": (responded - opened).total_seconds() / 60,
                           "first_response_business_minutes": rng.randrange(10, 1000), "first_action_at": opened + timedelta(minutes=5), "first_action_by": person, "first_action_business_minutes": 5.0,
                           "resolved_at": resolved if status == "resolved" else None, "resolution_minutes": (resolved - opened).total_seconds() / 60 if status == "resolved" else None,
                           "resolution_business_minutes": rng.randrange(100, 5000) if status == "resolved" else None, "reopen_count": int(rng.random() < 0.05),
                           "waiting_since": None, "waiting_minutes": 5.0, "waiting_business_minutes": 5.0,
                           "corrections_type": 0, "corrections_province": int(rng.random() < 0.1), "corrections_category": 0, "corrections_topic": 0})  # fmt: skip
            for at, direction, auto in ((opened, "inbound", False), (responded, "outbound" if tid % 2 else "inbound", tid % 10 == 0)):
                messages.append({"id": message_id, "ticket_id": tid, "raw_item_id": 1, "channel": "email", "source": "hopthu", "external_id": f"m{message_id}",
                                 "direction": direction, "subject": "Hỏi về BHXH", "clean_text": "", "full_text": "", "received_at": at, "sent_at": at,
                                 "parent_keys": [], "previous_texts": [], "extra": {}, "is_auto_reply": auto, "is_bounce": False, "is_deleted": False, "threaded": True})  # fmt: skip
                message_id += 1
            for at, kind, actor in ((opened, "created", "system"), (opened + timedelta(minutes=5), "status_changed", person), (responded, "first_response", "province-01"), (resolved, "status_changed", person)):
                events.append({"ticket_id": tid, "at": at, "kind": kind, "actor": actor, "data": {}})
            if tid % 5 == 0:
                sent = opened + timedelta(minutes=30)
                answered = sent + timedelta(minutes=rng.randrange(30, 5000))
                unit = f"province-{province or '01'}"
                escalations.append({"id": escalation_id, "ticket_id": tid, "unit_id": unit, "status": "acknowledged", "review_required": True, "priority": "normal",
                                    "sla_hours": 24.0, "reply_token": f"b{escalation_id}", "created_at": opened, "created_by": "system", "attempts": 1})  # fmt: skip
                escalation_clocks.append({"escalation_id": escalation_id, "ticket_id": tid, "unit_id": unit, "reroute_count": 0, "proposed_at": opened,
                                          "decided_at": sent, "decided_by": person, "decision": "approved", "review_minutes": 30.0, "review_business_minutes": 30.0,
                                          "sent_at": sent, "due_at": sent + timedelta(hours=24), "acknowledged_at": answered,
                                          "acknowledge_minutes": (answered - sent).total_seconds() / 60, "acknowledge_business_minutes": rng.randrange(30, 2000),
                                          "acknowledge_sla_met": answered <= sent + timedelta(hours=24)})  # fmt: skip
                escalation_id += 1
        with session_scope(engine) as session:
            session.execute(insert(Ticket), tickets)
            session.execute(insert(TicketClock), clocks)
            session.execute(insert(Message), messages)
            session.execute(insert(TicketEvent), events)
            if escalations:
                session.execute(insert(Escalation), escalations)
                session.execute(insert(EscalationClock), escalation_clocks)


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    runs = []
    for _ in range(REPEAT):
        began = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - began)
    return statistics.median(runs)


def run_all(url: str) -> dict[tuple[str, str | None], tuple[float, int]]:
    from config.settings import ReportTargetsConfig
    from reports.build import build_report
    from reports.period import Period
    from tickets.db import get_engine

    engine = get_engine(url)
    period = Period(date(2025, 3, 1), date(2025, 3, 31))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    results = {}
    for name, by in CASES:
        result = build_report(engine, name, period, by, targets=ReportTargetsConfig(), now=now)
        seconds = timed(lambda: build_report(engine, name, period, by, targets=ReportTargetsConfig(), now=now))
        results[(name, by)] = (seconds, int((result.total or {}).get("tickets", (result.total or {}).get("sent", 0)) or 0))
    return results


def measure(label: str, url: str) -> None:
    from sqlalchemy import text

    from tickets.db import get_engine

    indexed = run_all(url)
    with get_engine(url).begin() as connection:
        for name, _table in PERIOD_INDEXES:
            connection.execute(text(f"DROP INDEX {name}"))
    baseline = run_all(url)
    print(f"\n{label}: each report for March 2025 (median of {REPEAT}; target < 2 s)")
    print(f"  {'report':22} {'figure':>8} {'indexed':>10} {'no period index':>16} {'ratio':>7}")
    for (name, by), (seconds, figure) in indexed.items():
        base = baseline[(name, by)][0]
        verdict = "ok" if seconds < 2 else "SLOW"
        print(f"  {name + (' --by ' + by if by else ''):22} {figure:>8,} {seconds * 1000:>8.0f}ms {base * 1000:>14.0f}ms {base / seconds:>6.1f}x  {verdict}")


def web_page(label: str, url: str) -> None:
    from access.models import User
    from config.settings import load_settings
    from reports.build import build_report
    from reports.period import Period
    from sqlmodel import Session
    from tickets.db import get_engine
    from web import pages_data
    from web.pages_reports import TOTAL, drill_down, drill_token, page_context, read_query, request_errors
    from web.templating import environment

    settings = load_settings(None, database_url=url, redis_url=None)
    engine = get_engine(url)
    period = Period(date(2025, 3, 1), date(2025, 3, 31))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    template = environment().get_template("reports.html")
    print(f"\n{label}: the web reports page for March 2025 (median of {REPEAT})")
    print(f"  {'page':44} {'page':>8} {'CLI build':>10} {'ratio':>7} {'html':>9}")
    users = (("coordinator", User(name="dieuphoi", role="coordinator")), ("office province-01", User(name="vp01", role="office", unit_id="province-01")))
    for name, by in (("volume", "province"), ("quality", "category"), ("sla", None)):
        query = read_query({"report": name, "period": "month", "day": "2025-03-15", "by": by or ""}, date(2025, 3, 15))
        cli = timed(lambda: build_report(engine, name, period, by, targets=settings.report_targets, now=now))
        for who, user in users:
            base = {"user": user, "nav_items": [], "flashes": [], "user_label": who, "csrf_token": "", "csrf_field_name": "csrftoken", "request": None}

            def page() -> str:
                return template.render({**base, **page_context(settings, user, query, request_errors(user, query, ""))})  # noqa: B023

            size = len(page())
            seconds = timed(page)
            print(f"  {name + (' --by ' + by if by else '') + ' as ' + who:44} {seconds * 1000:>6.0f}ms {cli * 1000:>8.0f}ms {seconds / cli:>6.2f}x {size / 1024:>7.0f}kB")
    for who, user in users:
        query = read_query({"report": "volume", "period": "month", "day": "2025-03-15"}, date(2025, 3, 15))
        token = drill_token(query, period, TOTAL, "tickets")

        def drill() -> int:
            found = drill_down(settings, user, token)  # noqa: B023
            with Session(engine) as session:
                listing = pages_data.find_tickets(session, user, pages_data.TicketFilters(drill=token, ids=found.ids), now, 0, 25)  # noqa: B023
            return listing.total

        count = drill()
        seconds = timed(drill)
        print(f"  drill-down: March's new tickets as {who:24} {seconds * 1000:>6.0f}ms  ({count:,} tickets listed)")


def main() -> None:
    from tests.pg import start_postgres
    from tickets.db import dispose_engines

    tmp = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    tmp.chmod(0o755)  # PostgreSQL runs as an unprivileged user when we are root
    sqlite_url = f"sqlite:///{tmp / 'reports.db'}"
    began = time.perf_counter()
    build(sqlite_url, N)
    print(f"SQLite: built {N:,} tickets in {time.perf_counter() - began:.1f}s")
    measure("SQLite", sqlite_url)
    dispose_engines()
    sqlite_web = f"sqlite:///{tmp / 'reports-web.db'}"
    build(sqlite_web, N)  # measure() dropped the period indexes of the first
    web_page("SQLite", sqlite_web)
    dispose_engines()
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
        web_page("PostgreSQL", pg_url)  # before measure() drops the period indexes
        measure("PostgreSQL", pg_url)
    finally:
        dispose_engines()
        server.stop()
        _stop_postmaster(tmp / "pg" / "data")


def _stop_postmaster(data_dir: Path) -> None:
    """The server runs under runuser when we are root; make sure the postmaster itself is gone."""
    import os
    import signal

    pid_file = data_dir / "postmaster.pid"
    if pid_file.exists():
        try:
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGINT)
        except (ProcessLookupError, ValueError):
            pass


if __name__ == "__main__":
    main()
