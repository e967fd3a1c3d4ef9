"""Answers on the fanpage (issue 14): a Messenger message, or a reply to a comment.

Three modes, one sender each, all through pyfacebook's GraphAPI (ingest/facebook/graph.py: the
page token from the page's configuration, `appsecret_proof`, pacing):
  * `messenger`: the Send API, POST /{page-id}/messages with recipient {"id": PSID},
    messaging_type RESPONSE and message {"text"}
    (https://developers.facebook.com/docs/messenger-platform/reference/send-api/). Meta's standard
    messaging window is 24 hours from the person's last message
    (https://developers.facebook.com/docs/messenger-platform/policy/policy-overview#standard_messaging):
    outside it the answer is refused, unless the page has the Human Agent permission
    (`human_agent = true` in its [[facebook_pages]] entry), which allows messaging_type
    MESSAGE_TAG with tag HUMAN_AGENT up to 7 days after that message.
    A Messenger text holds at most 2,000 characters: a longer answer is REFUSED with its length
    (not split), because one answer is one platform message whose id (and echo) is recognised.
  * `comment_public`: POST /{comment-id}/comments with `message`: a public reply in the thread
    of the citizen's latest comment on the ticket (under its top-level comment: comments nest one
    level deep, https://developers.facebook.com/docs/graph-api/reference/object/comments/).
  * `comment_private`: POST /{page-id}/messages with recipient {"comment_id"}: a private reply
    (https://developers.facebook.com/docs/messenger-platform/discovery/private-replies/), one per
    comment, within 7 days of it.
The Graph API answers {"recipient_id", "message_id"} (Send API) or {"id"} (comment); that id is
the answer's external_id and the id of its outbound message, the same id the webhook's echo
(`is_echo` message `mid`, feed change `comment_id`) and the poller give the page's own message,
so the echo is a duplicate and opens nothing. Graph errors are mapped by `answer_error` (table in
docs/answers.md, "Kênh fanpage và Zalo").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from config.settings import FacebookPageConfig, Settings
from ingest.facebook.graph import GraphClient
from ingest.facebook.ratelimit import TEMPORARY_CODES, THROTTLING_CODES, GraphError, GraphTransientError
from notifiers.answer_errors import AnswerPermanentError, AnswerTransientError, AnswerWindowClosed
from notifiers.answer_senders import PreparedAnswer, SentAnswer, register
from tickets.answer_models import Answer, AnswerMode, AnswerStatus
from tickets.models import Message, Ticket, utcnow
from tickets.normalized import Channel

MESSENGER_MAX_CHARS = 2_000  # https://developers.facebook.com/docs/messenger-platform/reference/send-api/ (message.text)
COMMENT_MAX_CHARS = 8_000
STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
PRIVATE_REPLY_WINDOW = timedelta(days=7)

WINDOW_CLOSED_SUBCODE = 2018278  # "This message is sent outside of allowed window"
PRIVATE_REPLY_SENT_SUBCODES = frozenset({2018108})  # the comment was already answered privately
TOKEN_CODES = frozenset({190, 102})
USER_UNAVAILABLE_CODE = 551
NO_MATCHING_USER_SUBCODE = 2018001


# --- the requests, pure --------------------------------------------------------------------


@dataclass(frozen=True)
class GraphRequest:
    """One POST to the Graph API: /{object_id}/{edge} with form fields (JSON objects as values)."""

    object_id: str
    edge: str
    fields: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"object_id": self.object_id, "edge": self.edge, "fields": self.fields}

    def form(self) -> dict[str, str]:
        """The form pyfacebook posts: an object is sent as its JSON text, as the Graph API reads it."""
        return {key: json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else str(value) for key, value in self.fields.items()}


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f} giờ" if hours < 48 else f"{hours / 24:.0f} ngày"


def window_closed_reason(elapsed: timedelta, human_agent: bool) -> str:
    if human_agent:
        return (f"đã quá 7 ngày kể từ tin nhắn cuối của công dân ({_hours(elapsed)} trước): Messenger không cho trang nhắn nữa, "
                "kể cả với thẻ HUMAN_AGENT; hãy trả lời qua kênh khác hoặc chờ công dân nhắn lại")
    return (f"đã quá 24 giờ kể từ tin nhắn cuối của công dân ({_hours(elapsed)} trước): Messenger chỉ cho trang trả lời trong 24 giờ; "
            "chờ công dân nhắn lại, hoặc bật human_agent cho trang nếu trang có quyền Human Agent (7 ngày)")


def _count(number: int) -> str:
    return f"{number:,}".replace(",", ".")  # Vietnamese groups thousands with dots


def check_length(text: str, limit: int, what: str) -> None:
    if len(text) > limit:
        raise AnswerPermanentError(f"{what} tối đa {_count(limit)} ký tự, câu trả lời dài {_count(len(text))} ký tự "
                                   "(kể cả lời chào và chữ ký): hãy rút gọn")


def messenger_request(page_id: str, psid: str, text: str, last_inbound_at: datetime | None, now: datetime, human_agent: bool) -> GraphRequest:
    """The Send API call for a Messenger answer; AnswerWindowClosed outside the window. Pure."""
    check_length(text, MESSENGER_MAX_CHARS, "Tin nhắn Messenger")
    if last_inbound_at is None:
        raise AnswerWindowClosed("công dân chưa nhắn tin cho trang trên phiếu này: Messenger chỉ cho trang trả lời người đã nhắn trước")
    elapsed = now - last_inbound_at
    fields: dict[str, Any] = {"recipient": {"id": psid}, "messaging_type": "RESPONSE", "message": {"text": text}}
    if elapsed > STANDARD_WINDOW:
        if not human_agent or elapsed > HUMAN_AGENT_WINDOW:
            raise AnswerWindowClosed(window_closed_reason(elapsed, human_agent))
        fields = {"recipient": {"id": psid}, "messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT", "message": {"text": text}}
    return GraphRequest(page_id, "messages", fields)


def public_reply_request(comment_id: str, text: str) -> GraphRequest:
    """A public reply to a comment. Pure."""
    check_length(text, COMMENT_MAX_CHARS, "Bình luận")
    return GraphRequest(comment_id, "comments", {"message": text})


def private_reply_request(page_id: str, comment_id: str, text: str, commented_at: datetime | None, now: datetime, already_replied: bool) -> GraphRequest:
    """A private reply to a comment: once per comment, within 7 days of it. Pure."""
    check_length(text, MESSENGER_MAX_CHARS, "Tin nhắn riêng (Messenger)")
    if already_replied:
        raise AnswerPermanentError("bình luận này đã được nhắn riêng một lần: Facebook chỉ cho nhắn riêng một lần cho mỗi bình luận")
    if commented_at is not None and now - commented_at > PRIVATE_REPLY_WINDOW:
        raise AnswerWindowClosed(f"đã quá 7 ngày kể từ bình luận của công dân ({_hours(now - commented_at)} trước): "
                                 "Facebook không cho nhắn riêng nữa; hãy trả lời công khai dưới bình luận")
    return GraphRequest(page_id, "messages", {"recipient": {"comment_id": comment_id}, "message": {"text": text}})


# --- Graph errors → answer errors, pure ---------------------------------------------------


def answer_error(code: int | None, subcode: int | None, http_status: int | None, detail: str, *, transient: bool = False) -> Exception:
    """The answer error for a failed Graph call (table in docs/answers.md). Pure."""
    said = f"mã {code}" + (f"/{subcode}" if subcode else "") if code is not None else f"HTTP {http_status}"
    if transient or code in THROTTLING_CODES or code in TEMPORARY_CODES or (http_status or 0) >= 500:
        return AnswerTransientError(f"Graph API tạm thời không nhận ({said}): {detail}")
    if subcode == WINDOW_CLOSED_SUBCODE:
        return AnswerWindowClosed("đã quá 24 giờ kể từ tin nhắn cuối của công dân (Facebook từ chối: ngoài khung nhắn tin cho phép)")
    if subcode in PRIVATE_REPLY_SENT_SUBCODES:
        return AnswerPermanentError("bình luận này đã được nhắn riêng một lần (Facebook từ chối nhắn riêng lần nữa)")
    if code == USER_UNAVAILABLE_CODE:
        return AnswerPermanentError("người này hiện không nhận được tin nhắn của trang (đã chặn trang hoặc khóa tài khoản) (mã 551)")
    if code in TOKEN_CODES:
        return AnswerPermanentError(f"mã truy cập trang không hợp lệ hoặc đã hết hạn ({said}): cần cấp mã mới cho trang")
    if code == 10 or (code is not None and 200 <= code < 300):
        return AnswerPermanentError(f"trang thiếu quyền gửi câu trả lời này ({said}): cấp quyền pages_messaging / pages_manage_engagement cho ứng dụng")
    if subcode == NO_MATCHING_USER_SUBCODE:
        return AnswerPermanentError("không tìm thấy người nhận trên Messenger (mã 100/2018001)")
    return AnswerPermanentError(f"Facebook từ chối câu trả lời ({said}): {detail}")


# --- reading the ticket -------------------------------------------------------------------


def page_config(settings: Settings, ticket: Ticket) -> FacebookPageConfig:
    for page in settings.facebook_pages:
        if page.name == ticket.source:
            return page
    raise AnswerPermanentError(f"không tìm thấy cấu hình fanpage {ticket.source!r} của phiếu này ([[facebook_pages]])")


def citizen_messages(session: Session, ticket_id: int, channel: str) -> list[Message]:
    """The citizen's messages of `channel` on the ticket, oldest first."""
    rows = session.execute(
        select(Message).where(Message.ticket_id == ticket_id, Message.channel == channel, Message.direction == "inbound")  # type: ignore[arg-type]
    ).scalars()
    return sorted(rows, key=lambda m: (_aware(m.sent_at or m.received_at), m.id or 0))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _recipient(request: GraphRequest) -> str:
    """Who receives it: the PSID, the comment answered privately, or the comment replied under."""
    recipient = request.fields.get("recipient")
    if isinstance(recipient, dict):
        return str(recipient.get("id") or recipient.get("comment_id") or "")
    return request.object_id


