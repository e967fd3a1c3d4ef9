"""The reports page over the fixed data set (tests/reports/dataset.py), served by the real app on
loopback, with a manager, a coordinator, offices of province-01 and province-79 and an agent."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import update

from config.settings import Settings
from reports.period import Period
from tests.reports.dataset import build_dataset
from tests.webapp.server import PASSWORD, serve
from tickets.db import session_scope
from tickets.escalation_models import Escalation
from tiepnhan import runtime

MARCH = Period(date(2025, 3, 1), date(2025, 3, 31))
USERS = (("lanhdao", "viewer", None), ("dieuphoi", "coordinator", None), ("vp01", "office", "province-01"), ("vp79", "office", "province-79"), ("tuvan", "agent", None))


@dataclass(frozen=True)
class ReportSite:
    url: str
    settings: Settings


@pytest.fixture
def report_site(configure: Callable[..., Settings], sqlite_url: str) -> Iterator[ReportSite]:
    from access.users import create_user
    from tickets.directory import routing

    settings = configure(sqlite_url, web={"secret_key": "r" * 40})
    engine = runtime.engine()
    build_dataset(engine)
    with session_scope(engine) as session:  # delivered to the units, so the offices may see them
        session.execute(update(Escalation).values(status="sent"))
    units = routing(settings).units
    for name, role, unit in USERS:
        create_user(engine, name, role, known_units=units, unit_id=unit, password=PASSWORD)
    with serve(settings) as url:
        yield ReportSite(url, settings)


class ReportTable(HTMLParser):
    """The rows of the page's report table: label → [(text, href)]."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[tuple[str, str | None]]] = {}
        self._in_table = False
        self._row: list[tuple[str, str | None]] | None = None
        self._label: str | None = None
        self._cell: list[str] | None = None
        self._href: str | None = None
        self._header = False
        self._in_head = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "table" and "report" in (values.get("class") or ""):
            self._in_table = True
        elif tag == "thead":
            self._in_head = True
        elif self._in_table and tag == "tr" and not self._in_head:
            self._row, self._label = [], None
        elif self._in_table and tag in ("th", "td") and self._row is not None:
            self._cell, self._href, self._header = [], None, tag == "th"
        elif self._in_table and tag == "a" and self._cell is not None:
            self._href = values.get("href")

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_table = False
        elif tag == "thead":
            self._in_head = False
        elif tag in ("th", "td") and self._cell is not None and self._row is not None:
            text = "".join(self._cell).strip()
            if self._header and self._label is None:
                self._label = text
            else:
                self._row.append((text, self._href))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._label is not None and self._row:
                self.rows[self._label] = self._row
            self._row = None


def report_table(html: str) -> dict[str, list[tuple[str, str | None]]]:
    parser = ReportTable()
    parser.feed(html)
    return parser.rows


def listed_total(html: str) -> int:
    """How many tickets the ticket list says it found (its pagination summary)."""
    import re

    if "Không có mục nào." in html:
        return 0
    found = re.search(r"trong (\d+) mục", html)
    assert found, html[-2000:]
    return int(found.group(1))


def march(**params: Any) -> dict[str, str]:
    return {"period": "month", "day": "2025-03-15", **{k: str(v) for k, v in params.items()}}
