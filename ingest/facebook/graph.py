"""A page's Graph API client: pyfacebook's GraphAPI with our pacing, paging and errors.

pyfacebook (python-facebook-api) does the HTTP: the access token and `appsecret_proof`
(HMAC-SHA256 of the token with the app secret, https://developers.facebook.com/docs/graph-api/securing-requests/)
on every call, JSON parsing and Graph error objects. Around it:
  * pacing: at least `min_call_interval` between calls (the Conversations API allows about two
    calls per second per page), and a pause growing with the usage headers above 80%;
  * paging: we follow `paging.next` ourselves, one page at a time, so a poll stops as soon as
    it reaches what the checkpoint says was already seen (pyfacebook's get_full_connections
    reads everything, and truncates to 10 items unless count=None);
  * errors: Graph error objects, timeouts and non-JSON answers become GraphError subclasses.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlparse

import requests
from pyfacebook import FacebookError, GraphAPI, LibraryError

from config.settings import FacebookPageConfig
from ingest.facebook.ratelimit import (
    GraphThrottled,
    GraphTransientError,
    Usage,
    classify_graph_error,
    must_stop,
    pause_before_next_call,
    usage_from_headers,
)
from tiepnhan.logs import redact

log = logging.getLogger(__name__)

DEFAULT_MIN_CALL_INTERVAL = 0.5
PAGE_LIMIT = 50


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


class GraphClient:
    def __init__(
        self,
        config: FacebookPageConfig,
        *,
        access_token: str | None = None,
        min_call_interval: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.api = GraphAPI(
            access_token=access_token or _secret(config.access_token),
            app_secret=_secret(config.app_secret),  # sends appsecret_proof when set
            version=config.api_version,
            base_url=config.graph_url,  # ends with "/" (validated in settings)
            timeout=config.timeout_seconds,  # type: ignore[arg-type]  # requests takes a float
            ignore_version_check=True,
            sleep_on_rate_limit=False,  # we pace from the headers ourselves
        )
        self.api.session.hooks["response"].append(self._remember_headers)
        self.min_call_interval = DEFAULT_MIN_CALL_INTERVAL if min_call_interval is None else min_call_interval
        self.sleep = sleep
        self.usage = Usage()
        self.calls = 0
        self._last_call = 0.0
        self._lock = threading.Lock()

    def _remember_headers(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.usage = usage_from_headers(response.headers)

    # --- calls ------------------------------------------------------------------------------

    def call(self, function: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Run one pyfacebook call, paced, with its errors translated."""
        with self._lock:
            self._pace()
            self.calls += 1
            try:
                return function()
            except FacebookError as exc:
                raise classify_graph_error(_error_object(exc), self.usage.regain_seconds) from None
            except (requests.RequestException, LibraryError, ValueError, KeyError) as exc:
                raise GraphTransientError(f"Graph API unreachable or answered oddly: {redact(_describe(exc))}") from None
            finally:
                self._last_call = time.monotonic()

    def _pace(self) -> None:
        if must_stop(self.usage):
            raise GraphThrottled(
                f"Graph API usage at {self.usage.max_percent:.0f}% ({self.usage.header}); stopping this poll",
                retry_after_seconds=self.usage.regain_seconds,
            )
        wait = max(pause_before_next_call(self.usage), self.min_call_interval - (time.monotonic() - self._last_call))
        if wait > 0:
            if wait >= 1:
                log.info("slowing down for the Graph API rate limit",
                         extra={"source": self.config.name, "usage_percent": self.usage.max_percent, "pause_seconds": wait})
            self.sleep(wait)

    def get_object(self, object_id: str, fields: str, **params: Any) -> dict[str, Any]:
        return self.call(lambda: self.api.get_object(object_id, fields=fields, **params))

    def pages(self, object_id: str, connection: str, **params: Any) -> Iterator[list[dict[str, Any]]]:
        """Each page of a connection, following `paging.next` until the caller stops."""
        args: dict[str, Any] = {"limit": PAGE_LIMIT, **params}
        while True:
            page = self.call(lambda args=args: self.api.get_connection(object_id, connection, **args))  # type: ignore[misc]
            yield [item for item in page.get("data", []) if isinstance(item, dict)]
            next_url = (page.get("paging") or {}).get("next")
            if not next_url:
                return
            # As pyfacebook does: the query string of `next` is sent again to base_url.
            args = dict(parse_qsl(urlparse(next_url).query))

    def follow(self, connection_value: dict[str, Any] | None, object_id: str, connection: str, **params: Any) -> Iterator[list[dict[str, Any]]]:
        """The pages of a nested connection (e.g. a conversation's `messages{...}`): the first
        came with its parent, the rest are fetched from its `paging.next`."""
        value = connection_value or {}
        yield [item for item in value.get("data", []) if isinstance(item, dict)]
        next_url = (value.get("paging") or {}).get("next")
        if not next_url:
            return
        args = dict(parse_qsl(urlparse(next_url).query))
        args.setdefault("fields", params.get("fields", ""))
        yield from self.pages(object_id, connection, **args)


def _error_object(exc: FacebookError) -> dict[str, Any]:
    data = getattr(exc, "_data", None)
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        return dict(data["error"])
    return {key: getattr(exc, key) for key in ("message", "code", "error_subcode", "type", "fbtrace_id") if hasattr(exc, key)}


def _describe(exc: Exception) -> str:
    message = getattr(exc, "message", None)
    return f"{type(exc).__name__}: {message if message is not None else exc}"
