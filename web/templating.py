"""The one Jinja2 environment of the web app (autoescape on for every template).

Templates live in web/templates/ and static files in web/static/ (served at /static/).
`render` gives every template: request, user, user_label, csrf_token, csrf_field_name,
static_url(name), flashes (list of {level, text}) and nav_items, overridable by the context.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from web.auth import CSRF_FIELD, csrf_token, current_user

WEB_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"
STATIC_PREFIX = "/static"


def static_url(name: str) -> str:
    return f"{STATIC_PREFIX}/{name.lstrip('/')}"


@cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        # Every template escapes, whatever its name: citizens' text is never markup.
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static_url"] = static_url
    return env


def base_context(request: Request) -> dict[str, Any]:
    user = current_user(request)
    return {
        "request": request,
        "user": user,
        "user_label": user.label if user is not None else "",
        "csrf_token": csrf_token(request),
        "csrf_field_name": CSRF_FIELD,
        "flashes": [],
        "nav_items": [],
    }


def render(request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200) -> HTMLResponse:
    page = environment().get_template(template).render({**base_context(request), **(context or {})})
    return HTMLResponse(page, status_code=status_code)
