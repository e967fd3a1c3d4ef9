"""The public form, the confirmation, the lookup and the forwarding API, over real HTTP with the
real pipeline (tickets made, tagged and routed as for any other channel)."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from sqlalchemy import func, select

from ingest.portal.models import PortalAttempt
from tests.portal.conftest import API_KEY, Portal, form_client
from tickets.db import session_scope
from tickets.models import Attachment, Message, RawItem, Ticket
from tiepnhan import runtime

PDF = b"%PDF-1.4 giay to cua cong dan\n"
QUESTION = {"name": "Phạm Thị Hoa", "email": "hoa@dan.localhost", "phone": "", "province_code": "48", "insurance_type": "BHYT",
            "subject": "Cấp lại thẻ BHYT & đổi nơi khám", "body": "Tôi bị mất thẻ BHYT, cho tôi hỏi thủ tục cấp lại và đổi nơi khám ban đầu."}


def raw_count() -> int:
    with session_scope(runtime.engine()) as session:
        return session.execute(select(func.count()).select_from(RawItem).where(RawItem.kind == "portal_question")).scalar_one()  # type: ignore[arg-type]


def tagged(ticket_id: int, timeout: float = 15.0) -> None:
    """Wait for the pipeline's classify stage (it runs after the ticket exists)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope(runtime.engine()) as session:
            ticket = session.get(Ticket, ticket_id)
            if ticket is not None and ticket.tagged_at is not None:
                return
        time.sleep(0.1)
    raise AssertionError(f"ticket {ticket_id} not tagged within {timeout}s")


def submit(portal: Portal, fields: dict[str, str] | None = None, files: list[tuple[str, tuple[str, bytes, str]]] | None = None) -> httpx.Response:
    client, tokens = form_client(portal.url)
    return client.post("/hoi-dap", data={**tokens, **(fields if fields is not None else QUESTION)}, files=files or [])


def test_a_question_becomes_a_tagged_ticket_with_its_reference_and_code_and_one_acknowledgement(portal_site: Portal) -> None:
    client, tokens = form_client(portal_site.url)
    answer = client.post("/hoi-dap", data={**tokens, **QUESTION}, files=[("attachments", ("the-bhyt.pdf", PDF, "application/pdf"))])
    assert answer.status_code == 303
    done = client.get(answer.headers["location"])
    assert done.status_code == 200
    reference = re.search(r'class="portal-reference">(TN-\d{6})<', done.text)
    code = re.search(r'class="portal-code">([A-Z2-7]{4}-[A-Z2-7]{4})<', done.text)
    assert reference and code, done.text
    assert "gửi tới thư điện tử" in done.text
    ticket_id = int(reference.group(1)[3:])
    tagged(ticket_id)
    with session_scope(runtime.engine()) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        assert (ticket.channel, ticket.sender_address, ticket.sender_name) == ("portal", "hoa@dan.localhost", "Phạm Thị Hoa")
        assert ticket.province_code == "48" and "BHYT" in ticket.insurance_types  # tagged by the pipeline, with evidence
        attachments = session.execute(select(Attachment).join(Message, Message.id == Attachment.message_id).where(Message.ticket_id == ticket_id)).scalars().all()  # type: ignore[arg-type]
        assert [(a.filename, a.content_type) for a in attachments] == [("the-bhyt.pdf", "application/pdf")]
    deadline = time.monotonic() + 10
    while not portal_site.smtp.received and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(portal_site.smtp.received) == 1
    mail = portal_site.smtp.received[0]
    assert reference.group(1) in str(mail.message["Subject"]) and code.group(1) in mail.message.get_content()
    assert "đổi nơi khám" not in mail.message.get_content()  # nothing the submitter typed goes out in the mail
    # Lookup with the code: the status, the subject escaped; a wrong code finds nothing.
    lookup = client.post("/hoi-dap/tra-cuu", data={"csrftoken": client.cookies["csrftoken"], "reference": reference.group(1), "code": code.group(1).lower()})
    assert lookup.status_code == 200 and 'class="portal-status"' in lookup.text
    assert "Cấp lại thẻ BHYT &amp; đổi nơi khám" in lookup.text
    wrong = client.post("/hoi-dap/tra-cuu", data={"csrftoken": client.cookies["csrftoken"], "reference": reference.group(1), "code": "AAAA-AAAA"})
    assert wrong.status_code == 404 and "không đúng" in wrong.text
    # A second question from the same address: no second acknowledgement within the window.
    assert submit(portal_site, {**QUESTION, "body": "Cho tôi hỏi thêm: thẻ BHYT cấp lại có giá trị từ ngày nào?"}).status_code == 303
    time.sleep(1.5)
    assert len(portal_site.smtp.received) == 1


