"""The scheduler's periodic job refreshes a Zalo access token before it expires, against the stand-in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine

from ingest.zalo import tokens
from tests.conftest import make_settings
from tests.zalo.conftest import account
from tests.zalo.zalo_server import ZaloServer
from tiepnhan.scheduler import PERIODIC_JOBS, resolve_target, run_periodic_now
from tiepnhan.status import source_statuses


def test_the_periodic_job_refreshes_ahead_of_expiry_and_only_then(zalo: ZaloServer, engine: Engine, tmp_path: Path) -> None:
    settings = make_settings(str(engine.url), tmp_path, zalo_accounts=[account(zalo, zalo.state.issue_refresh_token()),
                                                                        account(zalo, None, name="zalo-no-token", oa_id="42")])
    (job,) = [j for j in PERIODIC_JOBS if j.name == "zalo_token_refresh"]
    assert resolve_target(job.targets) is tokens.refresh_due_tokens
    assert job.every_seconds is not None and job.every_seconds(settings) == tokens.REFRESH_CHECK_EVERY.total_seconds()
    # Nothing stored yet: the first pass fetches a pair, so no caller ever waits for it.
    assert run_periodic_now(settings, engine, "zalo_token_refresh") == {"zalo-oa": "refreshed", "zalo-no-token": "no_token"}
    first = tokens.current_pair(engine, "zalo-oa")
    assert first is not None and zalo.state.refresh_calls == 1
    assert run_periodic_now(settings, engine, "zalo_token_refresh")["zalo-oa"] == "fresh"
    assert zalo.state.refresh_calls == 1
    # Just inside REFRESH_AHEAD of its expiry (but outside the callers' own margin): refreshed by the job.
    due = first.access_expires_at - tokens.REFRESH_AHEAD + timedelta(minutes=1)
    assert due < first.access_expires_at - tokens.REFRESH_MARGIN
    assert tokens.refresh_due_tokens(settings, engine, due)["zalo-oa"] == "refreshed"
    second = tokens.current_pair(engine, "zalo-oa")
    assert second is not None and second.access_token != first.access_token and zalo.state.refresh_calls == 2
    assert second.access_expires_at > first.access_expires_at
    assert first.refresh_token not in zalo.state.refresh_tokens  # spent once, the new one stored


def test_a_refused_refresh_is_reported_not_raised_and_shown_in_status(zalo: ZaloServer, engine: Engine, tmp_path: Path) -> None:
    settings = make_settings(str(engine.url), tmp_path, zalo_accounts=[account(zalo, "rt-never-issued")])
    assert tokens.refresh_due_tokens(settings, engine, datetime.now(UTC)) == {"zalo-oa": "failed"}
    assert tokens.current_pair(engine, "zalo-oa") is None
    (status,) = [s for s in source_statuses(settings, engine) if s.kind == "zalo"]  # the portal is listed too
    assert status.warning is not None and status.warning.startswith("Không làm mới được mã truy cập Zalo")
    assert "rt-never-issued" not in status.warning  # never the token itself
    # Once a refresh succeeds the warning is gone.
    good = make_settings(str(engine.url), tmp_path, zalo_accounts=[account(zalo, zalo.state.issue_refresh_token())])
    assert tokens.refresh_due_tokens(good, engine, datetime.now(UTC)) == {"zalo-oa": "refreshed"}
    (status,) = [s for s in source_statuses(good, engine) if s.kind == "zalo"]  # the portal is listed too
    assert status.warning is None
