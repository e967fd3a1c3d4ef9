"""The call center's commands (issue 18, docs/channels.md):

- `tiepnhan import-calls FILE…`: call logs (CSV/XLSX) into call records and tickets;
- `tiepnhan report-calls --from DATE --to DATE [--by day|week|month|agent|direction|outcome] [--format …]`:
  the calls' figures (reports/calls.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from tiepnhan.commands.common import console, database, fail, load, print_json_line, start_broker


def import_call_logs(ctx: typer.Context, paths: list[Path], as_json: bool) -> dict[str, Any]:
    from ingest.calls.intake import store_calls
    from ingest.calls.log_file import CallLogError, read_call_log
    from tiepnhan.embedded import drain, embedded_worker

    settings = load(ctx)
    engine = database(settings)
    embedded = start_broker(settings)
    zone = ZoneInfo(settings.timezone)
    summary: dict[str, Any] = {"files": [], "new_calls": 0, "known_calls": 0, "new_messages": 0, "errors": []}
    logs = []
    for path in paths:
        try:
            content = path.read_bytes()
        except OSError as exc:
            fail(f"không đọc được tệp {path}: {exc.strerror or exc}")
        try:
            logs.append((path, read_call_log(content, path.name, zone)))
        except CallLogError as exc:
            fail(f"{path}: {exc}")

    def store() -> None:
        for path, log in logs:
            result = store_calls(engine, settings.call_center, log.calls)
            summary["files"].append({"file": str(path), "lines": log.lines, "calls": len(log.calls), "errors": len(log.errors)})
            summary["new_calls"] += result.new_calls
            summary["known_calls"] += result.known_calls
            summary["new_messages"] += result.new_messages
            summary["errors"].extend({"file": str(path), "line": e.line, "reason": e.message} for e in log.errors)

    if embedded:
        with embedded_worker(settings.worker.threads):
            store()
            drain()
    else:
        store()
    if as_json:
        print_json_line(summary)
    else:
        console.print(f"Cuộc gọi mới: {summary['new_calls']}; đã có từ trước: {summary['known_calls']}; "
                      f"thành tin nhắn trên phiếu (có tóm tắt): {summary['new_messages']}", highlight=False)
        for error in summary["errors"]:
            console.print(f"[red]Dòng {error['line']}[/] của {error['file']}: {error['reason']}", highlight=False, markup=True)
        if summary["errors"]:
            console.print(f"{len(summary['errors'])} dòng không đọc được (các dòng khác đã được lưu); sửa rồi nhập lại cả tệp: cuộc gọi đã có không bị lưu hai lần.",
                          highlight=False)
    return summary


def register(app: typer.Typer) -> None:
    @app.command("import-calls")
    def import_calls_command(
        ctx: typer.Context,
        paths: Annotated[list[Path], typer.Argument(help="tệp nhật ký cuộc gọi .csv hoặc .xlsx (cột: xem docs/channels.md)", show_default=False)],
        as_json: Annotated[bool, typer.Option("--json", help="in kết quả dạng một đối tượng JSON")] = False,
    ) -> None:
        """Nhập nhật ký cuộc gọi của tổng đài: mỗi cuộc gọi được lưu (tính vào báo cáo), cuộc gọi có tóm tắt thành tin nhắn trên phiếu."""
        summary = import_call_logs(ctx, paths, as_json)
        if summary["errors"]:
            raise typer.Exit(1)

    @app.command("report-calls")
    def report_calls_command(
        ctx: typer.Context,
        date_from: Annotated[str, typer.Option("--from", help="ngày đầu kỳ (YYYY-MM-DD, theo giờ Việt Nam)", show_default=False)],
        date_to: Annotated[str, typer.Option("--to", help="ngày cuối kỳ, tính cả ngày này", show_default=False)],
        by: Annotated[str | None, typer.Option("--by", metavar="day|week|month|agent|direction|outcome", help="nhóm theo ngày, tuần, tháng, điện thoại viên, chiều cuộc gọi hoặc kết quả")] = None,
        fmt: Annotated[str, typer.Option("--format", metavar="table|json|csv|xlsx", help="định dạng: bảng trên màn hình, json, csv hoặc xlsx")] = "table",
        out: Annotated[Path | None, typer.Option("--out", help="ghi vào tệp này thay vì in ra (csv, json, xlsx)")] = None,
    ) -> None:
        """Báo cáo cuộc gọi tổng đài: số cuộc gọi đã trả lời, gọi nhỡ, bỏ máy, thời gian chờ và đàm thoại."""
        from reports.calls import GROUPINGS, calls_report
        from reports.period import Period, parse_day
        from reports.render import to_csv, to_json, to_table, to_xlsx

        if by is not None and by not in GROUPINGS:
            fail(f"không nhóm được theo {by!r}; chọn một trong: {', '.join(GROUPINGS)}")
        if fmt not in ("table", "json", "csv", "xlsx"):
            fail(f"không có định dạng {fmt!r}; chọn một trong: table, json, csv, xlsx")
        if fmt == "table" and out is not None:
            fail("--format table chỉ in ra màn hình; để ghi tệp hãy chọn csv, json hoặc xlsx")
        settings = load(ctx)
        try:
            period = Period(parse_day(date_from), parse_day(date_to), settings.timezone)
        except ValueError as exc:
            fail(str(exc))
        report = calls_report(database(settings), period, by)
        if fmt == "table":
            console.print(to_table(report))
            return
        data: bytes = to_xlsx(report) if fmt == "xlsx" else (to_json(report) + "\n" if fmt == "json" else to_csv(report)).encode("utf-8")
        if out is not None:
            out.write_bytes(data)
        elif fmt == "xlsx":
            fail("--format xlsx cần --out TỆP")
        else:
            typer.echo(data.decode("utf-8"), nl=False)