def test_the_same_form_sent_twice_is_one_question_and_an_edited_one_another(portal_site: Portal) -> None:
    client, tokens = form_client(portal_site.url)

    def reference_after(answer: httpx.Response) -> str:
        assert answer.status_code == 303
        found = re.search(r'class="portal-reference">(TN-\d{6})<', client.get(answer.headers["location"]).text)
        assert found is not None
        return found.group(1)

    first = reference_after(client.post("/hoi-dap", data={**tokens, **QUESTION}))
    assert reference_after(client.post("/hoi-dap", data={**tokens, **QUESTION})) == first  # a reload, a double click
    assert raw_count() == 1
    edited = reference_after(client.post("/hoi-dap", data={**tokens, **QUESTION, "body": QUESTION["body"] + " Tôi ở Đà Nẵng."}))  # back, edit, send
    assert edited != first and raw_count() == 2


@pytest.mark.parametrize(("change", "reason"), [
    ({"body": "Xin hỏi <script>alert(1)</script> về BHXH một lần"}, "mã HTML"),
    ({"email": "", "phone": ""}, "thư điện tử hoặc số điện thoại"),
    ({"email": "hoa@"}, "thư điện tử không hợp lệ"),
    ({"province_code": "99"}, "34 tỉnh"),
])  # fmt: skip
def test_a_bad_question_is_refused_with_its_reason_and_the_typed_text_kept(portal_site: Portal, change: dict[str, str], reason: str) -> None:
    answer = submit(portal_site, {**QUESTION, **change})
    assert answer.status_code == 400 and reason in answer.text
    assert "Tôi bị mất thẻ BHYT" in answer.text or "&lt;script&gt;" in answer.text  # kept, escaped
    assert "<script>alert(1)</script>" not in answer.text
    assert raw_count() == 0


def test_attachments_are_type_and_count_limited(portal_site: Portal) -> None:
    program = [("attachments", ("don.pdf", b"MZ\x90\x00 not a pdf", "application/pdf"))]
    assert "không phải PDF" in submit(portal_site, files=program).text
    four = [("attachments", (f"{i}.pdf", PDF, "application/pdf")) for i in range(4)]
    assert "tối đa 3" in submit(portal_site, files=four).text
    assert raw_count() == 0


def test_the_honeypot_and_a_forged_token_are_refused_and_nothing_is_stored(portal_site: Portal) -> None:
    answer = submit(portal_site, {**QUESTION, "website": "http://spam.example"})
    assert answer.status_code == 400
    client, tokens = form_client(portal_site.url)
    forged = client.post("/hoi-dap", data={**tokens, "form_token": tokens["form_token"][:-2] + "xx", **QUESTION})
    assert forged.status_code == 400 and "không hợp lệ" in forged.text
    assert raw_count() == 0


@pytest.mark.portal(min_fill_seconds=2)
def test_a_form_sent_too_fast_is_refused_and_the_same_form_later_is_taken(portal_site: Portal) -> None:
    client, tokens = form_client(portal_site.url)
    fast = client.post("/hoi-dap", data={**tokens, **QUESTION})
    assert fast.status_code == 400 and "quá nhanh" in fast.text
    assert raw_count() == 0
    time.sleep(2.1)
    assert client.post("/hoi-dap", data={**tokens, **QUESTION}).status_code == 303
    assert raw_count() == 1


