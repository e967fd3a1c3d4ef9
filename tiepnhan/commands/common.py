"""What every command needs: validated settings, the database, the broker, display helpers."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

if TYPE_CHECKING:  # imported when a command needs them, so `tiepnhan --help` starts fast
    from rich.console import Console
    from sqlalchemy.engine import Engine

    from config.settings import Settings


class _LazyConsole:
    """A rich Console made on first use: importing this module costs no rich import."""

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def real(self) -> Console:
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            setattr(self.real(), name, value)

    def __enter__(self) -> Console:  # rich's Live and Progress use the console as a context manager
        return self.real().__enter__()

    def __exit__(self, *exc: Any) -> None:
        self.real().__exit__(*exc)


def escape(text: str) -> str:
    """rich's markup escape, imported when first needed."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


console: Console = _LazyConsole(stderr=False)  # type: ignore[assignment]
err_console: Console = _LazyConsole(stderr=True)  # type: ignore[assignment]


def fail(message: str, code: int = 2) -> NoReturn:
    err_console.print(f"[bold red]Lỗi:[/] {message}", highlight=False)
    raise typer.Exit(code)


def config_file(ctx: typer.Context) -> Path | None:
    root = ctx.find_root()
    return root.obj.get("config") if isinstance(root.obj, dict) else None


def load(ctx: typer.Context, *, check_routing: bool = True, **overrides: Any) -> Settings:
    """Read and validate the configuration, exiting with every mistake listed.

    `check_routing=False`: a command that only reads tickets (`tickets`, `show`, `status`) does
    not load and validate the unit directory and routing rules (nor the province map they check
    codes against); every command that routes, escalates or sends still does."""
    from config.settings import ConfigError, load_settings
    from tiepnhan import runtime

    try:
        settings = load_settings(config_file(ctx), **overrides)
        if check_routing:
            from tickets.directory import routing

            routing(settings)  # the unit directory and routing rules are validated at start too
    except ConfigError as exc:
        err_console.print(f"[bold red]Cấu hình không hợp lệ[/] ({exc.origin}):", highlight=False)
        for problem in exc.problems:
            err_console.print(f"  - {problem}", highlight=False, markup=False)
        raise typer.Exit(2) from None
    from tiepnhan.logs import setup_logging

    setup_logging(settings)
    return runtime.configure(settings)


def database(settings: Settings) -> Engine:
    from tiepnhan import runtime

    try:
        return runtime.engine()
    except Exception as exc:  # noqa: BLE001 - shown to the operator, with the URL's password hidden
        fail(f"không mở được cơ sở dữ liệu {redact_url(settings.database_url)}: {exc}")


def redact_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "<url>"


def start_broker(settings: Settings) -> bool:
    """Install the configured broker; True when it is the in-process one."""
    from tiepnhan.broker import install_broker

    install_broker(settings)
    import tickets.actors  # noqa: F401  (declares the pipeline actors on it)

    return settings.redis_url is None


def local_time(value: datetime | None, tz: str = "Asia/Ho_Chi_Minh") -> str:
    from tickets.labels import format_time

    return format_time(value, tz)


def _cell(value: str) -> str:
    """A tab-separated cell: no tab or line break inside it."""
    return " ".join(value.split())


def print_rows(title: str, columns: Sequence[str], rows: Iterable[Sequence[str]], *, widths: Mapping[str, int] | None = None) -> None:
    """A table on a terminal; every column, tab-separated with a header line, when piped.

    On a terminal long cells are cut to `widths` so the table fits; in a pipe nothing is cut.
    """
    rows = list(rows)
    if not console.is_terminal:
        out = sys.stdout
        out.write("\t".join(columns) + "\n")
        for row in rows:
            out.write("\t".join(_cell(cell) for cell in row) + "\n")
        out.flush()
        return
    from rich.table import Table
    from rich.text import Text

    widths = widths or {}
    table = Table(title=title)
    for header in columns:
        limit = widths.get(header)
        table.add_column(header, no_wrap=True, overflow="ellipsis", max_width=limit)
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))  # Text: a citizen's "[bold]" stays text
    console.print(table)


def print_json_line(data: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
