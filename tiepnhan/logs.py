"""Structured logs: one JSON object per line in production, readable lines on a terminal.

Every process (worker, scheduler, web, CLI) writes each event once, to stderr, as one JSON
object per line (`log_format = "json"`, the default when stderr is not a terminal); the
worker's dramatiq parent logs the same way (see tiepnhan/worker.py).

Whatever is logged passes through `redact`, which masks passwords, tokens, citizens' ID
numbers (CCCD, social-insurance numbers), phone numbers and email addresses.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from config.settings import Settings

_SECRET_KEYS = r"password|passwd|pwd|passphrase|mật\s*khẩu|mat\s*khau|token|access_token|refresh_token|api_key|secret|app_secret|client_secret"
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Authorization headers: the scheme stays, the credentials go
    (re.compile(r"(?i)\b(authorization\"?\s*[:=]\s*\"?)(?:(Bearer|Basic|OAuth)\s+)?[^\s\"',&]+"), r"\1\2 ***"),
    (re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=\-]{8,}"), r"\1 ***"),
    # key=value / "key": "value" secrets
    (re.compile(rf"(?i)\b({_SECRET_KEYS})(\"?\s*[:=]\s*\"?)([^\s\"',&]+)"), r"\1\2***"),
    # credentials inside URLs: scheme://user:password@host
    (re.compile(r"([a-z][a-z0-9+.\-]*://[^:/@\s]*:)([^@/\s]+)(@)", re.IGNORECASE), r"\1***\3"),
    (re.compile(r"\bEAA[A-Za-z0-9]{20,}\b"), "***"),  # Facebook access tokens
    # 12-digit CCCD, 10-digit social-insurance numbers, 9-digit CMND: any long digit run, also
    # grouped by spaces; but not a number inside an amount or a decimal (1.800.000, 35.2)
    (re.compile(r"(?<!\d)(?<!\d[.,])(?:\d{9,12}|\d{3,4}(?: \d{3,4}){2,3})(?!\d|[.,]\d)"), "[số định danh]"),
    # Vietnamese phone numbers: 0xx xxx xxxx / +84 ... / (024) 3936 1234
    (re.compile(r"(?<!\w)(?:\+?84|0)(?:[\s.\-]?\d){8,10}(?!\d)"), "[số điện thoại]"),
    (re.compile(r"\(\+?\d{2,4}\)[\s.\-]?\d{3,4}[\s.\-]?\d{3,4}(?!\d)"), "[số điện thoại]"),
    # email addresses: keep the domain, hide the person
    (re.compile(r"\b[\w.+\-]+@([\w\-]+\.[\w.\-]+)\b"), r"***@\1"),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        data.update(_fields(record))
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(data, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{k}={v}" for k, v in _fields(record).items())
        line = f"{datetime.fromtimestamp(record.created).strftime('%H:%M:%S')} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if fields:
            line += f" [{fields}]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return redact(line)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (a test runner may swap it)."""

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def setup_logging(settings: Settings) -> None:
    use_json = settings.log_format == "json" or (settings.log_format == "auto" and not sys.stderr.isatty())
    handler = _StderrHandler()
    handler.setFormatter(JsonFormatter() if use_json else TextFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        # Ours from an earlier call, and a plain stream handler of `logging.basicConfig` (the
        # dramatiq CLI installs one in each worker process, in its own text format): every
        # event is written once, by this handler. Handlers of other kinds (a test's capture,
        # a file an operator added) stay.
        if getattr(existing, "_tiepnhan", False) or type(existing) is logging.StreamHandler:
            root.removeHandler(existing)
    handler._tiepnhan = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    for noisy in ("dramatiq", "sqlalchemy", "alembic", "imapclient", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
