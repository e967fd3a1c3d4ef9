"""`tiepnhan report volume|quality|sla|workload|acceptance|calls --from DATE --to DATE [--by ...] [--format ...] [--out FILE]`.

Figures over the stored clocks (reports/, docs/reports.md); dates are days in Vietnam.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tiepnhan.commands.common import console, database, fail, load

if TYPE_CHECKING:  # the reports are imported when the command runs, so the CLI starts fast
    from reports.model import Report

FORMATS = ("table", "json", "csv", "xlsx", "pdf")
# For the help screen without importing the reports: reports.build.REPORTS and
# reports.groups.GROUPINGS (tests/ops/test_startup.py checks they are the same).
REPORTS = ("volume", "quality", "sla", "workload", "acceptance", "calls")
GROUPINGS = ("channel", "province", "unit", "type", "category", "day", "week", "month")
CALL_GROUPINGS = ("day", "week", "month", "agent", "direction", "outcome")  # reports.calls.GROUPINGS (tests/calls/test_report_calls.py)


def _write(report: Report, fmt: str, out: Path | None) -> None:
    from reports.render import to_csv, to_json, to_table, to_xlsx

    if fmt == "table":
        if out is not None:
            fail("--format table chỉ in ra màn hình; để ghi tệp hãy chọn csv, json hoặc xlsx")
        console.print(to_table(report))
        return
    data: bytes | str
    if fmt == "pdf":
        from reports.pdf import FontMissing, to_pdf

        try:
            data = to_pdf(report)
        except FontMissing as exc:
            fail(str(exc))
    else:
        data = to_xlsx(report) if fmt == "xlsx" else to_json(report) + "\n" if fmt == "json" else to_csv(report)
    if out is None:
        if isinstance(data, bytes):
            fail(f"--format {fmt} cần --out TỆP (dữ liệu nhị phân không in ra màn hình)")
        sys.stdout.write(data)
        return
    try:
        out.write_bytes(data) if isinstance(data, bytes) else out.write_text(data, encoding="utf-8")
    except OSError as exc:
        fail(f"không ghi được tệp {out}: {exc.strerror}")
    console.print(f"Đã ghi báo cáo vào {out}", highlight=False)


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report_command(
        ctx: typer.Context,
        name: Annotated[str, typer.Argument(metavar="|".join(REPORTS), help="tên báo cáo: khối lượng, chất lượng, thời hạn, công việc theo người, nghiệm thu, cuộc gọi tổng đài", show_default=False)],
        date_from: Annotated[str, typer.Option("--from", help="ngày đầu kỳ (YYYY-MM-DD, theo giờ Việt Nam)", show_default=False)],
        date_to: Annotated[str, typer.Option("--to", help="ngày cuối kỳ, tính cả ngày này", show_default=False)],
        by: Annotated[str | None, typer.Option("--by", metavar="|".join(GROUPINGS), help="nhóm các dòng theo kênh, tỉnh/thành, đơn vị, loại bảo hiểm, phân loại, ngày, tuần hoặc tháng; báo cáo calls: day|week|month|agent|direction|outcome")] = None,
        fmt: Annotated[str, typer.Option("--format", metavar="|".join(FORMATS), help="định dạng: bảng trên màn hình, json, csv, xlsx hoặc pdf")] = "table",
        out: Annotated[Path | None, typer.Option("--out", help="ghi vào tệp này thay vì in ra")] = None,
    ) -> None:
        """Báo cáo khối lượng (volume), chất lượng phục vụ (quality), thời hạn của đơn vị (sla), công việc theo người (workload), nghiệm thu (acceptance), cuộc gọi tổng đài (calls)."""
        from rich.progress import Progress, SpinnerColumn, TextColumn

        from reports.build import build_report
        from reports.period import Period, parse_day
        from tickets.directory import routing
        from tickets.models import utcnow

        if name not in REPORTS:
            fail(f"không có báo cáo {name!r}; chọn một trong: {', '.join(REPORTS)}")
        groupings = CALL_GROUPINGS if name == "calls" else GROUPINGS
        if by is not None and by not in groupings:
            fail(f"không nhóm được theo {by!r}; chọn một trong: {', '.join(groupings)}")
        if fmt not in FORMATS:
            fail(f"không có định dạng {fmt!r}; chọn một trong: {', '.join(FORMATS)}")
        try:
            period = Period(parse_day(date_from), parse_day(date_to))
        except ValueError as exc:
            fail(str(exc))
        settings = load(ctx)
        engine = database(settings)
        unit_names = {unit.id: unit.name for unit in routing(settings).units.units}
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console, transient=True, disable=fmt != "table") as progress:
            task = progress.add_task("Đang lập báo cáo…")
            report = build_report(
                engine, name, period, by, targets=settings.report_targets, now=utcnow(), unit_names=unit_names,
                progress=lambda step: progress.update(task, description=f"Đang lập báo cáo: {step}…"),
            )  # fmt: skip
        _write(report, fmt, out)
