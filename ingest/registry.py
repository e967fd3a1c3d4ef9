"""Which pure parser turns a raw item of each kind into a NormalizedMessage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from tickets.normalized import NormalizedMessage


@dataclass(frozen=True)
class ParseContext:
    source: str
    arrived_at: datetime
    max_attachment_bytes: int


Parser = Callable[[bytes, ParseContext], NormalizedMessage]


class UnknownItemKind(LookupError):
    pass


def _parse_email(content: bytes, context: ParseContext) -> NormalizedMessage:
    from ingest.email import parse_email

    return parse_email(content, max_attachment_bytes=context.max_attachment_bytes, received_at=context.arrived_at)


def _parse_facebook(content: bytes, context: ParseContext) -> NormalizedMessage:
    from ingest.facebook.normalize import parse_facebook_item

    return parse_facebook_item(content, context)


def _parse_zalo(content: bytes, context: ParseContext) -> NormalizedMessage:
    from ingest.zalo.normalize import parse_zalo_item

    return parse_zalo_item(content, context)


def _parse_portal(content: bytes, context: ParseContext) -> NormalizedMessage:
    from ingest.portal.normalize import parse_portal_item

    return parse_portal_item(content, context)


def _parse_call(content: bytes, context: ParseContext) -> NormalizedMessage:
    from ingest.calls.normalize import parse_call_item

    return parse_call_item(content, context)


PARSERS: dict[str, Parser] = {
    "email": _parse_email,
    "facebook_message": _parse_facebook,
    "facebook_comment": _parse_facebook,
    "zalo_message": _parse_zalo,
    "portal_question": _parse_portal,
    "call_summary": _parse_call,
}


def parser_for(kind: str) -> Parser:
    try:
        return PARSERS[kind]
    except KeyError:
        raise UnknownItemKind(f"no parser for raw items of kind {kind!r}") from None
