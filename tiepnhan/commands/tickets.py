"""Commands that show tickets: `tickets` (a list) and `show` (one ticket in full)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tickets.labels import TICKET_STATUSES
from tiepnhan.commands.common import console, database, err_console, fail, load, print_json_line, print_rows

if TYPE_CHECKING:  # imported when a command runs (tiepnhan --help starts without them)
    from sqlalchemy import Select
    from sqlalchemy.engine import Engine

    from tickets.models import Attachment, Message, Ticket, TicketEvent

DEFAULT_TABLE_LIMIT = 50  # the table view's default --limit; --limit 0 shows every ticket
MORE_COUNT_CAP = 10_000  # "còn hơn 10.000 phiếu nữa": counting further would cost what the table saves
STREAM_CHUNK = 500  # tickets --json: rows fetched (and their messages' ids looked up) at a time
STATUS_LABELS = TICKET_STATUSES  # kept for callers importing it from here


def read_session(engine: Engine) -> Any:
    """A session for reading: on SQLite it begins DEFERRED (tickets.db.read_scope), so a long
    listing never holds the writer lock the pipeline needs."""
    from tickets.db import read_scope

    return read_scope(engine)


def parse_ticket_id(value: str) -> int:
    text = value.strip().upper().removeprefix("TN-")
    if not text.isdigit():
        fail(f"mã phiếu không hợp lệ: {value!r} (ví dụ: 12 hoặc TN-000012)")
    return int(text)


def ticket_query(status: str | None = None, province: str | None = None, limit: int | None = None) -> Select[Any]:
    """Tickets in number order, filtered; served by ix_ticket_status_id / ix_ticket_province_id."""
    from sqlalchemy import select

    from tickets.models import Ticket

    query = select(Ticket).order_by(Ticket.id)  # type: ignore[arg-type]
    if status:
        query = query.where(Ticket.status == status)
    if province:
        query = query.where(Ticket.province_code == province)
    if limit:
        query = query.limit(limit)
    return query


def query_tickets(status: str | None = None, province: str | None = None, limit: int | None = None) -> list[Ticket]:
    from tiepnhan import runtime

    with read_session(runtime.engine()) as session:
        tickets = list(session.execute(ticket_query(status, province, limit)).scalars())
        session.expunge_all()  # kept as read: a closing rollback would expire them
    return tickets


def count_beyond(engine: Engine, shown: int, status: str | None = None, province: str | None = None) -> int:
    """How many matching tickets come after the first `shown`, counted up to MORE_COUNT_CAP
    (so the answer costs the same in a database of a thousand tickets or of millions)."""
    from sqlalchemy import func, select

    from tickets.models import Ticket

    matching = ticket_query(status, province).with_only_columns(Ticket.id).limit(shown + MORE_COUNT_CAP + 1)  # type: ignore[arg-type]
    with read_session(engine) as session:
        total = int(session.execute(select(func.count()).select_from(matching.subquery())).scalar_one())
    return max(0, total - shown)


def stream_tickets(engine: Engine, status: str | None = None, province: str | None = None, limit: int | None = None) -> Iterator[tuple[Ticket, list[str]]]:
    """Each matching ticket with its messages' external ids, read STREAM_CHUNK at a time
    (a server-side cursor on PostgreSQL): memory stays flat however many tickets there are."""
    with read_session(engine) as session:
        result = session.execute(ticket_query(status, province, limit).execution_options(yield_per=STREAM_CHUNK))
        for chunk in result.scalars().partitions():
            ids = external_ids_in(session, [t.id for t in chunk if t.id is not None])
            for ticket in chunk:
                yield ticket, ids.get(ticket.id or 0, [])
            # Nothing keeps the chunk: the session's identity map holds its objects weakly.


def ticket_json(ticket: Ticket, external_ids: list[str]) -> dict[str, Any]:
    return {
        "id": ticket.id,
        "reference": ticket.reference,
        "channel": ticket.channel,
        "source": ticket.source,
        "subject": ticket.subject,
        "sender": ticket.sender_address,
        "sender_name": ticket.sender_name,
        "status": ticket.status,
        "insurance_types": ticket.insurance_types,
        "province_code": ticket.province_code,
        "category": ticket.category,
        "topics": ticket.topics,
        "confidence": ticket.tag_confidence,
        "message_count": ticket.message_count,
        "created_at": ticket.created_at.isoformat(),
        "updated_at": ticket.updated_at.isoformat(),
        "first_response_at": ticket.first_response_at.isoformat() if ticket.first_response_at else None,
        "external_ids": external_ids,
    }


def external_ids_in(session: Any, ticket_ids: list[int]) -> dict[int, list[str]]:
    from sqlalchemy import select

    from tickets.models import Message

    found: dict[int, list[str]] = {tid: [] for tid in ticket_ids}
    for start in range(0, len(ticket_ids), 500):
        chunk = ticket_ids[start : start + 500]
        rows = session.execute(
            select(Message.ticket_id, Message.external_id).where(Message.ticket_id.in_(chunk)).order_by(Message.id)  # type: ignore[union-attr, arg-type]
        )
        for ticket_id, external_id in rows:
            found[ticket_id].append(external_id)
    return found


def external_ids_by_ticket(ticket_ids: list[int]) -> dict[int, list[str]]:
    from tiepnhan import runtime

    with read_session(runtime.engine()) as session:
        return external_ids_in(session, ticket_ids)


TICKET_COLUMNS = ("Mã", "Kênh", "Người gửi", "Tiêu đề", "Loại BH", "Tỉnh", "Phân loại", "Tin", "Trạng thái")


def ticket_row(ticket: Ticket) -> tuple[str, ...]:
    from tickets.labels import category_label, channel_label, insurance_label, province_label, status_label

    return (
        ticket.reference,
        channel_label(ticket.channel, short=True),
        ticket.sender_name or ticket.sender_address or "",
        ticket.subject,
        insurance_label(ticket.insurance_types),
        province_label(ticket.province_code).replace(" Thành phố ", " "),
        category_label(ticket.category),
        str(ticket.message_count),
        status_label(ticket.status),
    )


def _count_text(number: int) -> str:
    return f"{number:,}".replace(",", ".")  # Vietnamese groups thousands with dots


def print_ticket_table(status: str | None = None, province: str | None = None, limit: int | None = None) -> None:
    """The first `limit` tickets (all with None or 0), then how many more there are."""
    from tiepnhan import runtime

    tickets = query_tickets(status, province, limit or None)
    print_rows(
        f"Phiếu tiếp nhận ({len(tickets)})",
        TICKET_COLUMNS,
        [ticket_row(t) for t in tickets],
        widths={"Người gửi": 18, "Tiêu đề": 36, "Tỉnh": 16},
    )
    if limit and len(tickets) == limit:
        more = count_beyond(runtime.engine(), limit, status, province)
        if more:
            amount = f"hơn {_count_text(MORE_COUNT_CAP)}" if more > MORE_COUNT_CAP else _count_text(more)
            # stderr: a piped table stays data only
            err_console.print(f"Còn {amount} phiếu nữa; dùng --limit 0 để xem tất cả, hoặc --limit N.", highlight=False)


def check_province(code: str) -> str:
    from tickets.places import province_codes

    value = code.strip()
    if value not in province_codes():
        fail(f"mã tỉnh/thành không hợp lệ: {code!r}; dùng mã 2 chữ số của 34 tỉnh/thành (bản đồ 2025): {', '.join(province_codes())}")
    return value


STATUS_HELP = "trạng thái: " + ", ".join(f"`{name}` ({label})" for name, label in TICKET_STATUSES.items())


def register(app: typer.Typer) -> None:
    @app.command("tickets")
    def list_tickets(
        ctx: typer.Context,
        as_json: Annotated[bool, typer.Option("--json", help="in dạng JSON, mỗi dòng một phiếu (tất cả phiếu, đọc dần từng phần)")] = False,
        status: Annotated[str | None, typer.Option(help=STATUS_HELP)] = None,
        province: Annotated[str | None, typer.Option(help="mã tỉnh/thành 2 chữ số (bản đồ 34 tỉnh/thành từ 2025)")] = None,
        limit: Annotated[
            int | None,
            typer.Option(min=0, help=f"số phiếu tối đa (bảng: mặc định {DEFAULT_TABLE_LIMIT}; 0 là tất cả; --json: mặc định tất cả)"),
        ] = None,
    ) -> None:
        """Danh sách phiếu tiếp nhận."""
        settings = load(ctx, check_routing=False)
        engine = database(settings)
        if status and status not in STATUS_LABELS:
            fail(f"trạng thái không hợp lệ: {status!r}; dùng một trong: {', '.join(STATUS_LABELS)}")
        if province is not None:
            province = check_province(province)
        if not as_json:
            print_ticket_table(status, province, DEFAULT_TABLE_LIMIT if limit is None else limit)
            return
        for ticket, external_ids in stream_tickets(engine, status, province, limit or None):
            print_json_line(ticket_json(ticket, external_ids))

    @app.command()
    def show(ctx: typer.Context, ticket: Annotated[str, typer.Argument(help="mã phiếu, ví dụ 12 hoặc TN-000012")]) -> None:
        """Xem một phiếu: tin nhắn, nhãn kèm căn cứ, nhật ký."""
        from sqlalchemy import select

        from tickets.models import Attachment, Message, ThreadKey, Ticket, TicketEvent, ticket_reference

        settings = load(ctx, check_routing=False)
        engine = database(settings)
        ticket_id = parse_ticket_id(ticket)
        with read_session(engine) as session:
            row = session.get(Ticket, ticket_id)
            if row is None:
                fail(f"không có phiếu {ticket_reference(ticket_id)}", 1)
            messages = list(session.execute(select(Message).where(Message.ticket_id == ticket_id).order_by(Message.id)).scalars())  # type: ignore[arg-type]
            attachments = list(session.execute(select(Attachment).where(Attachment.message_id.in_([m.id for m in messages]))).scalars())  # type: ignore[attr-defined]
            events = list(session.execute(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id)).scalars())  # type: ignore[arg-type]
            keys = list(session.execute(select(ThreadKey.key).where(ThreadKey.ticket_id == ticket_id)).scalars())  # type: ignore[arg-type]
            session.expunge_all()  # kept as read: a closing rollback would expire them
        print_ticket(row, messages, attachments, events, keys)
        _print_bank_suggestions(engine, row)


def print_ticket(ticket: Ticket, messages: list[Message], attachments: list[Attachment], events: list[TicketEvent], keys: list[str]) -> None:
    """The ticket's header, the citizen's messages, then the tags with their evidence, then the log."""
    from rich.markup import escape

    from tickets.labels import category_label, channel_label, describe_event, format_time, insurance_label, province_label, status_label

    console.rule(f"[bold]{ticket.reference}[/] {escape(ticket.subject)}", style="cyan")
    console.print(f"Kênh: {channel_label(ticket.channel)} ({ticket.source})   Trạng thái: {status_label(ticket.status)}", markup=False, highlight=False)
    console.print(f"Người gửi: {ticket.sender_name or ''} <{ticket.sender_address or ''}>", markup=False, highlight=False)
    console.print(f"Tạo lúc: {format_time(ticket.created_at)}   Cập nhật: {format_time(ticket.updated_at)}"
                  + (f"   Phản hồi đầu tiên: {format_time(ticket.first_response_at)}" if ticket.first_response_at else ""), highlight=False)
    console.print()
    by_message: dict[int, list[Attachment]] = {}
    for attachment in attachments:
        by_message.setdefault(attachment.message_id, []).append(attachment)
    for message in messages:
        arrow = "→" if message.direction == "inbound" else "←"
        flags = " [tự động trả lời]" if message.is_auto_reply else ""
        flags += " [thư báo lỗi]" if message.is_bounce else ""
        flags += " [đã xoá]" if message.is_deleted else ""
        who = escape(message.sender_name or message.sender_address or "")
        console.rule(f"{arrow} {who} · {format_time(message.sent_at or message.received_at)}{escape(flags)}", style="dim", characters="·")
        console.print(message.clean_text or "(trống)", markup=False, highlight=False)
        for attachment in by_message.get(message.id or 0, []):
            note = f" — bỏ qua: {attachment.skipped_reason}" if attachment.skipped_reason else ""
            console.print(f"  📎 {attachment.filename} ({attachment.content_type}, {attachment.size} byte){note}", markup=False)
    console.print()
    console.print("[bold]Nhãn[/]")
    confidence = ticket.tag_confidence or {}
    console.print(f"  Loại bảo hiểm: {insurance_label(ticket.insurance_types) or '(không có)'}  (độ tin cậy {confidence.get('insurance_types', 0):.0%})", highlight=False)
    console.print(f"  Tỉnh/thành: {province_label(ticket.province_code) or '(chưa xác định)'}  (độ tin cậy {confidence.get('province', 0):.0%})", highlight=False)
    console.print(f"  Phân loại: {category_label(ticket.category)}  (độ tin cậy {confidence.get('category', 0):.0%})", highlight=False)
    if ticket.topics:
        console.print(f"  Chủ đề: {', '.join(ticket.topics)}", markup=False, highlight=False)
    if ticket.tag_evidence:
        console.print("  Căn cứ:")
        for evidence in ticket.tag_evidence:
            where = "tiêu đề" if evidence.get("field") == "subject" else "nội dung"
            console.print(f"    - {evidence_tag_label(str(evidence.get('tag', '')))}: «{evidence.get('phrase')}» ({where}, ký tự {evidence.get('start')}–{evidence.get('end')})", markup=False, highlight=False)
    console.print()
    unit_names = _unit_names()
    _print_escalations(ticket.id or 0, unit_names)
    console.print("[bold]Nhật ký[/]")
    for event in events:
        console.print(f"  {format_time(event.at)}  {describe_event(event, unit_names=unit_names.get)}", markup=False, highlight=False)
    console.print(f"Khoá luồng: {', '.join(keys)}", style="dim", markup=False, highlight=False)


def evidence_tag_label(tag: str) -> str:
    """'insurance:BHXH' → 'loại bảo hiểm BHXH', 'province:79' → 'tỉnh/thành 79 …'."""
    from tickets.labels import category_label, province_label

    family, _, value = tag.partition(":")
    if family == "insurance":
        return f"loại bảo hiểm {value}"
    if family == "province":
        return f"tỉnh/thành {province_label(value)}"
    if family == "category":
        return f"phân loại {category_label(value)}"
    if family == "topic":
        return f"chủ đề {value}"
    return tag


def _unit_names() -> dict[str, str]:
    """Each unit's name by its id in this run's units file (the labels' name lookup); read, not
    validated: `show` starts without loading the directory (common.load's check_routing)."""
    from pathlib import Path

    from config.units import read_unit_names
    from tiepnhan import runtime

    return read_unit_names(Path(runtime.settings().units_file))


def _print_escalations(ticket_id: int, unit_names: dict[str, str]) -> None:
    from tickets.escalations import list_escalations
    from tickets.labels import escalation_status_label, format_time, unit_label
    from tiepnhan import runtime

    rows = list_escalations(runtime.engine(), ticket_id=ticket_id)
    if not rows:
        return
    console.print("[bold]Chuyển xử lý[/]")
    for e in rows:
        due = f", hạn {format_time(e.due_at)}" if e.due_at else ""
        problem = f" — {e.last_error}" if e.last_error else ""
        console.print(f"  #{e.id} → {unit_label(e.unit_id, unit_names.get)}: {escalation_status_label(e.status)}{due}{problem}", markup=False, highlight=False)
    console.print()


def _print_bank_suggestions(engine: Engine, ticket: Ticket) -> None:
    """For a question: the question bank's best entries, with score and the words that matched (qbank)."""
    if ticket.category != "question" or ticket.id is None:
        return
    from qbank.suggestions import suggestions_for_ticket
    from tickets.db import session_scope
    from tiepnhan import runtime

    with session_scope(engine) as session:
        found = suggestions_for_ticket(session, ticket.id, runtime.settings().question_bank.suggestion_threshold)
    console.print()
    console.print("[bold]Gợi ý từ ngân hàng câu hỏi[/]")
    if not found:
        console.print("  (không có mục nào đủ phù hợp)", highlight=False)
    for item in found:
        console.print(f"  {item.suggestion.entry_id}  {item.suggestion.score:.2f}  {item.question}", markup=False, highlight=False)
        console.print(f"      khớp: {', '.join(item.suggestion.matched)}", markup=False, highlight=False)
