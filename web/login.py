"""/login, /logout, and /account/password (the user changes their own password: every other
session of the user ends, this one is logged in again on a fresh session)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from access.users import UserError, authenticate, set_password
from web.auth import current_user, engine_of, log_in, log_out, settings_of, throttle_policy
from web.templating import render

LOCKED_OUT = "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau ít phút."
WRONG = "Tên đăng nhập hoặc mật khẩu không đúng."
WRONG_CURRENT = "Mật khẩu hiện tại không đúng."
NOT_SAME = "Hai lần nhập mật khẩu mới không khớp nhau."
PASSWORD_CHANGED = "Đã đổi mật khẩu. Các phiên đăng nhập khác của bạn (trình duyệt, máy khác) đã bị đăng xuất."


def safe_next(target: str | None) -> str:
    """Only a path on this site (no //host, no scheme): an open redirect would help phishing."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


async def login_page(request: Request) -> Response:
    next_url = safe_next(request.query_params.get("next"))
    if current_user(request) is not None:
        return RedirectResponse(next_url, status_code=303)
    return render(request, "login.html", {"error": None, "next_url": next_url, "username": ""})


async def login_submit(request: Request) -> Response:
    form = await request.form()
    name = str(form.get("username", ""))[:100]
    password = str(form.get("password", ""))[:1000]
    next_url = safe_next(str(form.get("next", "")))
    result = await run_in_threadpool(
        authenticate, engine_of(request), name, password, client_address(request), throttle_policy(settings_of(request))
    )
    if result.user is None:
        message = LOCKED_OUT if result.locked_out else WRONG
        return render(request, "login.html", {"error": message, "next_url": next_url, "username": name}, status_code=429 if result.locked_out else 401)
    log_in(request, result.user)
    return RedirectResponse(next_url, status_code=303)


async def logout(request: Request) -> Response:
    log_out(request)
    return RedirectResponse("/login", status_code=303)


async def password_page(request: Request) -> Response:
    from web.pages_render import render as render_page

    user = await run_in_threadpool(current_user, request)
    if user is None:
        return RedirectResponse("/login?next=/account/password", status_code=303)
    return render_page(request, "password.html", {"error": None}, user)


async def password_submit(request: Request) -> Response:
    """Checks the current password through the login throttle (a stolen session cannot guess it
    freely), sets the new one, then rotates this session onto the user's new session epoch."""
    from web.pages_render import flash
    from web.pages_render import render as render_page

    user = await run_in_threadpool(current_user, request)
    if user is None:
        return RedirectResponse("/login?next=/account/password", status_code=303)
    form = await request.form()
    current, new, again = (str(form.get(key, ""))[:1000] for key in ("current_password", "new_password", "new_password_again"))
    engine = engine_of(request)
    checked = await run_in_threadpool(authenticate, engine, user.name, current, client_address(request), throttle_policy(settings_of(request)))
    error: str | None = None
    if checked.user is None:
        error = LOCKED_OUT if checked.locked_out else WRONG_CURRENT
    elif new != again:
        error = NOT_SAME
    else:
        try:
            changed = await run_in_threadpool(set_password, engine, user.name, new)
        except UserError as exc:
            error = str(exc)
    if error is not None:
        return render_page(request, "password.html", {"error": error}, user, status_code=400 if checked.user else 401)
    log_in(request, changed)  # a fresh session carrying the new epoch: only this browser stays in
    flash(request, "success", PASSWORD_CHANGED)
    return RedirectResponse("/", status_code=303)


def login_routes() -> list[Route]:
    return [
        Route("/login", login_page, methods=["GET"], name="login"),
        Route("/login", login_submit, methods=["POST"], name="login_submit"),
        Route("/logout", logout, methods=["POST"], name="logout"),
        Route("/account/password", password_page, methods=["GET"], name="password"),
        Route("/account/password", password_submit, methods=["POST"], name="password_submit"),
    ]
