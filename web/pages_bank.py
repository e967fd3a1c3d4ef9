"""The question bank's pages, for coordinators: the entries with search and status filter, one
entry with its versions and the form that writes the next one, and the clusters of repeated
questions no entry answers. Every route goes through `bank_user` (`access.roles.can` with
`Action.MANAGE_BANK`); anyone else gets the same 404 as for a page that does not exist."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from access.models import User
from access.roles import Action, can
from config.settings import Settings
from qbank.models import BankEntryRow
from qbank.store import save_entry, versions_of
from tickets.db import get_engine
from tickets.labels import TIMEZONE
from tickets.models import ticket_reference
from web import bank_data as data
from web import pages_view as view
from web.pages_render import flash, render, user_of

log = logging.getLogger(__name__)
PAGE_SIZE = 50


def _page_number(request: Request) -> int:
    try:
        return max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        return 1


class BankPages:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def engine(self) -> Any:
        return get_engine(self.settings.database_url)

    async def bank_user(self, request: Request) -> tuple[User | None, Response | None]:
        """THE check of every bank route: the user, or the answer to give instead (the login
        page for nobody, 404 for a user whose role may not manage the bank)."""
        from web.pages import _login_redirect, not_found

        user = await user_of(request)
        if user is None:
            return None, _login_redirect(request)
        if not can(user, Action.MANAGE_BANK):
            return None, not_found(request, user)
        return user, None

    # --- the list ---------------------------------------------------------------------------
    async def entries(self, request: Request) -> Response:
        user, refused = await self.bank_user(request)
        if refused is not None:
            return refused
        q, status = request.query_params.get("q", "").strip()[:200], request.query_params.get("status", "")
        status = status if status in data.STATUS_LABELS else ""
        number = _page_number(request)

        def load() -> tuple[list[dict[str, Any]], int]:
            with Session(self.engine) as session:
                rows = list(session.exec(select(BankEntryRow).order_by(BankEntryRow.key)))
            found = data.matching_rows(rows, q, status)
            start = (number - 1) * PAGE_SIZE
            return [data.entry_row_view(r) for r in found[start:start + PAGE_SIZE]], len(found)

        rows, total = await run_in_threadpool(load)
        page = view.paginate(total, number, PAGE_SIZE, "/bank", {"q": q, "status": status})
        context = {"rows": rows, "page": page, "filters": {"q": q, "status": status}, "status_options": data.status_choices(with_any=True)}
        return render(request, "bank.html", context, user)

    # --- one entry: versions and the edit form ------------------------------------------------
    def _entry_context(self, row: BankEntryRow, values: dict[str, str], problems: tuple[str, ...] = ()) -> dict[str, Any]:
        with Session(self.engine) as session:
            versions = versions_of(session, row.key)
            topics = sorted({t for t in session.exec(select(BankEntryRow.topic)) if t})
        return {
            "entry": data.entry_row_view(row), "versions": data.version_views(versions), "values": values, "problems": problems,
            "status_options": data.status_choices(), "insurance_options": data.insurance_choices(), "topics": topics,
        }

    def _row(self, entry_id: int) -> BankEntryRow | None:
        with Session(self.engine) as session:
            return session.get(BankEntryRow, entry_id)

    async def entry(self, request: Request) -> Response:
        from web.pages import not_found

        user, refused = await self.bank_user(request)
        if refused is not None:
            return refused
        row = await run_in_threadpool(self._row, int(request.path_params["entry_id"]))
        if row is None:
            return not_found(request, user)
        context = await run_in_threadpool(self._entry_context, row, data.form_values(row))
        return render(request, "bank_entry.html", context, user)

    async def save(self, request: Request) -> Response:
        """The edit form: a new version with who and when; refused (the form shown again with
        everything typed and the reasons) when invalid or when someone saved in between."""
        from web.pages import not_found

        user, refused = await self.bank_user(request)
        if refused is not None:
            return refused
        assert user is not None
        entry_id = int(request.path_params["entry_id"])
        form = await request.form()

        def work() -> tuple[str, Any]:
            with Session(self.engine) as session:
                row = session.get(BankEntryRow, entry_id)
                if row is None:
                    return "missing", None
                read = data.read_entry_form(row.key, form)
                problems = list(read.problems)
                if read.values["version"] != str(row.version):
                    problems.append(f"{row.changed_by} đã lưu phiên bản {row.version} của mục này sau khi bạn mở trang; hãy xem lại rồi lưu lần nữa")
                if problems or read.entry is None:
                    session.expunge(row)
                    return "refused", (row, read.values, tuple(problems))
                saved, changed = save_entry(session, read.entry, user.name)
                version = saved.version
                session.commit()
            return ("saved" if changed else "unchanged"), version

        outcome, detail = await run_in_threadpool(work)
        if outcome == "missing":
            return not_found(request, user)
        if outcome == "refused":
            row, values, problems = detail
            context = await run_in_threadpool(self._entry_context, row, values, problems)
            return render(request, "bank_entry.html", context, user, status_code=409 if any("đã lưu phiên bản" in p for p in problems) else 400)
        if outcome == "saved":
            log.info("bank entry saved", extra={"entry_id": entry_id, "version": detail, "user": user.name})
            flash(request, "success", f"Đã lưu phiên bản {detail}.")
        else:
            flash(request, "info", "Không có gì thay đổi; không tạo phiên bản mới.")
        return RedirectResponse(f"/bank/{entry_id}", status_code=303)

    # --- repeated questions without a good entry ------------------------------------------------
    async def clusters(self, request: Request) -> Response:
        from qbank.grow import unanswered_clusters
        from qbank.retrieve import DEFAULT_THRESHOLD

        user, refused = await self.bank_user(request)
        if refused is not None:
            return refused
        today = datetime.now(UTC).astimezone(ZoneInfo(TIMEZONE)).date()
        period = data.read_period(request.query_params, today)
        if period.problem:
            flash(request, "error", period.problem)
        threshold = self.settings.question_bank.suggestion_threshold
        threshold = DEFAULT_THRESHOLD if threshold is None else threshold

        def load() -> list[dict[str, Any]]:
            with Session(self.engine) as session:
                found = unanswered_clusters(session, period.since, period.until, threshold)
            return [
                {"size": len(c.ticket_ids), "words": ", ".join(c.words), "example": c.example,
                 "tickets": [(t, ticket_reference(t)) for t in c.ticket_ids]}
                for c in found
            ]

        clusters = await run_in_threadpool(load)
        context = {"clusters": clusters, "period": period, "periods": data.PERIODS}
        return render(request, "bank_clusters.html", context, user)


def routes(settings: Settings) -> list[BaseRoute]:
    pages = BankPages(settings)
    return [
        Route("/bank", pages.entries, methods=["GET"], name="bank"),
        Route("/bank/clusters", pages.clusters, methods=["GET"], name="bank_clusters"),
        Route("/bank/{entry_id:int}", pages.entry, methods=["GET"], name="bank_entry"),
        Route("/bank/{entry_id:int}", pages.save, methods=["POST"], name="bank_entry_save"),
    ]


__all__ = ["BankPages", "routes"]