def test_without_the_csrf_token_nothing_is_taken(portal_site: Portal) -> None:
    client, tokens = form_client(portal_site.url)
    assert client.post("/hoi-dap", data={"form_token": tokens["form_token"], **QUESTION}).status_code == 403
    bare = httpx.post(f"{portal_site.url}/hoi-dap", data={"form_token": tokens["form_token"], **QUESTION})  # no cookie at all
    assert bare.status_code == 403
    assert raw_count() == 0


@pytest.mark.portal(max_per_ip=4, max_per_address=2)
def test_a_scripted_flood_is_rate_limited_per_address_and_per_ip(portal_site: Portal) -> None:
    statuses = [submit(portal_site, {**QUESTION, "body": f"Câu hỏi số {i} về thẻ BHYT của tôi"}).status_code for i in range(3)]
    assert statuses == [303, 303, 429]  # the third from one address
    others = [submit(portal_site, {**QUESTION, "email": f"nguoi{i}@dan.localhost", "body": f"Câu hỏi số {i} về BHXH một lần"}).status_code for i in range(3)]
    assert others == [303, 429, 429]  # attempts from one client address: four in the window
    limited = submit(portal_site, {**QUESTION, "email": "khac@dan.localhost"})
    assert limited.status_code == 429 and "quá nhiều" in limited.text and limited.headers["retry-after"]
    assert raw_count() == 3
    with session_scope(runtime.engine()) as session:
        keys = session.execute(select(PortalAttempt.ip_key, PortalAttempt.address_key)).all()
    assert all("127.0.0.1" not in ip and "@" not in (address or "") for ip, address in keys)  # only keyed hashes are kept


# --- the forwarding API ---------------------------------------------------------------------


def api(portal: Portal, body: object, key: str | None = API_KEY) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return httpx.post(f"{portal.url}/api/portal/questions", json=body, headers=headers, timeout=30)


def test_the_api_makes_one_ticket_per_client_id(portal_site: Portal) -> None:
    body = {"client_id": "hoi-2025-0042", "name": "Lê Văn Tâm", "phone": "0912 345 678", "body": "Khiếu nại: công ty không đóng BHXH cho tôi từ tháng 3/2025, đề nghị BHXH Đồng Nai kiểm tra."}
    first = api(portal_site, body)
    assert first.status_code == 201, first.text
    ticket = first.json()["ticket"]
    assert re.fullmatch(r"TN-\d{6}", ticket) and first.json()["created"] is True and first.json()["secret_code"]
    again = api(portal_site, {**body, "body": "một nội dung khác cùng mã"})
    assert again.status_code == 200 and again.json()["ticket"] == ticket and again.json()["created"] is False
    assert again.json()["secret_code"] == first.json()["secret_code"]
    assert raw_count() == 1
    tagged(int(ticket[3:]))
    with session_scope(runtime.engine()) as session:
        row = session.get(Ticket, int(ticket[3:]))
        assert row is not None and (row.channel, row.source, row.sender_address, row.category) == ("portal", "cong-bhxh", "0912345678", "complaint")


@pytest.mark.parametrize("key", [None, "khoa-sai-hoan-toan-1234567890", API_KEY + "x"])
def test_the_api_refuses_a_missing_or_wrong_key(portal_site: Portal, key: str | None) -> None:
    answer = api(portal_site, {"client_id": "x", "body": "Câu hỏi về BHXH một lần"}, key=key)
    assert answer.status_code == 401 and "khoá API" in answer.json()["error"]
    assert raw_count() == 0


