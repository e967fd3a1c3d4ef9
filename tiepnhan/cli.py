"""The `tiepnhan` command line."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from pathlib import Path
from typing import Annotated, Any

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


RICH_UTILS_TEXTS = {
    "ARGUMENTS_PANEL_TITLE": "Tham số",
    "OPTIONS_PANEL_TITLE": "Tuỳ chọn",
    "COMMANDS_PANEL_TITLE": "Lệnh",
    "ERRORS_PANEL_TITLE": "Lỗi",
    "ABORTED_TEXT": "Đã dừng.",
    "DEFAULT_STRING": "[mặc định: {}]",
    "ENVVAR_STRING": "[biến môi trường: {}]",
    "REQUIRED_LONG_STRING": "[bắt buộc]",
    "DEPRECATED_STRING": "(không còn dùng) ",
    "RICH_HELP": "Xem [blue]'{command_path} {help_option}'[/] để biết cách dùng.",
}


class _VietnameseRichUtils(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Sets Typer's help-screen words (module constants of typer.rich_utils, read when a help
    screen or an error is drawn) in Vietnamese as that module is imported. Typer imports it only
    to draw one, and it costs a good part of a second (rich, markdown), so a command that draws
    none (`classify`, `tickets --json`) never loads it."""

    name = "typer.rich_utils"

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)  # find the real module the ordinary way, once
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None:
            return spec
        self._loader = spec.loader
        spec.loader = self
        return spec

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        self._loader.exec_module(module)
        _set_texts(module)


def _set_texts(module: types.ModuleType) -> None:
    for name, text in RICH_UTILS_TEXTS.items():
        setattr(module, name, text)


def _vietnamese_help_screens() -> None:
    """Click's and Typer's own words on the help screens, in Vietnamese.

    Typer's are set when it imports typer.rich_utils (see `_VietnameseRichUtils`); Click's
    --help option text is set where Typer's bundled Click builds that option
    (Command.get_help_option, cached per command).
    """
    from typer import _click as click

    if "typer.rich_utils" in sys.modules:
        _set_texts(sys.modules["typer.rich_utils"])
    elif not any(isinstance(finder, _VietnameseRichUtils) for finder in sys.meta_path):
        sys.meta_path.insert(0, _VietnameseRichUtils())
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
    from tiepnhan.broker_errors import BrokerUnavailable

    try:
        app()
    except BrokerUnavailable as exc:  # what was stored stays; the periodic jobs send it later
        sys.stderr.write(f"Lỗi: {exc}. Dữ liệu đã lưu; các việc định kỳ sẽ gửi lại khi Redis hoạt động.\n")
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
