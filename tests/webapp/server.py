"""A real HTTP server (uvicorn on loopback) serving tiepnhan's web app, in this process, over
the database the test configured; and the citizens' tickets made by the real pipeline."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from sqlalchemy import select

from config.settings import Settings
from tests.escalation.conftest import citizen_email, ingest_email
from tests.servers import serve_asgi
from tickets.db import session_scope
from tickets.escalation_models import Escalation
from tickets.escalations import approve
from tickets.models import Attachment, Message
from tiepnhan import runtime

PASSWORD = "mat-khau-thu-nghiem-2025"

HCM_COMPLAINT = (
    "Khiếu nại chậm cấp thẻ BHYT",
    "Tôi ở phường Bến Thành, Thành phố Hồ Chí Minh. Tôi đã nộp hồ sơ cấp lại thẻ BHYT từ tháng 9/2025 "
    "nhưng đến nay BHXH vẫn chưa cấp thẻ, tôi đi khám bệnh phải trả toàn bộ chi phí. Đề nghị giải quyết sớm.",
)
HANOI_COMPLAINT = (
    "Khiếu nại chậm chi trả lương hưu",
    "Tôi nghỉ hưu từ tháng 8/2025, sống ở quận Hoàn Kiếm, Hà Nội, nhưng đến nay BHXH vẫn chưa chi trả "
    "lương hưu cho tôi. Ông Trịnh Quốc Khánh ở tổ dân phố số 5 cũng bị như vậy. Đề nghị cơ quan BHXH kiểm tra và giải quyết sớm.",
)
HANOI_SECRET_WORD = "Trịnh Quốc"  # appears only in the Hanoi citizen's letter
HANOI_ATTACHMENT = ("quyet-dinh-nghi-huu.pdf", b"%PDF-1.4 quyet dinh nghi huu cua cong dan\n")


@dataclass(frozen=True)
class Scenario:
    """Two complaints delivered to two provincial offices."""

    hcm_ticket: int
    hcm_escalation: int
    hanoi_ticket: int
    hanoi_escalation: int
    hanoi_attachment: int
    hanoi_reference: str


def escalation_of(ticket_id: int) -> Escalation:
    with session_scope(runtime.engine()) as session:
        return session.execute(select(Escalation).where(Escalation.ticket_id == ticket_id)).scalar_one()  # type: ignore[arg-type]


def deliver(escalation_id: int) -> None:
    from notifiers.dispatch import request_delivery

    approve(runtime.engine(), escalation_id, "dieuphoi")
    request_delivery(escalation_id)


def make_scenario() -> Scenario:
    hcm = ingest_email(citizen_email(*HCM_COMPLAINT, message_id="hcm-1@dan.localhost"))
    hanoi = ingest_email(citizen_email(*HANOI_COMPLAINT, message_id="hn-1@dan.localhost", sender="Lê Thị Bình <binh@dan.localhost>", attachments=[HANOI_ATTACHMENT]))
    assert hcm is not None and hanoi is not None
    hcm_escalation, hanoi_escalation = escalation_of(hcm), escalation_of(hanoi)
    assert (hcm_escalation.unit_id, hanoi_escalation.unit_id) == ("province-79", "province-01")
    for escalation in (hcm_escalation, hanoi_escalation):
        assert escalation.id is not None
        deliver(escalation.id)
    assert escalation_of(hcm).status == escalation_of(hanoi).status == "sent"
    with session_scope(runtime.engine()) as session:
        attachment = session.execute(select(Attachment).join(Message, Message.id == Attachment.message_id).where(Message.ticket_id == hanoi)).scalar_one()  # type: ignore[arg-type]
    assert hcm_escalation.id is not None and hanoi_escalation.id is not None and attachment.id is not None
    return Scenario(hcm, hcm_escalation.id, hanoi, hanoi_escalation.id, attachment.id, f"TN-{hanoi:06d}")


def add_users() -> None:
    from access.users import create_user
    from tickets.directory import routing

    units = routing(runtime.settings()).units
    for name, role, unit in (("dieuphoi", "coordinator", None), ("vp79", "office", "province-79"), ("vp01", "office", "province-01"),
                             ("lanhdao", "viewer", None), ("quantri", "admin", None), ("tuvan", "agent", None)):
        create_user(runtime.engine(), name, role, known_units=units, unit_id=unit, password=PASSWORD)


@contextmanager
def serve(settings: Settings) -> Iterator[str]:
    """The app on a free loopback port, for the duration; yields its base URL."""
    from tiepnhan.web.app import create_app

    with serve_asgi(create_app(settings), log_level="warning") as (url, _port):
        yield url


def logged_in(base_url: str, name: str, password: str = PASSWORD) -> httpx.Client:
    """A browser-like client: fetches the login form (CSRF cookie and field), then logs in."""
    client = httpx.Client(base_url=base_url, follow_redirects=False, timeout=30)
    client.get("/login")
    response = client.post("/login", data={"username": name, "password": password, "next": "/", "csrftoken": client.cookies["csrftoken"]})
    assert response.status_code == 303, response.text
    return client
