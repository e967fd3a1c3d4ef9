"""Who is asking: login cookie sessions, API tokens, role guards, CSRF.

- The login cookie is Starlette's SessionMiddleware (itsdangerous-signed, HttpOnly,
  SameSite=Lax, Secure when served over HTTPS); it expires after `web.session_max_age_minutes`
  without a request (each answer renews it).
- `/api/*` also takes `Authorization: Bearer <token>` (`tiepnhan users token NAME`). A request
  with a Bearer header is authenticated by the token ONLY, its cookies are ignored; that is why
  asgi-csrf may let Bearer requests through: no cookie is used, so no CSRF is possible.
- CSRF: asgi-csrf (double-submit: a signed `csrftoken` cookie, and the same value in the form
  field `csrftoken` or the `x-csrftoken` header) on every POST/PUT/PATCH/DELETE. Requests without
  any cookie cannot ride on a session and pass (webhooks, Bearer clients).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from functools import wraps
from typing import Any
from urllib.parse import quote

from asgi_csrf import asgi_csrf
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from access.models import User
from access.roles import Action, Role, can
from access.users import ThrottlePolicy, user_for_token
from config.settings import Settings
from tickets.db import session_scope
from web.responses import json_error
from web.secret import web_secret

SESSION_COOKIE = "tiepnhan_session"
SESSION_USER_KEY = "user_id"
# The user's session_epoch when this session logged in: a password change or disabling the user
# moves the user's epoch on, and a session carrying an older one is no longer anyone's.
SESSION_EPOCH_KEY = "epoch"
CSRF_COOKIE = "csrftoken"
CSRF_FIELD = "csrftoken"  # the hidden form field
CSRF_HEADER = "x-csrftoken"
API_PREFIX = "/api/"
# Paths that authenticate by their own signature (Meta's X-Hub-Signature-256), never by cookie.
CSRF_EXEMPT_PREFIXES = ("/webhooks/",)
# The public portal forms (web/portal.py): checked even without a cookie, like the login form.
PORTAL_FORM_PATHS = ("/hoi-dap", "/hoi-dap/tra-cuu")

Handler = Callable[[Request], Awaitable[Response]]


def auth_middleware(settings: Settings) -> list[Middleware]:
    from web.csrf_multipart import install

    install()  # asgi-csrf's multipart check, fixed for python-multipart >= 0.0.26 (the portal form's attachments)
    secret = web_secret(settings)
    secure = settings.web.cookies_secure()
    return [
        Middleware(
            asgi_csrf,  # type: ignore[arg-type]
            signing_secret=secret,
            cookie_name=CSRF_COOKIE,
            http_header=CSRF_HEADER,
            cookie_secure=secure,
            cookie_samesite="Lax",
            # Checked even without any cookie: a forged login would sign the victim in as the forger.
            always_protect={"/login", "/logout", *PORTAL_FORM_PATHS},
            skip_if_scope=lambda scope: str(scope.get("path", "")).startswith(CSRF_EXEMPT_PREFIXES),
            send_csrf_failed=_csrf_failed,
        ),
        Middleware(
            SessionMiddleware,  # type: ignore[arg-type]
            secret_key=secret,
            session_cookie=SESSION_COOKIE,
            max_age=int(settings.web.session_max_age_minutes * 60),
            same_site="lax",
            https_only=secure,
        ),
    ]


async def _csrf_failed(scope: dict[str, Any], send: Callable[[dict[str, Any]], Awaitable[None]], _reason: Any) -> None:
    """A refused forged (or stale) request: 403, JSON for the API, a short page otherwise."""
    path = str(scope.get("path", ""))
    if path.startswith(API_PREFIX):
        body = '{"error":"yêu cầu bị từ chối: thiếu hoặc sai mã chống giả mạo (CSRF)"}'.encode()
        content_type = b"application/json"
    else:
        body = (
            "<!doctype html><html lang=\"vi\"><meta charset=\"utf-8\"><title>Yêu cầu bị từ chối</title>"
            "<p>Yêu cầu bị từ chối: biểu mẫu đã hết hạn hoặc không được gửi từ trang của hệ thống. "
            "Hãy tải lại trang rồi thử lại.</p></html>"
        ).encode()
        content_type = b"text/html; charset=utf-8"
    await send({"type": "http.response.start", "status": 403, "headers": [(b"content-type", content_type)]})
    await send({"type": "http.response.body", "body": body})


def throttle_policy(settings: Settings) -> ThrottlePolicy:
    web = settings.web
    return ThrottlePolicy(
        max_failures=web.login_max_failures,
        max_failures_per_client=web.login_max_failures * 4,
        window=timedelta(minutes=web.login_window_minutes),
        lockout=timedelta(minutes=web.login_lockout_minutes),
    )


def engine_of(request: Request) -> Engine:
    from tiepnhan import runtime

    return runtime.engine()


def settings_of(request: Request) -> Settings:
    from tiepnhan import runtime

    return runtime.settings()


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def _load_user(engine: Engine, user_id: Any, epoch: Any) -> User | None:
    if not isinstance(user_id, int) or not isinstance(epoch, int):
        return None
    with session_scope(engine) as session:
        user = session.get(User, user_id)
        return None if user is None or user.disabled or user.session_epoch != epoch else user


def current_user(request: Request) -> User | None:
    """The logged-in user (cookie) or, on /api/, the token's user; None when neither."""
    if "current_user" in request.scope.get("state", {}):
        return request.state.current_user  # type: ignore[no-any-return]
    engine = engine_of(request)
    user: User | None
    if "authorization" in request.headers:
        # Only the token counts; the API is reachable by token only under /api/.
        token = bearer_token(request)
        user = user_for_token(engine, token) if token and request.url.path.startswith(API_PREFIX) else None
    else:
        user = _load_user(engine, request.session.get(SESSION_USER_KEY), request.session.get(SESSION_EPOCH_KEY))
    request.state.current_user = user
    return user


