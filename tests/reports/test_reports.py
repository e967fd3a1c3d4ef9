"""The reports over a fixed data set, figure by figure against values worked out by hand."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine

from config.settings import ReportTargetsConfig
from reports.build import build_report
from reports.groups import GROUPINGS
from reports.model import Report
from reports.period import Period
from tests.reports.dataset import NOW, build_dataset
from tickets.db import dispose_engines, get_engine, migrate

MARCH = Period(__import__("datetime").date(2025, 3, 1), __import__("datetime").date(2025, 3, 31))


@pytest.fixture
def engine(db_url: str) -> Any:
    engine = get_engine(db_url)
    migrate(engine)
    build_dataset(engine)
    yield engine
    dispose_engines()


def report(engine: Engine, name: str, by: str | None = None) -> Report:
    return build_report(engine, name, MARCH, by, targets=ReportTargetsConfig(), now=NOW)


def rows_by_group(result: Report) -> dict[Any, dict[str, Any]]:
    return {row["group"]: row for row in result.rows}


def test_volume_by_province(engine: Engine) -> None:
    rows = rows_by_group(report(engine, "volume", "province"))
    figures = ("tickets", "messages", "new_messages", "replies", "outbound", "filtered", "spam")
    # Hanoi: T1 (opening, a reply, an answer, an auto-reply filtered) and T5's March reply
    assert tuple(rows["01"][k] for k in figures) == (1, 3, 1, 2, 1, 1, 0)
    # HCMC: T2's opening; its bounce is filtered
    assert tuple(rows["79"][k] for k in figures) == (1, 1, 1, 0, 0, 1, 0)
    # No province: T3 (opening, a reply after reopening, an answer) and the spam T4, its own row
    assert tuple(rows[None][k] for k in figures) == (2, 3, 2, 1, 1, 0, 1)
    assert rows[None]["spam_share"] == 0.5 and rows[None]["label"] == "chưa rõ tỉnh/thành"
    assert list(rows) == ["01", "79", None]


@pytest.mark.parametrize("by", GROUPINGS)
def test_rows_of_every_grouping_add_up_to_the_total(engine: Engine, by: str) -> None:
    result = report(engine, "volume", by)
    assert result.total is not None
    assert (result.total["tickets"], result.total["messages"]) == (4, 7)
    for figure in ("tickets", "messages", "replies", "filtered", "spam", "outbound"):
        assert sum(row[figure] for row in result.rows) == result.total[figure]


def test_volume_by_day_counts_messages_on_their_own_day(engine: Engine) -> None:
    rows = rows_by_group(report(engine, "volume", "day"))
    # 3 March: T1 opens (10:00), T5's reply (08:00) and T1's reply (15:00)
    assert (rows["2025-03-03"]["tickets"], rows["2025-03-03"]["messages"], rows["2025-03-03"]["replies"]) == (1, 3, 2)
    assert (rows["2025-03-10"]["tickets"], rows["2025-03-10"]["messages"], rows["2025-03-10"]["outbound"]) == (0, 1, 1)


def test_quality_figures(engine: Engine) -> None:
    total = report(engine, "quality").total
    assert total is not None
    # Spam left out: T1, T2, T3. First responses 390, 390, 60 business minutes
    assert (total["tickets"], total["responded"]) == (3, 3)
    assert (total["first_response_median_h"], total["first_response_p90_h"], total["first_response_within_target"]) == (6.5, 6.5, 1.0)
    # Resolutions 450 (T1) and 300 (T3, its reopening counted); p90 = 300 + 0.9 * 150
    assert (total["resolved"], total["resolution_median_h"], total["resolution_p90_h"]) == (2, 6.25, 7.25)
    assert total["resolution_within_target"] == pytest.approx(2 / 3)
    assert (total["reopened"], total["open"]) == (1, 1)
    # T2 open since Wed 5 Mar 08:00 until Tue 1 Apr 09:00: 27 days and 1 hour
    assert total["open_age_median_h"] == 27 * 24 + 1
    # Reviews: 30 min (T1), 60 min (T2), 0 (T3's, decided as proposed)
    assert total["review_median_h"] == 0.5
    assert total["overdue_escalations"] == 1
    assert (total["corrections_type"], total["corrections_province"], total["corrections_category"]) == (0, 1, 1)


def test_quality_by_category(engine: Engine) -> None:
    rows = rows_by_group(report(engine, "quality", "category"))
    assert (rows["question"]["tickets"], rows["question"]["first_response_median_h"], rows["question"]["reopened"]) == (2, 3.75, 1)
    assert (rows["complaint"]["tickets"], rows["complaint"]["open"], rows["complaint"]["resolved"]) == (1, 1, 0)


def test_sla_per_unit(engine: Engine) -> None:
    result = report(engine, "sla")
    rows = rows_by_group(result)
    # province-01: sent Mon 11:00, answered 14:00 (30 + 60 business minutes), in time
    assert (rows["province-01"]["sent"], rows["province-01"]["answered_in_time"], rows["province-01"]["sla_attainment"], rows["province-01"]["answer_median_h"]) == (1, 1, 1.0, 1.5)
    # province-79: sent Wed 09:30, due Thu 09:30, answered Thu 10:00: 120 + 210 + 150 = 480, late
    assert (rows["province-79"]["answered"], rows["province-79"]["answered_in_time"], rows["province-79"]["sla_attainment"], rows["province-79"]["answer_median_h"]) == (1, 0, 0.0, 8.0)
    assert (rows["central-cntt"]["answered"], rows["central-cntt"]["overdue_now"]) == (0, 1)
    assert result.total is not None
    assert (result.total["sent"], result.total["answered_in_time"], result.total["overdue_now"]) == (3, 1, 1)
    assert result.total["sla_attainment"] == pytest.approx(1 / 3)


def test_workload_per_person(engine: Engine) -> None:
    rows = rows_by_group(report(engine, "workload"))
    # dieu.phoi approved T1, T2, T3's escalations, resolved T1 and T3, corrected T3's tags (T5's
    # resolution was in February); first acts: T1 after 60, T2 after 90, T3 after 30 + 90 business minutes
    assert (rows["dieu.phoi"]["tickets_handled"], rows["dieu.phoi"]["decisions"], rows["dieu.phoi"]["answers_sent"]) == (3, 6, 0)
    assert (rows["dieu.phoi"]["first_actions"], rows["dieu.phoi"]["first_action_median_h"]) == (3, 1.5)
    assert (rows["dieu.phoi.2"]["tickets_handled"], rows["dieu.phoi.2"]["decisions"], rows["dieu.phoi.2"]["first_actions"]) == (1, 1, 0)
    # A unit's answer is recorded as the first response, done by the unit
    assert rows["province-79"]["answers_sent"] == 1


def test_acceptance_targets_and_the_tickets_behind_each_breach(engine: Engine) -> None:
    result = report(engine, "acceptance")
    rows = rows_by_group(result)
    # Questions T1 (390) and T3 (60) answered within 8 business hours: met
    assert (rows["first_response"]["counted"], rows["first_response"]["within"], rows["first_response"]["met"]) == (2, 2, True)
    # Resolution within 80 business hours: T1, T3 yes; T2 still open past its deadline: 2 of 3 < 80 %
    assert (rows["resolution"]["counted"], rows["resolution"]["within"], rows["resolution"]["met"]) == (3, 2, False)
    assert (rows["review"]["counted"], rows["review"]["within"], rows["review"]["met"]) == (3, 3, True)
    # Units: in time once of three (T2's late answer, T3's never answered)
    assert (rows["sla"]["counted"], rows["sla"]["within"], rows["sla"]["met"]) == (3, 1, False)
    data = result.as_json()
    from tickets.models import ticket_reference

    t2, t3 = ticket_reference(2), ticket_reference(3)
    assert data["breaches"] == {"first_response": [], "resolution": [t2], "review": [], "sla": [t2, t3]}
    assert data["all_met"] is False


def test_volume_by_unit_puts_messages_with_their_tickets_unit(engine: Engine) -> None:
    rows = rows_by_group(report(engine, "volume", "unit"))
    # T1's three March messages (and its answer) are with province-01; T5 was never escalated
    assert (rows["province-01"]["tickets"], rows["province-01"]["messages"], rows["province-01"]["outbound"]) == (1, 2, 1)
    assert (rows["central-cntt"]["tickets"], rows["central-cntt"]["messages"]) == (1, 2)
    assert (rows[None]["tickets"], rows[None]["messages"]) == (1, 2)  # the spam T4 and T5's reply
