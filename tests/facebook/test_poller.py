"""Polling a fanpage through pyfacebook against a local server speaking the Graph API's shapes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from ingest.facebook import graph as graph_module
from ingest.facebook.poller import CONVERSATIONS, FEED, FacebookPagePoller
from ingest.facebook.ratelimit import GraphAuthError, GraphError, GraphThrottled
from tests.conftest import make_settings
from tests.facebook.conftest import APP_SECRET, PAGE_TOKEN, all_messages, page_config, process_all, tickets_with_messages
from tests.facebook.graph_server import Failure, GraphServer, ago
from tickets.db import session_scope
from tickets.models import Attachment, Checkpoint, RawItem, SourceHealth
from tiepnhan.scheduler import poll_source_now


def poll(server: GraphServer, engine: Engine, **overrides: object) -> dict[str, object]:
    summary = FacebookPagePoller(page_config(server, **overrides)).poll_once(engine, enqueue=False)  # type: ignore[arg-type]
    process_all(engine)
    return summary


def requests_for(server: GraphServer, suffix: str) -> list[dict[str, str]]:
    return [args for path, args in server.state.requests if path.endswith(suffix)]


def test_conversations_across_several_pages_become_one_ticket_each(graph: GraphServer, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(graph_module, "PAGE_LIMIT", 3)
    state = graph.state
    for index in range(7):
        for n in range(index % 4 + 1):  # up to 4 messages: more than the nested page of 2
            state.add_message(f"t_{index}", f"m_{index}_{n}", f"Hỏi về BHXH lần {n} của người {index}", ago(hours=10 - n, minutes=index), user=index)
    summary = poll(graph, engine)
    total = sum(len(c["messages"]) for c in state.conversations)
    assert summary["new"] == total and summary["conversations"] == 7
    listing = requests_for(graph, f"/{state.page_id}/conversations")
    assert len(listing) == 3 and [a.get("after") is not None for a in listing] == [False, True, True]
    assert all(a["platform"] == "messenger" and "appsecret_proof" in a for a in listing)
    assert requests_for(graph, "/messages"), "nested message pages were followed"
    found = tickets_with_messages(engine)
    assert len(found) == 7
    for ticket, messages in found:
        conversation = next(c for c in state.conversations if c["messages"][0]["id"] == messages[0].external_id)
        assert [m.external_id for m in messages] == [m["id"] for m in conversation["messages"]]
        assert ticket.channel == "facebook_message" and ticket.source == "fanpage"


def test_second_poll_fetches_only_what_is_newer(graph: GraphServer, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(graph_module, "PAGE_LIMIT", 2)
    state = graph.state
    for index in range(6):
        state.add_message(f"t_{index}", f"m_{index}", f"Câu hỏi {index}", ago(hours=5, minutes=index), user=index)
    post = state.add_post("p1", "Thông báo về BHYT học sinh", ago(days=2))
    state.add_comment(post, "c1", "Thẻ BHYT của con tôi chưa có", ago(hours=3), user=1)
    assert poll(graph, engine)["new"] == 7
    with session_scope(engine) as session:
        assert session.get(Checkpoint, ("fanpage", CONVERSATIONS)) is not None
        assert session.get(Checkpoint, ("fanpage", FEED)) is not None
    state.requests.clear()
    state.add_message("t_2", "m_2_new", "Bổ sung thông tin", ago(minutes=1), user=2)
    state.add_message("t_new", "m_new", "Tôi muốn hỏi về BHTN", ago(minutes=2), user=9)
    state.add_comment(post, "c2", "Tôi cũng vậy", ago(minutes=3), user=2)
    summary = poll(graph, engine)
    assert summary["new"] == 3
    # the two that changed, and the one updated at the checkpoint's very second (re-read: ties)
    assert summary["conversations"] == 3
    assert len(requests_for(graph, f"/{state.page_id}/conversations")) == 2  # stopped at the first page holding old ones
    assert summary["fetched"] <= 5
    assert poll(graph, engine)["new"] == 0
    assert len(tickets_with_messages(engine)) == 9  # 7 conversations, 2 top-level comments
    (ticket, messages), = [(t, m) for t, m in tickets_with_messages(engine) if any(x.external_id == "m_2_new" for x in m)]
    assert [m.external_id for m in messages] == ["m_2", "m_2_new"]


def test_page_replies_are_outbound_open_no_ticket_and_set_first_response(graph: GraphServer, engine: Engine) -> None:
    state = graph.state
    state.add_message("t_1", "m_q", "Xin hỏi thủ tục rút BHXH một lần", ago(hours=3), user=1,
                      attachments=[{"id": "a1", "mime_type": "image/jpeg", "name": "so-bhxh.jpg", "size": 2048, "image_data": {"url": "https://cdn.example/so.jpg"}}])
    reply_time = ago(hours=2)
    state.add_message("t_1", "m_a", "Chào bạn, bạn nộp hồ sơ tại BHXH nơi cư trú", reply_time, from_page=True, user=1)
    state.add_message("t_2", "m_only_page", "Trang gửi thông báo", ago(hours=1), from_page=True, user=2)
    poll(graph, engine)
    (ticket, messages), = tickets_with_messages(engine)
    assert [m.direction for m in messages] == ["inbound", "outbound"]
    assert ticket.first_response_at is not None
    assert ticket.first_response_at.strftime("%Y-%m-%dT%H:%M:%S+0000") == reply_time
    lone = next(m for m in all_messages(engine) if m.external_id == "m_only_page")
    assert lone.direction == "outbound" and lone.ticket_id is None
    with session_scope(engine) as session:
        attachment, = session.execute(select(Attachment)).scalars()
        assert attachment.url == "https://cdn.example/so.jpg" and attachment.content_type == "image/jpeg"


def test_comment_replies_thread_with_their_top_comment_not_with_other_commenters(graph: GraphServer, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(graph_module, "PAGE_LIMIT", 2)  # comments come in two pages
    state = graph.state
    post = state.add_post("p1", "Hướng dẫn gia hạn thẻ BHYT hộ gia đình", ago(days=1))
    state.add_comment(post, "c_top", "Gia hạn thẻ BHYT ở đâu ạ?", ago(hours=5), user=1)
    state.add_comment(post, "c_page", "Bạn gia hạn tại UBND xã nhé", ago(hours=4), from_page=True, parent="c_top")
    state.add_comment(post, "c_more", "Cảm ơn ad, cần mang gì ạ?", ago(hours=3), user=1, parent="c_top")
    state.add_comment(post, "c_other", "Tôi ở Huế, thẻ bị sai tên", ago(hours=2), user=2)
    poll(graph, engine)
    found = tickets_with_messages(engine)
    assert len(found) == 2
    by_first = {messages[0].external_id: (ticket, messages) for ticket, messages in found}
    ticket, messages = by_first["c_top"]
    assert [m.external_id for m in messages] == ["c_top", "c_page", "c_more"]
    assert ticket.channel == "facebook_comment" and ticket.first_response_at is not None
    assert [m.external_id for m in by_first["c_other"][1]] == ["c_other"]
    comments = requests_for(graph, "/comments")
    assert len(comments) == 2 and all(a["filter"] == "stream" for a in comments) and "after" in comments[1]


def test_without_an_app_secret_no_appsecret_proof_is_sent(graph: GraphServer, engine: Engine) -> None:
    graph.state.app_secret = None
    graph.state.add_message("t_1", "m_1", "Hỏi", ago(hours=1))
    poll(graph, engine, app_secret=None)
    assert graph.state.requests and all("appsecret_proof" not in args for _, args in graph.state.requests)


def test_a_wrong_app_secret_is_refused_by_the_graph_api(graph: GraphServer, engine: Engine) -> None:
    graph.state.add_message("t_1", "m_1", "Hỏi", ago(hours=1))
    with pytest.raises(GraphError, match="appsecret_proof"):
        poll(graph, engine, app_secret="not-the-secret")


@pytest.mark.parametrize("code", [4, 613, 80001])
def test_throttling_stops_the_poll_and_the_next_resumes_from_the_checkpoint(graph: GraphServer, engine: Engine, code: int) -> None:
    state = graph.state
    state.add_message("t_1", "m_1", "Hỏi về lương hưu", ago(hours=2))
    post = state.add_post("p1", "Bài viết", ago(days=1))
    state.add_comment(post, "c1", "Hỏi về BHTN", ago(hours=1))
    state.failures.append(Failure(code=code, status=400 if code != 4 else 403, message="(#4) Application request limit reached", path_contains="/comments"))
    with pytest.raises(GraphThrottled) as raised:
        poll(graph, engine)
    assert raised.value.code == code
    process_all(engine)  # what was committed before the throttle goes through the pipeline
    with session_scope(engine) as session:
        assert session.get(Checkpoint, ("fanpage", FEED)) is None  # unchanged: the feed was not finished
        assert session.get(Checkpoint, ("fanpage", CONVERSATIONS)) is not None
    assert {m.external_id for m in all_messages(engine)} == {"m_1"}
    summary = poll(graph, engine)
    assert summary["new"] == 1
    assert {m.external_id for m in all_messages(engine)} == {"m_1", "c1"}
    with session_scope(engine) as session:
        assert session.get(Checkpoint, ("fanpage", FEED)) is not None


def test_usage_headers_near_the_limit_stop_before_the_next_call(graph: GraphServer, engine: Engine) -> None:
    state = graph.state
    state.add_message("t_1", "m_1", "Hỏi", ago(hours=2))
    state.usage["X-Business-Use-Case-Usage"] = {state.page_id: [{"type": "pages", "call_count": 100, "total_cputime": 10, "total_time": 12,
                                                                   "estimated_time_to_regain_access": 4}]}
    with pytest.raises(GraphThrottled) as raised:
        poll(graph, engine)
    assert raised.value.retry_after_seconds == 240
    assert len(state.requests) == 1  # the first answer said stop: no second call
    state.usage.clear()
    state.usage["X-App-Usage"] = {"call_count": 90, "total_cputime": 5, "total_time": 5}
    pauses: list[float] = []
    poller = FacebookPagePoller(page_config(graph), client_factory=lambda c: graph_module.GraphClient(c, sleep=pauses.append))
    poller.poll_once(engine, enqueue=False)
    assert pauses and all(p == pytest.approx(5.0) for p in pauses)


def test_expired_token_marks_only_that_source_failing(graph: GraphServer, engine: Engine, tmp_path: Path) -> None:
    graph.state.add_message("t_1", "m_1", "Hỏi về chế độ thai sản", ago(hours=1))
    common = {"page_id": graph.state.page_id, "app_secret": APP_SECRET, "graph_url": graph.url, "timeout_seconds": 10}
    pages = [{"name": "expired", "access_token": "EAAexpiredtokenxxxxxxxxxxxxxxxx", **common}, {"name": "working", "access_token": PAGE_TOKEN, **common}]
    settings = make_settings(str(engine.url), tmp_path, facebook_pages=pages)
    expired = poll_source_now(settings, engine, "expired")
    working = poll_source_now(settings, engine, "working")
    assert expired.status == "failed" and working.status == "polled"
    assert expired.error is not None and "GraphAuthError" in expired.error
    assert "hết hạn" in expired.error and "expired" in expired.error and "EAAexpired" not in expired.error
    with session_scope(engine) as session:
        bad = session.get(SourceHealth, "expired")
        good = session.get(SourceHealth, "working")
        assert bad is not None and bad.consecutive_errors == 1 and bad.failing_since is not None and bad.kind == "facebook"
        assert good is not None and good.consecutive_errors == 0 and good.last_success_at is not None
        assert [r.source for r in session.execute(select(RawItem)).scalars()] == ["working"]


def test_permission_error_is_an_auth_error(graph: GraphServer, engine: Engine) -> None:
    graph.state.failures.append(Failure(code=200, status=403, message="(#200) Requires pages_messaging permission", path_contains="/conversations"))
    with pytest.raises(GraphAuthError, match="Thiếu quyền") as raised:
        poll(graph, engine)
    assert raised.value.code == 200 and PAGE_TOKEN not in str(raised.value)
