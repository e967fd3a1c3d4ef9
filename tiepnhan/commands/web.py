"""`tiepnhan web`: serve the web app (the Procfile's `web` process)."""

from __future__ import annotations

import logging
import signal
import threading
from typing import TYPE_CHECKING, Annotated

import typer

from tiepnhan.commands.common import database, load

if TYPE_CHECKING:
    import uvicorn
    from sqlalchemy.engine import Engine

    from config.settings import Settings

log = logging.getLogger("tiepnhan.web")


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
        engine = database(settings)
        server = uvicorn.Server(uvicorn.Config(create_app(settings), host=host, port=port, log_config=None))
        if settings.redis_url:  # the Procfile's shape: `tiepnhan worker` processes do the work
            server.run()
            return
        serve_embedded(settings, engine, server)


def serve_embedded(settings: Settings, engine: Engine, server: uvicorn.Server) -> None:
    """Without Redis nothing else processes what the webhooks accept: this process runs the
    pipeline's worker threads while it serves, after enqueuing what an earlier run left pending.
    The server runs in a thread and a stop signal ends it first, so that the worker threads then
    finish the messages they hold (uvicorn in the main thread would re-raise the signal and end
    the process at once)."""
    from tickets.actors import enqueue_raw_items
    from tickets.pipeline import pending_raw_item_ids
    from tiepnhan.actor_setup import setup
    from tiepnhan.embedded import embedded_worker

    setup(settings)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with embedded_worker(settings.worker.threads):
        leftover = pending_raw_item_ids(engine, include_failed=True)
        if leftover:
            log.info("resuming unfinished raw items", extra={"count": len(leftover)})
            enqueue_raw_items(leftover)
        thread = threading.Thread(target=server.run, name="web", daemon=True)
        thread.start()
        while not stop.wait(0.5) and thread.is_alive():
            pass
        server.should_exit = True
        thread.join(timeout=30)
    if not server.started:
        raise typer.Exit(1)  # it could not listen (uvicorn said why)
