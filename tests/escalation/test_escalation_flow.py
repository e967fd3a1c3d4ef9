"""Complaint in → escalation proposed → reviewed → mail to the office over real SMTP → the
office's answer threads back and acknowledges it; failures wait and are retried, never lost."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from config.settings import Settings
from notifiers.delivery import Outcome, deliver_escalation
from notifiers.digests import send_digests
from notifiers.reminders import send_reminders
from tests.escalation.conftest import COMPLAINT, QUESTION, citizen_email, ingest_email, units_file
from tests.escalation.smtp_server import SmtpCapture
from tickets.db import session_scope
from tickets.escalation_models import DeliveryAttempt, Escalation
from tickets.escalations import TransitionError, approve, reject, reopen_failed, reroute, resolve_ticket
from tickets.models import Ticket, TicketEvent, utcnow
from tickets.pipeline import route_ticket
from tiepnhan import runtime


def escalations(ticket_id: int | None = None) -> list[Escalation]:
    with session_scope(runtime.engine()) as session:
        query = select(Escalation).order_by(Escalation.id)
        if ticket_id is not None:
            query = query.where(Escalation.ticket_id == ticket_id)
        return list(session.execute(query).scalars())


def events(ticket_id: int, kind: str) -> list[TicketEvent]:
    with session_scope(runtime.engine()) as session:
        return list(session.execute(select(TicketEvent).where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == kind)).scalars())


def ticket(ticket_id: int) -> Ticket:
    with session_scope(runtime.engine()) as session:
        row = session.get(Ticket, ticket_id)
        assert row is not None
        return row


def approved_complaint() -> tuple[int, Escalation]:
    """The sample complaint taken in, proposed to its provincial office and approved."""
    ticket_id = ingest_email(citizen_email(*COMPLAINT, message_id="c1@dan.localhost"))
    assert ticket_id is not None
    [proposal] = escalations(ticket_id)
    approve(runtime.engine(), proposal.id, "dpv")
    return ticket_id, proposal


def test_a_complaint_with_a_province_is_proposed_to_that_office_once(escalation_settings: Callable[..., Settings]) -> None:
    escalation_settings()
    ticket_id = ingest_email(citizen_email(*COMPLAINT, message_id="c1@dan.localhost"))
    assert ticket_id is not None
    assert ticket(ticket_id).province_code == "75"
    [proposal] = escalations(ticket_id)
    assert (proposal.unit_id, proposal.status, proposal.rule) == ("province-75", "proposed", "khieu-nai-ve-tinh")
    assert proposal.reply_token.startswith(f"TN-{ticket_id:06d}.")
    # At-least-once: the route stage delivered again, and a second message in the thread, change nothing.
    route_ticket(runtime.engine(), ticket_id)
    ingest_email(citizen_email("Re: " + COMPLAINT[0], "Tôi bổ sung thêm: mã số BHXH của tôi đã gửi kèm.", message_id="c2@dan.localhost", in_reply_to="<c1@dan.localhost>"))
    assert [e.id for e in escalations(ticket_id)] == [proposal.id]
    assert len(events(ticket_id, "escalation_proposed")) == 1


def test_a_question_is_not_escalated(escalation_settings: Callable[..., Settings]) -> None:
    escalation_settings()
    ticket_id = ingest_email(citizen_email(*QUESTION, message_id="q1@dan.localhost"))
    assert ticket_id is not None and ticket(ticket_id).category == "question"
    assert escalations(ticket_id) == []


def test_approval_sends_a_vietnamese_mail_with_reply_token_evidence_and_attachments(escalation_settings: Callable[..., Settings], smtp: SmtpCapture) -> None:
    settings = escalation_settings(escalation={"mail_attachment_bytes": 50_000})
    raw = citizen_email(*COMPLAINT, message_id="c1@dan.localhost", attachments=[("quyet-dinh.pdf", b"%PDF small" * 10), ("ho-so-lon.pdf", b"x" * 80_000)])
    ticket_id = ingest_email(raw)
    assert ticket_id is not None
    [proposal] = escalations(ticket_id)
    approve(runtime.engine(), proposal.id, "dieu-phoi-vien-1", "Đề nghị xử lý trong tuần")
    assert deliver_escalation(settings, runtime.engine(), proposal.id) is Outcome.SENT
    [received] = smtp.wait_for(1)
    message = received.message
    reference = f"TN-{ticket_id:06d}"
    assert message["Subject"] == f"[{reference}] Phản ánh BHXH - Đồng Nai"
    assert received.recipients == ["bhxh.dongnai@donvi.localhost"]
    assert message["Reply-To"] == f"hotro+{proposal.reply_token}@tiepnhan.localhost"
    assert message["Auto-Submitted"] == "auto-generated"
    body = message.get_body(("plain",)).get_content()
    for expected in ("Kính gửi: Bảo hiểm xã hội tỉnh Đồng Nai", "lương hưu", "Căn cứ", "Biên Hòa", "Đề nghị xử lý trong tuần", "Cách trả lời", "quá lớn"):
        assert expected in body, expected
    attached = [part.get_filename() for part in message.iter_attachments()]
    assert attached == ["quyet-dinh.pdf"]  # the large one is listed, not attached
    after = escalations(ticket_id)[0]
    assert after.status == "sent" and after.due_at == after.sent_at + timedelta(hours=240)
    assert ticket(ticket_id).status == "escalated"
    [approved] = events(ticket_id, "escalation_approved")
    assert approved.actor == "dieu-phoi-vien-1"
    # Sending again is a no-op: nothing goes out twice.
    assert deliver_escalation(settings, runtime.engine(), proposal.id) is Outcome.SKIPPED
    assert len(smtp.received) == 1


def test_the_units_reply_threads_into_the_ticket_and_acknowledges(escalation_settings: Callable[..., Settings], smtp: SmtpCapture) -> None:
    settings = escalation_settings()
    ticket_id, proposal = approved_complaint()
    deliver_escalation(settings, runtime.engine(), proposal.id)
    [sent] = smtp.wait_for(1)
    reply_to = sent.message["Reply-To"]
    # An out-of-office answer to the Reply-To is not an acknowledgement (RFC 3834).
    ooo = citizen_email("Trả lời tự động: " + sent.message["Subject"], "Tôi đang nghỉ phép.", message_id="ooo@donvi.localhost", sender="bhxh.dongnai@donvi.localhost", to=reply_to)
    ooo = ooo.replace(b"Subject:", b"Auto-Submitted: auto-replied\nSubject:", 1)
    ingest_email(ooo)
    assert escalations(ticket_id)[0].status == "sent"
    tags_before = (ticket(ticket_id).category, ticket(ticket_id).province_code)
    answer = citizen_email(
        "Re: " + sent.message["Subject"], "BHXH tỉnh Đồng Nai đã tiếp nhận, sẽ chi trả trong tháng 12. Trân trọng.",
        message_id="ans@donvi.localhost", sender="bhxh.dongnai@donvi.localhost", to=reply_to, in_reply_to=sent.message["Message-ID"],
    )
    assert ingest_email(answer) == ticket_id
    acknowledged = escalations(ticket_id)[0]
    assert acknowledged.status == "acknowledged" and acknowledged.acknowledged_message_id is not None
    assert (ticket(ticket_id).category, ticket(ticket_id).province_code) == tags_before  # the answer is not re-classified
    assert len(events(ticket_id, "escalation_acknowledged")) == 1
    resolve_ticket(runtime.engine(), ticket_id, "dpv", "đã chi trả")
    assert escalations(ticket_id)[0].status == "resolved" and ticket(ticket_id).status == "resolved"


def test_a_unit_without_a_real_address_is_refused_and_waits_until_the_directory_is_fixed(
    escalation_settings: Callable[..., Settings], smtp: SmtpCapture, tmp_path: Path
) -> None:
    settings = escalation_settings(units_file=str(units_file(tmp_path, real=False)))
    ticket_id, proposal = approved_complaint()
    assert deliver_escalation(settings, runtime.engine(), proposal.id) is Outcome.REFUSED
    waiting = escalations(ticket_id)[0]
    assert waiting.status == "approved" and "địa chỉ mẫu" in (waiting.last_error or "")
    assert len(events(ticket_id, "escalation_delivery_refused")) == 1
    assert smtp.received == []
    units_file(tmp_path, real=True)  # the deployment gives real addresses
    result = send_reminders(settings, runtime.engine(), now=utcnow() + timedelta(hours=2))
    assert result["deliveries"] == {"sent": 1}
    assert len(smtp.wait_for(1)) == 1 and escalations(ticket_id)[0].status == "sent"


def test_smtp_down_then_up_delivers_exactly_one_mail(escalation_settings: Callable[..., Settings], smtp: SmtpCapture) -> None:
    smtp.stop()
    settings = escalation_settings()
    ticket_id, proposal = approved_complaint()
    assert deliver_escalation(settings, runtime.engine(), proposal.id) is Outcome.RETRY
    failed = escalations(ticket_id)[0]
    assert failed.status == "approved" and failed.attempts == 1 and failed.next_attempt_at is not None
    assert "SMTP" in (failed.last_error or "")
    # Not due yet: the backoff is respected.
    assert send_reminders(settings, runtime.engine(), now=utcnow())["deliveries"] == {}
    smtp.start()
    later = utcnow() + timedelta(minutes=5)
    assert send_reminders(settings, runtime.engine(), now=later)["deliveries"] == {"sent": 1}
    assert send_reminders(settings, runtime.engine(), now=later + timedelta(minutes=5))["deliveries"] == {}
    assert len(smtp.wait_for(1)) == 1
    with session_scope(runtime.engine()) as session:
        attempts = list(session.execute(select(DeliveryAttempt.status, DeliveryAttempt.message_id).where(DeliveryAttempt.escalation_id == proposal.id)).all())
    assert [a[0] for a in attempts] == ["failed", "sent"]
    assert attempts[0][1] == attempts[1][1] == smtp.received[0].message["Message-ID"]  # one stable Message-ID


def test_a_send_interrupted_by_a_crash_is_handed_out_again_after_the_stale_time(escalation_settings: Callable[..., Settings], smtp: SmtpCapture) -> None:
    settings = escalation_settings()
    ticket_id, proposal = approved_complaint()
    with session_scope(runtime.engine()) as session:  # a sender claimed it, then died
        row = session.get(Escalation, proposal.id)
        row.status, row.claimed_at = "sending", utcnow()
        session.add(row)
    assert send_reminders(settings, runtime.engine(), now=utcnow())["deliveries"] == {}
    assert send_reminders(settings, runtime.engine(), now=utcnow() + timedelta(minutes=30))["deliveries"] == {"sent": 1}
    assert len(smtp.wait_for(1)) == 1


def test_an_overdue_escalation_is_reminded_once_and_raised_to_coordinators(escalation_settings: Callable[..., Settings], smtp: SmtpCapture) -> None:
    settings = escalation_settings(escalation={"coordinator_addresses": ["dieuphoi@tiepnhan.localhost"]})
    ticket_id, proposal = approved_complaint()
    deliver_escalation(settings, runtime.engine(), proposal.id)
    due = escalations(ticket_id)[0].due_at
    assert send_reminders(settings, runtime.engine(), now=due - timedelta(hours=1))["overdue"] == 0
    result = send_reminders(settings, runtime.engine(), now=due + timedelta(hours=1))
    assert (result["overdue"], result["reminded"], result["coordinators_alerted"]) == (1, 1, True)
    assert send_reminders(settings, runtime.engine(), now=due + timedelta(hours=30))["reminded"] == 0
    mails = smtp.wait_for(3)
    assert len(mails) == 3
    reminder, alert = mails[1], mails[2]
    assert reminder.message["Subject"].startswith("[Nhắc lại] [TN-")
    assert reminder.recipients == ["bhxh.dongnai@donvi.localhost"]
    assert alert.recipients == ["dieuphoi@tiepnhan.localhost"] and "Quá hạn" in alert.message["Subject"]
    assert escalations(ticket_id)[0].status == "overdue"
    # A late answer still acknowledges it.
    answer = citizen_email("Re: x", "Đã xử lý.", message_id="late@donvi.localhost", sender="bhxh.dongnai@donvi.localhost", to=mails[0].message["Reply-To"])
    ingest_email(answer)
    assert escalations(ticket_id)[0].status == "acknowledged"


def test_reroute_and_reject_are_recorded_with_who_and_why(escalation_settings: Callable[..., Settings], smtp: SmtpCapture) -> None:
    settings = escalation_settings()
    first = ingest_email(citizen_email(*COMPLAINT, message_id="c1@dan.localhost"))
    second = ingest_email(citizen_email("Phản ánh nhân viên BHXH thái độ kém", "Nhân viên BHXH ở Vũng Tàu thái độ rất kém, tôi đề nghị xem xét.", message_id="c2@dan.localhost"))
    [to_reroute] = escalations(first)
    [to_reject] = escalations(second)
    rerouted = reroute(runtime.engine(), to_reroute.id, "central-bhxh-policy", "dpv-2", "chính sách chung")
    assert rerouted.status == "rerouted" and rerouted.rerouted_from == "province-75" and rerouted.reply_token != to_reroute.reply_token
    deliver_escalation(settings, runtime.engine(), to_reroute.id)
    assert smtp.wait_for(1)[0].recipients == ["central-bhxh-policy@donvi.localhost"]
    reject(runtime.engine(), to_reject.id, "dpv-3", "trùng phiếu khác")
    [event] = events(second, "escalation_rejected")
    assert (event.actor, event.data["reason"]) == ("dpv-3", "trùng phiếu khác")
    with pytest.raises(TransitionError, match="trạng thái"):
        approve(runtime.engine(), to_reject.id, "dpv")
    # A rejected escalation is not proposed again when the ticket is routed again.
    route_ticket(runtime.engine(), second)
    assert [e.status for e in escalations(second)] == ["rejected"]


def test_units_that_asked_for_a_digest_get_one_mail_a_day(escalation_settings: Callable[..., Settings], smtp: SmtpCapture, tmp_path: Path) -> None:
    path = units_file(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace('emails = ["bhxh.dongnai@donvi.localhost"]', 'emails = ["bhxh.dongnai@donvi.localhost"]\ndigest = true'), encoding="utf-8")
    settings = escalation_settings(units_file=str(path))
    ids = [ingest_email(citizen_email(*COMPLAINT, message_id=f"c{i}@dan.localhost", sender=f"Dân {i} <d{i}@dan.localhost>")) for i in range(2)]
    for ticket_id in ids:
        [proposal] = escalations(ticket_id)
        approve(runtime.engine(), proposal.id, "dpv")
        assert deliver_escalation(settings, runtime.engine(), proposal.id) is Outcome.QUEUED
    assert smtp.received == []
    assert send_digests(settings, runtime.engine()) == {"province-75": "sent"}
    assert send_digests(settings, runtime.engine()) == {}
    [digest] = smtp.wait_for(1)
    body = digest.message.get_content()
    for ticket_id in ids:
        assert f"[TN-{ticket_id:06d}]" in body
        assert f"+TN-{ticket_id:06d}." in body  # each keeps its own reply address
    assert all(e.status == "sent" for e in escalations())


def test_a_rule_that_needs_no_review_sends_at_once(escalation_settings: Callable[..., Settings], smtp: SmtpCapture, tmp_path: Path) -> None:
    rules = tmp_path / "routing.toml"
    rules.write_text('[[rules]]\nname = "ngay"\nwhen = { category = "complaint", province = ["75"] }\nto = "province"\nreview = false\nsla_hours = 24\n', encoding="utf-8")
    escalation_settings(routing_file=str(rules))
    ticket_id = ingest_email(citizen_email(*COMPLAINT, message_id="c1@dan.localhost"))
    assert len(smtp.wait_for(1)) == 1
    [sent] = escalations(ticket_id)
    assert sent.status == "sent" and sent.sla_hours == 24 and sent.decided_by == "system"


def dsn_for(message_id: str, recipient: str) -> bytes:
    """A real-shaped RFC 3464 bounce of the mail with `message_id`."""
    return (
        "From: MAILER-DAEMON@donvi.localhost\r\nTo: hotro@tiepnhan.localhost\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <bounce-1@donvi.localhost>\r\nDate: Tue, 25 Nov 2025 09:00:00 +0700\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; donvi.localhost\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {message_id}\r\nSubject: x\r\n"
        "--B--\r\n"
    ).encode()


def test_a_bounced_escalation_is_marked_failed_with_the_reason(escalation_settings: Callable[..., Settings], smtp: SmtpCapture) -> None:
    settings = escalation_settings()
    ticket_id, proposal = approved_complaint()
    deliver_escalation(settings, runtime.engine(), proposal.id)
    [sent] = smtp.wait_for(1)
    ingest_email(dsn_for(sent.message["Message-ID"], "bhxh.dongnai@donvi.localhost"))
    failed = escalations(ticket_id)[0]
    assert failed.status == "failed" and "bị trả lại" in (failed.last_error or "")
    assert len(events(ticket_id, "escalation_bounced")) == 1
    with session_scope(runtime.engine()) as session:
        assert session.execute(select(Ticket.id)).scalars().all() == [ticket_id]  # the bounce opened no ticket


def test_a_failed_escalation_reopened_is_sent_again(escalation_settings: Callable[..., Settings], smtp: SmtpCapture) -> None:
    settings = escalation_settings()
    ticket_id, proposal = approved_complaint()
    deliver_escalation(settings, runtime.engine(), proposal.id)
    [sent] = smtp.wait_for(1)
    ingest_email(dsn_for(sent.message["Message-ID"], "bhxh.dongnai@donvi.localhost"))
    assert escalations(ticket_id)[0].status == "failed"
    reopened = reopen_failed(runtime.engine(), proposal.id)
    assert (reopened.status, reopened.attempts) == ("approved", 0)
    assert deliver_escalation(settings, runtime.engine(), proposal.id) is Outcome.SENT
    assert len(smtp.wait_for(2)) == 2
    assert reopen_failed(runtime.engine(), proposal.id).status == "sent"  # only a failed one is reopened
    with pytest.raises(TransitionError):
        reopen_failed(runtime.engine(), 999_999)


def test_status_and_metrics_count_escalations_by_status(escalation_settings: Callable[..., Settings]) -> None:
    from tiepnhan.status import collect
    from tiepnhan.web.metrics import MetricsEndpoint

    settings = escalation_settings()
    ingest_email(citizen_email(*COMPLAINT, message_id="c1@dan.localhost"))
    assert collect(settings, runtime.engine()).as_dict()["escalations"] == {"proposed": 1}
    metrics = MetricsEndpoint(settings).render().decode()
    assert 'tiepnhan_escalations{status="proposed"} 1.0' in metrics


def test_resolving_a_ticket_closes_what_was_not_sent_yet(escalation_settings: Callable[..., Settings], smtp: SmtpCapture) -> None:
    settings = escalation_settings()
    ticket_id = ingest_email(citizen_email(*COMPLAINT, message_id="c1@dan.localhost"))
    [proposal] = escalations(ticket_id)
    smtp.stop()
    approve(runtime.engine(), proposal.id, "dpv")
    assert deliver_escalation(settings, runtime.engine(), proposal.id) is Outcome.RETRY  # waiting for a retry
    resolve_ticket(runtime.engine(), ticket_id, "dpv", "đã trả lời qua điện thoại")
    assert escalations(ticket_id)[0].status == "resolved"
    smtp.start()
    assert send_reminders(settings, runtime.engine(), now=utcnow() + timedelta(hours=2))["deliveries"] == {}
    assert smtp.received == []  # nothing goes to the unit about a resolved ticket


def test_an_answer_to_the_from_address_acknowledges_by_in_reply_to(escalation_settings: Callable[..., Settings], smtp: SmtpCapture) -> None:
    settings = escalation_settings()
    ticket_id, proposal = approved_complaint()
    deliver_escalation(settings, runtime.engine(), proposal.id)
    [sent] = smtp.wait_for(1)
    category_before = ticket(ticket_id).category
    answer = citizen_email(
        "Re: hồ sơ", "Đơn vị đã nhận và đang xử lý, trân trọng cảm ơn.", message_id="ans2@donvi.localhost",
        sender="bhxh.dongnai@donvi.localhost", to="hotro@tiepnhan.localhost", in_reply_to=sent.message["Message-ID"],
    )
    assert ingest_email(answer) == ticket_id
    assert escalations(ticket_id)[0].status == "acknowledged"
    assert ticket(ticket_id).category == category_before  # a unit's answer is not re-classified


def test_the_scheduler_runs_the_escalation_jobs_by_name(escalation_settings: Callable[..., Settings], smtp: SmtpCapture) -> None:
    from tiepnhan.scheduler import run_periodic_now

    settings = escalation_settings()
    ticket_id = ingest_email(citizen_email(*COMPLAINT, message_id="c1@dan.localhost"))
    [proposal] = escalations(ticket_id)
    with session_scope(runtime.engine()) as session:  # approved while the notify message was lost
        row = session.get(Escalation, proposal.id)
        row.status = "approved"
        session.add(row)
    result = run_periodic_now(settings, runtime.engine(), "sla_reminders")
    assert result["deliveries"] == {"sent": 1}
    assert run_periodic_now(settings, runtime.engine(), "daily_digests") == {}
    assert len(smtp.wait_for(1)) == 1
