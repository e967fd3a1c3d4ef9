"""No cost that grows with the database (issue 16): every query that adoption, reconcile,
`status`, `tickets` and `show` send is answered from an index, on SQLite and on PostgreSQL.

The statements are the ones the code really sends (captured from the engine while it runs),
explained by the database itself. A table scan, or a scan of a whole (non-partial) index, of a
table that grows with the tickets fails the test, except for a plain listing without a WHERE
clause (`tickets --json` reads every ticket by design; a LIMIT bounds the table view).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tests.ops.bigdb import build
from tickets.scan_indexes import MESSAGE_UNTHREADED, MESSAGE_WAITING, TICKET_UNTAGGED
from tiepnhan import runtime

GROWING = {"rawitem", "message", "ticket", "ticketevent", "escalation", "attachment", "threadkey"}
PARTIAL = {index.name for index in (MESSAGE_UNTHREADED, MESSAGE_WAITING, TICKET_UNTAGGED)}


def capture(engine: Engine) -> tuple[list[tuple[str, Any]], Callable[[], None]]:
    statements: list[tuple[str, Any]] = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    return statements, lambda: event.remove(engine, "before_cursor_execute", before)


def exempt(statement: str) -> bool:
    """A plain listing: no WHERE clause, and either a LIMIT or no aggregate."""
    upper = " ".join(statement.upper().split())
    if " WHERE " in upper:
        return False
    return " LIMIT " in upper or not ("COUNT(" in upper or " GROUP BY " in upper)


def sqlite_problems(engine: Engine, statement: str, parameters: Any) -> list[str]:
    with engine.connect() as connection:
        plan = [row[3] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
    problems = []
    for line in plan:
        scan = re.match(r"SCAN (\w+)(?: USING (?:COVERING )?INDEX (\w+))?", line)
        if scan and scan.group(1) in GROWING and scan.group(2) not in PARTIAL and not exempt(statement):
            problems.append(line)
    return problems


def postgres_problems(engine: Engine, statement: str, parameters: Any) -> list[str]:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SET enable_seqscan = off")  # the tables are small: ask whether an index CAN serve
        cursor.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
        plan = cursor.fetchone()[0]
        raw.rollback()
    finally:
        raw.close()
    problems = []

    def walk(node: dict[str, Any]) -> None:
        relation = node.get("Relation Name")
        if relation in GROWING and not exempt(statement):
            kind = node["Node Type"]
            whole_index = kind in ("Index Scan", "Index Only Scan") and "Index Cond" not in node and node.get("Index Name") not in PARTIAL
            if kind == "Seq Scan" or whole_index:
                problems.append(f"{kind} on {relation} ({node.get('Index Name', '')})")
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return problems


@pytest.fixture
def big_db(db_url: str, configure: Callable[..., Any]) -> Iterator[Engine]:
    configure(db_url)
    engine = runtime.engine()
    build(engine, 20_000)  # enough rows that PostgreSQL's statistics make the selective indexes win
    yield engine


def test_adoption_reconcile_status_tickets_and_show_use_indexes(big_db: Engine, db_url: str, tmp_path: Any) -> None:
    engine = big_db
    settings = runtime.settings()
    statements, stop = capture(engine)
    try:
        from tickets.db import session_scope
        from tickets.threader import _adopt_waiting_messages

        with session_scope(engine) as session:  # the original of a waiting reply arrives: adoption
            _adopt_waiting_messages(session, 1)
            session.rollback()
        import dramatiq

        from tiepnhan.scheduler import reconcile

        dramatiq.get_broker().flush_all()
        found = reconcile(engine, settings)
        assert found.get("tickets") == 20 and found.get("raw_items") == 20, found  # it really scanned
        dramatiq.get_broker().flush_all()
        from tiepnhan.cli import app

        runner = CliRunner(env={"TIEPNHAN_DATABASE_URL": db_url, "TIEPNHAN_DATA_DIR": str(tmp_path / "var")})
        for args in (["status", "--json"], ["tickets"], ["tickets", "--status", "new"], ["tickets", "--province", "79", "--limit", "5"], ["tickets", "--json"], ["show", "15000"]):
            result = runner.invoke(app, args)
            assert result.exit_code == 0 or (args[0] == "status" and result.exit_code == 1), (args, result.output)  # status: 1 is "unhealthy"
        assert json.loads(runner.invoke(app, ["status", "--json"]).output)["escalations"] == {"proposed": 20}
    finally:
        stop()
    assert any("thread_key IN" in s for s, _ in statements), "adoption's query was not seen"
    explain = postgres_problems if engine.dialect.name == "postgresql" else sqlite_problems
    problems = {statement: found for statement, parameters in statements if (found := explain(engine, statement, parameters))}
    assert problems == {}, "\n\n".join(f"{s}\n  -> {p}" for s, p in problems.items())
