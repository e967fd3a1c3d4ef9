"""Answering the citizen from the ticket page (issue 14): the "Trả lời công dân" form with the
bank's suggestions, the answers already given with their delivery status, and "save as a draft
entry" for an answer written from scratch.

Works without JavaScript: "Dùng câu trả lời này" is a GET of the ticket page with `?use=<entry>`
that renders the form filled with the entry's draft; a refused answer renders the page again
with everything typed and the reason. Acting needs `Action.ANSWER_CITIZEN` (agents,
coordinators) and the ticket through the scope (`access.scope.visible_ticket`): 404 otherwise.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from access.models import User
from access.roles import Action, can
from access.scope import visible_ticket
from config.settings import Settings
from qbank.models import BankEntryRow
from tickets.answer_models import Answer
from tickets.db import get_engine
from tickets.models import Ticket, TicketEvent
from web import answer_view
from web.pages_render import flash, user_of

log = logging.getLogger(__name__)
DRAFT_SAVED_EVENT = "answer_saved_as_draft"
MAX_DRAFT_QUESTION = 2_000
SENT_MESSAGES = {
    "sent": ("success", "Đã gửi câu trả lời cho công dân."),
    "pending": ("info", "Câu trả lời đang được gửi; trạng thái hiện ở danh sách câu trả lời."),
    "sending": ("info", "Câu trả lời đang được gửi; trạng thái hiện ở danh sách câu trả lời."),
}


@dataclass(frozen=True)
class AnswerDraft:
    """What the agent typed, shown again when the answer was refused."""

    text: str
    mode: str
    entry_id: int | None
    problem: str


def _draft_saved(session: Session, ticket_id: int) -> set[int]:
    events = session.exec(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == DRAFT_SAVED_EVENT))
    return {int(e.data.get("answer_id", 0)) for e in events}


def _sendable_modes(ticket: Ticket) -> list[str]:
    from notifiers.answer_senders import sender_for
    from tickets.answering import answer_modes

    return [mode for mode in answer_modes(ticket) if sender_for(mode) is not None]


def _suggestions(session: Session, settings: Settings, ticket: Ticket) -> list[dict[str, Any]]:
    from qbank.suggestions import suggestions_for_ticket

    found = suggestions_for_ticket(session, ticket.id or 0, settings.question_bank.suggestion_threshold)
    return [
        {"key": s.suggestion.entry_id, "question": s.question, "score": f"{s.suggestion.score:.2f}", "matched": ", ".join(s.suggestion.matched)}
        for s in found
    ]


def _published_entry(session: Session, key: str) -> BankEntryRow | None:
    return session.exec(select(BankEntryRow).where(BankEntryRow.key == key[:100], BankEntryRow.status == "published")).first()


def answer_panel(session: Session, user: User, ticket: Ticket, settings: Settings, request: Request) -> dict[str, Any]:
    """The ticket page's answering part, for this user (the caller found the ticket through the scope)."""
    from notifiers.answer_templates import entry_draft

    ticket_id = ticket.id or 0
    may_answer = can(user, Action.ANSWER_CITIZEN)
    answers = list(session.exec(select(Answer).where(Answer.ticket_id == ticket_id).order_by(Answer.id)))  # type: ignore[arg-type]
    saved = _draft_saved(session, ticket_id)
    items = [answer_view.answer_item(a, may_answer and a.entry_id is None and not a.automatic and a.id not in saved) for a in answers]
    panel: dict[str, Any] = {"answers": items, "can_answer": False}
    modes = _sendable_modes(ticket) if may_answer and ticket.status != "spam" else []
    if not modes:
        return panel
    draft: AnswerDraft | None = getattr(request.state, "answer_draft", None)
    text, mode, entry_id, entry_key, problem = "", modes[0], None, "", draft.problem if draft else ""
    if draft is not None:
        text, mode, entry_id = draft.text, draft.mode if draft.mode in modes else modes[0], draft.entry_id
    elif request.query_params.get("use"):
        entry = _published_entry(session, request.query_params["use"])
        if entry is not None:
            text, entry_id, entry_key = entry_draft(settings, ticket, entry), entry.id, entry.key
        else:
            problem = f"Không có mục “{request.query_params['use'][:100]}” đã công bố trong ngân hàng câu hỏi."
    panel.update({
        "can_answer": True,
        "modes": [(m, answer_view.mode_label(m)) for m in modes],
        "mode": mode,
        "wrappings": [answer_view.wrapping(settings, ticket, m) for m in modes],
        "suggestions": _suggestions(session, settings, ticket),
        "text": text,
        "entry_id": entry_id or "",
        "entry_key": entry_key,
        "problem": problem,
        "last_answer": max((a.id or 0 for a in answers), default=0),
    })
    return panel


def _optional_int(value: Any) -> int | None:
    try:
        return int(str(value).strip()) if str(value or "").strip() else None
    except ValueError:
        return None


