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
    "tiepnhan.commands.users",
    "tiepnhan.commands.bank",
    "tiepnhan.commands.report",
    "tiepnhan.commands.calls",
    "tiepnhan.commands.answer",
)

HELP_OPTION_TEXT = "In hướng dẫn này rồi thoát."


def _vietnamese_help_screens() -> None:
    """Click's and Typer's own words on the help screens, in Vietnamese.

    Typer reads these module constants when it draws a help screen; Click's --help option text
    is set where Typer's bundled Click builds that option (Command.get_help_option, cached
    per command).
    """
    from typer import _click as click
    from typer import rich_utils

    rich_utils.ARGUMENTS_PANEL_TITLE = "Tham số"
    rich_utils.OPTIONS_PANEL_TITLE = "Tuỳ chọn"
    rich_utils.COMMANDS_PANEL_TITLE = "Lệnh"
    rich_utils.ERRORS_PANEL_TITLE = "Lỗi"
    rich_utils.ABORTED_TEXT = "Đã dừng."
    rich_utils.DEFAULT_STRING = "[mặc định: {}]"
    rich_utils.ENVVAR_STRING = "[biến môi trường: {}]"
    rich_utils.REQUIRED_LONG_STRING = "[bắt buộc]"
    rich_utils.DEPRECATED_STRING = "(không còn dùng) "
    rich_utils.RICH_HELP = "Xem [blue]'{command_path} {help_option}'[/] để biết cách dùng."
    original = click.Command.get_help_option
    if getattr(original, "_vietnamese", False):
        return

    def get_help_option(self: click.Command, ctx: click.Context) -> click.Option | None:
        option = original(self, ctx)
        if option is not None:
            option.help = HELP_OPTION_TEXT
        return option

    get_help_option._vietnamese = True  # type: ignore[attr-defined]
    click.Command.get_help_option = get_help_option  # type: ignore[method-assign]


_vietnamese_help_screens()

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
