"""The JSON API (issue 13): the same views as the pages, with the same scoping.

Authenticated by the login cookie or `Authorization: Bearer <token>`. Every read goes through
access/scope.py; a ticket, escalation or attachment outside the user's scope is 404. Errors
are {"error": "<Vietnamese message>"}. Decisions call the lifecycle (tickets/escalations.py,
notifiers/dispatch.py::request_delivery); each one is a TicketEvent naming the user.

    GET  /api/tickets?status=&province=&unit=&channel=&category=&q=&limit=&offset=
    GET  /api/tickets/{id}
    GET  /api/attachments/{id}
    GET  /api/escalations?status=&unit=&limit=&offset=
    POST /api/escalations/{id}/approve   {"note": "…"}      (coordinator)
    POST /api/escalations/{id}/reject    {"reason": "…"}    (coordinator)
    POST /api/escalations/{id}/reroute   {"to": "province-01", "note": "…"} (coordinator)
    POST /api/tickets/{id}/reply         {"text": "…"}      (office: the unit's answer)
    POST /api/tickets/{id}/answer        {"text": "…", "entry_id"?, "mode"?} → 202 (agent, coordinator: answers the citizen)
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from access.models import User
from access.roles import Action, Role, can
from access.scope import escalation_scope, visible_attachment, visible_escalation, visible_ticket
from access.search import search_tickets
from config.settings import Settings
from tickets.action_models import TicketAssignment, TicketNote
from tickets.db import session_scope
from tickets.escalation_models import AWAITING_REPLY, Escalation, EscalationStatus
from tickets.escalations import TransitionError, approve, reject, reroute
from tickets.models import Attachment, Blob, Message, TicketEvent
from tickets.search import TicketFilters
from tiepnhan.commands.escalations import escalation_json
from tiepnhan.commands.tickets import ticket_json
from web.auth import current_user, engine_of, forbidden, require_user, settings_of
from web.responses import NOT_FOUND, json_error, json_ok

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_BODY_BYTES = 64 * 1024


class BadRequest(Exception):
    """The request cannot be understood; the message is Vietnamese."""


def _int_param(request: Request, name: str, default: int, maximum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit():
        raise BadRequest(f"tham số {name} phải là số nguyên không âm, không phải {raw[:40]!r}")
    return min(int(raw), maximum)


def _path_id(request: Request, name: str) -> int:
    raw = str(request.path_params[name])
    text = raw.upper().removeprefix("TN-")
    if not text.isdigit() or len(text) > 12:
        raise BadRequest(f"mã không hợp lệ: {raw[:40]!r}")
    return int(text)


async def _json_body(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise BadRequest("nội dung yêu cầu quá lớn")
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadRequest("nội dung yêu cầu phải là JSON hợp lệ") from None
    if not isinstance(data, dict):
        raise BadRequest("nội dung yêu cầu phải là một đối tượng JSON")
    return data


def _text_field(data: dict[str, Any], name: str, *, required: bool, limit: int = 5_000) -> str | None:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise BadRequest(f"thiếu trường {name!r}")
        return None
    if not isinstance(value, str):
        raise BadRequest(f"trường {name!r} phải là chuỗi")
    if len(value) > limit:
        raise BadRequest(f"trường {name!r} dài quá {limit} ký tự")
    return value.strip()


def _user(request: Request) -> User:
    user = current_user(request)
    assert user is not None  # require_user ran
    return user


def _safe(handler: Any) -> Any:
    """Bad input and refused transitions become JSON errors, never a stack trace."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except BadRequest as exc:
            return json_error(400, str(exc))
        except TransitionError as exc:
            return json_error(409, str(exc))

    run.__name__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run


# ---------------------------------------------------------------- reads


