"""The one mail the portal ever sends: the acknowledgement to the address the citizen gave.

It names only the reference, the lookup code and where to look: nothing the submitter typed is
put in it (so the form cannot be used to send someone else a message of the sender's choosing).
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from config.settings import Settings
from notifiers.smtp import SmtpPermanentError, SmtpTransientError, send_message
from tickets.models import ticket_reference

log = logging.getLogger(__name__)


def acknowledgement(settings: Settings, email: str, ticket_id: int, code: str) -> EmailMessage:
    assert settings.smtp is not None
    reference = ticket_reference(ticket_id)
    base = settings.web.public_base_url or ""
    message = EmailMessage()
    message["From"] = settings.smtp.from_address
    message["To"] = email
    message["Subject"] = f"[{reference}] BHXH Việt Nam đã nhận câu hỏi của bạn"
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.smtp.from_address.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834 §5: no auto-reply should answer it
    lookup = f"{base}/hoi-dap/tra-cuu" if base else "trang Tra cứu câu hỏi trên cổng thông tin"
    message.set_content(
        "Kính gửi Quý ông/bà,\n\n"
        f"Bảo hiểm xã hội Việt Nam đã nhận câu hỏi của bạn gửi qua cổng thông tin, mã phiếu {reference}.\n"
        "Câu trả lời sẽ được gửi tới địa chỉ thư này. Bạn cũng có thể xem tình trạng và câu trả lời tại\n"
        f"{lookup}\nvới mã phiếu {reference} và mã bí mật {code}.\n\n"
        "Nếu bạn không gửi câu hỏi này, xin bỏ qua thư.\n\n"
        "Trân trọng,\nTrung tâm Chăm sóc khách hàng BHXH Việt Nam\n"
    )
    return message


def send_acknowledgement(settings: Settings, email: str, ticket_id: int, code: str) -> bool:
    if settings.smtp is None:
        return False
    try:
        send_message(settings.smtp, acknowledgement(settings, email, ticket_id, code), (email,))
    except (SmtpTransientError, SmtpPermanentError) as exc:
        log.warning("portal acknowledgement not sent", extra={"ticket": ticket_reference(ticket_id), "error": str(exc)})
        return False
    log.info("portal acknowledgement sent", extra={"ticket": ticket_reference(ticket_id)})
    return True
