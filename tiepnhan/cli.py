"""The `tiepnhan` command line."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Annotated

import typer

# Each module registers its commands with `register(app)`; they import heavy things lazily,
# so `tiepnhan classify` runs without touching a database or a broker.
COMMAND_MODULES = (
    "tiepnhan.commands.intake",
    "tiepnhan.commands.tickets",
    "tiepnhan.commands.ops",
    "tiepnhan.commands.classify",
    "tiepnhan.commands.poll",
    "tiepnhan.commands.web",
    "tiepnhan.commands.escalations",
)

app = typer.Typer(
    name="tiepnhan",
    help="tiepnhan — tiếp nhận thư điện tử và tin nhắn fanpage của BHXH Việt Nam thành phiếu.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"tiepnhan {version('tiepnhan')}")
        raise typer.Exit()


@app.callback()
def options(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", envvar="TIEPNHAN_CONFIG", help="Tệp cấu hình TOML (mặc định ./tiepnhan.toml nếu có)."),
    ] = None,
    show_version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="In phiên bản rồi thoát.")
    ] = False,
) -> None:
    ctx.obj = {"config": config}


for _module in COMMAND_MODULES:
    importlib.import_module(_module).register(app)


def main() -> None:
    from tiepnhan.broker import BrokerUnavailable

    try:
        app()
    except BrokerUnavailable as exc:  # what was stored stays; the periodic jobs send it later
        import sys

        sys.stderr.write(f"Lỗi: {exc}. Dữ liệu đã lưu; các việc định kỳ sẽ gửi lại khi Redis hoạt động.\n")
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
