"""Coordinator commands: review, re-route, reject escalations; resolve tickets; list units.

    tiepnhan escalations [--status S] [--unit U] [--ticket T] [--json]
    tiepnhan escalation approve ID | reroute ID --to UNIT | reject ID --reason TEXT | retry ID
    tiepnhan escalate TICKET --to UNIT      (by hand, to a unit no rule chose)
    tiepnhan resolve TICKET
    tiepnhan units [--json]

Each decision is recorded with the acting user: --by, else TIEPNHAN_USER, else the login name.
On the embedded default `approve` returns once the mail has been handed to the SMTP server (or
its failure recorded); with Redis the "notify" workers send it.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tickets.labels import ESCALATION_STATUSES, category_label
from tiepnhan.commands.common import console, database, fail, load, local_time, print_json_line, print_rows
from tiepnhan.commands.tickets import parse_ticket_id

if TYPE_CHECKING:  # the rest is imported when a command runs, so the CLI starts fast
    from config.settings import Settings
    from tickets.escalation_models import Escalation
    from tickets.models import Ticket


def ticket_reference(ticket_id: int) -> str:
    from tickets.models import ticket_reference as reference

    return reference(ticket_id)


def routing(settings: Settings) -> Any:
    from tickets.directory import routing as load_routing

    return load_routing(settings)

STATUS_LABELS = ESCALATION_STATUSES
OUTCOME_LABELS = {
    "sent": "đã gửi tới máy chủ thư",
    "queued": "đã xếp vào thư tổng hợp hằng ngày của đơn vị",
    "refused": "chưa gửi được",
    "retry": "gửi lỗi, sẽ thử lại",
    "failed": "gửi thất bại",
    "skipped": "không cần gửi lại",
}
EscalationId = Annotated[int, typer.Argument(help="số đề xuất (xem: tiepnhan escalations)")]
ByOption = Annotated[str | None, typer.Option("--by", help="người quyết định (mặc định: TIEPNHAN_USER hoặc tên đăng nhập)")]


def acting_user(by: str | None) -> str:
    if by:
        return by
    return os.environ.get("TIEPNHAN_USER") or getpass.getuser()


def tickets_of(escalations: list[Escalation]) -> dict[int, Ticket]:
    """The tickets the escalations belong to, by id (one query per 500)."""
    from sqlalchemy import select

    from tickets.db import session_scope
    from tickets.models import Ticket
    from tiepnhan import runtime

    ids = sorted({e.ticket_id for e in escalations})
    found: dict[int, Ticket] = {}
    with session_scope(runtime.engine()) as session:
        for start in range(0, len(ids), 500):
            rows = session.execute(select(Ticket).where(Ticket.id.in_(ids[start : start + 500]))).scalars()  # type: ignore[union-attr]
            found.update({t.id: t for t in rows if t.id is not None})
    return found


def escalation_json(escalation: Escalation, ticket: Ticket | None = None) -> dict[str, Any]:
    """The escalation as JSON; with its ticket, also the ticket's subject and category."""
    extra: dict[str, Any] = {"subject": ticket.subject, "category": ticket.category} if ticket is not None else {}
    return {
        "id": escalation.id,
        "ticket_id": escalation.ticket_id,
        "ticket": ticket_reference(escalation.ticket_id),
        "unit": escalation.unit_id,
        "status": escalation.status,
        "rule": escalation.rule,
        "priority": escalation.priority,
        "created_at": escalation.created_at.isoformat(),
        "decided_by": escalation.decided_by,
        "reason": escalation.reason,
        "sent_at": escalation.sent_at.isoformat() if escalation.sent_at else None,
        "due_at": escalation.due_at.isoformat() if escalation.due_at else None,
        "acknowledged_at": escalation.acknowledged_at.isoformat() if escalation.acknowledged_at else None,
        "attempts": escalation.attempts,
        "last_error": escalation.last_error,
        **extra,
    }


def print_escalations(escalations: list[Escalation], settings: Settings) -> None:
    units = routing(settings).units
    from notifiers.compose import PRIORITY_NAMES

    tickets = tickets_of(escalations)
    rows = []
    for e in escalations:
        unit = units.get(e.unit_id)
        name = unit.name.replace("Bảo hiểm xã hội", "BHXH") if unit else e.unit_id
        ticket = tickets.get(e.ticket_id)
        rows.append((
            str(e.id), ticket_reference(e.ticket_id), ticket.subject if ticket else "", category_label(ticket.category if ticket else None),
            name, STATUS_LABELS.get(e.status, e.status), PRIORITY_NAMES.get(e.priority, e.priority),
            local_time(e.due_at, settings.timezone), e.last_error or e.reason or "",
        ))
    print_rows(
        f"Đề xuất chuyển xử lý ({len(escalations)})",
        ("Số", "Phiếu", "Tiêu đề", "Phân loại", "Đơn vị", "Trạng thái", "Ưu tiên", "Hạn", "Ghi chú"),
        rows,
        widths={"Tiêu đề": 30, "Đơn vị": 24, "Ghi chú": 24},
    )