@pytest.mark.parametrize(("body", "reason"), [
    ({"body": "Câu hỏi về BHXH một lần"}, "client_id"),
    ({"client_id": "a"}, "thiếu nội dung"),
    ({"client_id": "a", "body": "Câu hỏi về BHXH", "email": "sai"}, "thư điện tử"),
    ({"client_id": "a", "body": "<p>Câu hỏi về BHXH</p>"}, "mã HTML"),
    (["không phải đối tượng"], "đối tượng JSON"),
])  # fmt: skip
def test_the_api_refuses_a_bad_body_in_vietnamese(portal_site: Portal, body: object, reason: str) -> None:
    answer = api(portal_site, body)
    assert answer.status_code == 400 and reason in answer.json()["error"]
    not_json = httpx.post(f"{portal_site.url}/api/portal/questions", content=b"{", headers={"authorization": f"Bearer {API_KEY}"})
    assert not_json.status_code == 400 and "JSON" in not_json.json()["error"]
    assert raw_count() == 0


def test_the_lookup_shows_the_centers_sent_answer_escaped_and_nothing_for_another_channel(portal_site: Portal) -> None:
    from tickets.answer_models import Answer

    body = {"client_id": "tra-cuu-1", "email": "binh@dan.localhost", "body": "Cho tôi hỏi mức hưởng trợ cấp thất nghiệp được tính thế nào?"}
    created = api(portal_site, body).json()
    ticket_id = int(created["ticket"][3:])
    client, _tokens = form_client(portal_site.url)

    def look(reference: str, code: str) -> httpx.Response:
        return client.post("/hoi-dap/tra-cuu", data={"csrftoken": client.cookies["csrftoken"], "reference": reference, "code": code})

    assert "Chưa có câu trả lời" in look(created["ticket"], created["secret_code"]).text
    text = "Mức hưởng bằng 60% bình quân tiền lương <b>6 tháng</b> liền kề & tối đa 5 lần lương tối thiểu vùng."
    with session_scope(runtime.engine()) as session:
        session.add(Answer(ticket_id=ticket_id, channel="portal", mode="email", status="pending", text="bản nháp chưa gửi", author="tuvan", message_id="<a1@x>"))
        session.add(Answer(ticket_id=ticket_id, channel="portal", mode="email", status="sent", text=text, author="tuvan", message_id="<a2@x>"))
    page = look(created["ticket"], created["secret_code"]).text
    assert "60% bình quân tiền lương &lt;b&gt;6 tháng&lt;/b&gt; liền kề &amp; tối đa" in page and "<b>6 tháng</b>" not in page
    assert "bản nháp chưa gửi" not in page
    # The code of a ticket of another channel never opens it (codes are only given for portal tickets).
    from tests.escalation.conftest import citizen_email, ingest_email
    from web.portal_guard import lookup_code

    other = ingest_email(citizen_email("Hỏi BHYT", "Cho tôi hỏi về thẻ BHYT của con tôi.", message_id="khac-1@dan.localhost"))
    assert other is not None
    assert look(f"TN-{other:06d}", lookup_code("k" * 40, other)).status_code == 404


def test_the_portal_sources_are_in_status_with_their_intake_delay(portal_site: Portal) -> None:
    from tiepnhan.status import source_statuses

    assert "portal" not in {s.name for s in source_statuses(portal_site.settings, runtime.engine())}  # the form is listed once used
    sent = submit(portal_site)
    assert sent.status_code == 303 and "TN-" in httpx.get(f"{portal_site.url}{sent.headers['location']}", timeout=30).text  # waits for its ticket
    created = api(portal_site, {"client_id": "trang-thai-1", "phone": "0912000999", "body": "Cho tôi hỏi cách tra cứu quá trình đóng BHXH trên điện thoại."})
    assert created.status_code == 201
    statuses = {s.name: s for s in source_statuses(portal_site.settings, runtime.engine())}
    assert statuses["portal"].kind == statuses["cong-bhxh"].kind == "portal"
    assert statuses["cong-bhxh"].delay_samples == 1 and statuses["cong-bhxh"].delay_median_seconds is not None
    assert statuses["portal"].delay_samples == 1
