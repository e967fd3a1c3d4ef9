"""Answers on Zalo (issue 18): a customer-service text message from the Official Account.

POST {api_url}v3.0/oa/message/cs with the OA's access token (ingest/zalo/client.py), JSON
{"recipient": {"user_id"}, "message": {"text"}} →
{"error": 0, "data": {"message_id"}}. The user is the ticket's Zalo user (every message of the
conversation carries it). A text holds at most 2,000 characters: a longer answer is refused
with its length, not split (one answer is one Zalo message, whose echo is recognised).

The echo: Zalo sends the OA's own message back as an `oa_send_text` event whose msg_id is the
message_id; ingest/zalo/normalize.py stores every Zalo message as "zalo:<msg_id>", so the answer's
external_id is "zalo:<message_id>" and the echo is a duplicate of the answer's outbound message.

Errors (table in docs/answers.md, "Kênh fanpage và Zalo"): -216/-124 (the access token refused)
→ the token is refreshed once and the message sent again with it, a second refusal is transient;
-32 (rate limit) and an unreachable API → transient; -213 (not following, or the window for
customer-service messages closed), -201 (blocked / refused) and the rest → permanent, with a
Vietnamese reason shown on the ticket.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlmodel import Session

from config.settings import Settings, ZaloAccountConfig
from ingest.zalo.client import SendResult, ZaloClient, ZaloError
from ingest.zalo.tokens import access_token, refresh
from notifiers.answer_errors import AnswerPermanentError, AnswerTransientError
from notifiers.answer_senders import PreparedAnswer, SentAnswer, register
from tickets.answer_models import Answer, AnswerMode
from tickets.db import get_engine
from tickets.models import Message, Ticket, utcnow
from tickets.normalized import Channel

ZALO_MAX_CHARS = 2_000
TOKEN_ERRORS = frozenset({-216, -124})
TRANSIENT_ERRORS = frozenset({-32})
PERMANENT_REASONS: dict[int, str] = {
    -213: "người dùng chưa quan tâm (follow) Zalo OA hoặc đã hết thời hạn OA được nhắn tin tư vấn (Zalo: -213); "
          "chờ công dân nhắn lại hoặc trả lời qua kênh khác",
    -201: "người dùng đã chặn Zalo OA hoặc Zalo không nhận tin này (Zalo: -201)",
}


def zalo_body(user_id: str, text: str) -> dict[str, dict[str, str]]:
    """The CS message body; refused when longer than Zalo allows. Pure."""
    if len(text) > ZALO_MAX_CHARS:
        count = f"{len(text):,}".replace(",", ".")
        raise AnswerPermanentError(f"Tin nhắn Zalo tối đa 2.000 ký tự, câu trả lời dài {count} ký tự (kể cả lời chào và chữ ký): hãy rút gọn")
    return {"recipient": {"user_id": user_id}, "message": {"text": text}}


def answer_error(result: SendResult) -> Exception:
    """The answer error for a non-zero Zalo error code (token errors are handled before). Pure."""
    if result.error in TRANSIENT_ERRORS or result.error in TOKEN_ERRORS:
        return AnswerTransientError(f"Zalo tạm thời không nhận (mã {result.error}): {result.message}")
    reason = PERMANENT_REASONS.get(result.error)
    if reason is not None:
        return AnswerPermanentError(reason)
    return AnswerPermanentError(f"Zalo từ chối tin nhắn (mã {result.error}): {result.message}")


def account_config(settings: Settings, source: str) -> ZaloAccountConfig:
    for account in settings.zalo_accounts:
        if account.name == source:
            return account
    raise AnswerPermanentError(f"không tìm thấy cấu hình Zalo OA {source!r} của phiếu này ([[zalo_accounts]])")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def zalo_user(session: Session, ticket: Ticket) -> str:
    rows = session.execute(
        select(Message).where(Message.ticket_id == ticket.id, Message.channel == Channel.ZALO.value, Message.direction == "inbound")  # type: ignore[arg-type]
    ).scalars().all()
    latest = max(rows, key=lambda m: (_aware(m.sent_at or m.received_at), m.id or 0), default=None)
    user = str((latest.extra or {}).get("user_id") or latest.sender_address or "") if latest is not None else ""
    if not user:
        raise AnswerPermanentError("phiếu này không có tin nhắn Zalo nào của công dân để trả lời")
    return user


class ZaloSender:
    mode = AnswerMode.ZALO.value

    def prepare(self, settings: Settings, session: Session, answer: Answer, ticket: Ticket) -> PreparedAnswer:
        account = account_config(settings, ticket.source)
        user = zalo_user(session, ticket)
        body = zalo_body(user, answer.text)
        return PreparedAnswer(answer_id=answer.id or 0, ticket_id=ticket.id or 0, mode=self.mode, message_id=answer.message_id, text=answer.text,
                              source=ticket.source, recipients=(user,), sender_address=account.oa_id, subject=ticket.subject,
                              request={"path": "v3.0/oa/message/cs", "body": body})

    def send(self, settings: Settings, prepared: PreparedAnswer, *, now: datetime | None = None) -> SentAnswer:
        account = account_config(settings, prepared.source)
        engine = get_engine(settings.database_url)
        body = prepared.request["body"]
        user, text = str(body["recipient"]["user_id"]), str(body["message"]["text"])
        client = ZaloClient(account)
        try:
            result = client.send_text(user, text, access_token(engine, account, client, now))
            if result.error in TOKEN_ERRORS:
                # The stored token was refused before its time (revoked, or refreshed elsewhere):
                # refresh once and send again; a second refusal waits for the next attempt.
                refresh(engine, account, client, now or utcnow())
                result = client.send_text(user, text, access_token(engine, account, client, now))
        except ZaloError as exc:
            raise AnswerTransientError(f"Zalo: {exc}") from None
        finally:
            client.close()
        if result.error != 0:
            raise answer_error(result)
        if not result.message_id:
            raise AnswerTransientError("Zalo answered success without the message_id")
        return SentAnswer(external_id=f"zalo:{result.message_id}", sent_at=utcnow())


register(ZaloSender())