def _ticket_list(request: Request, user: User) -> dict[str, Any]:
    limit = _int_param(request, "limit", DEFAULT_LIMIT, MAX_LIMIT)
    offset = _int_param(request, "offset", 0, 10**9)
    params = request.query_params
    filters = TicketFilters(
        status=params.get("status") or None, province=params.get("province") or None, unit=params.get("unit") or None,
        channel=params.get("channel") or None, category=params.get("category") or None,
    )
    from tiepnhan.commands.tickets import external_ids_by_ticket

    with session_scope(engine_of(request)) as session:
        result = search_tickets(session, user, params.get("q", "")[:500], filters, limit=limit, offset=offset)
    ids = [t.id for t in result.tickets if t.id is not None]
    external = external_ids_by_ticket(ids) if ids else {}
    return {
        "tickets": [ticket_json(t, external.get(t.id or 0, [])) for t in result.tickets],
        "total": result.total, "limit": limit, "offset": offset,
    }


def _event_visible(event: TicketEvent, visible_escalations: set[int] | None) -> bool:
    if visible_escalations is None:
        return True
    escalation_id = event.data.get("escalation_id") if isinstance(event.data, dict) else None
    return escalation_id is None or escalation_id in visible_escalations


def _ticket_detail(request: Request, user: User, ticket_id: int) -> dict[str, Any] | None:
    with session_scope(engine_of(request)) as session:
        ticket = visible_ticket(session, user, ticket_id)
        if ticket is None:
            return None
        messages = list(session.execute(select(Message).where(Message.ticket_id == ticket_id).order_by(Message.id)).scalars())  # type: ignore[arg-type]
        attachments: dict[int, list[Attachment]] = {}
        if messages:
            for attachment in session.execute(select(Attachment).where(Attachment.message_id.in_([m.id for m in messages])).order_by(Attachment.id)).scalars():  # type: ignore[attr-defined,arg-type]
                attachments.setdefault(attachment.message_id, []).append(attachment)
        escalations = list(
            session.execute(select(Escalation).where(Escalation.ticket_id == ticket_id, escalation_scope(user)).order_by(Escalation.id)).scalars()  # type: ignore[arg-type]
        )
        office = user.role == Role.OFFICE.value
        visible_ids = {e.id for e in escalations if e.id is not None} if office else None
        events = [
            e for e in session.execute(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)).scalars()  # type: ignore[arg-type]
            if _event_visible(e, visible_ids)
        ]
        # Internal notes and assignments are the center's: an office does not see them.
        notes = [] if office else list(session.execute(select(TicketNote).where(TicketNote.ticket_id == ticket_id).order_by(TicketNote.id)).scalars())  # type: ignore[arg-type]
        assignment = None if office else session.get(TicketAssignment, ticket_id)
    data = ticket_json(ticket, [m.external_id for m in messages])
    data.update(
        tags={
            "insurance_types": ticket.insurance_types, "province_code": ticket.province_code, "category": ticket.category,
            "topics": ticket.topics, "confidence": ticket.tag_confidence, "locked": ticket.tags_locked,
        },
        evidence=ticket.tag_evidence,
        messages=[
            {
                "id": m.id, "direction": m.direction, "channel": m.channel, "sender": m.sender_address, "sender_name": m.sender_name,
                "subject": m.subject, "text": m.clean_text, "full_text": m.full_text,
                "sent_at": m.sent_at.isoformat() if m.sent_at else None, "received_at": m.received_at.isoformat(),
                "is_auto_reply": m.is_auto_reply, "from_unit": m.reply_token is not None, "is_deleted": m.is_deleted,
                "attachments": [
                    {"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size, "skipped_reason": a.skipped_reason,
                     "url": f"/api/attachments/{a.id}" if a.sha256 else None}
                    for a in attachments.get(m.id or 0, [])
                ],
            }
            for m in messages
        ],
        escalations=[escalation_json(e) for e in escalations],
        events=[{"id": e.id, "at": e.at.isoformat(), "kind": e.kind, "actor": e.actor, "data": e.data} for e in events],
        notes=[{"id": n.id, "author": n.author, "text": n.text, "created_at": n.created_at.isoformat()} for n in notes],
        assignee=assignment.assignee if assignment else None,
    )
    return data


