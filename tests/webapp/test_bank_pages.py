"""The question bank's pages over real HTTP (uvicorn on loopback): coordinators list, search,
filter and edit entries (each save a new version with who and when), see the clusters of
repeated questions without an entry; every other role is refused them."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from sqlmodel import select

from config.settings import Settings
from qbank.entry import load_jsonl_bank
from qbank.models import BankEntryRow
from qbank.store import save_entries, versions_of
from tests.escalation.conftest import citizen_email, ingest_email
from tests.qbank.conftest import BANK_FILE
from tests.webapp.server import Scenario, logged_in, serve
from tickets.db import session_scope
from tickets.models import Ticket, ticket_reference
from tiepnhan import runtime


@pytest.fixture
def bank_url(scenario: tuple[Settings, Scenario], tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))
    with session_scope(runtime.engine()) as session:
        save_entries(session, load_jsonl_bank(str(BANK_FILE)), "nhap")
    with serve(scenario[0]) as url:
        yield url


def entry_row(key: str) -> BankEntryRow:
    with session_scope(runtime.engine()) as session:
        row = session.exec(select(BankEntryRow).where(BankEntryRow.key == key)).one()
        session.expunge(row)
        return row


def form_of(row: BankEntryRow, **changes: str) -> dict[str, str]:
    values = {
        "question": row.question, "alternatives": "\n".join(row.alternatives), "answer": row.answer, "insurance_type": row.insurance_type or "",
        "topic": row.topic, "legal_basis": row.legal_basis, "status": row.status, "version": str(row.version),
    }
    return values | changes


def csrf(client: httpx.Client) -> str:
    return client.cookies["csrftoken"]


def test_a_coordinator_searches_without_tone_marks_and_filters_by_status(bank_url: str) -> None:
    coordinator = logged_in(bank_url, "dieuphoi")
    page = coordinator.get("/bank", params={"q": "mat the bao hiem y te"})
    assert page.status_code == 200
    q48 = entry_row("q48")
    assert f'href="/bank/{q48.id}"' in page.text and q48.question in page.text
    shown = re.findall(r'href="/bank/(\d+)"', page.text)
    assert 1 <= len(shown) < 20  # the words narrow the list
    # a status filter: no entry of the sample is a draft, so none is listed until one is made
    assert re.findall(r'href="/bank/(\d+)"', coordinator.get("/bank", params={"status": "draft"}).text) == []
    coordinator.post(f"/bank/{q48.id}", data=form_of(q48, status="draft") | {"csrftoken": csrf(coordinator)})
    drafts = re.findall(r'href="/bank/(\d+)"', coordinator.get("/bank", params={"status": "draft"}).text)
    assert drafts == [str(q48.id)]
    assert "Ngân hàng câu hỏi" in coordinator.get("/").text  # in the navigation


def test_an_edit_writes_a_new_version_with_who_and_when_and_a_bad_one_keeps_what_was_typed(bank_url: str) -> None:
    coordinator = logged_in(bank_url, "dieuphoi")
    row = entry_row("q48")
    assert row.id is not None and row.version == 1
    new_answer = "Công dân đến bộ phận một cửa của BHXH cấp huyện nơi cư trú để được cấp lại thẻ BHYT, hoặc làm trên Cổng dịch vụ công."
    saved = coordinator.post(
        f"/bank/{row.id}",
        data=form_of(row, answer=new_answer + "\x1b[31m", alternatives="Mất thẻ BHYT thì làm sao?\nLàm lại thẻ bảo hiểm y tế ở đâu", topic="cap-lai-the")
        | {"csrftoken": csrf(coordinator)},
    )
    assert saved.status_code == 303 and saved.headers["location"] == f"/bank/{row.id}"
    after = entry_row("q48")
    assert after.version == 2 and after.changed_by == "dieuphoi"
    assert after.answer == new_answer  # the terminal escape never reaches the bank
    assert after.alternatives == ["Mất thẻ BHYT thì làm sao?", "Làm lại thẻ bảo hiểm y tế ở đâu"] and after.topic == "cap-lai-the"
    with session_scope(runtime.engine()) as session:
        versions = versions_of(session, "q48")
    assert [(v.version, v.changed_by) for v in versions] == [(1, "nhap"), (2, "dieuphoi")]
    assert versions[0].answer == row.answer  # the old version is kept as it was
    page = coordinator.get(f"/bank/{row.id}")
    assert "Đã lưu phiên bản 2" in page.text
    assert re.search(r"Phiên bản 2 · [^<]+ · dieuphoi</time>[^<]*câu trả lời", page.text)
    assert "Phiên bản 1" in page.text

    # an empty answer is refused: the form comes back with everything typed, nothing is saved
    typed_question = "Câu hỏi đã sửa <b>đậm</b> mà chưa lưu"
    refused = coordinator.post(f"/bank/{row.id}", data=form_of(after, question=typed_question, answer="  ") | {"csrftoken": csrf(coordinator)})
    assert refused.status_code == 400
    assert "Thiếu câu trả lời" in refused.text
    assert "Câu hỏi đã sửa &lt;b&gt;đậm&lt;/b&gt; mà chưa lưu" in refused.text  # shown again, as text
    assert entry_row("q48").version == 2

    # a form opened before someone else's save does not overwrite it
    stale = coordinator.post(f"/bank/{row.id}", data=form_of(row, answer="Bản cũ") | {"csrftoken": csrf(coordinator)})
    assert stale.status_code == 409 and "đã lưu phiên bản 2" in stale.text
    assert entry_row("q48").answer == new_answer
    # saving the same content again writes no version
    same = coordinator.post(f"/bank/{row.id}", data=form_of(entry_row("q48")) | {"csrftoken": csrf(coordinator)})
    assert same.status_code == 303 and entry_row("q48").version == 2
    # without the CSRF token nothing is saved
    assert coordinator.post(f"/bank/{row.id}", data=form_of(entry_row("q48"), answer="giả mạo")).status_code == 403
    assert entry_row("q48").answer == new_answer


@pytest.mark.parametrize("name", ["vp79", "tuvan", "lanhdao", "quantri"])
def test_other_roles_are_refused_the_bank_pages(bank_url: str, name: str) -> None:
    row = entry_row("q48")
    client = logged_in(bank_url, name)
    for path in ("/bank", "/bank/clusters", f"/bank/{row.id}"):
        answer = client.get(path)
        assert answer.status_code == 404, (name, path)
        assert row.question not in answer.text
    posted = client.post(f"/bank/{row.id}", data=form_of(row, answer="Sửa trái phép") | {"csrftoken": csrf(client)})
    assert posted.status_code == 404
    assert entry_row("q48").version == row.version
    assert 'href="/bank"' not in client.get("/").text
    with httpx.Client(base_url=bank_url, follow_redirects=False) as anonymous:
        assert anonymous.get("/bank").status_code == 303


def test_the_clusters_page_lists_repeated_questions_no_entry_answers_in_the_period(bank_url: str) -> None:
    recruitment = [
        "Năm nay BHXH có thi tuyển viên chức không, khi nào thi?",
        "Cho hỏi lịch thi tuyển viên chức ngành BHXH năm nay?",
        "Xin hỏi BHXH năm nay có tổ chức thi tuyển viên chức không ạ?",
    ]
    ids = [ingest_email(citizen_email("Hỏi", body, message_id=f"tuyen-{n}@dan.localhost")) for n, body in enumerate(recruitment)]
    answered = ingest_email(citizen_email("Hỏi về thẻ BHYT", "Tôi làm mất thẻ bảo hiểm y tế, xin hỏi cấp lại ở đâu ạ?", message_id="the-1@dan.localhost"))
    with session_scope(runtime.engine()) as session:
        assert all(session.get(Ticket, i).category == "question" for i in [*ids, answered])  # type: ignore[union-attr]
    coordinator = logged_in(bank_url, "dieuphoi")
    page = coordinator.get("/bank/clusters", params={"days": "7"})
    assert page.status_code == 200
    clusters = page.text.split('class="queue-item cluster"')[1:]
    recruiting = [c for c in clusters if ticket_reference(ids[0]) in c]
    assert len(recruiting) == 1
    assert sum(ticket_reference(i) in recruiting[0] for i in ids) >= 2
    assert all(ticket_reference(answered) not in c for c in clusters)  # an entry answers it
    # another period: none of them
    past = coordinator.get("/bank/clusters", params={"from": "2024-01-01", "to": "2024-01-31"})
    assert past.status_code == 200 and ticket_reference(ids[0]) not in past.text and "Từ 2024-01-01 đến 2024-01-31" in past.text
    wrong = coordinator.get("/bank/clusters", params={"from": "ngày mai"})
    assert wrong.status_code == 200 and "Ngày không hợp lệ" in wrong.text