def _prepared(answer: Answer, ticket: Ticket, page: FacebookPageConfig, request: GraphRequest, message_channel: str | None = None) -> PreparedAnswer:
    return PreparedAnswer(answer_id=answer.id or 0, ticket_id=ticket.id or 0, mode=answer.mode, message_id=answer.message_id, text=answer.text,
                          source=ticket.source, recipients=(_recipient(request),),
                          sender_address=page.page_id, subject=ticket.subject, request=request.as_dict(), message_channel=message_channel)


# --- the senders ----------------------------------------------------------------------------


def _post(settings: Settings, source: str, request: Mapping[str, Any]) -> dict[str, Any]:
    """POST the prepared request through pyfacebook; every failure as an answer error."""
    page = next((p for p in settings.facebook_pages if p.name == source), None)
    if page is None:
        raise AnswerPermanentError(f"không tìm thấy cấu hình fanpage {source!r} ([[facebook_pages]])")
    graph_request = GraphRequest(str(request["object_id"]), str(request["edge"]), dict(request["fields"]))
    client = GraphClient(page)
    statuses: list[int] = []
    client.api.session.hooks["response"].append(lambda response, *args, **kwargs: statuses.append(response.status_code))
    try:
        return client.call(lambda: client.api.post_object(graph_request.object_id, graph_request.edge, data=graph_request.form()))
    except GraphError as exc:
        status = statuses[-1] if statuses else None
        raise answer_error(exc.code, exc.subcode, status, str(exc), transient=isinstance(exc, GraphTransientError)) from None
    finally:
        client.api.session.close()