def _escalation_list(request: Request, user: User) -> dict[str, Any]:
    limit = _int_param(request, "limit", DEFAULT_LIMIT * 4, MAX_LIMIT * 4)
    offset = _int_param(request, "offset", 0, 10**9)
    query = select(Escalation).where(escalation_scope(user))
    if status := request.query_params.get("status"):
        query = query.where(Escalation.status == status)  # type: ignore[arg-type]
    if unit := request.query_params.get("unit"):
        query = query.where(Escalation.unit_id == unit)  # type: ignore[arg-type]
    with session_scope(engine_of(request)) as session:
        total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = list(session.execute(query.order_by(Escalation.id).limit(limit).offset(offset)).scalars())  # type: ignore[arg-type]
    return {"escalations": [escalation_json(e) for e in rows], "total": int(total), "limit": limit, "offset": offset}


@require_user
@_safe
async def tickets_endpoint(request: Request) -> Response:
    return json_ok(await run_in_threadpool(_ticket_list, request, _user(request)))


@require_user
@_safe
async def ticket_endpoint(request: Request) -> Response:
    data = await run_in_threadpool(_ticket_detail, request, _user(request), _path_id(request, "ticket_id"))
    return json_error(404, f"{NOT_FOUND} phiếu này") if data is None else json_ok(data)


@require_user
@_safe
async def escalations_endpoint(request: Request) -> Response:
    return json_ok(await run_in_threadpool(_escalation_list, request, _user(request)))


def _attachment_bytes(request: Request, user: User, attachment_id: int) -> tuple[Attachment, bytes] | None:
    with session_scope(engine_of(request)) as session:
        attachment = visible_attachment(session, user, attachment_id)
        if attachment is None or attachment.sha256 is None:
            return None
        blob = session.get(Blob, attachment.sha256)
        return (attachment, blob.content) if blob is not None else None


def attachment_response(attachment: Attachment, content: bytes) -> Response:
    """Always a download, never rendered by the browser (an attachment may be HTML or SVG)."""
    from urllib.parse import quote

    ascii_name = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in attachment.filename) or "tep-dinh-kem"
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(attachment.filename, safe='')}"  # RFC 6266
    return Response(
        content, media_type="application/octet-stream",
        headers={"content-disposition": disposition, "x-content-type-options": "nosniff", "content-security-policy": "sandbox", "cache-control": "private, no-store"},
    )


@require_user
@_safe
async def attachment_endpoint(request: Request) -> Response:
    found = await run_in_threadpool(_attachment_bytes, request, _user(request), _path_id(request, "attachment_id"))
    return json_error(404, f"{NOT_FOUND} tệp đính kèm này") if found is None else attachment_response(*found)


# ---------------------------------------------------------------- decisions


def _send_if_ready(settings: Settings, escalation: Escalation) -> str | None:
    from notifiers.dispatch import request_delivery

    if escalation.status not in (EscalationStatus.APPROVED.value, EscalationStatus.REROUTED.value) or escalation.id is None:
        return None
    outcome = request_delivery(escalation.id, settings)
    return outcome.value if outcome is not None else "queued"


def _decide(request: Request, user: User, escalation_id: int, verb: str, data: dict[str, Any]) -> Response:
    engine, settings = engine_of(request), settings_of(request)
    with session_scope(engine) as session:
        if visible_escalation(session, user, escalation_id) is None:
            return json_error(404, f"{NOT_FOUND} đề xuất chuyển xử lý số {escalation_id}")
    if verb == "approve":
        escalation = approve(engine, escalation_id, user.name, _text_field(data, "note", required=False))
    elif verb == "reject":
        escalation = reject(engine, escalation_id, user.name, _text_field(data, "reason", required=True) or "")
    else:
        from tickets.directory import routing

        target = _text_field(data, "to", required=True, limit=100) or ""
        if target not in routing(settings).units:
            raise BadRequest(f"không có đơn vị {target!r} trong danh bạ đơn vị")
        escalation = reroute(engine, escalation_id, target, user.name, _text_field(data, "note", required=False) or _text_field(data, "reason", required=False))
    delivery = _send_if_ready(settings, escalation)
    with session_scope(engine) as session:
        current = session.get(Escalation, escalation_id)
    body = escalation_json(current or escalation)
    body["delivery"] = delivery
    return json_ok(body)


