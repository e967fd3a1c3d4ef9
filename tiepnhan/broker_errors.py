"""The broker's error a command shows, importable without the broker (the CLI's `main`)."""

from __future__ import annotations


class BrokerUnavailable(Exception):
    """The configured broker (Redis) could not take a message; the message says so in Vietnamese."""

    def __init__(self, url: str, error: BaseException) -> None:
        from tiepnhan.logs import redact

        self.url = redact(url)
        super().__init__(f"không kết nối được Redis ({self.url}): {redact(str(error)) or type(error).__name__}")
