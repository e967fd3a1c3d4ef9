"""/login and /logout."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from access.users import authenticate
from web.auth import current_user, engine_of, log_in, log_out, settings_of, throttle_policy
from web.templating import render

LOCKED_OUT = "Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau ít phút."
WRONG = "Tên đăng nhập hoặc mật khẩu không đúng."


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


def login_routes() -> list[Route]:
    return [
        Route("/login", login_page, methods=["GET"], name="login"),
        Route("/login", login_submit, methods=["POST"], name="login_submit"),
        Route("/logout", logout, methods=["POST"], name="logout"),
    ]
