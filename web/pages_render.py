"""Rendering a page: the shared environment (web/templating.py) plus what every page shows —
the navigation for the user's role and the flash messages left by the last action."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse

from access.models import User
from access.roles import Action, can
from web.auth import current_user
from web.pages_labels import role_label
from web.templating import render as render_template

FLASH_KEY = "flash"
FLASH_LEVELS = ("success", "error", "info")
MAX_FLASHES = 5


async def user_of(request: Request) -> User | None:
    """The logged-in user, looked up off the event loop (it reads the database)."""
    return await run_in_threadpool(current_user, request)


def flash(request: Request, level: str, text: str) -> None:
    """A message shown once, on the next page this browser opens (kept in the signed session)."""
    if "session" not in request.scope:
        return
    pending = list(request.session.get(FLASH_KEY, []))[-(MAX_FLASHES - 1):]
    pending.append({"level": level if level in FLASH_LEVELS else "info", "text": text})
    request.session[FLASH_KEY] = pending


def take_flashes(request: Request) -> list[dict[str, str]]:
    if "session" not in request.scope:
        return []
    return list(request.session.pop(FLASH_KEY, []))


def nav_items(user: User | None, path: str) -> list[dict[str, Any]]:
    if user is None:
        return []
    items = [("/", "Công việc"), ("/tickets", "Phiếu"), ("/escalations", "Chuyển đơn vị"), ("/dashboard", "Tổng quan")]
    if can(user, Action.MANAGE_BANK):
        items.append(("/bank", "Ngân hàng câu hỏi"))
    if can(user, Action.VIEW_REPORTS):
        items.append(("/reports", "Báo cáo"))
    if can(user, Action.VIEW_ADMIN):
        items.append(("/admin", "Quản trị"))
    current = max((href for href, _ in items if path == href or (href != "/" and path.startswith(href + "/"))), key=len, default=None)
    return [{"href": href, "label": label, "current": href == current} for href, label in items]


def _unit_name(unit_id: str) -> str:
    """The office user's unit as the header shows it: its name, the id beside it."""
    from tickets.directory import routing
    from tickets.labels import unit_label
    from tiepnhan import runtime

    return unit_label(unit_id, routing(runtime.settings()).units.name_of)


def render(request: Request, template: str, context: dict[str, Any], user: User | None, status_code: int = 200) -> HTMLResponse:
    label = ""
    if user is not None:
        label = f"{user.label} · {role_label(user.role)}" + (f" · {_unit_name(user.unit_id)}" if user.unit_id else "")
    extra = {"nav_items": nav_items(user, request.url.path), "flashes": take_flashes(request), "user_label": label}
    return render_template(request, template, {**extra, **context}, status_code=status_code)