def _sent(answer: dict[str, Any], key: str) -> SentAnswer:
    external_id = answer.get(key)
    if not isinstance(external_id, str | int) or not str(external_id):
        # Sent, but without the id we recognise the echo by: better a retry than a silent loss.
        raise AnswerTransientError(f"Graph API answered without {key}: {sorted(answer)}")
    return SentAnswer(external_id=str(external_id), sent_at=utcnow())


class MessengerSender:
    mode = AnswerMode.MESSENGER.value

    def prepare(self, settings: Settings, session: Session, answer: Answer, ticket: Ticket) -> PreparedAnswer:
        page = page_config(settings, ticket)
        inbound = citizen_messages(session, ticket.id or 0, Channel.FACEBOOK_MESSAGE.value)
        last = inbound[-1] if inbound else None
        psid = str((last.extra or {}).get("user_id") or last.sender_address or "") if last is not None else ""
        if last is not None and not psid:
            raise AnswerPermanentError("không biết mã người dùng Messenger (PSID) của công dân trên phiếu này")
        last_at = _aware(last.sent_at or last.received_at) if last is not None else None
        return _prepared(answer, ticket, page, messenger_request(page.page_id, psid, answer.text, last_at, utcnow(), page.human_agent))

    def send(self, settings: Settings, prepared: PreparedAnswer) -> SentAnswer:
        return _sent(_post(settings, prepared.source, prepared.request), "message_id")


