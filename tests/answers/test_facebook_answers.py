"""Answers on the fanpage reach the local Graph API server (tests/facebook/graph_server.py) with
the right bodies; the window is respected; errors are retried or shown; the page's echo of the
answer, by webhook (real uvicorn) and by polling, opens nothing and adds no second message.
Every test runs on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from config.settings import Settings
from ingest.facebook.poller import FacebookPagePoller
from notifiers.answer_delivery import deliver_answer, submit_answer
from notifiers.answer_errors import AnswerPermanentError, AnswerTransientError, AnswerWindowClosed
from notifiers.answer_facebook import MESSENGER_MAX_CHARS, answer_error, messenger_request
from notifiers.delivery import Outcome
from tests.facebook.conftest import APP_SECRET, PAGE_TOKEN, VERIFY_TOKEN, graph, page_config, process_all  # noqa: F401  (graph: fixture)
from tests.facebook.graph_server import Failure, GraphServer, ago
from tests.facebook.test_webhooks import comment_change, messaging, send
from tests.servers import serve_asgi
from tickets.answer_models import Answer, AnswerAttempt
from tickets.db import session_scope
from tickets.models import Message, Ticket, TicketEvent, utcnow
from tiepnhan import runtime
from tiepnhan.web.app import create_app

PSID = "900001"  # GraphState.user(1)


@pytest.fixture
def fanpage(graph: GraphServer, configure: Callable[..., Settings], db_url: str) -> Callable[..., Settings]:  # noqa: F811
    """Settings for one page on the stand-in; every test runs on SQLite and on a real PostgreSQL."""

    def _settings(**page: Any) -> Settings:
        values = {"name": "fanpage", "page_id": graph.state.page_id, "access_token": PAGE_TOKEN, "app_secret": APP_SECRET,
                  "verify_token": VERIFY_TOKEN, "graph_url": graph.url, "timeout_seconds": 10, **page}
        return configure(db_url, facebook_pages=[values], escalation={"retry_min_seconds": 1, "retry_max_seconds": 60})

    return _settings


@pytest.fixture
def webhook(fanpage: Callable[..., Settings]) -> Iterator[tuple[str, Settings]]:
    settings = fanpage()
    with serve_asgi(create_app(settings), log_config=None) as (url, _port):
        yield url, settings


def poll(graph: GraphServer, engine: Engine) -> None:  # noqa: F811
    FacebookPagePoller(page_config(graph)).poll_once(engine, enqueue=False)
    process_all(engine)


def messenger_ticket(graph: GraphServer, engine: Engine, **age: float) -> int:  # noqa: F811
    graph.state.add_message("t_1", "m_citizen_1", "Cho tôi hỏi thủ tục cấp lại thẻ BHYT", ago(**{k: v + 1 / 60 for k, v in age.items()}))
    graph.state.add_message("t_1", "m_citizen_2", "Tôi ở Hà Nội ạ", ago(**age))
    poll(graph, engine)
    with session_scope(engine) as session:
        (ticket_id,) = session.execute(select(Ticket.id)).scalars().all()
    return int(ticket_id)


def comment_ticket(graph: GraphServer, engine: Engine, **age: float) -> tuple[int, str]:  # noqa: F811
    post = graph.state.add_post("p1", "Thông báo lịch chi trả lương hưu", ago(days=1))
    comment = graph.state.add_comment(post, f"{graph.state.page_id}_c1", "Tháng này chi trả ngày nào vậy ạ?", ago(**age), user=2)
    poll(graph, engine)
    with session_scope(engine) as session:
        (ticket_id,) = session.execute(select(Ticket.id)).scalars().all()
    return int(ticket_id), str(comment["id"])


def answer_row(engine: Engine, answer_id: int) -> Answer:
    with session_scope(engine) as session:
        answer = session.get(Answer, answer_id)
        assert answer is not None
        session.expunge(answer)
        return answer


def events(engine: Engine, ticket_id: int, kind: str) -> list[TicketEvent]:
    with session_scope(engine) as session:
        rows = session.execute(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == kind).order_by(TicketEvent.id)).scalars().all()  # type: ignore[arg-type]
        for row in rows:
            session.expunge(row)
        return list(rows)


def counts(engine: Engine) -> tuple[int, int]:
    with session_scope(engine) as session:
        return (int(session.execute(select(func.count()).select_from(Ticket)).scalar_one()),
                int(session.execute(select(func.count()).select_from(Message)).scalar_one()))


def sends(graph: GraphServer) -> list[tuple[str, dict[str, Any]]]:  # noqa: F811
    return list(graph.state.sent)


# --- Messenger -------------------------------------------------------------------------------


def test_messenger_answer_goes_to_the_send_api_and_its_webhook_echo_opens_nothing(
    webhook: tuple[str, Settings], graph: GraphServer,  # noqa: F811
) -> None:
    url, settings = webhook
    engine = runtime.engine()
    ticket_id = messenger_ticket(graph, engine, minutes=30)
    answer = submit_answer(engine, settings, ticket_id, "Ông/bà mang CCCD đến cơ quan BHXH nơi cư trú.", "can_bo_lan", user_id=3)
    assert answer.status == "sent"
    ((path, body),) = sends(graph)
    assert path == f"/v21.0/{graph.state.page_id}/messages"
    assert body["recipient"] == {"id": PSID}
    assert body["messaging_type"] == "RESPONSE" and "tag" not in body
    assert body["message"]["text"] == answer.text and "Ông/bà mang CCCD" in answer.text
    page_message = graph.state.conversations[0]["messages"][-1]
    assert answer.external_id == page_message["id"]  # the Graph's message_id
    with session_scope(engine) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.status == "answered" and ticket.first_response_at is not None
    before = counts(engine)
    # The page's own message comes back: as a webhook echo, then in the next poll.
    echo = messaging(str(answer.external_id), answer.text, echo=True, seconds_ago=1)
    assert send(url, echo) == 200
    process_all(engine)
    poll(graph, engine)
    assert counts(engine) == before  # no ticket opened, no second message
    assert not events(engine, ticket_id, "message_edited") and not events(engine, ticket_id, "reopened")
    with session_scope(engine) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.status == "answered"
        outbound = session.execute(select(Message).where(Message.direction == "outbound")).scalars().all()
        assert [(m.ticket_id, m.external_id) for m in outbound] == [(ticket_id, answer.external_id)]
    assert [(e.actor, e.data["answer_id"]) for e in events(engine, ticket_id, "answer_sent")] == [("can_bo_lan", answer.id)]
    assert deliver_answer(settings, engine, answer.id or 0) is Outcome.SKIPPED
    assert len(sends(graph)) == 1


def test_outside_the_24_hour_window_the_answer_is_refused_and_the_reason_shown(fanpage: Callable[..., Settings], graph: GraphServer) -> None:  # noqa: F811
    settings = fanpage()
    engine = runtime.engine()
    ticket_id = messenger_ticket(graph, engine, hours=25)
    answer = submit_answer(engine, settings, ticket_id, "Trả lời muộn.", "can_bo")
    assert sends(graph) == []  # nothing reached the Graph API
    stored = answer_row(engine, answer.id or 0)
    assert stored.status in ("failed", "refused") and stored.permanent
    assert stored.last_error is not None and stored.last_error.startswith("đã quá 24 giờ kể từ tin nhắn cuối của công dân")
    (failed,) = events(engine, ticket_id, "answer_failed")
    assert failed.data["reason"] == stored.last_error
    with session_scope(engine) as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None and ticket.status != "answered" and ticket.first_response_at is None


def test_with_human_agent_an_answer_after_24_hours_carries_the_tag_until_7_days(fanpage: Callable[..., Settings], graph: GraphServer) -> None:  # noqa: F811
    settings = fanpage(human_agent=True)
    engine = runtime.engine()
    ticket_id = messenger_ticket(graph, engine, days=3)
    answer = submit_answer(engine, settings, ticket_id, "Xin lỗi vì trả lời chậm.", "can_bo")
    assert answer.status == "sent"
    ((_path, body),) = sends(graph)
    assert body["messaging_type"] == "MESSAGE_TAG" and body["tag"] == "HUMAN_AGENT" and body["recipient"] == {"id": PSID}
    # Pure: within 24 hours the tag is not used; after 7 days even the tag is refused.
    now = utcnow()
    assert messenger_request("1", PSID, "x", now - timedelta(hours=2), now, True).fields["messaging_type"] == "RESPONSE"
    with pytest.raises(AnswerWindowClosed, match="7 ngày"):
        messenger_request("1", PSID, "x", now - timedelta(days=8), now, True)


def test_a_transient_graph_error_is_retried_once_and_the_answer_sent_once(fanpage: Callable[..., Settings], graph: GraphServer) -> None:  # noqa: F811
    settings = fanpage()
    engine = runtime.engine()
    ticket_id = messenger_ticket(graph, engine, minutes=5)
    graph.state.failures.append(Failure(code=2, status=503, message="An unexpected error has occurred. Please retry your request later.",
                                        method="POST", path_contains="/messages"))
    answer = submit_answer(engine, settings, ticket_id, "Câu trả lời.", "can_bo")
    pending = answer_row(engine, answer.id or 0)
    assert pending.status == "pending" and pending.attempts == 1 and pending.next_attempt_at is not None
    assert deliver_answer(settings, engine, answer.id or 0) is Outcome.SENT
    assert deliver_answer(settings, engine, answer.id or 0) is Outcome.SKIPPED
    assert len(sends(graph)) == 2  # the failed try and the one that went through
    page_messages = [m for m in graph.state.conversations[0]["messages"] if m["from"]["id"] == graph.state.page_id]
    assert len(page_messages) == 1
    with session_scope(engine) as session:
        attempts = session.execute(select(AnswerAttempt.status).where(AnswerAttempt.answer_id == answer.id).order_by(AnswerAttempt.id)).scalars().all()  # type: ignore[arg-type]
    assert attempts == ["failed", "sent"]
    assert answer_row(engine, answer.id or 0).external_id == page_messages[0]["id"]


@pytest.mark.parametrize("failure", [
    Failure(code=0, status=502, method="POST", path_contains="/messages", raw_body=b"<html><body>502 Bad Gateway</body></html>"),
    # A permanent error, answered only after the client has given up: the timeout alone decides.
    Failure(code=551, status=400, method="POST", path_contains="/messages", delay_seconds=3.0),
], ids=["html-502", "timeout"])
def test_a_gateway_error_page_or_a_timeout_is_transient(fanpage: Callable[..., Settings], graph: GraphServer, failure: Failure) -> None:  # noqa: F811
    settings = fanpage(timeout_seconds=1)
    engine = runtime.engine()
    ticket_id = messenger_ticket(graph, engine, minutes=5)
    graph.state.failures.append(dataclasses.replace(failure))  # a fresh copy for each database
    answer = submit_answer(engine, settings, ticket_id, "Câu trả lời.", "can_bo")
    stored = answer_row(engine, answer.id or 0)
    assert stored.status == "pending" and not stored.permanent and stored.attempts == 1
    assert len(events(engine, ticket_id, "answer_delivery_failed")) == 1
    assert not events(engine, ticket_id, "answer_failed")


@pytest.mark.parametrize(("code", "subcode", "reason"), [
    (551, None, "không nhận được tin nhắn của trang"),
    (10, 2018278, "đã quá 24 giờ kể từ tin nhắn cuối của công dân"),
    (190, 463, "mã truy cập trang không hợp lệ"),
])
def test_a_permanent_graph_error_fails_the_answer_with_its_reason_on_the_ticket(
    fanpage: Callable[..., Settings], graph: GraphServer, code: int, subcode: int | None, reason: str,  # noqa: F811
) -> None:
    settings = fanpage()
    engine = runtime.engine()
    ticket_id = messenger_ticket(graph, engine, minutes=5)
    graph.state.failures.append(Failure(code=code, subcode=subcode, message="refused", method="POST", path_contains="/messages"))
    answer = submit_answer(engine, settings, ticket_id, "Câu trả lời.", "can_bo")
    stored = answer_row(engine, answer.id or 0)
    assert stored.status == "failed" and stored.permanent and reason in (stored.last_error or "")
    (failed,) = events(engine, ticket_id, "answer_failed")
    assert reason in failed.data["error"]
    assert deliver_answer(settings, engine, answer.id or 0) is Outcome.SKIPPED
    assert len(sends(graph)) == 1


def test_graph_errors_map_to_transient_or_permanent() -> None:
    for code in (1, 2, 4, 17, 32, 613):
        assert isinstance(answer_error(code, None, 400, "x"), AnswerTransientError), code
    assert isinstance(answer_error(100, None, 502, "x"), AnswerTransientError)  # any HTTP 5xx
    assert isinstance(answer_error(None, None, None, "timeout", transient=True), AnswerTransientError)
    for code, subcode in ((10, None), (200, None), (190, None), (551, None), (10, 2018278), (100, 2018001), (100, None)):
        error = answer_error(code, subcode, 400, "x")
        assert isinstance(error, AnswerPermanentError) and not isinstance(error, AnswerTransientError), (code, subcode)
    assert isinstance(answer_error(10, 2018278, 400, "x"), AnswerWindowClosed)


def test_an_answer_longer_than_messenger_allows_is_refused_not_cut(fanpage: Callable[..., Settings], graph: GraphServer) -> None:  # noqa: F811
    settings = fanpage()
    engine = runtime.engine()
    ticket_id = messenger_ticket(graph, engine, minutes=5)
    answer = submit_answer(engine, settings, ticket_id, "Nội dung dài. " * (MESSENGER_MAX_CHARS // 10), "can_bo")
    stored = answer_row(engine, answer.id or 0)
    assert stored.status in ("failed", "refused") and "tối đa 2.000 ký tự" in (stored.last_error or "")
    assert sends(graph) == []


# --- comments ----------------------------------------------------------------------------------


def test_public_comment_reply_and_its_echo_by_webhook_and_poll(webhook: tuple[str, Settings], graph: GraphServer) -> None:  # noqa: F811
    url, settings = webhook
    engine = runtime.engine()
    ticket_id, comment_id = comment_ticket(graph, engine, minutes=20)
    answer = submit_answer(engine, settings, ticket_id, "Lương hưu tháng này chi trả từ ngày 2.", "can_bo_minh", mode="comment_public")
    assert answer.status == "sent"
    ((path, body),) = sends(graph)
    assert path == f"/v21.0/{comment_id}/comments" and body["message"] == answer.text
    reply = graph.state.posts[0]["comments"][-1]
    assert answer.external_id == reply["id"] and reply["from"]["id"] == graph.state.page_id
    before = counts(engine)
    change = comment_change(str(answer.external_id), "add", answer.text, parent=comment_id, at=time.time())
    change["entry"][0]["changes"][0]["value"]["from"] = {"id": graph.state.page_id, "name": graph.state.page_name}
    assert send(url, change) == 200
    process_all(engine)
    poll(graph, engine)
    assert counts(engine) == before
    assert not events(engine, ticket_id, "message_edited")


def test_a_public_reply_to_a_citizens_reply_goes_under_the_top_level_comment(fanpage: Callable[..., Settings], graph: GraphServer) -> None:  # noqa: F811
    settings = fanpage()
    engine = runtime.engine()
    ticket_id, top = comment_ticket(graph, engine, minutes=30)
    post = graph.state.posts[0]
    graph.state.add_comment(post, f"{graph.state.page_id}_c2", "Tôi ở Đồng Nai ạ", ago(minutes=5), user=2, parent=top)
    poll(graph, engine)
    answer = submit_answer(engine, settings, ticket_id, "Đồng Nai chi trả từ ngày 3.", "can_bo", mode="comment_public")
    assert answer.status == "sent"
    ((path, _body),) = sends(graph)
    assert path == f"/v21.0/{top}/comments"


def test_private_reply_to_a_comment_once_and_its_echo_adds_nothing(webhook: tuple[str, Settings], graph: GraphServer) -> None:  # noqa: F811
    url, settings = webhook
    engine = runtime.engine()
    ticket_id, comment_id = comment_ticket(graph, engine, hours=30)  # past Messenger's 24 hours, within the 7 days of a private reply
    answer = submit_answer(engine, settings, ticket_id, "Chúng tôi nhắn riêng để hỏi mã số BHXH của ông/bà.", "can_bo", mode="comment_private")
    assert answer.status == "sent"
    ((path, body),) = sends(graph)
    assert path == f"/v21.0/{graph.state.page_id}/messages"
    assert body["recipient"] == {"comment_id": comment_id} and body["message"] == {"text": answer.text}
    before = counts(engine)
    echo = messaging(str(answer.external_id), answer.text, echo=True, seconds_ago=1)
    echo["entry"][0]["messaging"][0]["recipient"] = {"id": "900002"}
    assert send(url, echo) == 200
    process_all(engine)
    poll(graph, engine)
    assert counts(engine) == before  # the Messenger echo of the private reply is the answer's message
    # A second private reply to the same comment is refused before the Graph API is asked.
    second = submit_answer(engine, settings, ticket_id, "Nhắn lần nữa.", "can_bo", mode="comment_private")
    stored = answer_row(engine, second.id or 0)
    assert stored.status in ("failed", "refused") and "nhắn riêng một lần" in (stored.last_error or "")
    assert len(sends(graph)) == 1


def test_private_reply_after_7_days_is_refused(fanpage: Callable[..., Settings], graph: GraphServer) -> None:  # noqa: F811
    settings = fanpage()
    engine = runtime.engine()
    ticket_id, _ = comment_ticket(graph, engine, days=8)
    answer = submit_answer(engine, settings, ticket_id, "Muộn quá.", "can_bo", mode="comment_private")
    stored = answer_row(engine, answer.id or 0)
    assert stored.status in ("failed", "refused") and "đã quá 7 ngày kể từ bình luận" in (stored.last_error or "")
    assert sends(graph) == []


def test_request_bodies_are_json_objects_in_the_form(graph: GraphServer) -> None:  # noqa: F811
    now = utcnow()
    request = messenger_request("1001", PSID, "Chào ông/bà \"An\"", now - timedelta(minutes=1), now, False)
    form = request.form()
    assert json.loads(form["recipient"]) == {"id": PSID} and json.loads(form["message"]) == {"text": "Chào ông/bà \"An\""}
    assert form["messaging_type"] == "RESPONSE"


@pytest.mark.parametrize("mode", ["messenger", "comment_private"])
def test_an_echo_processed_before_the_answer_is_recorded_is_still_the_answers_message(
    webhook: tuple[str, Settings], graph: GraphServer, monkeypatch: pytest.MonkeyPatch, mode: str,  # noqa: F811
) -> None:
    """Facebook's echo webhook can beat our own bookkeeping: the echo is stored and threaded first,
    then the delivery records the answer. Still one message, on the answer's ticket, nothing opened."""
    from notifiers.answer_senders import sender_for

    url, settings = webhook
    engine = runtime.engine()
    if mode == "messenger":
        ticket_id = messenger_ticket(graph, engine, minutes=5)
        recipient = PSID
    else:
        ticket_id, _ = comment_ticket(graph, engine, minutes=5)
        recipient = "900002"
    sender = sender_for(mode)
    assert sender is not None
    real_send = sender.send

    def send_then_echo(settings: Settings, prepared: Any) -> Any:
        sent = real_send(settings, prepared)
        echo = messaging(str(sent.external_id), prepared.text, echo=True, seconds_ago=0)
        echo["entry"][0]["messaging"][0]["recipient"] = {"id": recipient}
        assert send(url, echo) == 200
        process_all(engine)
        return sent

    monkeypatch.setattr(sender, "send", send_then_echo)
    _tickets, messages_before = counts(engine)
    answer = submit_answer(engine, settings, ticket_id, "Câu trả lời.", "can_bo", mode=mode)
    assert answer.status == "sent"
    with session_scope(engine) as session:
        outbound = session.execute(select(Message).where(Message.direction == "outbound")).scalars().all()
        assert [(m.ticket_id, m.external_id) for m in outbound] == [(ticket_id, answer.external_id)]
        assert session.execute(select(func.count()).select_from(Ticket)).scalar_one() == 1
    assert counts(engine)[1] == messages_before + 1
    (sent_event,) = events(engine, ticket_id, "answer_sent")
    assert sent_event.data["message_id"] == outbound[0].id