def _decision(verb: str, action: Action) -> Any:
    @require_user
    @_safe
    async def endpoint(request: Request) -> Response:
        user = _user(request)
        escalation_id = _path_id(request, "escalation_id")
        if not can(user, action):
            # An office may not decide; whether the escalation exists is still not revealed.
            with session_scope(engine_of(request)) as session:
                visible = visible_escalation(session, user, escalation_id) is not None
            return forbidden(request) if visible else json_error(404, f"{NOT_FOUND} đề xuất chuyển xử lý số {escalation_id}")
        data = await _json_body(request)
        return await run_in_threadpool(_decide, request, user, escalation_id, verb, data)

    endpoint.__name__ = f"escalation_{verb}_endpoint"
    return endpoint


def _reply(request: Request, user: User, ticket_id: int, text: str) -> Response:
    from web.office_reply import record_office_answer

    engine, settings = engine_of(request), settings_of(request)
    with session_scope(engine) as session:
        ticket = visible_ticket(session, user, ticket_id)
        if ticket is None:
            return json_error(404, f"{NOT_FOUND} phiếu này")
        escalation = session.execute(
            select(Escalation)
            .where(Escalation.ticket_id == ticket_id, escalation_scope(user), Escalation.status.in_((*AWAITING_REPLY, EscalationStatus.ACKNOWLEDGED.value)))  # type: ignore[attr-defined,arg-type]
            .order_by(Escalation.id.desc())  # type: ignore[union-attr]
            .limit(1)
        ).scalar_one_or_none()
    if escalation is None:
        return json_error(409, "phiếu này không có đề xuất nào đang chờ đơn vị trả lời")
    message_id = record_office_answer(engine, settings, user, escalation, ticket, text)
    with session_scope(engine) as session:
        current = session.get(Escalation, escalation.id)
    return json_ok({"message_id": message_id, "escalation": escalation_json(current or escalation)}, status_code=201)


@require_user
@_safe
async def reply_endpoint(request: Request) -> Response:
    user = _user(request)
    ticket_id = _path_id(request, "ticket_id")
    if not can(user, Action.OFFICE_ANSWER):
        with session_scope(engine_of(request)) as session:
            visible = visible_ticket(session, user, ticket_id) is not None
        return forbidden(request, "chỉ đơn vị được chuyển phiếu mới gửi câu trả lời của đơn vị") if visible else json_error(404, f"{NOT_FOUND} phiếu này")
    data = await _json_body(request)
    from web.office_reply import MAX_ANSWER_CHARS

    text = _text_field(data, "text", required=True, limit=MAX_ANSWER_CHARS) or ""
    return await run_in_threadpool(_reply, request, user, ticket_id, text)


