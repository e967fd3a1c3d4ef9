"""Public email fixtures from other projects (tests/data/corpus, licences in its README).

The parser must survive every message, and meet the projects' own expectations on bounce vs
auto-reply vs human mail and on reply text. Where tiepnhan's rules differ from a project's by
design (tiepnhan drops signatures from the clean text; talon keeps them), the test says so.
"""

from __future__ import annotations

import email
import json
from pathlib import Path

import pytest

from ingest.email import EmailParseError, parse_email
from ingest.email.quotes import split_reply

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
BODY_ONLY = ("github-email_reply_parser", "discourse-email_reply_trimmer")
NOT_EMAIL = {"spamscope-mail-parser/mail_outlook_1", "sisimai-set-of-emails/mailbox/size-0", "sisimai-set-of-emails/mailbox/size-1"}


def corpus_messages() -> list[Path]:
    found = []
    for path in sorted(CORPUS.rglob("*")):
        relative = path.relative_to(CORPUS).as_posix()
        if not path.is_file() or path.name.startswith("EXPECT") or path.suffix == ".md" or relative.startswith(BODY_ONLY):
            continue
        if relative.startswith("mailgun-talon/") and path.suffix not in (".eml",):
            continue
        found.append(path)
    return found


def expectations(folder: str) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in (CORPUS / folder / "EXPECT.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]


def test_every_message_parses() -> None:
    messages = corpus_messages()
    assert len(messages) > 1000
    problems = []
    for path in messages:
        relative = path.relative_to(CORPUS).as_posix()
        try:
            parsed = parse_email(path.read_bytes())
        except EmailParseError:
            if relative not in NOT_EMAIL:
                problems.append(f"{relative}: rejected")
            continue
        except Exception as exc:  # noqa: BLE001 - the point of the test
            problems.append(f"{relative}: {type(exc).__name__}: {exc}")
            continue
        if relative in NOT_EMAIL and relative != "sisimai-set-of-emails/mailbox/size-0":
            problems.append(f"{relative}: accepted, but it is not an email")
        assert parsed.subject and parsed.external_id
    assert problems == []


def test_outlook_msg_is_rejected_with_a_reason() -> None:
    with pytest.raises(EmailParseError, match="Outlook"):
        parse_email((CORPUS / "spamscope-mail-parser/mail_outlook_1").read_bytes())


def test_sisimai_bounce_vs_auto_reply_vs_human() -> None:
    rows = expectations("sisimai-set-of-emails")
    agree = 0
    disagreements = []
    for row in rows:
        parsed = parse_email((CORPUS / "sisimai-set-of-emails" / row["file"]).read_bytes())
        kind = row["kind"]
        want_bounce = kind == "bounce"
        want_automatic = kind != "not_bounce"
        if parsed.is_bounce == want_bounce and parsed.is_auto_reply == want_automatic:
            agree += 1
        else:
            disagreements.append((row["file"], kind, parsed.extra.get("auto_kind")))
    rate = agree / len(rows)
    print(f"sisimai agreement {agree}/{len(rows)} = {rate:.3f}; first disagreements: {disagreements[:10]}")
    assert rate >= 0.95


def test_rfc3834_auto_replies_are_not_bounces() -> None:
    replies = sorted((CORPUS / "sisimai-set-of-emails/maildir/bsd").glob("rfc3834-*"))
    assert replies
    for path in replies:
        parsed = parse_email(path.read_bytes())
        assert parsed.is_auto_reply and not parsed.is_bounce, path.name


def test_flanker_bounces() -> None:
    for row in expectations("mailgun-flanker"):
        if "is_bounce" not in row or not (CORPUS / "mailgun-flanker" / row["file"]).exists():
            continue
        parsed = parse_email((CORPUS / "mailgun-flanker" / row["file"]).read_bytes())
        assert parsed.is_bounce == row["is_bounce"], row["file"]


def test_mail_gem_reports_and_charsets() -> None:
    for row in expectations("mikel-mail"):
        parsed = parse_email((CORPUS / "mikel-mail" / row["file"]).read_bytes())
        if "is_bounce" in row:
            assert parsed.is_bounce == row["is_bounce"], row["file"]
        for key in ("body_contains", "body"):
            if key in row:
                assert row[key] in parsed.full_text, row["file"]
        if "subject" in row:
            assert parsed.subject == row["subject"], row["file"]


def _first_plain_text(path: Path) -> str:
    message = email.message_from_bytes(path.read_bytes())
    part = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    return part.get_payload(decode=True).decode("utf-8", "replace")  # type: ignore[union-attr]


def test_talon_standard_replies() -> None:
    for row in expectations("mailgun-talon/standard_replies"):
        got = split_reply(_first_plain_text(CORPUS / "mailgun-talon/standard_replies" / row["file"]))[0].strip()
        if row["reply_text"] == "Hello":
            assert got == "Hello", row["file"]
        else:
            # talon keeps "Sent from my iPhone" / the "-- " signature; tiepnhan drops them.
            assert got and row["reply_text"].startswith(got.rstrip()), row["file"]
            assert "wrote:" not in got


def test_reply_trimming_agreement() -> None:
    """Exact agreement with discourse's trimmer and github's parser, measured and bounded."""
    exact = total = 0
    for row in expectations("discourse-email_reply_trimmer"):
        text = (CORPUS / "discourse-email_reply_trimmer" / row["file"]).read_text(encoding="utf-8", errors="replace").strip()
        exact += split_reply(text)[0].strip() == row["reply_text"]
        total += 1
    for row in expectations("github-email_reply_parser"):
        if "reply_text" in row:
            text = (CORPUS / "github-email_reply_parser" / row["file"]).read_text(encoding="utf-8", errors="replace")
            exact += split_reply(text)[0].strip() == row["reply_text"].strip()
            total += 1
    print(f"reply trimming exact agreement {exact}/{total}")
    assert exact / total >= 0.85  # 65/72 reached; the rest differ by design (inline quotes, forwards)