def _decided(settings: Settings, escalation: Escalation, verb: str) -> None:
    console.print(f"Đề xuất số {escalation.id} ({ticket_reference(escalation.ticket_id)} → {escalation.unit_id}): {verb}.", highlight=False)


def _send_now(settings: Settings, escalation: Escalation) -> None:
    from notifiers.dispatch import request_delivery
    from tiepnhan.broker import BrokerUnavailable

    try:
        outcome = request_delivery(escalation.id or 0, settings)
    except BrokerUnavailable as exc:
        fail(f"{exc}. Đề xuất số {escalation.id} chưa được gửi; lượt kiểm tra định kỳ sẽ gửi khi Redis hoạt động trở lại.", 1)
    if outcome is None:
        console.print("Đã chuyển cho tiến trình gửi thư (hàng đợi notify).")
        return
    from tickets.db import session_scope
    from tickets.escalation_models import Escalation

    with session_scope(database(settings)) as session:
        current = session.get(Escalation, escalation.id)
    detail = f": {current.last_error}" if current is not None and current.last_error and outcome.value != "sent" else ""
    console.print(f"Gửi: {OUTCOME_LABELS.get(outcome.value, outcome.value)}{detail}", highlight=False, markup=False)
    if outcome.value in ("failed",):
        raise typer.Exit(1)


def _decide(settings: Settings, action: Callable[[], Escalation], verb: str, *, send: bool) -> None:
    """Run one coordinator decision; a refused transition exits 1 with its reason."""
    from tickets.escalations import TransitionError

    try:
        escalation = action()
    except TransitionError as exc:
        fail(str(exc), 1)
    _decided(settings, escalation, verb)
    if send:
        _send_now(settings, escalation)


def _require_unit(settings: Settings, unit_id: str) -> None:
    if unit_id not in routing(settings).units:
        fail(f"không có đơn vị {unit_id!r} trong danh bạ ({settings.units_file}); xem: tiepnhan units", 1)


