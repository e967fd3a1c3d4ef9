"""Every expectation in tests/data/emails/INDEX.jsonl (the shared email dataset) as a test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ingest.email import NO_SUBJECT, parse_email

DATA = Path(__file__).resolve().parents[1] / "data" / "emails"
CASES = [json.loads(line) for line in (DATA / "INDEX.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]


def formatted_sender(name: str | None, address: str | None) -> str:
    return f"{name} <{address}>" if name else str(address)


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_expectations(case: dict[str, Any]) -> None:
    expect = case["expect"]
    message = parse_email((DATA / case["file"]).read_bytes())
    # The dataset writes a missing subject as null; tiepnhan shows "(không có tiêu đề)".
    assert message.subject == (expect["subject"] if expect["subject"] is not None else NO_SUBJECT)
    assert formatted_sender(message.sender_name, message.sender_address) == expect["from"]
    # Phrases are compared as text: a hard line wrap inside one is not a difference.
    clean = " ".join(message.clean_text.split())
    for phrase in expect["body_contains"]:
        assert " ".join(phrase.split()) in clean, phrase
    for phrase in expect["body_excludes"]:
        assert " ".join(phrase.split()) not in clean, phrase
    assert message.is_auto_reply == expect["is_auto_reply"]
    got = [{"filename": a.filename, "content_type": a.content_type} for a in message.attachments]
    assert got == expect["attachments"]
    in_reply_to = message.extra.get("in_reply_to")
    assert (f"<{in_reply_to}>" if in_reply_to else None) == expect["in_reply_to"]
