"""Usage headers and Graph error objects, parsed and classified (pure functions)."""

from __future__ import annotations

import json

import pytest

from ingest.facebook.ratelimit import (
    GraphAuthError,
    GraphError,
    GraphThrottled,
    GraphTransientError,
    Usage,
    classify_graph_error,
    must_stop,
    pause_before_next_call,
    usage_from_headers,
)


def test_the_highest_figure_of_any_usage_header_counts() -> None:
    headers = {
        "x-app-usage": json.dumps({"call_count": 12, "total_time": 40, "total_cputime": 3}),
        "X-Page-Usage": json.dumps({"call_count": 81, "total_time": 2, "total_cputime": 1}),
    }
    usage = usage_from_headers(headers)
    assert usage.max_percent == 81 and usage.header == "x-page-usage" and usage.regain_seconds == 0


def test_business_use_case_usage_is_nested_by_business_and_gives_regain_minutes() -> None:
    value = {"1001": [{"type": "pages", "call_count": 30, "total_cputime": 99, "total_time": 10, "estimated_time_to_regain_access": 0},
                      {"type": "messenger", "call_count": 5, "total_cputime": 5, "total_time": 5, "estimated_time_to_regain_access": 3}]}
    usage = usage_from_headers({"X-Business-Use-Case-Usage": json.dumps(value)})
    assert usage.max_percent == 99 and usage.regain_seconds == 180
    assert must_stop(usage)


def test_unreadable_or_missing_headers_mean_no_usage() -> None:
    assert usage_from_headers({"X-App-Usage": "not json", "Content-Type": "application/json"}) == Usage()
    assert usage_from_headers({}) == Usage()


@pytest.mark.parametrize(("percent", "pause"), [(0, 0.0), (79.9, 0.0), (80, 0.0), (90, 5.0), (100, 10.0), (150, 10.0)])
def test_pause_grows_from_80_percent(percent: float, pause: float) -> None:
    assert pause_before_next_call(Usage(percent)) == pytest.approx(pause)


def test_stop_at_95_percent() -> None:
    assert not must_stop(Usage(94))
    assert must_stop(Usage(95))


@pytest.mark.parametrize("code", [4, 17, 32, 613, 80001, 80006])
def test_throttling_codes_are_transient(code: int) -> None:
    error = classify_graph_error({"message": "limit reached", "type": "OAuthException", "code": code, "fbtrace_id": "x"}, 60)
    assert isinstance(error, GraphThrottled) and isinstance(error, GraphTransientError)
    assert error.code == code and error.retry_after_seconds == 60 and error.fbtrace_id == "x"


@pytest.mark.parametrize(("code", "subcode", "words"), [(190, 463, "hết hạn"), (190, 460, "expired"), (10, None, "Thiếu quyền"), (200, None, "permission")])
def test_token_and_permission_codes_need_a_person(code: int, subcode: int | None, words: str) -> None:
    error = classify_graph_error({"message": "Error validating access token", "type": "OAuthException", "code": code, "error_subcode": subcode})
    assert isinstance(error, GraphAuthError) and not isinstance(error, GraphTransientError)
    assert words in str(error) and str(code) in str(error)


def test_temporary_and_other_errors() -> None:
    assert isinstance(classify_graph_error({"code": 2, "message": "Service temporarily unavailable"}), GraphTransientError)
    other = classify_graph_error({"code": 100, "message": "Unsupported get request", "type": "GraphMethodException"})
    assert type(other) is GraphError and "100" in str(other)
