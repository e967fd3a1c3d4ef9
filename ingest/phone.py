"""Vietnamese phone numbers in one form, so a call and a portal question from one person match. Pure."""

from __future__ import annotations

import re

# Mobile and landline numbers: 0 + 9 or 10 digits once the country code is replaced
# (+84 / 84 / 0084 → 0). Spaces, dots, dashes and brackets are what people type between groups.
_SEPARATORS = re.compile(r"[\s.\-()]")
_NATIONAL = re.compile(r"0\d{9,10}")


def normalize_phone(text: str) -> str | None:
    """'+84 912 345 678' → '0912345678'; None when it is not a Vietnamese number."""
    digits = _SEPARATORS.sub("", text.strip())
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("0084"):
        digits = "0" + digits[4:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    return digits if _NATIONAL.fullmatch(digits) else None


def mask_phone(number: str) -> str:
    """'0912345678' → '0912***678': enough for a person to recognise their own number."""
    return number[:4] + "***" + number[-3:] if len(number) >= 8 else "***"
