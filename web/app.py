"""The web app's routes and middleware, mounted by tiepnhan/web/app.py::create_app.

Page modules (web/pages*.py) are listed in PAGE_MODULES; each has `routes(settings) ->
list[BaseRoute]`. Every route must appear in tests/webapp/route_table.py with the roles that
may use it (a test fails otherwise).
"""

from __future__ import annotations

import importlib

from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from config.settings import Settings
from web.auth import auth_middleware
from web.login import login_routes
from web.templating import STATIC_DIR, STATIC_PREFIX

PAGE_MODULES: tuple[str, ...] = ("web.pages", "web.pages_bank", "web.pages_answers", "web.portal", "web.pages_reports")

# No inline script or style, nothing from elsewhere; citizens' HTML mail is never rendered as HTML.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
)


class SecurityHeaders:
    """Adds the headers above to every answer that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in SECURITY_HEADERS if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, with_headers)


def create_web_routes(settings: Settings) -> list[BaseRoute]:
    from web.api import api_app

    routes: list[BaseRoute] = [*login_routes(), Mount("/api", app=api_app(settings), name="api")]
    for module in PAGE_MODULES:
        routes.extend(importlib.import_module(module).routes(settings))
    routes.append(Mount(STATIC_PREFIX, app=StaticFiles(directory=STATIC_DIR), name="static"))
    return routes


def web_middleware(settings: Settings) -> list[Middleware]:
    return [Middleware(SecurityHeaders), *auth_middleware(settings)]
