"""The OA's token pair: refreshed before expiry, stored so that a crash cannot lose it.

A Zalo refresh token works once: the answer to a refresh is the only copy of the next pair.
The pair lives in the Checkpoint row (source = account name, scope "zalo_tokens"):
    {"access_token", "access_expires_at", "refresh_token", "refresh_expires_at", "refreshed_at",
     "received": {...the same four...} | absent}
A refresh first commits the pair it received under "received" (nothing else happens between the
answer and that commit), then makes it the current pair in a second transaction. A crash after
the first commit leaves "received", and the next use takes it as the current pair without asking
Zalo again (the old refresh token is spent). The refresh token from the configuration is used
only while nothing is stored.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from config.settings import Settings, ZaloAccountConfig
from ingest.zalo.client import TokenPair, ZaloAuthError, ZaloClient, ZaloError
from tickets.db import session_scope
from tickets.models import Checkpoint, utcnow

log = logging.getLogger(__name__)

SCOPE = "zalo_tokens"
REFRESH_MARGIN = timedelta(minutes=30)  # refresh this long before the access token expires
# The scheduler's job "zalo_token_refresh" looks this often, and refreshes a pair that expires
# within REFRESH_AHEAD: always before the margin at which a caller would refresh it itself.
REFRESH_CHECK_EVERY = timedelta(minutes=10)
REFRESH_AHEAD = REFRESH_MARGIN + 3 * REFRESH_CHECK_EVERY
WARN_DAYS = 14
_refresh_lock = threading.Lock()  # one refresh at a time in this process (a second would spend a spent token)


def _pair_value(pair: TokenPair) -> dict[str, str]:
    return {key: value.isoformat() if isinstance(value, datetime) else value for key, value in asdict(pair).items()}


def _pair(value: dict[str, Any] | None) -> TokenPair | None:
    if not isinstance(value, dict) or not value.get("access_token") or not value.get("refresh_token"):
        return None
    return TokenPair(str(value["access_token"]), str(value["refresh_token"]), datetime.fromisoformat(value["access_expires_at"]),
                     datetime.fromisoformat(value["refresh_expires_at"]))


def stored_state(engine: Engine, name: str) -> dict[str, Any]:
    with session_scope(engine) as session:
        row = session.get(Checkpoint, (name, SCOPE))
        return dict(row.value) if row is not None else {}


def _write(engine: Engine, name: str, value: dict[str, Any]) -> None:
    with session_scope(engine) as session:
        row = session.get(Checkpoint, (name, SCOPE)) or Checkpoint(source=name, scope=SCOPE)
        row.value = value
        row.updated_at = utcnow()
        session.add(row)


def record_received(engine: Engine, name: str, pair: TokenPair) -> None:
    """Step 1: keep the pair Zalo just sent, before anything else."""
    _write(engine, name, {**stored_state(engine, name), "received": _pair_value(pair)})


def promote_received(engine: Engine, name: str, now: datetime) -> TokenPair | None:
    """Step 2: the received pair becomes the current one (one transaction)."""
    with session_scope(engine) as session:
        row = session.get(Checkpoint, (name, SCOPE))
        received = _pair(row.value.get("received")) if row is not None else None
        if row is None or received is None:
            return None
        row.value = {**_pair_value(received), "refreshed_at": now.isoformat()}
        row.updated_at = utcnow()
        session.add(row)
    log.info("zalo token pair stored", extra={"source": name, "refresh_expires_at": received.refresh_expires_at.isoformat()})
    return received


def current_pair(engine: Engine, name: str) -> TokenPair | None:
    return _pair(stored_state(engine, name))


def refresh(engine: Engine, config: ZaloAccountConfig, client: ZaloClient, now: datetime) -> TokenPair:
    """Spend the refresh token for a new pair, and store it (see the module doc)."""
    with _refresh_lock:
        recovered = promote_received(engine, config.name, now)  # a pair received before a crash
        if recovered is not None:
            return recovered
        stored = current_pair(engine, config.name)
        token = stored.refresh_token if stored else (config.refresh_token.get_secret_value() if config.refresh_token else "")
        if not token:
            raise ZaloAuthError(f"tài khoản Zalo OA {config.name!r} chưa có refresh token (refresh_token hoặc refresh_token_env)")
        pair = client.refresh(token, now)
        record_received(engine, config.name, pair)
        promoted = promote_received(engine, config.name, now)
        assert promoted is not None
        return promoted


def access_token(engine: Engine, config: ZaloAccountConfig, client: ZaloClient, now: datetime | None = None) -> str:
    """A valid access token, refreshed first when it expires within REFRESH_MARGIN."""
    now = now or utcnow()
    pair = promote_received(engine, config.name, now) or current_pair(engine, config.name)
    if pair is None or pair.access_expires_at - now <= REFRESH_MARGIN:
        pair = refresh(engine, config, client, now)
    return pair.access_token


def refresh_due_tokens(settings: Settings, engine: Engine, now: datetime | None = None) -> dict[str, str]:
    """The scheduler's periodic job: refresh every account's pair that expires within REFRESH_AHEAD
    (or that was never fetched). Returns account name → "refreshed" | "fresh" | "no_token" | "failed"."""
    now = now or utcnow()
    results: dict[str, str] = {}
    for account in settings.zalo_accounts:
        pair = promote_received(engine, account.name, now) or current_pair(engine, account.name)
        if pair is None and account.refresh_token is None:
            results[account.name] = "no_token"
            continue
        if pair is not None and pair.access_expires_at - now > REFRESH_AHEAD:
            results[account.name] = "fresh"
            continue
        client = ZaloClient(account)
        try:
            refreshed = refresh(engine, account, client, now)
            results[account.name] = "refreshed"
            log.info("zalo access token refreshed ahead of expiry", extra={"source": account.name,
                                                                          "access_expires_at": refreshed.access_expires_at.isoformat()})
        except ZaloError as exc:
            results[account.name] = "failed"
            # Kept for `tiepnhan status` until the next refresh succeeds (a new pair replaces the value).
            _write(engine, account.name, {**stored_state(engine, account.name), "refresh_error": {"at": now.isoformat(), "error": str(exc)[:300]}})
            log.warning("zalo access token refresh failed", extra={"source": account.name, "error": str(exc), "code": exc.code})
        finally:
            client.close()
    return results


def token_warning(state: dict[str, Any], now: datetime, warn_days: int = WARN_DAYS) -> str | None:
    """What `tiepnhan status` shows about an account's refresh token (None: nothing to say). Pure."""
    pair = _pair(state.get("received")) or _pair(state)
    if pair is not None and pair.refresh_expires_at <= now:
        return (f"Refresh token Zalo đã hết hạn ({pair.refresh_expires_at:%d/%m/%Y}): cần cấp quyền lại cho ứng dụng. "
                f"The Zalo refresh token expired on {pair.refresh_expires_at.date().isoformat()}.")
    failure = state.get("refresh_error")
    if isinstance(failure, dict):
        at = datetime.fromisoformat(str(failure.get("at")))
        return (f"Không làm mới được mã truy cập Zalo (lần thử {at:%H:%M %d/%m/%Y}): {failure.get('error')}. "
                "The scheduled refresh of the Zalo access token failed.")
    if pair is None:
        return None
    days = (pair.refresh_expires_at - now).days
    if days <= warn_days:
        return (f"Refresh token Zalo sẽ hết hạn sau {days} ngày ({pair.refresh_expires_at:%d/%m/%Y}): cần làm mới hoặc cấp quyền lại. "
                f"The Zalo refresh token expires in {days} days ({pair.refresh_expires_at.date().isoformat()}).")
    return None


NO_TOKEN_WARNING = ("Chưa có refresh token Zalo: đặt refresh_token hoặc refresh_token_env (tên người gửi sẽ không được lấy). "
                    "No Zalo refresh token: set refresh_token or refresh_token_env.")


def account_token_warning(engine: Engine, config: ZaloAccountConfig, now: datetime, warn_days: int = WARN_DAYS) -> str | None:
    state = stored_state(engine, config.name)
    if _pair(state) is None and _pair(state.get("received")) is None and config.refresh_token is None:
        return NO_TOKEN_WARNING
    return token_warning(state, now, warn_days)