def _optional_int(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BadRequest(f"trường {name!r} phải là số nguyên dương")
    return value


def _answer(request: Request, user: User, ticket_id: int, data: dict[str, Any]) -> Response:
    """The citizen's answer (issue 14, docs/answers.md): sent now on the embedded default, queued with Redis."""
    from notifiers.answer_delivery import submit_answer
    from tickets.answer_models import MAX_ANSWER_CHARS
    from tickets.answering import AnswerRefused
    from tiepnhan.broker import BrokerUnavailable

    engine, settings = engine_of(request), settings_of(request)
    text = data.get("text")
    if text is not None and not isinstance(text, str):
        raise BadRequest("trường 'text' phải là chuỗi")
    if text is not None and len(text) > MAX_ANSWER_CHARS:
        raise BadRequest(f"nội dung trả lời dài quá {MAX_ANSWER_CHARS} ký tự")
    entry_id = _optional_int(data, "entry_id")
    mode = data.get("mode")
    if mode is not None and not isinstance(mode, str):
        raise BadRequest("trường 'mode' phải là chuỗi")
    with session_scope(engine) as session:
        if visible_ticket(session, user, ticket_id) is None:
            return json_error(404, f"{NOT_FOUND} phiếu này")
        if entry_id is not None:
            from qbank.models import BankEntryRow

            if session.get(BankEntryRow, entry_id) is None:
                raise BadRequest(f"không có mục ngân hàng câu hỏi số {entry_id}")
    try:
        answer = submit_answer(engine, settings, ticket_id, text or "", user.name, user_id=user.id, entry_id=entry_id, mode=mode or None)
    except AnswerRefused as exc:
        raise BadRequest(exc.reason_vi) from None
    except BrokerUnavailable as exc:
        return json_error(503, f"{exc}; câu trả lời đã được lưu và sẽ được gửi khi Redis hoạt động trở lại")
    return json_ok(
        {"answer": answer.id, "status": answer.status, "mode": answer.mode, "ticket": ticket_id, "error": answer.last_error},
        status_code=202,
    )


@require_user
@_safe
async def answer_endpoint(request: Request) -> Response:
    user = _user(request)
    ticket_id = _path_id(request, "ticket_id")
    if not can(user, Action.ANSWER_CITIZEN):
        with session_scope(engine_of(request)) as session:
            visible = visible_ticket(session, user, ticket_id) is not None
        return forbidden(request, "chỉ cán bộ trả lời công dân hoặc điều phối viên mới gửi câu trả lời cho công dân") if visible else json_error(404, f"{NOT_FOUND} phiếu này")
    data = await _json_body(request)
    return await run_in_threadpool(_answer, request, user, ticket_id, data)


HTTP_ERRORS = {404: f"{NOT_FOUND} địa chỉ API này", 405: "phương thức này không dùng được cho địa chỉ API này"}


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405 under /api/, as JSON in Vietnamese like every other API error."""
    status = int(getattr(exc, "status_code", 500))
    response = json_error(status, HTTP_ERRORS.get(status, "yêu cầu không hợp lệ"))
    if status == 405 and (allow := getattr(exc, "headers", None) or {}).get("Allow"):
        response.headers["allow"] = allow["Allow"]
    return response


def api_app(settings: Settings) -> Starlette:
    """The API as its own small app, so its routing errors are JSON too."""
    return Starlette(routes=api_routes(settings), exception_handlers={HTTPException: http_error})


def api_routes(settings: Settings) -> list[BaseRoute]:
    from web.portal_api import portal_api_routes  # POST /api/portal/questions (issue 18): its own key, not a user token

    return [
        *portal_api_routes(settings),
        Route("/tickets", tickets_endpoint, methods=["GET"], name="api_tickets"),
        Route("/tickets/{ticket_id}", ticket_endpoint, methods=["GET"], name="api_ticket"),
        Route("/tickets/{ticket_id}/reply", reply_endpoint, methods=["POST"], name="api_ticket_reply"),
        Route("/attachments/{attachment_id}", attachment_endpoint, methods=["GET"], name="api_attachment"),
        Route("/escalations", escalations_endpoint, methods=["GET"], name="api_escalations"),
        Route("/escalations/{escalation_id}/approve", _decision("approve", Action.APPROVE), methods=["POST"], name="api_escalation_approve"),
        Route("/escalations/{escalation_id}/reject", _decision("reject", Action.REJECT), methods=["POST"], name="api_escalation_reject"),
        Route("/escalations/{escalation_id}/reroute", _decision("reroute", Action.REROUTE), methods=["POST"], name="api_escalation_reroute"),
        Route("/tickets/{ticket_id}/answer", answer_endpoint, methods=["POST"], name="api_ticket_answer"),
    ]
