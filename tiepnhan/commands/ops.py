"""Running and watching the service: run, worker, scheduler, status, failures, retry."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tiepnhan import runtime
from tiepnhan.commands.common import config_file, console, database, escape, fail, load, local_time, print_json_line

if TYPE_CHECKING:
    from config.settings import Settings

log = logging.getLogger("tiepnhan.run")

DEFAULT_WEB_HOST = "127.0.0.1"
DEFAULT_WEB_PORT = 8080


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, _frame: Any) -> None:
        if stop.is_set():  # a second Ctrl-C: stop now
            raise SystemExit(130)
        log.info("stopping", extra={"signal": signal.Signals(signum).name})
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def web_app(settings: Settings) -> Any | None:
    """The web app when that package exists (webhooks, /metrics), else None."""
    try:
        from tiepnhan.web.app import create_app
    except ModuleNotFoundError:
        return None
    app = create_app(settings)
    if not any(getattr(route, "path", None) == "/metrics" for route in app.routes):
        from tiepnhan.web.metrics import add_metrics

        add_metrics(app, settings)
    return app


def web_address(settings: Settings, host: str | None, port: int | None) -> tuple[str, int]:
    web = getattr(settings, "web", None)
    return (
        host or getattr(web, "host", None) or DEFAULT_WEB_HOST,
        port if port is not None else int(getattr(web, "port", None) or DEFAULT_WEB_PORT),
    )


def run_embedded(settings: Settings, stop: threading.Event, *, host: str | None = None, port: int | None = None, web: bool = True) -> None:
    """One process: in-process broker with worker threads, the scheduler loop, the web app."""
    from tickets.pipeline import pending_raw_item_ids
    from tiepnhan.actor_setup import setup
    from tiepnhan.embedded import embedded_worker
    from tiepnhan.scheduler import Scheduler

    engine = database(settings)
    setup(settings)
    server = None
    threads: list[threading.Thread] = []
    with embedded_worker(settings.worker.threads):
        # Nothing else processes this database's queue: whatever was pending when the last run
        # stopped (its in-memory messages gone) is enqueued again; stages are idempotent.
        from tickets.actors import enqueue_raw_items

        leftover = pending_raw_item_ids(engine, include_failed=True)
        if leftover:
            log.info("resuming unfinished raw items", extra={"count": len(leftover)})
            enqueue_raw_items(leftover)
        scheduler = Scheduler(settings, engine, idle_watchers=True)  # + IMAP IDLE (ingest/imap/idle.py)
        threads.append(threading.Thread(target=scheduler.run, args=(stop,), name="scheduler", daemon=True))
        app = web_app(settings) if web else None
        if app is not None:
            import uvicorn

            bind_host, bind_port = web_address(settings, host, port)
            server = uvicorn.Server(uvicorn.Config(app, host=bind_host, port=bind_port, log_config=None, lifespan="auto"))
            threads.append(threading.Thread(target=server.run, name="web", daemon=True))
            log.info("web endpoint", extra={"host": bind_host, "port": bind_port})
        for thread in threads:
            thread.start()
        log.info("tiepnhan run: started", extra={"threads": settings.worker.threads, "sources": len(scheduler.specs)})
        stop.wait()
        if server is not None:
            server.should_exit = True
        for thread in threads:
            thread.join(timeout=30)
        # Leaving embedded_worker lets the worker threads finish the messages they hold.
    log.info("tiepnhan run: stopped")


def _dramatiq_argv(settings: Settings, processes: int | None, threads: int | None, queues: list[str] | None) -> list[str]:
    argv = [
        sys.executable, "-m", "tiepnhan.worker",  # dramatiq's CLI with tiepnhan's logging
        "--processes", str(processes or settings.worker.processes),
        "--threads", str(threads or settings.worker.threads),
    ]  # fmt: skip
    if queues:
        argv += ["--queues", *queues]
    return argv


def run_dramatiq(argv: list[str], env: dict[str, str]) -> int:
    """Run the dramatiq CLI in its own session and forward ONE stop signal to it.

    A Procfile runner (honcho) signals the whole process group; dramatiq's worker processes,
    receiving SIGTERM from it and again from their parent, would then stop hard. In its own
    session dramatiq hears only us, and its workers finish the messages they hold.
    """
    process = subprocess.Popen(argv, env=env, start_new_session=True)

    def forward(_signum: int, _frame: Any) -> None:
        # The first SIGTERM stops dramatiq gracefully; a second one (forwarded again) stops it hard.
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return process.wait()


def print_status(status: Any, settings: Settings) -> None:
    from rich.table import Table

    table = Table(title="Nguồn tiếp nhận")
    for column in ("Nguồn", "Loại", "Lần lấy thành công cuối", "Độ trễ (trung vị / lâu nhất, 1 giờ)", "Lỗi liên tiếp", "Lỗi cuối"):
        table.add_column(column)
    for source in status.sources:
        delay = (
            f"{source.delay_median_seconds:.1f} s / {source.delay_worst_seconds:.1f} s ({source.delay_samples})"
            if source.delay_samples
            else "—"
        )
        errors = str(source.consecutive_errors) + (" [bold red](quá ngưỡng)[/]" if source.failing_too_long else "")
        table.add_row(
            source.name + ("" if source.configured else " (không còn cấu hình)"), source.kind,
            local_time(source.last_success_at, settings.timezone) or "chưa có", delay, errors,
            (source.last_error or source.warning or "")[:80],
        )  # fmt: skip
    console.print(table)
    if status.broker == "redis":
        queues = Table(title=f"Hàng đợi (Redis) — worker đang hoạt động: {status.live_workers}")
        for column in ("Hàng đợi", "Đang chờ", "Chưa xác nhận", "Chờ thử lại", "Hỏng hẳn"):
            queues.add_column(column)
        for queue in status.queues:
            queues.add_row(queue.name, str(queue.waiting), str(queue.unacked), str(queue.delayed), str(queue.dead))
        console.print(queues)
    else:
        console.print("Hàng đợi: trong tiến trình (`tiepnhan run`), không có Redis.")
    if status.escalations:
        from tiepnhan.commands.escalations import STATUS_LABELS

        counts = ", ".join(f"{STATUS_LABELS.get(k, k)}: {n}" for k, n in sorted(status.escalations.items()))
        console.print(f"Chuyển xử lý — {counts}", highlight=False)
    if status.healthy:
        console.print("[bold green]Hoạt động bình thường.[/]")
    for problem in status.problems:
        console.print(f"[bold red]Lỗi:[/] {escape(problem)}", highlight=False)


def print_failures(rows: list[Any], settings: Settings) -> None:
    from rich.table import Table

    if not rows:
        console.print("Không có lỗi nào.")
        return
    table = Table(title=f"Lỗi ({len(rows)})")
    for column in ("Mã", "Loại", "Nội dung", "Trạng thái", "Bước", "Số lần", "Lỗi", "Lúc"):
        table.add_column(column)
    kinds = {"raw_item": "mục gốc", "job": "tác vụ"}
    states = {"failed": "lỗi tạm thời", "quarantined": "cách ly", "dead_letter": "hết lượt thử"}
    for row in rows:
        table.add_row(
            row.ref, kinds.get(row.kind, row.kind), row.what, states.get(row.state, row.state), row.stage or "",
            str(row.count), (row.error or "")[:120], local_time(row.at, settings.timezone),
        )  # fmt: skip
    console.print(table)
    console.print("Thử lại: [bold]tiepnhan retry raw-12[/], [bold]tiepnhan retry job-3[/] hoặc [bold]tiepnhan retry --all[/]")


def register(app: typer.Typer) -> None:
    @app.command()
    def run(
        ctx: typer.Context,
        host: Annotated[str | None, typer.Option(help="địa chỉ máy chủ web")] = None,
        port: Annotated[int | None, typer.Option(help="cổng máy chủ web")] = None,
        web: Annotated[bool, typer.Option("--web/--no-web", help="phục vụ webhook và /metrics")] = True,
    ) -> None:
        """Chạy mọi thứ trong một tiến trình, trên SQLite, không cần Redis (mặc định nhúng)."""
        settings = load(ctx)
        if settings.redis_url:
            console.print("`tiepnhan run` chạy trong một tiến trình, không dùng Redis (bỏ qua TIEPNHAN_REDIS_URL).")
            settings = runtime.configure(settings.model_copy(update={"redis_url": None}))
        stop = threading.Event()
        _stop_on_signals(stop)
        run_embedded(settings, stop, host=host, port=port, web=web)

    @app.command()
    def worker(
        ctx: typer.Context,
        processes: Annotated[int | None, typer.Option(help="số tiến trình xử lý (mặc định: worker.processes)")] = None,
        threads: Annotated[int | None, typer.Option(help="số luồng mỗi tiến trình (mặc định: worker.threads)")] = None,
        queues: Annotated[list[str] | None, typer.Option("--queue", help="chỉ các hàng đợi này")] = None,
    ) -> None:
        """Chạy các tiến trình xử lý Dramatiq trên Redis (tiến trình `worker` trong Procfile)."""
        settings = load(ctx)
        if not settings.redis_url:
            fail("worker cần Redis (TIEPNHAN_REDIS_URL). Không có Redis thì dùng `tiepnhan run`.")
        database(settings)  # migrate once here, not in every worker process at once
        env = dict(os.environ)
        path = config_file(ctx)
        if path is not None:
            env["TIEPNHAN_CONFIG"] = str(path)
        raise typer.Exit(run_dramatiq(_dramatiq_argv(settings, processes, threads, queues), env))

    @app.command()
    def scheduler(ctx: typer.Context) -> None:
        """Lập lịch: đưa lượt lấy thư của từng nguồn và các việc định kỳ vào hàng đợi (tiến trình `scheduler` trong Procfile)."""
        settings = load(ctx)
        if not settings.redis_url:
            fail("scheduler cần Redis (TIEPNHAN_REDIS_URL). Không có Redis thì dùng `tiepnhan run`.")
        engine = database(settings)
        from tiepnhan.actor_setup import setup
        from tiepnhan.scheduler import Scheduler

        setup(settings)
        stop = threading.Event()
        _stop_on_signals(stop)
        Scheduler(settings, engine, idle_watchers=True).run(stop)  # + IMAP IDLE (ingest/imap/idle.py)

    @app.command()
    def status(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="in dạng một đối tượng JSON")] = False) -> None:
        """Tình trạng: nguồn, độ trễ tiếp nhận, hàng đợi, tiến trình xử lý; thoát mã 1 khi có sự cố (dùng để kiểm tra sức khỏe)."""
        settings = load(ctx, check_routing=False)
        engine = database(settings)
        from tiepnhan.status import collect

        try:
            result = collect(settings, engine)
        except Exception as exc:  # noqa: BLE001 - Redis unreachable is itself unhealthy
            if as_json:
                print_json_line({"healthy": False, "error": f"{type(exc).__name__}: {exc}"})
            else:
                console.print(f"[bold red]Không đọc được trạng thái:[/] {exc}")
            raise typer.Exit(1) from None
        if as_json:
            print_json_line(result.as_dict())
        else:
            print_status(result, settings)
        if not result.healthy:
            raise typer.Exit(1)

    @app.command()
    def failures(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="in dạng JSON, mỗi dòng một đối tượng")] = False) -> None:
        """Các mục gốc bị lỗi hoặc bị cách ly, và các việc đã hỏng hẳn (dead letter)."""
        settings = load(ctx)
        from tiepnhan.failures import list_failures

        rows = list_failures(database(settings))
        if as_json:
            for row in rows:
                print_json_line(row.as_dict())
        else:
            print_failures(rows, settings)

    @app.command()
    def retry(
        ctx: typer.Context,
        ids: Annotated[list[str] | None, typer.Argument(help="raw-12 (hoặc 12) cho một mục gốc, job-3 cho một việc")] = None,
        all_: Annotated[bool, typer.Option("--all", help="mọi lỗi mà `tiepnhan failures` liệt kê")] = False,
    ) -> None:
        """Đưa lại vào hàng đợi các mục bị lỗi và các việc đã hỏng."""
        settings = load(ctx)
        if not ids and not all_:
            fail("cho biết mã (ví dụ raw-12, job-3) hoặc --all")
        engine = database(settings)
        from tiepnhan.actor_setup import setup
        from tiepnhan.failures import all_failure_ids, parse_ref, retry_jobs, retry_raw_items

        setup(settings)
        if all_:
            raw_ids, job_ids = all_failure_ids(engine)
        else:
            raw_ids, job_ids = [], []
            for text in ids or []:
                try:
                    kind, number = parse_ref(text)
                except ValueError as exc:
                    fail(str(exc))
                (raw_ids if kind == "raw" else job_ids).append(number)
        embedded = settings.redis_url is None
        if embedded:
            from tiepnhan.embedded import drain, embedded_worker

            with embedded_worker(settings.worker.threads):
                raws, jobs = retry_raw_items(engine, raw_ids), retry_jobs(engine, job_ids)
                drain()
        else:
            raws, jobs = retry_raw_items(engine, raw_ids), retry_jobs(engine, job_ids)
        where = "đã xử lý lại" if embedded else "đã xếp hàng lại"
        console.print(f"{where}: {len(raws)} mục gốc, {len(jobs)} tác vụ.")
        missing = len(raw_ids) + len(job_ids) - len(raws) - len(jobs)
        if missing:
            console.print(f"{missing} mã không phải lỗi đang chờ (bỏ qua).")