def _latest_comment(session: Session, ticket: Ticket) -> Message:
    comments = [m for m in citizen_messages(session, ticket.id or 0, Channel.FACEBOOK_COMMENT.value) if not m.is_deleted]
    if not comments:
        raise AnswerPermanentError("phiếu này không còn bình luận nào của công dân để trả lời (đã bị xóa?)")
    return comments[-1]


def thread_comment_id(comment: Message) -> str:
    """The top-level comment of a comment's thread: Facebook comments nest one level deep, so a
    public reply to a citizen's reply goes under the comment that started the thread."""
    for key in comment.parent_keys or []:
        if key.startswith("fb-comment:"):
            return key.removeprefix("fb-comment:")
    return comment.external_id


class CommentPublicSender:
    mode = AnswerMode.COMMENT_PUBLIC.value

    def prepare(self, settings: Settings, session: Session, answer: Answer, ticket: Ticket) -> PreparedAnswer:
        page = page_config(settings, ticket)
        return _prepared(answer, ticket, page, public_reply_request(thread_comment_id(_latest_comment(session, ticket)), answer.text))

    def send(self, settings: Settings, prepared: PreparedAnswer) -> SentAnswer:
        return _sent(_post(settings, prepared.source, prepared.request), "id")


class CommentPrivateSender:
    mode = AnswerMode.COMMENT_PRIVATE.value

    def prepare(self, settings: Settings, session: Session, answer: Answer, ticket: Ticket) -> PreparedAnswer:
        page = page_config(settings, ticket)
        comment = _latest_comment(session, ticket)
        commented_at = _aware(comment.sent_at or comment.received_at)
        # We always reply to the latest comment: a private answer sent since it was written answered it.
        earlier = session.execute(
            select(Answer.sent_at).where(Answer.ticket_id == ticket.id, Answer.mode == self.mode, Answer.status == AnswerStatus.SENT.value,  # type: ignore[arg-type]
                                         Answer.id != answer.id)  # type: ignore[arg-type]
        ).scalars()
        replied = any(sent is not None and _aware(sent) >= commented_at for sent in earlier)
        request = private_reply_request(page.page_id, comment.external_id, answer.text, commented_at, utcnow(), replied)
        # The private reply is a Messenger message: stored on that channel, its echo (a Messenger
        # `is_echo` message with the same mid) is the same message.
        return _prepared(answer, ticket, page, request, Channel.FACEBOOK_MESSAGE.value)

    def send(self, settings: Settings, prepared: PreparedAnswer) -> SentAnswer:
        return _sent(_post(settings, prepared.source, prepared.request), "message_id")


register(MessengerSender())
register(CommentPublicSender())
register(CommentPrivateSender())
