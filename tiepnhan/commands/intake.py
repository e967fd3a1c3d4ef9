"""Commands that bring items in: import, demo, reprocess."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tiepnhan import runtime
from tiepnhan.commands.common import console, database, fail, load, print_json_line, start_broker

if TYPE_CHECKING:  # imported when a command runs, so the CLI starts fast
    from config.settings import Settings
    from tiepnhan.importer import ImportSummary

SAMPLES_DIR = Path(__file__).resolve().parent.parent / "samples"


DEMO_USERS = (("dieuphoi", "coordinator", None, "Điều phối viên (chạy thử)"), ("bhxh79", "office", "province-79", "BHXH TP. Hồ Chí Minh (chạy thử)"))


def print_demo_logins(settings: Settings, database_file: Path) -> None:
    """The web pages in one command: a demo coordinator and office user, each with a fresh password."""
    import secrets

    from access.users import create_user
    from tickets.directory import routing

    known = [u.id for u in routing(settings).units.units]
    console.print("\n[bold]Trang web[/]: [bold]TIEPNHAN_DATABASE_URL=sqlite:///" + str(database_file) + " uv run tiepnhan web[/], rồi mở http://127.0.0.1:8000/login", soft_wrap=True)
    for name, role, unit, display in DEMO_USERS:
        password = secrets.token_urlsafe(12)
        create_user(runtime.engine(), name, role, known_units=known, unit_id=unit, password=password, display_name=display)
        console.print(f"  {display}: tên đăng nhập [bold]{name}[/], mật khẩu [bold]{password}[/]", soft_wrap=True)
    console.print("  (đơn vị chỉ thấy phiếu đã được gửi cho mình: duyệt một đề xuất cho province-79 trước)", soft_wrap=True)


def run_import(settings: Settings, paths: list[Path], source: str, as_json: bool) -> ImportSummary:
    engine = database(settings)
    embedded = start_broker(settings)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

    from tiepnhan.embedded import drain, embedded_worker
    from tiepnhan.importer import store_files, summarize

    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        console=console, transient=True, disable=as_json,
    ) as progress:
        task = progress.add_task("Đang đọc và lưu", total=None)
        if embedded:
            with embedded_worker(settings.worker.threads):
                from tiepnhan.scheduler import reconcile as resume_unfinished

                resume_unfinished(engine, settings)  # work an earlier, killed run left unfinished
                high_water, new_ids, seen = store_files(engine, paths, source, lambda: progress.advance(task))
                progress.update(task, description="Đang xử lý", total=seen, completed=seen)
                drain()
        else:
            high_water, new_ids, seen = store_files(engine, paths, source, lambda: progress.advance(task))
    summary = summarize(engine, high_water, new_ids, seen)
    if as_json:
        print_json_line(summary.as_dict())
    else:
        print_summary(summary, embedded)
    return summary


def print_summary(summary: ImportSummary, embedded: bool) -> None:
    console.print(f"Đã đọc {summary.items} mục.")
    console.print(f"  Phiếu mới: [bold]{summary.new_tickets}[/]")
    console.print(f"  Tin nhắn thêm vào phiếu có sẵn: {summary.added_to_existing}")
    console.print(f"  Trùng lặp, bỏ qua: {summary.duplicates}")
    console.print(f"  Thư tự động/thư báo lỗi không mở phiếu: {summary.without_ticket}")
    if not embedded:
        console.print(f"  Đã xếp hàng cho worker: {summary.pending}")
    console.print(f"  Lỗi: {len(summary.failures)}" + (" (bản gốc vẫn được lưu)" if summary.failures else ""))
    for failure in summary.failures:
        console.print(f"    - mục #{failure['raw_item_id']} ({failure['where']}): {failure['reason']}", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    @app.command("import")
    def import_command(
        ctx: typer.Context,
        paths: Annotated[list[Path], typer.Argument(help="tệp .eml, thư mục, thư mục Maildir, tệp mbox, tệp JSON của Graph API")],
        source: Annotated[str, typer.Option(help="tên nguồn ghi trên phiếu")] = "import",
        as_json: Annotated[bool, typer.Option("--json", help="in kết quả dạng một đối tượng JSON")] = False,
        kind: Annotated[str, typer.Option("--kind", metavar="messages|calls", help="loại tệp: thư và tin nhắn (mặc định), hoặc calls cho nhật ký cuộc gọi của tổng đài (.csv, .xlsx; như import-calls)")] = "messages",
    ) -> None:
        """Nhập thư và tin nhắn (hoặc nhật ký cuộc gọi, với --kind calls) từ tệp thành phiếu."""
        if kind not in ("messages", "calls"):
            fail(f"không có loại {kind!r}; chọn messages hoặc calls")
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            fail("không tìm thấy: " + ", ".join(missing))
        if kind == "calls":
            from tiepnhan.commands.calls import import_call_logs

            if import_call_logs(ctx, paths, as_json)["errors"]:
                raise typer.Exit(1)
            return
        summary = run_import(load(ctx), paths, source, as_json)
        if summary.failures:
            raise typer.Exit(1)

    @app.command()
    def demo(
        ctx: typer.Context,
        database_file: Annotated[Path, typer.Option("--database", help="tệp SQLite cho bản chạy thử (tạo lại từ đầu)")] = Path("var/demo.db"),
    ) -> None:
        """Chạy thử: nhập các thư và tin nhắn fanpage mẫu vào một cơ sở dữ liệu mới."""
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database_file}{suffix}").unlink(missing_ok=True)
        console.print(f"[bold]tiepnhan demo[/] — cơ sở dữ liệu mới: {database_file}")
        # The demo always runs on the embedded defaults, whatever the environment says.
        # Quiet by default: the per-item info lines would bury the tables (TIEPNHAN_LOG_LEVEL still wins).
        settings = load(ctx, log_level="WARNING").model_copy(update={"database_url": f"sqlite:///{database_file}", "redis_url": None})
        run_import(runtime.configure(settings), [SAMPLES_DIR], "demo", False)
        from tiepnhan.commands.tickets import print_ticket_table

        print_ticket_table(limit=100)
        from tickets.escalations import list_escalations
        from tiepnhan.commands.escalations import print_escalations

        print_escalations(list_escalations(runtime.engine(), status="proposed"), settings)
        console.print("Duyệt một đề xuất: [bold]tiepnhan escalation approve 1[/] (gửi được khi đã cấu hình \\[smtp] và địa chỉ thật của đơn vị)")
        console.print("Xem chi tiết một phiếu: [bold]tiepnhan show 1[/] (thêm --config hoặc TIEPNHAN_DATABASE_URL=sqlite:///" + str(database_file) + ")")
        print_demo_logins(settings, database_file)

    @app.command()
    def reprocess(
        ctx: typer.Context,
        only_failed: Annotated[bool, typer.Option("--only-failed", help="chỉ các mục gốc bị lỗi hoặc bị cách ly")] = False,
    ) -> None:
        """Đọc lại các mục gốc đã lưu và gắn nhãn lại (sau khi bộ đọc thư hoặc bộ phân loại được cải tiến); mã phiếu không đổi."""
        settings = load(ctx)
        engine = database(settings)
        from tickets.reprocess import reprocess_all

        result = reprocess_all(engine, settings.max_attachment_bytes, only_failed=only_failed)
        console.print(json.dumps(result, ensure_ascii=False))
