"""Graph API rate limits and errors, as pure functions and exception types.

Usage headers (https://developers.facebook.com/docs/graph-api/overview/rate-limiting):
  X-App-Usage                {"call_count": 28, "total_time": 25, "total_cputime": 25}
  X-Page-Usage               the same shape, for calls made with a Page token
  X-Business-Use-Case-Usage  {"<business id>": [{"type": "pages", "call_count": 100,
                              "total_cputime": 25, "total_time": 25,
                              "estimated_time_to_regain_access": 19}]}   (minutes)
Each figure is a percentage of the allowance; at 100 calls are refused with a throttling error.

Errors (https://developers.facebook.com/docs/graph-api/guides/error-handling):
  {"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}
  4 app limit, 17 user limit, 32 page limit, 613 custom limit, 80001-80014 business use case
  limits: throttling, retried later from the checkpoint. 1 and 2 are temporary server errors.
  190 invalid or expired access token; 10 and 200-299 missing permission: the source fails
  until someone renews the token or grants the permission.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

USAGE_HEADERS = ("x-app-usage", "x-page-usage", "x-business-use-case-usage")
USAGE_FIGURES = ("call_count", "total_cputime", "total_time")

THROTTLING_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})
TEMPORARY_CODES = frozenset({1, 2})
TOKEN_CODES = frozenset({190, 102})
PERMISSION_CODES = frozenset({10, *range(200, 300)})

SLOW_DOWN_PERCENT = 80.0  # above this, pause between calls
STOP_PERCENT = 95.0  # above this, stop this poll and let the scheduler back off
MAX_PAUSE_SECONDS = 10.0


@dataclass(frozen=True)
class Usage:
    """The highest usage figure any header reported, and when access comes back."""

    max_percent: float = 0.0
    regain_seconds: float = 0.0
    header: str | None = None  # which header reported max_percent


def _figures(value: Any) -> list[tuple[float, float]]:
    """(percentage, regain seconds) of each usage object in a header value."""
    found: list[tuple[float, float]] = []
    if isinstance(value, Mapping):
        if any(key in value for key in USAGE_FIGURES):
            percent = max(float(value.get(key) or 0) for key in USAGE_FIGURES)
            regain = float(value.get("estimated_time_to_regain_access") or 0) * 60
            found.append((percent, regain))
        else:  # Business use case usage: {business id: [usage, ...]}
            for nested in value.values():
                found.extend(_figures(nested))
    elif isinstance(value, list):
        for nested in value:
            found.extend(_figures(nested))
    return found


def usage_from_headers(headers: Mapping[str, str]) -> Usage:
    """Parse the three usage headers (case-insensitive names); unreadable ones are ignored."""
    lowered = {str(k).lower(): v for k, v in headers.items()}
    best = Usage()
    regain = 0.0
    for name in USAGE_HEADERS:
        raw = lowered.get(name)
        if not raw:
            continue
        try:
            value = json.loads(raw)
        except ValueError:
            continue
        for percent, seconds in _figures(value):
            regain = max(regain, seconds)
            if percent > best.max_percent:
                best = Usage(percent, 0.0, name)
    return Usage(best.max_percent, regain, best.header)


def pause_before_next_call(usage: Usage, slow_down: float = SLOW_DOWN_PERCENT, max_pause: float = MAX_PAUSE_SECONDS) -> float:
    """Seconds to wait before the next call: 0 below `slow_down`, growing to `max_pause` at 100%."""
    if usage.max_percent < slow_down:
        return 0.0
    share = min(1.0, (usage.max_percent - slow_down) / max(1.0, 100.0 - slow_down))
    return round(max_pause * share, 3)


def must_stop(usage: Usage, stop: float = STOP_PERCENT) -> bool:
    """True when the next call would probably be refused: end this poll and back off."""
    return usage.max_percent >= stop or usage.regain_seconds > 0


# --- errors -------------------------------------------------------------------------------


class GraphError(Exception):
    """A Graph API call failed."""

    def __init__(self, message: str, code: int | None = None, subcode: int | None = None, fbtrace_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.subcode = subcode
        self.fbtrace_id = fbtrace_id


class GraphTransientError(GraphError):
    """Throttled, or the Graph API briefly unavailable: retry later from the checkpoint."""

    def __init__(self, message: str, code: int | None = None, subcode: int | None = None, fbtrace_id: str | None = None,
                 retry_after_seconds: float = 0.0) -> None:
        super().__init__(message, code, subcode, fbtrace_id)
        self.retry_after_seconds = retry_after_seconds


class GraphThrottled(GraphTransientError):
    """A rate limit was reached (or nearly: usage headers above STOP_PERCENT)."""


class GraphAuthError(GraphError):
    """The page token is invalid or expired, or lacks a permission: a person must act."""


def auth_message(code: int | None, subcode: int | None, detail: str) -> str:
    """A clear bilingual message for `tiepnhan status` and the logs (never the token itself)."""
    if code in PERMISSION_CODES:
        return (f"Thiếu quyền truy cập trang (mã {code}): cấp lại quyền pages_messaging / pages_read_engagement "
                f"cho ứng dụng. Missing permission (code {code}): {detail}")
    return (f"Mã truy cập trang không hợp lệ hoặc đã hết hạn (mã {code}"
            + (f"/{subcode}" if subcode else "")
            + f"): cần cấp mã mới. Page access token invalid or expired: {detail}")


def classify_graph_error(error: Mapping[str, Any], retry_after_seconds: float = 0.0) -> GraphError:
    """The exception for a Graph error object (the value of "error" in a response body)."""
    def _int(value: Any) -> int | None:
        try:
            return int(value)
        except (TypeError, ValueError):
            return None

    code, subcode = _int(error.get("code")), _int(error.get("error_subcode"))
    detail = str(error.get("message") or "unknown Graph API error")
    trace = error.get("fbtrace_id")
    trace = str(trace) if trace else None
    if code in THROTTLING_CODES:
        return GraphThrottled(f"Graph API rate limit (code {code}): {detail}", code, subcode, trace, retry_after_seconds)
    if code in TEMPORARY_CODES or error.get("is_transient") is True:
        return GraphTransientError(f"Graph API temporarily unavailable (code {code}): {detail}", code, subcode, trace, retry_after_seconds)
    if code in TOKEN_CODES or code in PERMISSION_CODES or error.get("type") == "OAuthException" and code is None:
        return GraphAuthError(auth_message(code, subcode, detail), code, subcode, trace)
    return GraphError(f"Graph API error (code {code}): {detail}", code, subcode, trace)
