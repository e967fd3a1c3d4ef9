"""`tiepnhan web`: serve the web app (the Procfile's `web` process)."""

from __future__ import annotations

from typing import Annotated

import typer

from tiepnhan.commands.common import database, load


def register(app: typer.Typer) -> None:
    @app.command()
    def web(
        ctx: typer.Context,
        host: Annotated[str, typer.Option(help="địa chỉ lắng nghe")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="cổng lắng nghe")] = 8000,
    ) -> None:
        """Máy chủ web: webhook của fanpage (/webhooks/facebook), /healthz và /metrics."""
        import uvicorn

        from tiepnhan.web.app import create_app

        settings = load(ctx)
        database(settings)
        uvicorn.run(create_app(settings), host=host, port=port, log_config=None)