def register(app: typer.Typer) -> None:
    escalation_app = typer.Typer(help="Xử lý một đề xuất chuyển: duyệt (approve), chuyển đơn vị khác (reroute), từ chối (reject), gửi lại (retry).", no_args_is_help=True)
    app.add_typer(escalation_app, name="escalation")

    @app.command("escalations")
    def list_command(
        ctx: typer.Context,
        status: Annotated[str | None, typer.Option(help="trạng thái: " + ", ".join(STATUS_LABELS))] = None,
        unit: Annotated[str | None, typer.Option(help="mã đơn vị, ví dụ province-79")] = None,
        ticket: Annotated[str | None, typer.Option(help="mã phiếu, ví dụ 12 hoặc TN-000012")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="in dạng JSON, mỗi dòng một đối tượng")] = False,
    ) -> None:
        """Danh sách đề xuất chuyển xử lý (đề xuất chờ duyệt: --status proposed)."""
        from tickets.escalations import list_escalations

        settings = load(ctx)
        engine = database(settings)
        if status and status not in STATUS_LABELS:
            fail(f"trạng thái không hợp lệ: {status!r}; dùng một trong: {', '.join(STATUS_LABELS)}")
        rows = list_escalations(engine, status, unit, parse_ticket_id(ticket) if ticket else None)
        if as_json:
            tickets = tickets_of(rows)
            for row in rows:
                print_json_line(escalation_json(row, tickets.get(row.ticket_id)))
        else:
            print_escalations(rows, settings)

    @escalation_app.command("approve")
    def approve_command(ctx: typer.Context, escalation_id: EscalationId, by: ByOption = None, note: Annotated[str | None, typer.Option(help="ghi chú gửi kèm cho đơn vị")] = None) -> None:
        """Duyệt một đề xuất và gửi ngay cho đơn vị."""
        from tickets.escalations import approve

        settings = load(ctx)
        engine = database(settings)
        _decide(settings, lambda: approve(engine, escalation_id, acting_user(by), note), "đã duyệt", send=True)

    @escalation_app.command("reroute")
    def reroute_command(
        ctx: typer.Context,
        escalation_id: EscalationId,
        to: Annotated[str, typer.Option("--to", help="mã đơn vị nhận thay")],
        reason: Annotated[str | None, typer.Option(help="lý do")] = None,
        by: ByOption = None,
    ) -> None:
        """Chuyển đề xuất sang đơn vị khác (coi như đã duyệt cho đơn vị đó) và gửi ngay."""
        from tickets.escalations import reroute

        settings = load(ctx)
        engine = database(settings)
        _require_unit(settings, to)
        _decide(settings, lambda: reroute(engine, escalation_id, to, acting_user(by), reason), "đã chuyển đơn vị", send=True)

    @escalation_app.command("reject")
    def reject_command(
        ctx: typer.Context,
        escalation_id: EscalationId,
        reason: Annotated[str, typer.Option(help="lý do (lưu trên phiếu)")],
        by: ByOption = None,
    ) -> None:
        """Từ chối một đề xuất: phiếu ở lại Trung tâm."""
        from tickets.escalations import reject

        settings = load(ctx)
        engine = database(settings)
        if not reason.strip():
            fail("cần ghi lý do từ chối (--reason)")
        _decide(settings, lambda: reject(engine, escalation_id, acting_user(by), reason), "đã từ chối", send=False)

    @escalation_app.command("retry")
    def retry_command(ctx: typer.Context, escalation_id: EscalationId) -> None:
        """Gửi lại ngay một đề xuất đã duyệt (sau khi sửa địa chỉ hoặc cấu hình SMTP)."""
        from tickets.escalations import TransitionError, reopen_failed

        settings = load(ctx)
        try:
            escalation = reopen_failed(database(settings), escalation_id)
        except TransitionError as exc:
            fail(str(exc), 1)
        _send_now(settings, escalation)

    @app.command("escalate")
    def escalate_command(
        ctx: typer.Context,
        ticket: Annotated[str, typer.Argument(help="mã phiếu, ví dụ 12 hoặc TN-000012")],
        to: Annotated[str, typer.Option("--to", help="mã đơn vị, ví dụ province-79")],
        reason: Annotated[str | None, typer.Option(help="ghi chú gửi kèm cho đơn vị")] = None,
        sla_hours: Annotated[
            float | None, typer.Option(min=1, help="hạn phản hồi, tính bằng giờ; bỏ trống: hạn của đơn vị, nếu không có thì 240 giờ")
        ] = None,
        by: ByOption = None,
    ) -> None:
        """Chuyển một phiếu cho đơn vị theo chỉ định (gửi ngay)."""
        from tickets.escalations import escalate_by_hand

        settings = load(ctx)
        engine = database(settings)
        _require_unit(settings, to)
        ticket_id = parse_ticket_id(ticket)
        _decide(settings, lambda: escalate_by_hand(engine, ticket_id, to, acting_user(by), reason, sla_hours), "đã tạo", send=True)

    @app.command("resolve")
    def resolve_command(
        ctx: typer.Context,
        ticket: Annotated[str, typer.Argument(help="mã phiếu, ví dụ 12 hoặc TN-000012")],
        reason: Annotated[str | None, typer.Option(help="kết quả giải quyết")] = None,
        by: ByOption = None,
    ) -> None:
        """Đánh dấu phiếu đã giải quyết, đóng cả các đề xuất chuyển xử lý của phiếu."""
        from tickets.escalations import TransitionError, resolve_ticket

        settings = load(ctx)
        engine = database(settings)
        ticket_id = parse_ticket_id(ticket)
        try:
            closed = resolve_ticket(engine, ticket_id, acting_user(by), reason)
        except TransitionError as exc:
            fail(str(exc), 1)
        console.print(f"Phiếu {ticket_reference(ticket_id)}: đã giải quyết ({len(closed)} đề xuất chuyển xử lý đóng theo).")

    @app.command("units")
    def units_command(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="in dạng JSON, mỗi dòng một đơn vị")] = False) -> None:
        """Danh sách đơn vị nhận chuyển xử lý và đơn vị nào gửi được."""
        settings = load(ctx)
        units = routing(settings).units.units
        if as_json:
            for unit in units:
                print_json_line({"id": unit.id, "name": unit.name, "kind": unit.kind, "emails": list(unit.emails), "reachable": unit.why_unreachable() is None, "problem": unit.why_unreachable()})
            return
        rows = [(u.id, u.name, ", ".join(u.emails) or (u.webhook_url or ""), "có" if u.why_unreachable() is None else "chưa") for u in units]
        print_rows(f"Đơn vị nhận chuyển xử lý ({len(units)})", ("Mã", "Tên", "Địa chỉ", "Gửi được"), rows, widths={"Tên": 40, "Địa chỉ": 30})
