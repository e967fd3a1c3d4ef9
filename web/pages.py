"""The server-rendered pages: the work queue, ticket lists and pages, escalations, the
dashboard and the admin view. Every read goes through `access.scope` (via web/pages_data.py);
every change through the core lifecycle functions (web/pages_actions.py). Plain HTML forms that
work without JavaScript; every state-changing form carries the CSRF token.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from access.models import User
from access.roles import Action, can
from access.scope import visible_attachment, visible_ticket
from config.settings import Settings
from tickets.db import get_engine
from tickets.directory import routing
from tickets.escalation_models import EscalationStatus
from tickets.models import Blob
from tickets.places import province_codes
from web import pages_data as data
from web import pages_view as view
from web.pages_render import flash, render, user_of
from web.pages_reports import drill_down

PAGE_SIZE = 25
TICKET_ACTIONS = (
    Action.APPROVE, Action.REROUTE, Action.REJECT, Action.ESCALATE, Action.TAG_CORRECT, Action.MERGE,
    Action.SPLIT, Action.RESOLVE, Action.REOPEN, Action.NOTE, Action.ASSIGN,
    Action.OFFICE_ACKNOWLEDGE, Action.OFFICE_ANSWER, Action.OFFICE_NOT_OURS, Action.OFFICE_RESOLVE,
)


def _now() -> datetime:
    return datetime.now(UTC)


def _page_number(request: Request) -> int:
    try:
        return max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        return 1


def _login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def not_found(request: Request, user: User | None) -> HTMLResponse:
    """The same answer for "does not exist" and "not yours": nothing is revealed."""
    return render(request, "error.html", {"title": "Không tìm thấy", "message": "Không tìm thấy trang hoặc phiếu này."}, user, status_code=404)


class Pages:
    """The page handlers, bound to one configuration."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def engine(self) -> Any:
        return get_engine(self.settings.database_url)

    def directory(self) -> Any:
        return routing(self.settings).units

    def unit_label(self, unit_id: str) -> str:
        return data.unit_name(self.directory(), unit_id)

    def require_unit(self, unit_id: str | None) -> str:
        if not unit_id or self.directory().get(unit_id) is None:
            raise ValueError(f"không có đơn vị “{unit_id or ''}” trong danh bạ đơn vị")
        return unit_id

    def unit_choices(self) -> list[tuple[str, str]]:
        return [(u.id, f"{u.name} ({u.id})") for u in self.directory().units]

    # --- the work queue -------------------------------------------------------------------------
    async def queue(self, request: Request) -> Response:
        user = await user_of(request)
        if user is None:
            return _login_redirect(request)
        number = _page_number(request)

        def load() -> tuple[data.Listing, view.Page]:
            with Session(self.engine) as session:
                first = data.work_queue(session, user, self.directory(), _now(), (number - 1) * PAGE_SIZE, PAGE_SIZE, can(user, Action.APPROVE))
            return first, view.paginate(first.total, number, PAGE_SIZE, "/", {})

        listing, page = await run_in_threadpool(load)
        if user.role == "office":
            heading = f"Việc của {data.unit_name(self.directory(), user.unit_id or '')}"
            explanation = "Các phiếu trung tâm đã chuyển cho đơn vị, hạn trả lời sớm nhất trước."
        else:
            heading = "Chờ duyệt chuyển đơn vị"
            explanation = "Đề xuất chuyển xử lý đang chờ duyệt: ưu tiên cao trước, rồi cũ nhất trước. Phần tô vàng là căn cứ gắn nhãn."
        return render(request, "queue.html", {"items": listing.rows, "page": page, "heading": heading, "explanation": explanation}, user)

    # --- tickets ---------------------------------------------------------------------------------
    async def tickets(self, request: Request) -> Response:
        user = await user_of(request)
        if user is None:
            return _login_redirect(request)
        params = request.query_params
        filters = data.TicketFilters(
            q=params.get("q", "").strip()[:200], status=params.get("status", ""), channel=params.get("channel", ""),
            province=params.get("province", ""), insurance=params.get("insurance", ""), category=params.get("category", ""),
            unit=params.get("unit", ""), assignee=params.get("assignee", "").strip()[:100], sla=params.get("sla", ""),
            date_from=params.get("from", ""), date_to=params.get("to", ""), drill=params.get("drill", "")[:2000],
        )
        number = _page_number(request)
        # A figure of the reports page: the tickets it counts (web/pages_reports.py)
        drill = await run_in_threadpool(drill_down, self.settings, user, filters.drill) if filters.drill else None
        if drill is not None:
            filters = replace(filters, ids=drill.ids)

        def load() -> data.Listing:
            with Session(self.engine) as session:
                return data.find_tickets(session, user, filters, _now(), (number - 1) * PAGE_SIZE, PAGE_SIZE)

        listing = await run_in_threadpool(load)
        for error in [*listing.errors, *(drill.errors if drill else [])]:
            flash(request, "error", error)
        page = view.paginate(listing.total, number, PAGE_SIZE, "/tickets", filters.as_query())
        context = {"rows": listing.rows, "page": page, "filters": filters.as_query(), "options": self.filter_options(user), "drill": drill}
        return render(request, "tickets.html", context, user)

    def filter_options(self, user: User) -> dict[str, list[tuple[str, str]]]:
        any_ = [("", "Tất cả")]
        units = [] if user.role == "office" else [(u.id, u.name) for u in self.directory().units]
        return {
            "status": any_ + [(s, view.ticket_status_label(s)) for s in ("new", "triaged", "escalated", "answered", "resolved", "closed")],
            "channel": any_ + [(c, view.channel_label(c)) for c in ("email", "facebook_message", "facebook_comment")],
            "province": any_ + [(c, view.province_label(c)) for c in province_codes()],
            "insurance": any_ + [(k, k) for k in ("BHXH", "BHYT", "BHTN")],
            "category": any_ + [(c, view.category_label(c)) for c in ("complaint", "question", "other")],
            "unit": any_ + units,
            "sla": any_ + [("late", "Quá hạn trả lời"), ("ok", "Không quá hạn")],
        }

    async def ticket(self, request: Request) -> Response:
        user = await user_of(request)
        if user is None:
            return _login_redirect(request)
        ticket_id = int(request.path_params["ticket_id"])

        def load() -> dict[str, Any] | None:
            with Session(self.engine) as session:
                ticket = visible_ticket(session, user, ticket_id)
                if ticket is None:
                    return None
                detail = data.ticket_detail(session, user, ticket, self.directory(), _now())
                from web.pages_answers import answer_panel

                detail["answer"] = answer_panel(session, user, ticket, self.settings, request)
                return detail

        detail = await run_in_threadpool(load)
        if detail is None:
            return not_found(request, user)
        from web.pages_actions import AVAILABLE

        actions = {a.value for a in TICKET_ACTIONS if a in AVAILABLE and can(user, a)}
        if user.role == "office":
            actions &= data.office_actions_open(detail)
        context = {
            "t": detail,
            "actions": actions,
            "unit_choices": self.unit_choices(),
            "province_choices": [("", "Chưa rõ")] + [(c, view.province_label(c)) for c in province_codes()],
            "category_choices": [("", "Chưa rõ")] + [(c, view.category_label(c)) for c in ("complaint", "question", "other")],
            "assignee_choices": await run_in_threadpool(self.colleagues),
        }
        return render(request, "ticket.html", context, user)

    def colleagues(self) -> list[tuple[str, str]]:
        with Session(self.engine) as session:
            users = session.execute(select(User).where(User.disabled.is_(False), User.role.in_(("coordinator", "agent"))).order_by(User.name)).scalars()  # type: ignore[attr-defined]
            return [("", "Chưa giao")] + [(u.name, u.label) for u in users]

    async def attachment(self, request: Request) -> Response:
        """An attachment, always as a download: never rendered by the browser (nosniff)."""
        user = await user_of(request)
        if user is None:
            return _login_redirect(request)
        attachment_id = int(request.path_params["attachment_id"])

        def load() -> tuple[str, bytes] | None:
            with Session(self.engine) as session:
                found = visible_attachment(session, user, attachment_id)
                if found is None or found.sha256 is None:
                    return None
                blob = session.get(Blob, found.sha256)
                return (found.filename, blob.content) if blob is not None else None

        loaded = await run_in_threadpool(load)
        if loaded is None:
            return not_found(request, user)
        filename, content = loaded
        ascii_name = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in filename) or "tep-dinh-kem"
        disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"
        return Response(content, media_type="application/octet-stream", headers={"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"})

    # --- escalations, dashboard, admin -----------------------------------------------------------
    async def escalations(self, request: Request) -> Response:
        user = await user_of(request)
        if user is None:
            return _login_redirect(request)
        status, unit = request.query_params.get("status", ""), request.query_params.get("unit", "")
        number = _page_number(request)

        def load() -> data.Listing:
            with Session(self.engine) as session:
                return data.list_escalations(session, user, self.directory(), _now(), status, unit, (number - 1) * PAGE_SIZE, PAGE_SIZE)

        listing = await run_in_threadpool(load)
        page = view.paginate(listing.total, number, PAGE_SIZE, "/escalations", {"status": status, "unit": unit})
        status_options = [("", "Tất cả")] + [(s.value, view.escalation_status_label(s.value)) for s in EscalationStatus]
        unit_options = [] if user.role == "office" else [("", "Tất cả")] + [(u.id, u.name) for u in self.directory().units]
        context = {"items": listing.rows, "page": page, "filters": {"status": status, "unit": unit}, "status_options": status_options, "unit_options": unit_options}
        return render(request, "escalations.html", context, user)

    async def dashboard(self, request: Request) -> Response:
        user = await user_of(request)
        if user is None:
            return _login_redirect(request)

        def load() -> dict[str, Any]:
            with Session(self.engine) as session:
                return data.dashboard(session, user, self.directory(), _now())

        figures = await run_in_threadpool(load)
        return render(request, "dashboard.html", {"d": figures, "now_text": view.format_time(_now())}, user)

    async def admin(self, request: Request) -> Response:
        user = await user_of(request)
        if user is None:
            return _login_redirect(request)
        if not can(user, Action.VIEW_ADMIN):
            return not_found(request, user)
        loaded = routing(self.settings)

        def users() -> list[dict[str, Any]]:
            with Session(self.engine) as session:
                rows = session.execute(select(User).order_by(User.name)).scalars()
                return [
                    {"name": u.name, "display_name": u.display_name, "role_label": view.role_label(u.role), "unit": u.unit_id or "", "disabled": u.disabled, "last_login": view.format_time(u.last_login_at)}
                    for u in rows
                ]

        units = [
            {"id": u.id, "name": u.name, "contact": ", ".join(u.emails) or (u.webhook_url or ""), "reachable": u.why_unreachable() or "Được"}
            for u in loaded.units.units
        ]
        rules = [
            {"name": r.name, "conditions": data.rule_conditions_text(r), "target": "đơn vị tỉnh của phiếu" if r.to == "province" else r.to, "review": "Có" if r.review else "Không, gửi ngay"}
            for r in loaded.rules.rules
        ]
        context = {"users": await run_in_threadpool(users), "units": units, "rules": rules, "units_file": str(self.settings.units_file), "routing_file": str(self.settings.routing_file)}
        return render(request, "admin.html", context, user)


def routes(settings: Settings) -> list[BaseRoute]:
    """The pages' routes (GET) and their forms (POST, web/pages_actions.py), to mount in the app."""
    from web.pages_actions import action_routes

    pages = Pages(settings)
    return [
        Route("/", pages.queue, methods=["GET"], name="queue"),
        Route("/tickets", pages.tickets, methods=["GET"], name="tickets"),
        Route("/tickets/{ticket_id:int}", pages.ticket, methods=["GET"], name="ticket"),
        Route("/attachments/{attachment_id:int}", pages.attachment, methods=["GET"], name="attachment"),
        Route("/escalations", pages.escalations, methods=["GET"], name="escalations"),
        Route("/dashboard", pages.dashboard, methods=["GET"], name="dashboard"),
        Route("/admin", pages.admin, methods=["GET"], name="admin"),
        *action_routes(pages),
    ]


__all__ = ["PAGE_SIZE", "Pages", "not_found", "routes"]
