"""The pages' forms (POST): each checks the user's role (`access.roles.can`), finds its ticket or
escalation through the scope (`access.scope`: not visible → 404, exactly like a GET), calls the
core lifecycle function, and redirects back with a flash message (POST → redirect → GET)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from access.models import User
from access.roles import Action, can
from access.scope import escalation_scope, visible_escalation, visible_ticket
from tickets.escalation_models import AWAITING_REPLY, Escalation, EscalationStatus
from tickets.escalations import TransitionError, approve, escalate_by_hand, reject, reroute, resolve_ticket
from tickets.models import Message, ticket_reference
from web.pages_render import flash, user_of

log = logging.getLogger(__name__)

ANSWERABLE = (*AWAITING_REPLY, EscalationStatus.ACKNOWLEDGED.value)  # an office answers while its part is open
OFFICE_OPEN_STATUSES = ANSWERABLE  # "not ours" and "resolved" likewise (tickets/actions.py checks again)
MAX_TEXT = 10_000  # a note or an answer; longer is refused with a message, never cut silently
MAX_LINE = 500  # a reason or a short note
SEND_OUTCOMES = {  # notifiers.delivery.Outcome → what the coordinator reads
    "sent": "Thư đã được gửi cho đơn vị.",
    "queued": "Thư sẽ đi trong thư tổng hợp hằng ngày của đơn vị.",
    "refused": "Chưa gửi được: đơn vị chưa có địa chỉ nhận hoặc chưa cấu hình máy chủ thư; xem trang Quản trị.",
    "retry": "Gửi chưa được (lỗi tạm thời); hệ thống sẽ tự thử lại.",
    "failed": "Gửi thất bại; xem lỗi ở trang phiếu rồi chuyển hướng hoặc gửi lại.",
    "skipped": "Thư đã được gửi trước đó.",
}


class FormProblem(Exception):
    """What the person must fix in the form, in Vietnamese."""


@dataclass(frozen=True)
class Done:
    message: str
    redirect: str


def text(form: FormData, name: str, *, required: bool = False, limit: int = MAX_LINE, what: str = "nội dung") -> str | None:
    value = str(form.get(name, "") or "").strip()
    if not value:
        if required:
            raise FormProblem(f"Hãy nhập {what}.")
        return None
    if len(value) > limit:
        raise FormProblem(f"{what.capitalize()} dài quá {limit} ký tự; hãy rút gọn.")
    return value


def number(form: FormData, name: str, what: str) -> int:
    try:
        return int(str(form.get(name, "")).strip())
    except ValueError:
        raise FormProblem(f"Hãy nhập {what} là một số.") from None


def sla_hours(form: FormData, name: str) -> float | None:
    """Hours given in the form, or None when left empty (the unit's hours, else the default,
    apply: tickets.escalations.create_escalation)."""
    from config.units import MAX_SLA_HOURS

    value = str(form.get(name, "") or "").strip().replace(",", ".")
    if not value:
        return None
    try:
        hours = float(value)
    except ValueError:
        raise FormProblem("Hạn trả lời phải là một số giờ, ví dụ 48; hoặc để trống để theo hạn của đơn vị.") from None
    if not 0 < hours <= MAX_SLA_HOURS:  # also refuses nan and inf
        raise FormProblem(f"Hạn trả lời phải lớn hơn 0 và không quá {MAX_SLA_HOURS:g} giờ.")
    return hours


class Actions:
    def __init__(self, pages: Any) -> None:
        self.pages = pages

    @property
    def settings(self) -> Any:
        return self.pages.settings

    @property
    def engine(self) -> Any:
        return self.pages.engine

    async def _run(self, request: Request, action: Action, work: Callable[[User, FormData, Session], Done | None], back: str) -> Response:
        user = await user_of(request)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        from web.pages import not_found

        if not can(user, action):
            return not_found(request, user)
        form = await request.form()

        def call() -> Done | None:
            with Session(self.engine) as session:
                return work(user, form, session)

        try:
            done = await run_in_threadpool(call)
        except (FormProblem, TransitionError, LookupError, ValueError) as problem:
            flash(request, "error", _sentence(str(problem)))
            return RedirectResponse(back, status_code=303)
        if done is None:
            return not_found(request, user)
        log.info("page action", extra={"action": action.value, "user": user.name})
        flash(request, "success", done.message)
        return RedirectResponse(done.redirect, status_code=303)

    # --- escalations: approve, reroute, reject ----------------------------------------------------
    def _escalation(self, request: Request, action: Action, decide: Callable[[User, FormData, int], Any], verb: str, send: bool) -> Any:
        escalation_id = int(request.path_params["escalation_id"])

        def work(user: User, form: FormData, session: Session) -> Done | None:
            found = visible_escalation(session, user, escalation_id)
            if found is None:
                return None
            ticket_id = found.ticket_id
            session.close()
            decided = decide(user, form, escalation_id)
            message = f"Đã {verb} đề xuất chuyển {ticket_reference(ticket_id)} cho {self.pages.unit_label(decided.unit_id)}."
            if send:
                message += " " + self._send(decided.id)
            return Done(message, back_to(form, f"/tickets/{ticket_id}"))

        return self._run(request, action, work, back="/")

    def _send(self, escalation_id: int) -> str:
        """Hand the approved escalation to delivery (at once, or to the workers with Redis)."""
        from notifiers.dispatch import request_delivery
        from tiepnhan.broker import BrokerUnavailable

        try:
            outcome = request_delivery(escalation_id, self.settings, self.engine)
        except BrokerUnavailable:
            return "Hàng đợi gửi thư đang không hoạt động; thư sẽ được gửi khi hàng đợi hoạt động lại."
        return SEND_OUTCOMES.get(str(outcome), "Thư đang được gửi cho đơn vị.")

    async def approve(self, request: Request) -> Response:
        return await self._escalation(
            request, Action.APPROVE, lambda user, form, eid: approve(self.engine, eid, user.name, text(form, "note", what="ghi chú")), "duyệt", send=True
        )

    async def reroute(self, request: Request) -> Response:
        def decide(user: User, form: FormData, eid: int) -> Any:
            unit = self.pages.require_unit(text(form, "to", required=True, what="đơn vị nhận"))
            return reroute(self.engine, eid, unit, user.name, text(form, "note", what="lý do"))

        return await self._escalation(request, Action.REROUTE, decide, "chuyển hướng", send=True)

    async def reject(self, request: Request) -> Response:
        return await self._escalation(
            request, Action.REJECT, lambda user, form, eid: reject(self.engine, eid, user.name, text(form, "reason", required=True, what="lý do từ chối") or ""), "từ chối", send=False
        )

    # --- tickets ----------------------------------------------------------------------------------
    def _ticket(self, request: Request, action: Action, act: Callable[[User, FormData, int], str], redirect: Callable[[FormData], str] | None = None) -> Any:
        ticket_id = int(request.path_params["ticket_id"])

        def work(user: User, form: FormData, session: Session) -> Done | None:
            if visible_ticket(session, user, ticket_id) is None:
                return None
            session.close()
            message = act(user, form, ticket_id)
            return Done(message, redirect(form) if redirect else back_to(form, f"/tickets/{ticket_id}"))

        return self._run(request, action, work, back=f"/tickets/{ticket_id}")

    async def escalate(self, request: Request) -> Response:
        def act(user: User, form: FormData, ticket_id: int) -> str:
            unit = self.pages.require_unit(text(form, "to", required=True, what="đơn vị nhận"))
            hours = sla_hours(form, "sla_hours")
            escalation = escalate_by_hand(self.engine, ticket_id, unit, user.name, text(form, "note", what="lý do"), hours)
            return f"Đã chuyển {ticket_reference(ticket_id)} cho {self.pages.unit_label(unit)}. " + self._send(escalation.id or 0)

        return await self._ticket(request, Action.ESCALATE, act)

    async def resolve(self, request: Request) -> Response:
        def act(user: User, form: FormData, ticket_id: int) -> str:
            closed = resolve_ticket(self.engine, ticket_id, user.name, text(form, "note", what="ghi chú"))
            return f"Đã giải quyết {ticket_reference(ticket_id)}" + (f"; {len(closed)} lần chuyển đơn vị đang mở được đóng theo." if closed else ".")

        return await self._ticket(request, Action.RESOLVE, act)

    async def tags(self, request: Request) -> Response:
        from tickets.actions import TagCorrection, correct_tags

        def act(user: User, form: FormData, ticket_id: int) -> str:
            province = text(form, "province", what="tỉnh")
            correction = TagCorrection(
                insurance_types=[str(v) for v in form.getlist("insurance")],
                province_code=province,
                clear_province=province is None,
                category=text(form, "category", what="loại thư"),
            )
            problems = correction.problems()
            if problems:
                raise FormProblem("; ".join(problems))
            correct_tags(self.engine, ticket_id, user.name, correction)
            return f"Đã sửa nhãn {ticket_reference(ticket_id)}; nhãn được khoá, không gắn lại tự động."

        return await self._ticket(request, Action.TAG_CORRECT, act)

    async def merge(self, request: Request) -> Response:
        from tickets.actions import merge_tickets

        def act(user: User, form: FormData, ticket_id: int) -> str:
            target = number(form, "into", "số phiếu giữ lại")
            with Session(self.engine) as session:
                if visible_ticket(session, user, target) is None:
                    raise FormProblem(f"Không tìm thấy phiếu {ticket_reference(target)}.")
            merge_tickets(self.engine, ticket_id, target, user.name)
            return f"Đã gộp {ticket_reference(ticket_id)} vào {ticket_reference(target)}."

        return await self._ticket(request, Action.MERGE, act, redirect=lambda form: f"/tickets/{number(form, 'into', 'số phiếu')}")

    async def split(self, request: Request) -> Response:
        from tickets.actions import split_message

        def act(user: User, form: FormData, ticket_id: int) -> str:
            message_id = number(form, "message", "tin nhắn cần tách")
            with Session(self.engine) as session:
                message = session.get(Message, message_id)
                if message is None or message.ticket_id != ticket_id:
                    raise FormProblem("Tin nhắn này không thuộc phiếu đang xem.")
            created = split_message(self.engine, message_id, user.name)
            return f"Đã tách tin nhắn thành phiếu mới {ticket_reference(created.id or 0)}."

        return await self._ticket(request, Action.SPLIT, act)

    async def reopen(self, request: Request) -> Response:
        from tickets.actions import reopen

        def act(user: User, form: FormData, ticket_id: int) -> str:
            reopen(self.engine, ticket_id, user.name, text(form, "note", what="lý do"))
            return f"Đã mở lại {ticket_reference(ticket_id)}."

        return await self._ticket(request, Action.REOPEN, act)

    async def note(self, request: Request) -> Response:
        from tickets.actions import add_note

        def act(user: User, form: FormData, ticket_id: int) -> str:
            add_note(self.engine, ticket_id, user.name, text(form, "text", required=True, limit=MAX_TEXT, what="ghi chú") or "")
            return "Đã thêm ghi chú nội bộ (người dân không thấy)."

        return await self._ticket(request, Action.NOTE, act)

    async def assign(self, request: Request) -> Response:
        from tickets.actions import assign

        def act(user: User, form: FormData, ticket_id: int) -> str:
            assignee = text(form, "assignee", what="người nhận")
            with Session(self.engine) as session:
                known = set(session.execute(select(User.name).where(User.disabled.is_(False))).scalars())  # type: ignore[attr-defined]
            assign(self.engine, ticket_id, assignee, user.name, known_users=known)
            return f"Đã giao {ticket_reference(ticket_id)} cho {assignee}." if assignee else f"Đã bỏ giao {ticket_reference(ticket_id)}."

        return await self._ticket(request, Action.ASSIGN, act)

    def _office(self, request: Request, action: Action, statuses: tuple[str, ...], decide: Callable[[User, FormData, int], str]) -> Any:
        """An office's decision on its own escalation of this ticket (the newest one still open)."""

        def act(user: User, form: FormData, ticket_id: int) -> str:
            with Session(self.engine) as session:
                mine = session.execute(
                    select(Escalation.id)
                    .where(Escalation.ticket_id == ticket_id, escalation_scope(user), Escalation.status.in_(statuses))  # type: ignore[attr-defined,arg-type]
                    .order_by(Escalation.id.desc())  # type: ignore[union-attr]
                    .limit(1)
                ).scalar_one_or_none()
            if mine is None:
                raise FormProblem("Phiếu này không có lần chuyển nào của đơn vị đang mở cho việc này.")
            return decide(user, form, mine)

        return self._ticket(request, action, act)

    async def office_acknowledge(self, request: Request) -> Response:
        from tickets.actions import office_acknowledge

        def decide(user: User, form: FormData, escalation_id: int) -> str:
            office_acknowledge(self.engine, escalation_id, user.name)
            return "Đã báo trung tâm: đơn vị đã nhận và đang xử lý."

        return await self._office(request, Action.OFFICE_ACKNOWLEDGE, AWAITING_REPLY, decide)

    async def office_not_ours(self, request: Request) -> Response:
        from tickets.actions import office_not_ours

        def decide(user: User, form: FormData, escalation_id: int) -> str:
            office_not_ours(self.engine, escalation_id, user.name, text(form, "reason", required=True, what="lý do") or "")
            return "Đã trả lại trung tâm để chuyển đơn vị khác; phiếu không còn trong danh sách của đơn vị."

        return await self._office(request, Action.OFFICE_NOT_OURS, OFFICE_OPEN_STATUSES, decide)

    async def office_resolve(self, request: Request) -> Response:
        from tickets.actions import office_resolve

        def decide(user: User, form: FormData, escalation_id: int) -> str:
            office_resolve(self.engine, escalation_id, user.name, text(form, "note", what="ghi chú"))
            return "Đã đánh dấu phần việc của đơn vị là đã giải quyết."

        return await self._office(request, Action.OFFICE_RESOLVE, OFFICE_OPEN_STATUSES, decide)

    async def office_answer(self, request: Request) -> Response:
        """The office's answer, recorded exactly like the unit's emailed reply (web/office_reply.py)."""
        from web.office_reply import MAX_ANSWER_CHARS, record_office_answer

        def act(user: User, form: FormData, ticket_id: int) -> str:
            answer = text(form, "text", required=True, limit=MAX_ANSWER_CHARS, what="nội dung trả lời")
            with Session(self.engine) as session:
                ticket = visible_ticket(session, user, ticket_id)
                waiting = session.execute(
                    select(Escalation)
                    .where(Escalation.ticket_id == ticket_id, escalation_scope(user), Escalation.status.in_(ANSWERABLE))  # type: ignore[attr-defined,arg-type]
                    .order_by(Escalation.id.desc())  # type: ignore[union-attr]
                    .limit(1)
                ).scalar_one_or_none()
            if ticket is None or waiting is None:
                raise FormProblem("Phiếu này không có lần chuyển nào đang chờ đơn vị trả lời.")
            record_office_answer(self.engine, self.settings, user, waiting, ticket, answer or "")
            return f"Đã gửi trả lời {ticket_reference(ticket_id)} về trung tâm; điều phối viên thấy ngay trên phiếu."

        return await self._ticket(request, Action.OFFICE_ANSWER, act)


