"""Page token health: checked at start and daily (scheduler job "token_health").

With an app token ("app_id|app_secret"), GET /debug_token?input_token=<page token> tells
validity and expiry (https://developers.facebook.com/docs/graph-api/reference/debug_token/):
    {"data": {"is_valid": true, "expires_at": 1767225600 (0: never), "data_access_expires_at": ...,
              "scopes": [...], "error": {"code": 190, "subcode": 460, "message": ...}}}
Without one, a cheap GET /me?fields=id proves the token works now (expiry unknown).

The result lands in SourceHealth.details["token"]; a token that expires within `warn_days`
is logged as a warning, and an invalid one also counts as the source failing, so
`tiepnhan status` shows it before the next poll does.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine

from config.settings import FacebookPageConfig, Settings
from ingest.facebook.graph import GraphClient
from ingest.facebook.ratelimit import GraphAuthError, GraphError, auth_message
from tickets.db import session_scope
from tickets.models import SourceHealth

log = logging.getLogger(__name__)

WARN_DAYS = 7


@dataclass(frozen=True)
class TokenStatus:
    valid: bool | None  # None: could not be checked (Graph API unreachable)
    method: str  # "debug_token" | "me"
    checked_at: str
    expires_at: str | None = None  # None: never expires, or unknown (method "me")
    data_access_expires_at: str | None = None
    scopes: tuple[str, ...] = ()
    warning: str | None = None


def _epoch(value: Any) -> datetime | None:
    try:
        seconds = int(value)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None


def status_from_debug_token(data: dict[str, Any], now: datetime, warn_days: int = WARN_DAYS) -> TokenStatus:
    """The token's health from /debug_token's "data" object. Pure."""
    expires = _epoch(data.get("expires_at"))
    data_access = _epoch(data.get("data_access_expires_at"))
    valid = bool(data.get("is_valid"))
    warning = None
    if not valid:
        error = data.get("error") or {}
        warning = auth_message(error.get("code") or 190, error.get("subcode"), str(error.get("message") or "is_valid=false"))
    else:
        soonest = min((d for d in (expires, data_access) if d is not None), default=None)
        days = max(0, (soonest - now).days) if soonest is not None else None
        if soonest is not None and days is not None and days <= warn_days:  # whole days left
            warning = (f"Mã truy cập trang sẽ hết hạn sau {days} ngày ({soonest:%d/%m/%Y}): cần cấp mã mới. "
                       f"Page access token expires in {days} days ({soonest.date().isoformat()}).")
    return TokenStatus(valid, "debug_token", now.isoformat(), expires.isoformat() if expires else None,
                       data_access.isoformat() if data_access else None, tuple(str(s) for s in data.get("scopes") or ()), warning)


def check_page_token(config: FacebookPageConfig, now: datetime, warn_days: int = WARN_DAYS) -> TokenStatus:
    """Ask the Graph API about one page's token."""
    page_token = config.access_token.get_secret_value() if config.access_token else ""
    try:
        if config.app_token is not None:
            client = GraphClient(config, access_token=config.app_token.get_secret_value())
            answer = client.call(lambda: client.api.get("debug_token", {"input_token": page_token}))
            return status_from_debug_token(answer.get("data") or {}, now, warn_days)
        client = GraphClient(config)
        client.get_object("me", fields="id")
        return TokenStatus(True, "me", now.isoformat())
    except GraphAuthError as exc:
        return TokenStatus(False, "debug_token" if config.app_token is not None else "me", now.isoformat(), warning=str(exc))
    except GraphError as exc:
        return TokenStatus(None, "debug_token" if config.app_token is not None else "me", now.isoformat(),
                           warning=f"Không kiểm tra được mã truy cập trang. Could not check the page token: {exc}")


def _store(engine: Engine, name: str, status: TokenStatus) -> None:
    with session_scope(engine) as session:
        row = session.get(SourceHealth, name) or SourceHealth(source=name, kind="facebook")
        row.details = {**(row.details or {}), "token": asdict(status)}
        session.add(row)


def check_tokens(settings: Settings, engine: Engine, now: datetime) -> dict[str, dict[str, Any]]:
    """Check every page's token; store and log what was found. Returns page name → status."""
    from tiepnhan.scheduler import record_poll_failure

    results: dict[str, dict[str, Any]] = {}
    for page in settings.facebook_pages:
        status = check_page_token(page, now)
        _store(engine, page.name, status)
        if status.valid is False:
            # Counted as a failure of the source, so `tiepnhan status` shows it at once.
            record_poll_failure(engine, page.name, "facebook", f"GraphAuthError: {status.warning}")
            log.warning("page token invalid", extra={"source": page.name, "warning": status.warning})
        elif status.warning:
            log.warning("page token needs attention", extra={"source": page.name, "warning": status.warning, "expires_at": status.expires_at})
        else:
            log.info("page token checked", extra={"source": page.name, "method": status.method, "expires_at": status.expires_at})
        results[page.name] = asdict(status)
    return results
