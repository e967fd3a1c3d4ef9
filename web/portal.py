"""The web portal's public pages (issue 18): the question form /hoi-dap, its confirmation, and
the lookup /hoi-dap/tra-cuu (reference + secret code → status and the center's answer).

No login. CSRF is checked on every POST here even without a cookie (web/auth.py
always_protect). Abuse: web/portal_guard.py (signed timed form token, honeypot field, rate
limits in the database). What the citizen typed is only ever rendered escaped (Jinja2
autoescape), and markup is refused on the way in (ingest/portal/question.py).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from config.settings import Settings
from ingest.portal.attachments import AttachmentRefused, UploadedFile, check_attachments
from ingest.portal.question import LIMITS, PortalQuestion, QuestionError, validate_question
from ingest.portal.raw import FORM_SOURCE, form_external_id, portal_raw_input
from tickets.db import session_scope
from tickets.labels import status_label
from tickets.models import Message, Ticket, utcnow
from tickets.places import province_codes, province_name
from web.auth import engine_of, settings_of
from web.login import client_address
from web.portal_guard import (
    FormRefused, Limits, address_allowed, check_form_token, claim_acknowledgement, code_matches, done_token, finish_attempt, keyed_hash, lookup_code, new_form_token,
    raw_id_from_done_token, record_attempt,
)
from web.secret import web_secret
from web.templating import render

log = logging.getLogger(__name__)

FORM_PATH, DONE_PATH, LOOKUP_PATH = "/hoi-dap", "/hoi-dap/da-nhan", "/hoi-dap/tra-cuu"
HONEYPOT_FIELD = "website"
TOKEN_FIELD = "form_token"
FORM_FIELDS = ("name", "email", "phone", "province_code", "insurance_type", "subject", "body")
INSURANCE_CHOICES = (("BHXH", "Bảo hiểm xã hội (BHXH)"), ("BHYT", "Bảo hiểm y tế (BHYT)"), ("BHTN", "Bảo hiểm thất nghiệp (BHTN)"))
LIMITED = "Bạn đã gửi quá nhiều câu hỏi trong thời gian ngắn. Vui lòng thử lại sau ít phút hoặc gọi tổng đài 1900 9068."
FORM_OVERHEAD_BYTES = 128 * 1024  # the text fields and the multipart framing, beyond the files


def provinces() -> list[tuple[str, str]]:
    return sorted(((code, province_name(code)) for code in province_codes()), key=lambda item: item[1])


@dataclass(frozen=True)
class Submitted:
    raw_item_id: int
    is_new: bool


def accept_question(engine: Engine, settings: Settings, question: PortalQuestion, files: list[Any], *, source: str, external_id: str, via: str) -> Submitted:
    """The question as a raw item through the one way in (raw first; the pipeline does the rest)."""
    from tiepnhan.intake import accept
    from tiepnhan.web.webhooks import _ensure_broker

    _ensure_broker(settings)  # the standalone web process (Procfile `web`) sends to Redis like every other process

    saved = accept(engine, [portal_raw_input(question, files, source=source, external_id=external_id, via=via, submitted_at=utcnow())])
    return Submitted(saved[0].raw_item_id, saved[0].is_new)


def ticket_of_raw(engine: Engine, raw_item_id: int, wait_seconds: float) -> int | None:
    """The ticket the pipeline made from this raw item, waiting up to wait_seconds for it."""
    deadline = time.monotonic() + wait_seconds
    while True:
        with session_scope(engine) as session:
            ticket_id = session.execute(select(Message.ticket_id).where(Message.raw_item_id == raw_item_id)).scalar()  # type: ignore[arg-type]
        if ticket_id is not None or time.monotonic() >= deadline:
            return ticket_id
        time.sleep(0.1)


def _form_page(request: Request, settings: Settings, *, values: dict[str, str] | None = None, error: str | None = None, status_code: int = 200) -> Response:
    return render(request, "portal_form.html", {
        "values": values or {}, "error": error, "form_token": new_form_token(web_secret(settings)), "provinces": provinces(),
        "insurance_choices": INSURANCE_CHOICES, "limits": LIMITS, "portal": settings.portal, "honeypot_field": HONEYPOT_FIELD, "token_field": TOKEN_FIELD,
        "max_mb": settings.portal.max_attachment_bytes // (1024 * 1024),
    }, status_code=status_code)  # fmt: skip


def _message_page(request: Request, title: str, text: str, status_code: int, headers: dict[str, str] | None = None) -> Response:
    response = render(request, "portal_message.html", {"title": title, "text": text}, status_code=status_code)
    response.headers.update(headers or {})
    return response


async def form_page(request: Request) -> Response:
    settings = settings_of(request)
    if not settings.portal.enabled:
        return _message_page(request, "Chưa mở", "Biểu mẫu hỏi đáp trực tuyến chưa được mở.", 404)
    return _form_page(request, settings)


async def _uploads(form: Any) -> list[UploadedFile]:
    found = []
    for item in form.getlist("attachments"):
        if isinstance(item, UploadFile):
            found.append(UploadedFile(item.filename or "", await item.read()))
    return found


async def submit_form(request: Request) -> Response:
    settings = settings_of(request)
    portal = settings.portal
    if not portal.enabled:
        return _message_page(request, "Chưa mở", "Biểu mẫu hỏi đáp trực tuyến chưa được mở.", 404)
    limit = portal.max_attachments * portal.max_attachment_bytes + FORM_OVERHEAD_BYTES
    length = request.headers.get("content-length", "")
    if not length.isdigit():
        return _message_page(request, "Không gửi được", "Trình duyệt cần cho biết kích thước nội dung gửi (Content-Length).", 411)
    if int(length) > limit:
        return _message_page(request, "Tệp quá lớn", f"Tổng dung lượng gửi vượt quá {limit // (1024 * 1024)} MB. Hãy bớt hoặc thu nhỏ tệp đính kèm.", 413)
    secret = web_secret(settings)
    engine = engine_of(request)
    limits = Limits(portal.max_per_ip, portal.max_per_address, timedelta(minutes=portal.window_minutes))
    attempt_id, allowed = await run_in_threadpool(record_attempt, engine, keyed_hash(secret, "ip", client_address(request) or "unknown"), limits)
    if not allowed:  # every attempt from a client address counts, refused ones too: a flood of bad forms is limited
        log.warning("portal form rate-limited", extra={"by": "client address"})
        return _message_page(request, "Vui lòng thử lại sau", LIMITED, 429, {"retry-after": str(int(portal.window_minutes * 60))})
    form = await request.form(max_files=portal.max_attachments + 1, max_fields=30, max_part_size=64 * 1024)
    values = {name: str(form.get(name) or "") for name in FORM_FIELDS}
    try:
        if str(form.get(HONEYPOT_FIELD) or ""):
            raise FormRefused("biểu mẫu không hợp lệ")  # only a robot fills the hidden field
        nonce = check_form_token(secret, str(form.get(TOKEN_FIELD) or ""), now=utcnow(), min_fill_seconds=portal.min_fill_seconds, max_age_minutes=portal.max_form_age_minutes)
        question = validate_question(dict(values), require_contact=True)
        files = check_attachments(await _uploads(form), max_files=portal.max_attachments, max_bytes=portal.max_attachment_bytes)
    except (FormRefused, QuestionError, AttachmentRefused) as exc:
        await run_in_threadpool(finish_attempt, engine, attempt_id, "refused")
        log.info("portal form refused", extra={"reason": type(exc).__name__})
        return _form_page(request, settings, values=values, error=f"Chưa gửi được: {exc}.", status_code=400)
    address_key = keyed_hash(secret, "address", question.contact_address or "")
    if not await run_in_threadpool(address_allowed, engine, attempt_id, address_key, limits):
        log.warning("portal form rate-limited", extra={"by": "sender address"})
        return _message_page(request, "Vui lòng thử lại sau", LIMITED, 429, {"retry-after": str(int(portal.window_minutes * 60))})
    submitted = await run_in_threadpool(accept_question, engine, settings, question, files, source=FORM_SOURCE, external_id=form_external_id(nonce, question, files), via="form")
    await run_in_threadpool(finish_attempt, engine, attempt_id, "accepted")
    log.info("portal question accepted", extra={"raw_item_id": submitted.raw_item_id, "new": submitted.is_new, "attachments": len(files)})
    task = None
    if submitted.is_new and question.email and portal.acknowledge_by_email and settings.smtp is not None:
        task = BackgroundTask(run_in_threadpool, acknowledge, settings, engine, attempt_id, address_key, question.email, submitted.raw_item_id)
    return RedirectResponse(f"{DONE_PATH}?t={done_token(secret, submitted.raw_item_id)}", status_code=303, background=task)


def acknowledge(settings: Settings, engine: Engine, attempt_id: int, address_key: str, email: str, raw_item_id: int) -> None:
    """The one acknowledgement mail (at most one per address in the rate-limit window)."""
    from web.portal_mail import send_acknowledgement

    if not claim_acknowledgement(engine, attempt_id, address_key, timedelta(minutes=settings.portal.window_minutes)):
        return
    ticket_id = ticket_of_raw(engine, raw_item_id, settings.portal.wait_for_ticket_seconds * 3)
    if ticket_id is None:
        log.warning("portal acknowledgement skipped: no ticket yet", extra={"raw_item_id": raw_item_id})
        return
    send_acknowledgement(settings, email, ticket_id, lookup_code(web_secret(settings), ticket_id))


async def done_page(request: Request) -> Response:
    settings = settings_of(request)
    secret = web_secret(settings)
    raw_item_id = raw_id_from_done_token(secret, request.query_params.get("t", ""), settings.portal.max_form_age_minutes)
    if raw_item_id is None:
        return _message_page(request, "Không tìm thấy", "Đường dẫn này không hợp lệ hoặc đã hết hạn. Hãy tra cứu bằng mã phiếu và mã bí mật.", 404)
    engine = engine_of(request)
    ticket_id = await run_in_threadpool(ticket_of_raw, engine, raw_item_id, settings.portal.wait_for_ticket_seconds)
    context: dict[str, Any] = {"reference": None, "code": None, "by_email": False, "lookup_path": LOOKUP_PATH}
    if ticket_id is not None:
        with session_scope(engine) as session:
            ticket = session.get(Ticket, ticket_id)
            by_email = bool(ticket and ticket.sender_address and "@" in ticket.sender_address)
            reference = ticket.reference if ticket else None
        context.update(reference=reference, code=lookup_code(secret, ticket_id), by_email=by_email)
    response = render(request, "portal_done.html", context)
    response.headers["cache-control"] = "no-store"
    response.headers["referrer-policy"] = "no-referrer"
    return response


async def lookup_page(request: Request) -> Response:
    return render(request, "portal_lookup.html", {"reference": "", "error": None, "result": None})


def _lookup(engine: Engine, reference: str, ticket_id: int) -> dict[str, Any] | None:
    from tickets.answer_models import Answer, AnswerStatus

    with session_scope(engine) as session:
        ticket = session.get(Ticket, ticket_id)
        if ticket is None or ticket.channel != "portal":
            return None
        answers = [a.text for a in session.execute(select(Answer).where(Answer.ticket_id == ticket_id, Answer.status == AnswerStatus.SENT.value)  # type: ignore[arg-type]
                                                   .order_by(Answer.id)).scalars()]  # type: ignore[arg-type]
        replies = [m.full_text for m in session.execute(select(Message).where(Message.ticket_id == ticket_id, Message.direction == "outbound")  # type: ignore[arg-type]
                                                        .order_by(Message.id)).scalars()]  # type: ignore[arg-type]
        return {"reference": ticket.reference, "status": status_label(ticket.status), "subject": ticket.subject, "answers": answers or replies,
                "created_at": ticket.created_at}


async def lookup_submit(request: Request) -> Response:
    settings = settings_of(request)
    form = await request.form(max_files=0, max_fields=10, max_part_size=4096)
    reference = str(form.get("reference") or "").strip()[:20]
    code = str(form.get("code") or "")[:20]
    secret = web_secret(settings)
    engine = engine_of(request)
    portal = settings.portal
    limits = Limits(portal.max_per_ip * 4, portal.max_per_address, timedelta(minutes=portal.window_minutes))
    attempt_id, allowed = await run_in_threadpool(record_attempt, engine, keyed_hash(secret, "lookup-ip", client_address(request) or "unknown"), limits)
    if not allowed:
        return _message_page(request, "Vui lòng thử lại sau", "Bạn đã tra cứu quá nhiều lần trong thời gian ngắn. Vui lòng thử lại sau ít phút.", 429,
                             {"retry-after": str(int(portal.window_minutes * 60))})
    text = reference.upper().removeprefix("TN-").removeprefix("TN")
    found = None
    if text.isdigit() and len(text) <= 12 and code_matches(secret, int(text), code):
        found = await run_in_threadpool(_lookup, engine, reference, int(text))
    await run_in_threadpool(finish_attempt, engine, attempt_id, "accepted" if found else "refused")
    if found is None:
        return render(request, "portal_lookup.html", {"reference": reference, "error": "Mã phiếu hoặc mã bí mật không đúng.", "result": None}, status_code=404)
    response = render(request, "portal_lookup.html", {"reference": reference, "error": None, "result": found})
    response.headers["cache-control"] = "no-store"
    return response


def routes(settings: Settings) -> list[BaseRoute]:
    return [
        Route(FORM_PATH, form_page, methods=["GET"], name="portal_form"),
        Route(FORM_PATH, submit_form, methods=["POST"], name="portal_submit"),
        Route(DONE_PATH, done_page, methods=["GET"], name="portal_done"),
        Route(LOOKUP_PATH, lookup_page, methods=["GET"], name="portal_lookup"),
        Route(LOOKUP_PATH, lookup_submit, methods=["POST"], name="portal_lookup_submit"),
    ]
