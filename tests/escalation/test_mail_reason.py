"""The mail to a unit says in plain words why the ticket came to it, with one date format."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import UTC, datetime

import pytest

from classifiers.classify import classify
from notifiers.compose import EscalationView, MessageView, digest_email, escalation_text
from tickets.places import province_name

# A classifier's internal tag key: "topic:nợ đóng", "category:other", "insurance:BHYT", "province:79".
INTERNAL_KEY = re.compile(r"\b(topic|category|insurance|province):\S")

LETTERS = [
    ("Công ty nợ đóng bảo hiểm", "Tôi làm công nhân ở huyện Năm Căn, công ty nợ đóng BHXH 8 tháng nay, tôi không chốt được sổ."),
    ("Bệnh viện từ chối thẻ BHYT", "Tôi ở phường Biên Hòa, Đồng Nai. Bệnh viện không cho dùng thẻ BHYT, bắt tôi trả toàn bộ viện phí."),
    ("Hỏi trợ cấp thất nghiệp", "Cho tôi hỏi ở Nghệ An thì nộp hồ sơ hưởng trợ cấp thất nghiệp ở đâu ạ?"),
]


def view_for(subject: str, body: str) -> EscalationView:
    result = classify(subject, body, "email")
    sent = datetime(2025, 10, 6, 2, 40, tzinfo=UTC)
    return EscalationView(
        escalation_id=1, reference="TN-000001", unit_id="province-x", unit_name="BHXH tỉnh",
        reply_address="hotro+abc@example.vn", subject=subject, channel="email", category=result.category,
        insurance_types=tuple(result.insurance_types), province_name=province_name(result.province_code),
        topics=tuple(result.topics), confidence=dict(result.confidence),
        evidence=tuple(asdict(e) for e in result.evidence), priority="normal",
        due_at=datetime(2025, 10, 16, 2, 40, tzinfo=UTC), sender="Người dân <a@example.vn>",
        messages=(MessageView(sent, "Người dân <a@example.vn>", body),), province_code=result.province_code,
    )


@pytest.mark.parametrize(("subject", "body"), LETTERS)
def test_mail_gives_the_plain_reason_and_no_internal_keys(subject: str, body: str) -> None:
    view = view_for(subject, body)
    text = escalation_text(view, "escalation", [], [])
    assert not INTERNAL_KEY.search(text), INTERNAL_KEY.search(text)
    reason = next(line for line in text.splitlines() if line.startswith("Căn cứ chuyển đến đơn vị: "))
    opening = {"complaint": "Phản ánh", "question": "Câu hỏi", "other": "Thư"}[view.category or "other"]
    assert reason.removeprefix("Căn cứ chuyển đến đơn vị: ").startswith(opening)
    for insurance in view.insurance_types:
        assert insurance in reason
    if view.province_code:
        # the province by name, and the words of the letter that placed it there
        assert f"địa phương: {view.province_name}" in reason
        place_words = [e["phrase"] for e in view.evidence if e["tag"] == f"province:{view.province_code}"]
        assert place_words and f"“{place_words[0]}”" in reason
        assert place_words[0] in body + subject


def test_one_date_format_in_the_mail_and_the_digest() -> None:
    view = view_for(*LETTERS[0])
    text = escalation_text(view, "escalation", [], [])
    # 02:40 UTC is 09:40 in Vietnam: dd/mm/yyyy HH:MM, never HH:MM dd/mm/yyyy
    assert "06/10/2025 09:40" in text and "16/10/2025 09:40" in text
    assert not re.search(r"\b\d{2}:\d{2} \d{2}/\d{2}/\d{4}", text)
    digest = digest_email("BHXH tỉnh", [view], from_address="hotro@example.vn", to=("u@example.vn",), message_id="<d@x>", now=datetime(2025, 10, 7, tzinfo=UTC))
    body = digest.get_content()
    assert "16/10/2025 09:40" in body and not INTERNAL_KEY.search(body)
    assert "Căn cứ: Phản ánh" in body
