"""policy.default, with each header parsed once per message.

`EmailPolicy.header_fetch_parse` builds a new header object (a full RFC 5322 / RFC 2045
parse) on every `get`, and `get_content_type`, `get_param`, `get_content_charset`,
`get_filename`, `iter_parts` and `walk` users all call `get` again and again on the same
Content-Type and Content-Disposition fields. This policy remembers the header objects it built
for one message (keyed by the field's name and raw value, so equal values give equal results),
which makes those calls cheap without changing what any of them returns. Header objects are
immutable, so sharing them is safe. A new policy (and cache) is made for every message.
"""

from __future__ import annotations

from email.headerregistry import BaseHeader, HeaderRegistry
from email.policy import EmailPolicy, linesep_splitter
from typing import Any


class _ClassCachingRegistry(HeaderRegistry):
    """HeaderRegistry builds a new header class (`type(...)`) for every header it parses;
    the class depends only on the field name, so build each once."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        found = self._classes.get(key)
        if found is None:
            found = self._classes[key] = super().__getitem__(name)
        return found


_REGISTRY = _ClassCachingRegistry()


class OneParsePolicy(EmailPolicy):
    def __init__(self, **kw: Any) -> None:
        kw.setdefault("header_factory", _REGISTRY)
        super().__init__(**kw)
        object.__setattr__(self, "_parsed", {})  # policies are read-only after __init__

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        if hasattr(value, "name"):  # already a header object (set by the program)
            return value
        key = (name.lower(), value)
        parsed: dict[tuple[str, str], BaseHeader] = self._parsed  # type: ignore[attr-defined]
        header = parsed.get(key)
        if header is None:
            # As EmailPolicy: unfold without splitlines (which splits on more than CR and LF).
            header = parsed[key] = self.header_factory(name, "".join(linesep_splitter.split(value)))
        return header


def message_policy() -> OneParsePolicy:
    """A fresh policy for parsing one message (its cache lives as long as that message)."""
    return OneParsePolicy()
