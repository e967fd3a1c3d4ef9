"""`tiepnhan poll [--once]` and `tiepnhan reconcile`: bring in what the sources hold."""

from __future__ import annotations

import json
import threading
import time
from typing import Annotated

import typer

from tiepnhan.commands.common import console, database, load, start_broker


def register(app: typer.Typer) -> None:
    @app.command()
    def poll(
        ctx: typer.Context,
        once: Annotated[bool, typer.Option("--once", help="lấy thư mỗi nguồn một lần rồi chờ xử lý xong")] = False,
    ) -> None:
        """Lấy thư từ mọi hộp thư và fanpage đã cấu hình (mỗi nguồn riêng, có khóa riêng)."""
        from ingest.sources import build_pollers
        from tiepnhan.embedded import drain, embedded_worker
        from tiepnhan.scheduler import poll_source_now

        settings = load(ctx)
        engine = database(settings)
        embedded = start_broker(settings)
        names = [p.name for p in build_pollers(settings)]
        if not names:
            console.print("Chưa cấu hình hộp thư hay trang nào ([[mailboxes]], [[facebook_pages]]).")
            return
        failed = False
        with embedded_worker(settings.worker.threads) if embedded else _nothing():
            if embedded:
                # Work a killed run left stored but unprocessed is resumed first.
                from tiepnhan.scheduler import reconcile as resume_unfinished

                resume_unfinished(engine, settings)
            stop_idle = threading.Event()
            if not once:  # IMAP IDLE (RFC 2177) between the interval polls: ingest/imap/idle.py
                from ingest.imap.idle import start_idle_watchers

                start_idle_watchers(settings, engine, stop_idle)
            try:
                while True:
                    for name in names:
                        outcome = poll_source_now(settings, engine, name, force=once)
                        failed |= outcome.status == "failed"
                        console.print(f"{name}: {outcome.status}" + (f" — {outcome.error}" if outcome.error else ""), markup=False, highlight=False)
                    if once:
                        if embedded:
                            drain()
                        break
                    time.sleep(min([m.poll_interval_seconds for m in settings.mailboxes] + [p.poll_interval_seconds for p in settings.facebook_pages]))
            finally:
                stop_idle.set()
        if failed:
            raise typer.Exit(1)

    @app.command()
    def reconcile(ctx: typer.Context) -> None:
        """Đối chiếu từng thư mục của hộp thư với dữ liệu đã lưu và lấy về những thư còn thiếu."""
        from ingest.imap.poller import ImapPoller
        from tiepnhan.embedded import drain, embedded_worker
        from tiepnhan.scheduler import record_poll_success

        settings = load(ctx)
        engine = database(settings)
        embedded = start_broker(settings)
        with embedded_worker(settings.worker.threads) if embedded else _nothing():
            for mailbox in settings.mailboxes:
                result = ImapPoller(mailbox).reconcile(engine)
                record_poll_success(engine, mailbox.name, "imap", {"reconciliation": result})
                console.print(f"{mailbox.name}: {json.dumps(result)}", markup=False)
            if embedded:
                drain()


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