def log_in(request: Request, user: User) -> None:
    request.session.clear()  # a fresh session: nothing from before the login carries over
    request.session[SESSION_USER_KEY] = user.id
    request.session[SESSION_EPOCH_KEY] = user.session_epoch
    request.state.current_user = user


def log_out(request: Request) -> None:
    request.session.clear()
    request.state.current_user = None


def csrf_token(request: Request) -> str:
    """The token to put in a form's hidden `csrftoken` field (sets the cookie when needed)."""
    getter = request.scope.get("csrftoken")
    return str(getter()) if callable(getter) else ""


def _unauthenticated(request: Request) -> Response:
    if request.url.path.startswith(API_PREFIX):
        return json_error(401, "cần đăng nhập hoặc mã truy cập API (Authorization: Bearer …)")
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def forbidden(request: Request, message: str = "bạn không có quyền làm việc này") -> Response:
    if request.url.path.startswith(API_PREFIX):
        return json_error(403, message)
    return Response(message, status_code=403, media_type="text/plain; charset=utf-8")


def require_user(handler: Handler) -> Handler:
    """The handler runs only for a logged-in, active user (else 401 JSON / a redirect to /login)."""

    @wraps(handler)
    async def guarded(request: Request) -> Response:
        if await run_in_threadpool(current_user, request) is None:  # the database, off the event loop
            return _unauthenticated(request)
        return await handler(request)

    return guarded


def require_roles(*roles: Role) -> Callable[[Handler], Handler]:
    allowed = {r.value for r in roles}

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def guarded(request: Request) -> Response:
            user = await run_in_threadpool(current_user, request)  # the database, off the event loop
            if user is None:
                return _unauthenticated(request)
            if user.role not in allowed:
                return forbidden(request)
            return await handler(request)

        return guarded

    return decorate


def require_action(action: Action) -> Callable[[Handler], Handler]:
    """Only users whose role may do this action (access.roles.can)."""

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def guarded(request: Request) -> Response:
            user = await run_in_threadpool(current_user, request)  # the database, off the event loop
            if user is None:
                return _unauthenticated(request)
            if not can(user, action):
                return forbidden(request)
            return await handler(request)

        return guarded

    return decorate
