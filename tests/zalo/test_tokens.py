"""Zalo token pair: refresh before expiry, a pair received just before a crash is not lost,
`tiepnhan status` warns before the refresh token expires; against the local Zalo stand-in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from ingest.zalo import tokens
from ingest.zalo.client import ZaloAuthError, ZaloClient
from tests.conftest import make_settings
from tests.zalo.conftest import USER, account, account_config
from tests.zalo.zalo_server import ZaloServer
from tiepnhan.status import source_statuses


class Crash(Exception):
    """Stands for the process dying."""


def test_a_refreshed_pair_is_used_until_it_nears_expiry(zalo: ZaloServer, engine: Engine) -> None:
    first = zalo.state.issue_refresh_token()
    config = account_config(zalo, first)
    client = ZaloClient(config)
    now = datetime.now(UTC)
    token = tokens.access_token(engine, config, client, now)
    assert zalo.state.refresh_calls == 1 and token in zalo.state.access_tokens
    assert tokens.access_token(engine, config, client, now + timedelta(hours=20)) == token  # still valid: no call
    assert zalo.state.refresh_calls == 1
    later = tokens.access_token(engine, config, client, now + timedelta(hours=24, minutes=40))  # within the margin of its 25 h
    assert later != token and zalo.state.refresh_calls == 2
    stored = tokens.current_pair(engine, config.name)
    assert stored is not None and stored.access_token == later and stored.refresh_token in zalo.state.refresh_tokens
    assert first not in zalo.state.refresh_tokens  # spent: the configured token is never used again
    client.close()


def test_a_pair_received_just_before_a_crash_is_not_lost(zalo: ZaloServer, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    config = account_config(zalo, zalo.state.issue_refresh_token())
    client = ZaloClient(config)
    real_promote = tokens.promote_received

    def crash_on_first_promotion(engine: Engine, name: str, now: datetime) -> object:
        if "received" in tokens.stored_state(engine, name):  # Zalo has answered: the process dies here
            raise Crash
        return real_promote(engine, name, now)

    monkeypatch.setattr(tokens, "promote_received", crash_on_first_promotion)
    with pytest.raises(Crash):
        tokens.access_token(engine, config, client)
    assert zalo.state.refresh_calls == 1
    monkeypatch.setattr(tokens, "promote_received", real_promote)
    # The configured refresh token is spent: asking again would fail...
    with pytest.raises(ZaloAuthError):
        ZaloClient(config).refresh(config.refresh_token.get_secret_value(), datetime.now(UTC))  # type: ignore[union-attr]
    zalo.state.users[USER] = {"display_name": "Lê Thị Mai", "avatar": None}
    # ...but the pair received before the crash is taken up, with no new refresh.
    token = tokens.access_token(engine, config, ZaloClient(config))
    assert zalo.state.refresh_calls == 2  # only the deliberate failing call above
    assert ZaloClient(config).user_detail(USER, token).display_name == "Lê Thị Mai"
    assert "received" not in tokens.stored_state(engine, config.name)
    # And the chain goes on: the next refresh spends the new refresh token.
    pair = tokens.refresh(engine, config, ZaloClient(config), datetime.now(UTC))
    assert pair.access_token in zalo.state.access_tokens and zalo.state.refresh_calls == 3


def test_without_any_refresh_token_the_error_names_the_account(zalo: ZaloServer, engine: Engine) -> None:
    config = account_config(zalo)
    with pytest.raises(ZaloAuthError, match="zalo-oa"):
        tokens.access_token(engine, config, ZaloClient(config))
    assert zalo.state.refresh_calls == 0


NOW = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)


def _state(refresh_expires: datetime) -> dict[str, str]:
    return {"access_token": "a", "refresh_token": "r", "access_expires_at": NOW.isoformat(), "refresh_expires_at": refresh_expires.isoformat()}


@pytest.mark.parametrize("days", [0, 3, 14])
def test_the_refresh_token_warns_within_the_window(days: int) -> None:
    warning = tokens.token_warning(_state(NOW + timedelta(days=days, hours=1)), NOW)
    assert warning is not None and f"sau {days} ngày" in warning and f"in {days} days" in warning


def test_fifteen_days_ahead_is_not_yet_a_warning_and_an_expired_token_says_so() -> None:
    assert tokens.token_warning(_state(NOW + timedelta(days=15, hours=1)), NOW) is None
    expired = tokens.token_warning(_state(NOW - timedelta(hours=1)), NOW)
    assert expired is not None and "đã hết hạn" in expired
    assert tokens.token_warning({}, NOW) is None


def test_status_shows_the_account_and_its_refresh_token_warning(zalo: ZaloServer, engine: Engine, tmp_path: Path) -> None:
    settings = make_settings(str(engine.url), tmp_path, zalo_accounts=[account(zalo, zalo.state.issue_refresh_token())])
    config = settings.zalo_accounts[0]
    (status,) = [s for s in source_statuses(settings, engine) if s.kind == "zalo"]  # the portal is listed too
    assert (status.name, status.kind, status.configured, status.warning) == ("zalo-oa", "zalo", True, None)
    issued = datetime.now(UTC) - timedelta(days=80)  # a refresh token of about 90 days, refreshed 80 days ago
    tokens.refresh(engine, config, ZaloClient(config), issued)
    (status,) = [s for s in source_statuses(settings, engine) if s.kind == "zalo"]  # the portal is listed too
    assert status.warning is not None and "Refresh token Zalo sẽ hết hạn sau" in status.warning
    tokens.refresh(engine, config, ZaloClient(config), datetime.now(UTC))  # a refresh renews the refresh token too
    (status,) = [s for s in source_statuses(settings, engine) if s.kind == "zalo"]  # the portal is listed too
    assert status.warning is None


def test_status_warns_when_an_account_has_no_refresh_token_at_all(zalo: ZaloServer, engine: Engine, tmp_path: Path) -> None:
    settings = make_settings(str(engine.url), tmp_path, zalo_accounts=[account(zalo)])
    (status,) = [s for s in source_statuses(settings, engine) if s.kind == "zalo"]  # the portal is listed too
    assert status.warning == tokens.NO_TOKEN_WARNING