class AnswerActions:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def engine(self) -> Any:
        return get_engine(self.settings.database_url)

    async def _allowed(self, request: Request) -> tuple[User | None, Response | None]:
        """THE check of both forms: logged in, allowed to answer citizens (404 otherwise)."""
        from web.pages import not_found

        user = await user_of(request)
        if user is None:
            return None, RedirectResponse("/login", status_code=303)
        if not can(user, Action.ANSWER_CITIZEN):
            return None, not_found(request, user)
        return user, None

    async def submit(self, request: Request) -> Response:
        from notifiers.answer_delivery import submit_answer
        from tickets.answering import AnswerRefused
        from tiepnhan.broker import BrokerUnavailable
        from web.pages import Pages, not_found

        user, refused = await self._allowed(request)
        if refused is not None:
            return refused
        assert user is not None
        ticket_id = int(request.path_params["ticket_id"])
        form = await request.form()
        text, mode = str(form.get("text", "") or ""), str(form.get("mode", "") or "")
        entry_id, last_seen = _optional_int(form.get("entry_id")), _optional_int(form.get("last_answer")) or 0

        def check() -> str | None:
            """None when the ticket is out of sight; "duplicate" when this very answer was just
            sent from this page (a second click); "" to go on."""
            nonlocal entry_id
            with Session(self.engine) as session:
                ticket = visible_ticket(session, user, ticket_id)
                if ticket is None:
                    return None
                if entry_id is not None and session.get(BankEntryRow, entry_id) is None:
                    entry_id = None  # only an entry of the bank is recorded as the answer's origin
                newer = session.exec(select(Answer).where(Answer.ticket_id == ticket_id, Answer.id > last_seen, Answer.user_id == user.id))  # type: ignore[arg-type,operator]
                return "duplicate" if any(answer_view.answer_body(self.settings, ticket, a) == text.strip() for a in newer) else ""

        state = await run_in_threadpool(check)
        if state is None:
            return not_found(request, user)
        back = f"/tickets/{ticket_id}#answers"
        if state == "duplicate":
            flash(request, "info", "Câu trả lời này vừa được gửi; không gửi lần nữa.")
            return RedirectResponse(back, status_code=303)
        try:
            answer = await run_in_threadpool(submit_answer, self.engine, self.settings, ticket_id, text, user.name, user.id, entry_id, mode or None)
        except AnswerRefused as exc:
            request.state.answer_draft = AnswerDraft(text, mode, entry_id, _sentence(exc.reason_vi))
            page = await Pages(self.settings).ticket(request)
            page.status_code = 400
            return page
        except BrokerUnavailable:
            flash(request, "info", "Đã lưu câu trả lời; hàng đợi gửi đang không hoạt động, câu trả lời sẽ được gửi khi hàng đợi hoạt động lại.")
            return RedirectResponse(back, status_code=303)
        log.info("answer submitted from the page", extra={"answer_id": answer.id, "ticket_id": ticket_id, "user": user.name, "status": answer.status})
        level, message = SENT_MESSAGES.get(answer.status, ("error", f"Chưa gửi được: {answer.last_error or 'lỗi không rõ'}."))
        flash(request, level, message)
        return RedirectResponse(back, status_code=303)

    async def save_draft(self, request: Request) -> Response:
        """One click: an answer written without an entry becomes a draft entry of the bank, with
        the citizen's question (ID numbers, phones and addresses hidden); once per answer."""
        from qbank.grow import save_answer_as_draft
        from qbank.suggestions import latest_citizen_message
        from tickets.escalations import lock_ticket
        from tickets.store import add_event
        from tiepnhan.logs import redact
        from web.pages import not_found

        user, refused = await self._allowed(request)
        if refused is not None:
            return refused
        assert user is not None
        ticket_id, answer_id = int(request.path_params["ticket_id"]), int(request.path_params["answer_id"])

        def work() -> tuple[str, str] | None:
            with Session(self.engine) as session:
                if visible_ticket(session, user, ticket_id) is None:
                    return None
                ticket = lock_ticket(session, ticket_id)  # two clicks at once make one entry
                answer = session.get(Answer, answer_id)
                if ticket is None or answer is None or answer.ticket_id != ticket_id:
                    return None
                if answer.entry_id is not None or answer.automatic:
                    return "error", "Câu trả lời này đã lấy từ ngân hàng câu hỏi."
                if answer_id in _draft_saved(session, ticket_id):
                    return "info", "Câu trả lời này đã được lưu thành mục nháp."
                message = latest_citizen_message(session, ticket_id)
                question = redact((message.clean_text or message.full_text or "") if message else ticket.subject or "").strip()[:MAX_DRAFT_QUESTION]
                if not question:
                    question = redact(ticket.subject or "").strip()
                row = save_answer_as_draft(session, answer_view.answer_body(self.settings, ticket, answer), question, user.name)
                add_event(session, ticket_id, DRAFT_SAVED_EVENT, user.name, answer_id=answer_id, entry=row.key)
                session.commit()
                return "success", f"Đã lưu thành mục nháp {row.key} của ngân hàng câu hỏi; điều phối viên xem lại rồi công bố."

        from qbank.entry import EntryError

        try:
            done = await run_in_threadpool(work)
        except EntryError as exc:
            done = ("error", _sentence(str(exc)) + ".")
        if done is None:
            return not_found(request, user)
        flash(request, *done)
        if done[0] == "success":
            log.info("answer saved as a draft entry", extra={"answer_id": answer_id, "ticket_id": ticket_id, "user": user.name})
        return RedirectResponse(f"/tickets/{ticket_id}#answers", status_code=303)


def _sentence(text: str) -> str:
    text = text.strip() or "Không thực hiện được"
    return text[:1].upper() + text[1:]


def routes(settings: Settings) -> list[BaseRoute]:
    actions = AnswerActions(settings)
    return [
        Route("/tickets/{ticket_id:int}/answer", actions.submit, methods=["POST"], name="page_answer"),
        Route("/tickets/{ticket_id:int}/answers/{answer_id:int}/draft", actions.save_draft, methods=["POST"], name="page_answer_draft"),
    ]


__all__ = ["AnswerActions", "AnswerDraft", "answer_panel", "routes"]
