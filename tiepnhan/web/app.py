"""The web process: health check and Prometheus metrics (webhooks and the review UI come later)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from config.settings import Settings
from tiepnhan.web.metrics import add_metrics
from tiepnhan.web.calls_webhook import calls_webhook_routes
from tiepnhan.web.webhooks import webhook_routes


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def create_app(settings: Settings) -> Starlette:
    from web.app import create_web_routes, web_middleware  # the web app's pages and API (web/)

    app = Starlette(
        routes=[Route("/healthz", healthz), *webhook_routes(settings), *calls_webhook_routes(settings), *create_web_routes(settings)],
        middleware=web_middleware(settings),
    )
    add_metrics(app, settings)
    return app
