"""`tiepnhan bank import|export`, `tiepnhan suggest` and `tiepnhan evaluate-bank`: the question bank.

`suggest` and `evaluate-bank --bank FILE` need no database or broker.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from tiepnhan.commands.classify import read_lines
from tiepnhan.commands.common import database, err_console, fail, load, print_json_line

BankOption = Annotated[Path | None, typer.Option("--bank", help="tệp ngân hàng câu hỏi (.jsonl, .csv, .xlsx); mặc định: các mục đã công bố trong cơ sở dữ liệu")]
ByOption = Annotated[str | None, typer.Option("--by", help="người thay đổi (mặc định: TIEPNHAN_USER hoặc tên đăng nhập)")]


def _acting_user(by: str | None) -> str:
    return by or os.environ.get("TIEPNHAN_USER") or getpass.getuser()


def _entries_from_file(path: Path) -> list[Any]:
    from qbank.entry import EntryError
    from qbank.tabular import read_table

    if not path.exists():
        fail(f"không có tệp {path}")
    entries, problems = [], []
    try:
        for number, item in read_table(path):
            if isinstance(item, EntryError):
                problems.append(f"{path}, dòng {number}: {item}")
            else:
                entries.append(item)
    except EntryError as exc:
        fail(f"{path}: {exc}")
    if problems:
        fail("ngân hàng câu hỏi có dòng không hợp lệ:\n  " + "\n  ".join(problems))
    return entries


def _published_from_database(ctx: typer.Context) -> list[Any]:
    from qbank.store import all_entries
    from tickets.db import session_scope

    settings = load(ctx)
    with session_scope(database(settings)) as session:
        return all_entries(session, statuses=("published",))


def register(app: typer.Typer) -> None:
    bank = typer.Typer(help="Ngân hàng câu hỏi: nhập, xuất.", no_args_is_help=True)
    app.add_typer(bank, name="bank")

    @bank.command("import")
    def import_command(
        ctx: typer.Context,
        file: Annotated[Path, typer.Argument(help="tệp .xlsx, .csv hoặc .jsonl (các cột: xem docs/qbank.md)")],
        by: ByOption = None,
    ) -> None:
        """Nhập các mục vào ngân hàng câu hỏi; mỗi thay đổi được lưu thành một phiên bản mới.

        Dòng không hợp lệ được báo theo số dòng; các dòng khác vẫn được nhập."""
        from qbank.entry import EntryError
        from qbank.store import save_entries
        from qbank.tabular import read_table
        from tickets.db import session_scope

        settings = load(ctx)
        if not file.exists():
            fail(f"không có tệp {file}")
        good, problems = [], []
        try:
            for number, item in read_table(file):
                (problems.append((number, item)) if isinstance(item, EntryError) else good.append(item))
        except EntryError as exc:
            fail(f"{file}: {exc}")
        with session_scope(database(settings)) as session:
            result = save_entries(session, good, _acting_user(by))
        typer.echo(f"Đã nhập {len(good)} mục: {result.created} mới, {result.changed} thay đổi, {result.unchanged} không đổi.")
        for number, problem in problems:
            err_console.print(f"dòng {number}: {problem}", highlight=False, markup=False)
        if problems:
            err_console.print(f"{len(problems)} dòng không hợp lệ, không được nhập.", highlight=False, markup=False)
            raise typer.Exit(1)

    @bank.command("export")
    def export_command(
        ctx: typer.Context,
        file: Annotated[Path, typer.Argument(help="tệp .xlsx, .csv hoặc .jsonl (định dạng theo phần mở rộng)")],
        status: Annotated[list[str] | None, typer.Option("--status", help="chỉ các mục ở trạng thái này (draft, published, retired); lặp lại được")] = None,
    ) -> None:
        """Xuất ngân hàng câu hỏi ra tệp."""
        from qbank.entry import STATUSES, EntryError
        from qbank.store import all_entries
        from qbank.tabular import file_format, write_table
        from tickets.db import session_scope

        for value in status or ():
            if value not in STATUSES:
                fail(f"trạng thái '{value}' không hợp lệ (draft, published, retired)")
        try:
            file_format(file)
        except EntryError as exc:
            fail(str(exc))
        settings = load(ctx)
        with session_scope(database(settings)) as session:
            entries = all_entries(session, statuses=status or None)
        write_table(file, entries)
        typer.echo(f"Đã xuất {len(entries)} mục ra {file}.")

    @app.command("suggest")
    def suggest_command(
        bank_file: Annotated[Path, typer.Option("--bank", help="tệp ngân hàng câu hỏi (.jsonl như mẫu, .csv, .xlsx)")],
        file: Annotated[str, typer.Argument(help='các dòng JSON {"id","channel","subject","body"}; - là đầu vào chuẩn')] = "-",
    ) -> None:
        """Gợi ý tối đa 3 mục của ngân hàng câu hỏi cho mỗi dòng JSON (không cần cơ sở dữ liệu)."""
        from qbank.index_cache import cached_index
        from qbank.retrieve import suggest

        index = cached_index(_entries_from_file(bank_file))
        if file != "-" and not Path(file).exists():
            fail(f"không có tệp {file}")
        stream = sys.stdin if file == "-" else Path(file).open(encoding="utf-8")
        with stream:
            for row in read_lines(stream):
                suggestions = suggest(index, row.get("subject"), str(row.get("body") or ""))
                print_json_line({"id": row.get("id"), "suggestions": [s.to_json() for s in suggestions]})

    @app.command("evaluate-bank")
    def evaluate_bank_command(
        ctx: typer.Context,
        queries: Annotated[Path, typer.Argument(help="các dòng JSON có answer_ids (mục trả lời đúng; [] khi không có)")],
        bank_file: BankOption = None,
        as_json: Annotated[bool, typer.Option("--json", help="in kết quả dạng JSON")] = False,
    ) -> None:
        """hit@1, hit@3, MRR và tỉ lệ câu hỏi không có mục phù hợp được để trống gợi ý."""
        from qbank.evaluate import evaluate_bank, render
        from qbank.index_cache import cached_index

        entries = _entries_from_file(bank_file) if bank_file else _published_from_database(ctx)
        if not queries.exists():
            fail(f"không có tệp {queries}")
        with queries.open(encoding="utf-8") as stream:
            report = evaluate_bank(cached_index(entries), list(read_lines(stream)))
        if as_json:
            typer.echo(json.dumps(report.to_json(), ensure_ascii=False))
        else:
            typer.echo(render(report))
