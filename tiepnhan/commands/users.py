"""Users of the web app.

    tiepnhan users add NAME --role coordinator|office|viewer|admin|agent [--unit UNIT] [--password-env VAR] [--display-name TEXT]
    tiepnhan users list [--json]
    tiepnhan users disable NAME
    tiepnhan users set-password NAME [--password-env VAR]
    tiepnhan users token NAME            (prints a new API token alone on its last line)

Passwords come from an environment variable (--password-env) or are asked for at the
terminal (twice, not echoed); they are never given on the command line (shell history, ps).
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from tiepnhan.commands.common import console, database, escape, fail, load, local_time, print_json_line

NameArgument = Annotated[str, typer.Argument(help="tên đăng nhập")]
PasswordEnv = Annotated[str | None, typer.Option("--password-env", help="đọc mật khẩu từ biến môi trường này")]


def read_password(password_env: str | None, *, required: bool) -> str | None:
    if password_env:
        value = os.environ.get(password_env)
        if value is None:
            fail(f"biến môi trường {password_env} chưa được đặt")
        return value
    if not required:
        return None
    return str(typer.prompt("Mật khẩu", hide_input=True, confirmation_prompt="Nhập lại mật khẩu"))


def register(app: typer.Typer) -> None:
    users_app = typer.Typer(help="Người dùng trang web: thêm, liệt kê, khóa, đặt mật khẩu, cấp mã truy cập API.", no_args_is_help=True)
    app.add_typer(users_app, name="users")

    @users_app.command("add")
    def add_command(
        ctx: typer.Context,
        name: NameArgument,
        role: Annotated[str, typer.Option("--role", help="vai trò: coordinator (điều phối) | office (đơn vị) | viewer (xem) | admin (quản trị) | agent (trả lời công dân)")],
        unit: Annotated[list[str] | None, typer.Option("--unit", help="đơn vị duy nhất của người dùng office, ví dụ province-79")] = None,
        password_env: PasswordEnv = None,
        display_name: Annotated[str, typer.Option("--display-name", help="tên hiển thị trên trang")] = "",
        no_password: Annotated[bool, typer.Option("--no-password", help="không có mật khẩu: chỉ dùng mã truy cập API")] = False,
    ) -> None:
        """Thêm một người dùng (người dùng office cần đúng một đơn vị)."""
        from access.users import UserError, create_user
        from tickets.directory import routing

        settings = load(ctx)
        if unit and len(unit) > 1:
            fail(f"người dùng vai trò office chỉ thuộc đúng một đơn vị, không phải {len(unit)} đơn vị ({', '.join(unit)})")
        password = None if no_password else read_password(password_env, required=True)
        try:
            user = create_user(
                database(settings), name, role, known_units=routing(settings).units, unit_id=unit[0] if unit else None,
                password=password, display_name=display_name,
            )
        except UserError as exc:
            fail(str(exc))
        where = f", đơn vị {user.unit_id}" if user.unit_id else ""
        console.print(f"Đã thêm người dùng {escape(user.name)} (vai trò {user.role}{where}).", highlight=False)

    @users_app.command("list")
    def list_command(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="mỗi dòng một đối tượng JSON")] = False) -> None:
        """Liệt kê người dùng."""
        from access.users import list_users

        settings = load(ctx)
        users = list_users(database(settings))
        if as_json:
            for u in users:
                print_json_line({"name": u.name, "display_name": u.display_name, "role": u.role, "unit": u.unit_id, "disabled": u.disabled,
                                 "created_at": u.created_at.isoformat(), "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None})
            return
        from rich.table import Table

        table = Table(title=f"Người dùng ({len(users)})")
        for header in ("Tên đăng nhập", "Tên hiển thị", "Vai trò", "Đơn vị", "Trạng thái", "Đăng nhập gần nhất"):
            table.add_column(header)
        for u in users:
            table.add_row(escape(u.name), escape(u.display_name), u.role, u.unit_id or "", "đã khóa" if u.disabled else "hoạt động",
                          local_time(u.last_login_at, settings.timezone))
        console.print(table)

    @users_app.command("disable")
    def disable_command(ctx: typer.Context, name: NameArgument) -> None:
        """Khóa một người dùng: đăng xuất mọi phiên, thu hồi các mã truy cập API của người đó."""
        from access.users import UserError, disable_user

        settings = load(ctx)
        try:
            disable_user(database(settings), name)
        except UserError as exc:
            fail(str(exc))
        console.print(f"Đã khóa người dùng {escape(name)}; mọi phiên đăng nhập trang web của người này đã bị đăng xuất, các mã truy cập API không còn dùng được.", highlight=False)

    @users_app.command("set-password")
    def set_password_command(ctx: typer.Context, name: NameArgument, password_env: PasswordEnv = None) -> None:
        """Đặt mật khẩu mới (hỏi tại màn hình, hoặc --password-env); mọi phiên đăng nhập cũ kết thúc."""
        from access.users import UserError, set_password

        settings = load(ctx)
        password = read_password(password_env, required=True) or ""
        try:
            set_password(database(settings), name, password)
        except UserError as exc:
            fail(str(exc))
        console.print(f"Đã đặt mật khẩu mới cho {escape(name)}; mọi phiên đăng nhập trang web của người này đã bị đăng xuất.", highlight=False)

    @users_app.command("token")
    def token_command(ctx: typer.Context, name: NameArgument) -> None:
        """Cấp một mã truy cập API mới, in riêng trên dòng cuối."""
        from access.users import UserError, issue_token

        settings = load(ctx)
        try:
            token = issue_token(database(settings), name)
        except UserError as exc:
            fail(str(exc))
        console.print(f"Mã truy cập API mới của {escape(name)} (chỉ hiện một lần; gửi kèm: Authorization: Bearer …):", highlight=False)
        print(token, flush=True)
