"""Logs mask secrets and citizens' identifiers, in JSON and in text."""

from __future__ import annotations

import json
import logging

import pytest

from tiepnhan.logs import JsonFormatter, TextFormatter, redact

SECRETS = [
    ("login failed password=Hunter2!x for user", "Hunter2!x"),
    ('{"password": "s3cr3t-value"}', "s3cr3t-value"),
    ("mật khẩu: MatKhau@2025 sai", "MatKhau@2025"),
    ("access_token=EAAGm0PX4ZCpsBAKZBfooBARbazQUX123456", "EAAGm0PX4ZCpsBAKZBfooBARbazQUX123456"),
    ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc-def", "eyJhbGciOiJIUzI1NiJ9"),
    ("graph said EAAB1234567890abcdefghijklmnop in body", "EAAB1234567890abcdefghijklmnop"),
    ("connecting to postgresql+psycopg://tiepnhan:pg-Pass_1@db.internal:5432/tn", "pg-Pass_1"),
    ("redis at redis://:r3d1s-pw@cache:6379/0 down", "r3d1s-pw"),
    ("app_secret = 0123abcdef0123abcdef", "0123abcdef0123abcdef"),
]

IDENTIFIERS = [
    ("CCCD của tôi là 001092012345, xin kiểm tra", "001092012345"),  # 12-digit CCCD
    ("số CCCD 001 092 012 345 nhé", "001 092 012 345"),
    ("mã số BHXH 0123456789.", "0123456789"),  # 10-digit social-insurance number
    ("CMND 123456789 cũ", "123456789"),
    ("gọi 0912 345 678 giúp tôi", "0912 345 678"),
    ("gọi 0912.345.678", "0912.345.678"),
    ("SĐT +84 912 345 678", "912 345 678"),
    ("số máy bàn (024) 3936 1234", "3936 1234"),
    ("điện thoại 0912345678", "0912345678"),
]


@pytest.mark.parametrize(("text", "secret"), SECRETS)
def test_secrets_are_masked(text: str, secret: str) -> None:
    assert secret not in redact(text)


@pytest.mark.parametrize(("text", "identifier"), IDENTIFIERS)
def test_identifiers_and_phone_numbers_are_masked(text: str, identifier: str) -> None:
    masked = redact(text)
    assert identifier not in masked
    assert identifier.replace(" ", "").replace(".", "") not in masked.replace(" ", "").replace(".", "")


def test_email_addresses_keep_only_the_domain() -> None:
    assert redact("from nguyen.van.a@gmail.com") == "from ***@gmail.com"


@pytest.mark.parametrize(
    "text",
    [
        "Ticket TN-000123 created at 2025-11-24 08:15:30",
        "processed 20000 items in 35.2 s",
        "quy định tại Nghị định 115/2015/NĐ-CP, mức 1.800.000 đồng",
        "UID 4821 in INBOX, UIDVALIDITY 1700000000",
    ],
)
def test_ordinary_numbers_survive(text: str) -> None:
    # Dates, counts, amounts and short ids carry no personal data and keep logs useful.
    kept = redact(text)
    for token in ("TN-000123", "2025-11-24", "20000", "115/2015", "1.800.000", "4821"):
        if token in text:
            assert token in kept


def _record(message: str, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("tiepnhan.test", logging.WARNING, __file__, 1, message, None, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_json_lines_are_valid_and_redacted() -> None:
    record = _record("login failed for citizen@mail.vn", password="Hunter2!x", cccd="001092012345", source="hop-thu")
    line = JsonFormatter().format(record)
    data = json.loads(line)
    assert data["level"] == "warning" and data["source"] == "hop-thu"
    assert "Hunter2!x" not in line and "001092012345" not in line and "citizen@" not in line


def test_text_lines_are_redacted_including_tracebacks() -> None:
    try:
        raise ValueError("bad token=abc.def.ghi for 0912345678")
    except ValueError:
        import sys

        record = _record("poll failed", source="hop-thu")
        record.exc_info = sys.exc_info()
    line = TextFormatter().format(record)
    assert "poll failed" in line and "source=hop-thu" in line
    assert "abc.def.ghi" not in line and "0912345678" not in line


def test_separate_small_numbers_are_not_joined_into_an_identifier() -> None:
    assert redact("batch 12 of 300, 20000 items") == "batch 12 of 300, 20000 items"
