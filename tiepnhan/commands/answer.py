"""`tiepnhan answer TICKET --text-file F`: answer a citizen by the channel they used (issue 14).

On the embedded default the command returns once the answer has been handed to the server (or
its failure recorded); with Redis a "notify" worker sends it. See docs/answers.md.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from tiepnhan.commands.common import console, database, fail, load, print_json_line

STATUS_LABELS = {
    "pending": "chờ gửi lại (lỗi tạm thời, sẽ thử lại)",
    "sending": "đang gửi",
    "sent": "đã gửi",
    "failed": "gửi thất bại",
    "refused": "không gửi được",
}
MAX_FILE_BYTES = 256 * 1024


def read_text(path: str) -> str:
    """The answer's text from a UTF-8 file, or standard input for `-`."""
    try:
        raw = sys.stdin.buffer.read(MAX_FILE_BYTES + 1) if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        fail(f"không đọc được tệp {path!r}: {exc.strerror or exc}")
    if len(raw) > MAX_FILE_BYTES:
        fail(f"tệp {path!r} lớn quá {MAX_FILE_BYTES // 1024} KB")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        fail(f"tệp {path!r} phải là văn bản UTF-8")


def register(app: typer.Typer) -> None:
    @app.command("answer")
    def answer_command(
        ctx: typer.Context,
        ticket: Annotated[str, typer.Argument(help="mã phiếu, ví dụ 12 hoặc TN-000012", metavar="PHIẾU")],
        text_file: Annotated[str, typer.Option("--text-file", metavar="TỆP", help="tệp văn bản UTF-8 chứa câu trả lời ('-': đọc từ đầu vào chuẩn)")],
        entry: Annotated[int | None, typer.Option("--entry", metavar="SỐ", help="số mục ngân hàng câu hỏi làm gốc cho câu trả lời")] = None,
        mode: Annotated[str | None, typer.Option("--mode", metavar="CÁCH", help="cách trả lời: email, messenger, comment_public, comment_private, zalo, portal (mặc định: theo kênh của phiếu)")] = None,
        as_name: Annotated[str | None, typer.Option("--as", metavar="TÊN", help="tên người trả lời (mặc định: TIEPNHAN_USER hoặc tên đăng nhập)")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="in kết quả dạng một dòng JSON")] = False,
    ) -> None:
        """Trả lời công dân qua kênh họ đã dùng; lời chào và chữ ký lấy từ mục answers của tệp cấu hình."""
        from notifiers.answer_delivery import submit_answer
        from tickets.answering import AnswerRefused
        from tickets.models import ticket_reference
        from tiepnhan.broker import BrokerUnavailable
        from tiepnhan.commands.escalations import acting_user
        from tiepnhan.commands.tickets import parse_ticket_id

        ticket_id = parse_ticket_id(ticket)
        text = read_text(text_file)
        settings = load(ctx)
        engine = database(settings)
        author = acting_user(as_name)
        if entry is not None:
            from qbank.models import BankEntryRow
            from tickets.db import session_scope

            with session_scope(engine) as session:
                if session.get(BankEntryRow, entry) is None:
                    fail(f"không có mục ngân hàng câu hỏi số {entry}; xem: tiepnhan bank export", 1)
        try:
            answer = submit_answer(engine, settings, ticket_id, text, author, entry_id=entry, mode=mode)
        except AnswerRefused as exc:
            fail(exc.reason_vi, 1)
        except BrokerUnavailable as exc:
            fail(f"{exc}. Câu trả lời đã được lưu, chưa gửi; lượt kiểm tra định kỳ sẽ gửi khi Redis hoạt động trở lại.", 1)
        queued = settings.redis_url is not None and answer.status == "pending" and answer.attempts == 0
        if as_json:
            print_json_line({"answer": answer.id, "ticket": ticket_reference(ticket_id), "mode": answer.mode, "status": answer.status, "queued": queued, "error": answer.last_error})
        elif queued:
            console.print(f"Câu trả lời số {answer.id} cho {ticket_reference(ticket_id)}: đã chuyển cho tiến trình gửi (hàng đợi notify).", highlight=False, markup=False)
        else:
            detail = f": {answer.last_error}" if answer.last_error and answer.status != "sent" else ""
            label = STATUS_LABELS.get(answer.status, answer.status)
            console.print(f"Câu trả lời số {answer.id} cho {ticket_reference(ticket_id)} ({answer.mode}): {label}{detail}", highlight=False, markup=False)
        if answer.status in ("failed", "refused"):
            raise typer.Exit(1)
