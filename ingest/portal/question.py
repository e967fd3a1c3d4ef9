"""A question sent through the web portal (the public form or the agency's portal API): checked
field by field, with a Vietnamese reason for the first thing wrong. Pure.

Text only: a field holding markup tags is refused (the form never takes HTML); whatever is
accepted is still only ever shown escaped.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from ingest.phone import normalize_phone
from tickets.normalized import safe_line, safe_text
from tickets.places import province_codes

INSURANCE_TYPES = ("BHXH", "BHYT", "BHTN")
FIELDS = ("client_id", "name", "email", "phone", "province_code", "insurance_type", "subject", "body")
LIMITS = {"client_id": 200, "name": 200, "email": 254, "phone": 30, "province_code": 2, "insurance_type": 4, "subject": 200, "body": 10_000}
LABELS = {"client_id": "mã câu hỏi (client_id)", "name": "họ tên", "email": "thư điện tử", "phone": "số điện thoại", "province_code": "tỉnh/thành phố",
          "insurance_type": "loại bảo hiểm", "subject": "tiêu đề", "body": "nội dung câu hỏi"}
MIN_BODY_CHARS = 10
# A tag as a browser would read one (RFC-free: the HTML Living Standard's tag open state):
# "<" then a letter, "/" or "!". "a < b" or "<3" are ordinary text.
_TAG = re.compile(r"<\s*[/!]?\s*[A-Za-z][^>]*>|<!--")
# RFC 5321 §4.5.3.1: at most 64 characters before "@", 254 in all; one "@", a dotted domain.
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+")


class QuestionError(ValueError):
    """What is wrong with the question, in Vietnamese (shown to the person who sent it)."""


@dataclass(frozen=True)
class PortalQuestion:
    body: str
    subject: str = ""
    name: str = ""
    email: str | None = None
    phone: str | None = None  # 0xxxxxxxxx
    province_code: str | None = None
    insurance_type: str | None = None
    client_id: str | None = None

    @property
    def contact_address(self) -> str | None:
        """Who the question is from, for rate limits and for matching later calls."""
        return self.email.lower() if self.email else self.phone


def _text(fields: Mapping[str, object], name: str) -> str:
    value = fields.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise QuestionError(f"trường {LABELS[name]} ({name}) phải là chuỗi ký tự")
    value = value.strip()
    if len(value) > LIMITS[name]:
        raise QuestionError(f"{LABELS[name]} dài quá {LIMITS[name]} ký tự")
    if _TAG.search(value):
        raise QuestionError(f"{LABELS[name]} không được chứa mã HTML (chỉ nhận văn bản thường)")
    return value


def validate_question(fields: Mapping[str, object], *, require_client_id: bool = False, require_contact: bool = False) -> PortalQuestion:
    unknown = sorted(str(k) for k in fields if k not in FIELDS)
    if unknown:
        raise QuestionError(f"trường không được nhận: {', '.join(unknown)[:200]}")
    values = {name: _text(fields, name) for name in FIELDS}
    if require_client_id and not values["client_id"]:
        raise QuestionError("thiếu trường client_id (mã câu hỏi bên hệ thống gửi, để gửi lại không tạo phiếu trùng)")
    body = safe_text(values["body"]).strip()
    if not body:
        raise QuestionError("thiếu nội dung câu hỏi (body)")
    if len(body) < MIN_BODY_CHARS:
        raise QuestionError(f"nội dung câu hỏi quá ngắn (cần ít nhất {MIN_BODY_CHARS} ký tự)")
    email = values["email"] or None
    if email is not None and not _EMAIL.fullmatch(email):
        raise QuestionError(f"địa chỉ thư điện tử không hợp lệ: {safe_line(email)[:80]!r}")
    phone = None
    if values["phone"]:
        phone = normalize_phone(values["phone"])
        if phone is None:
            raise QuestionError("số điện thoại không hợp lệ (cần số Việt Nam, ví dụ 0912 345 678 hoặc +84 912 345 678)")
    if require_contact and email is None and phone is None:
        raise QuestionError("cần thư điện tử hoặc số điện thoại để trung tâm liên hệ trả lời")
    province = values["province_code"] or None
    if province is not None:
        province = province.zfill(2)
        if province not in province_codes():
            raise QuestionError(f"mã tỉnh/thành phố {safe_line(values['province_code'])!r} không có trên bản đồ 34 tỉnh, thành phố (từ 1/7/2025)")
    insurance = values["insurance_type"].upper() or None
    if insurance is not None and insurance not in INSURANCE_TYPES:
        raise QuestionError(f"loại bảo hiểm phải là một trong: {', '.join(INSURANCE_TYPES)}")
    return PortalQuestion(
        body=body, subject=safe_line(values["subject"]), name=safe_line(values["name"]), email=email, phone=phone,
        province_code=province, insurance_type=insurance, client_id=safe_line(values["client_id"]) or None,
    )  # fmt: skip