def back_to(form: FormData, default: str) -> str:
    """Where to go after the action: the form's own page when it says so (a path on this site)."""
    target = str(form.get("back", "") or "")
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else default


def _sentence(text: str) -> str:
    text = text.strip() or "Không thực hiện được."
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def action_routes(pages: Any) -> list[BaseRoute]:
    actions = Actions(pages)
    return [
        Route("/escalations/{escalation_id:int}/approve", actions.approve, methods=["POST"], name="page_approve"),
        Route("/escalations/{escalation_id:int}/reroute", actions.reroute, methods=["POST"], name="page_reroute"),
        Route("/escalations/{escalation_id:int}/reject", actions.reject, methods=["POST"], name="page_reject"),
        Route("/tickets/{ticket_id:int}/escalate", actions.escalate, methods=["POST"], name="page_escalate"),
        Route("/tickets/{ticket_id:int}/resolve", actions.resolve, methods=["POST"], name="page_resolve"),
        Route("/tickets/{ticket_id:int}/tags", actions.tags, methods=["POST"], name="page_tags"),
        Route("/tickets/{ticket_id:int}/merge", actions.merge, methods=["POST"], name="page_merge"),
        Route("/tickets/{ticket_id:int}/split", actions.split, methods=["POST"], name="page_split"),
        Route("/tickets/{ticket_id:int}/reopen", actions.reopen, methods=["POST"], name="page_reopen"),
        Route("/tickets/{ticket_id:int}/note", actions.note, methods=["POST"], name="page_note"),
        Route("/tickets/{ticket_id:int}/assign", actions.assign, methods=["POST"], name="page_assign"),
        Route("/tickets/{ticket_id:int}/office/answer", actions.office_answer, methods=["POST"], name="page_office_answer"),
        Route("/tickets/{ticket_id:int}/office/acknowledge", actions.office_acknowledge, methods=["POST"], name="page_office_acknowledge"),
        Route("/tickets/{ticket_id:int}/office/not-ours", actions.office_not_ours, methods=["POST"], name="page_office_not_ours"),
        Route("/tickets/{ticket_id:int}/office/resolve", actions.office_resolve, methods=["POST"], name="page_office_resolve"),
    ]


# The actions that have a form handler above: the ticket page shows only their forms.
AVAILABLE = frozenset({
    Action.APPROVE, Action.REROUTE, Action.REJECT, Action.ESCALATE, Action.RESOLVE, Action.OFFICE_ANSWER,
    Action.TAG_CORRECT, Action.MERGE, Action.SPLIT, Action.REOPEN, Action.NOTE, Action.ASSIGN,
    Action.OFFICE_ACKNOWLEDGE, Action.OFFICE_NOT_OURS, Action.OFFICE_RESOLVE,
})
