"""Email normalization: raw RFC 5322 bytes → NormalizedMessage (pure functions).

The names below are loaded on first use (PEP 562), so importing one light submodule (the
classifiers use `ingest.email.quotes`) does not load the MIME parser and the HTML library.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "NO_SUBJECT": "ingest.email.headers",
    "email_external_id": "ingest.email.headers",
    "EmailParseError": "ingest.email.parse",
    "parse_email": "ingest.email.parse",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
