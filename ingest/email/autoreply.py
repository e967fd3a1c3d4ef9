"""Tell human mail from auto-replies, bounces and reports, so none of them opens a ticket
and the center never answers a machine (no mail loops).
"""

from __future__ import annotations

import re
from email.message import EmailMessage

AUTO_SUBJECT = re.compile(
    r"^\s*(trả lời tự động|tự động trả lời|thư trả lời tự động|automatic reply|auto[- ]?reply|autoreply|auto[- ]?response|out of (the )?office|"
    r"vắng mặt|i am out of the office|abwesenheitsnotiz|réponse automatique|respuesta automática)",
    re.IGNORECASE,
)
BOUNCE_SUBJECT = re.compile(
    r"(undeliver|undelivered mail|delivery status notification|delivery failure|failure notice|mail delivery (failed|failure|subsystem)|"
    r"returned mail|delivery has failed|could not be delivered|non[- ]?delivery|thư không gửi được|không thể gửi thư|"
    r"message not delivered|delivery notification|mail system error|rejected:|warning: could not send)",
    re.IGNORECASE,
)
MAILER_DAEMON = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon|mdaemon|bounce|bounces|noreply-dmarc)\b", re.IGNORECASE)


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:  # noqa: BLE001 - a garbled header is as good as none here
        return ""
    return str(value or "").strip()


def report_type(message: EmailMessage) -> str | None:
    """RFC 6522 multipart/report: "delivery-status" (RFC 3464), "disposition-notification"
    (RFC 8098), "feedback-report" (RFC 5965), or None."""
    if message.get_content_type() != "multipart/report":
        return None
    return (message.get_param("report-type") or "").lower() or "unknown"  # type: ignore[union-attr]


def auto_kind(message: EmailMessage, sender_address: str | None) -> str | None:
    """"bounce" | "auto_reply" | "feedback_report" | "delivery_success_dsn" | "delay_dsn" | None (human)."""
    kind = report_type(message)
    if kind == "delivery-status":
        return _dsn_kind(message)
    if kind == "feedback-report":
        return "feedback_report"
    if kind == "disposition-notification":
        return "auto_reply"
    if any(part.get_content_type() in ("message/delivery-status", "text/rfc822-headers") for part in message.walk()):
        return _dsn_kind(message)
    subject = _header(message, "Subject")
    local = (sender_address or "").split("@")[0]
    if MAILER_DAEMON.match(local):
        return "bounce"
    if BOUNCE_SUBJECT.search(subject) and not re.match(r"^\s*(re|fw|fwd|tl|tr)\s*:", subject, re.IGNORECASE):
        return "bounce"
    # RFC 3834 section 5: Auto-Submitted other than "no" marks automatic mail.
    auto_submitted = _header(message, "Auto-Submitted").lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return "auto_reply"
    if _header(message, "X-Autoreply") or _header(message, "X-Autorespond") or _header(message, "X-Autoresponder"):
        return "auto_reply"
    precedence = _header(message, "Precedence").lower()
    if precedence in ("auto_reply", "auto-reply"):
        return "auto_reply"
    if _header(message, "X-Auto-Response-Suppress") and AUTO_SUBJECT.search(subject):
        return "auto_reply"
    if AUTO_SUBJECT.search(subject) and auto_submitted != "no":
        return "auto_reply"
    if BOUNCE_SUBJECT.search(subject) and MAILER_DAEMON.match(local):
        return "bounce"
    return None


def _dsn_actions(message: EmailMessage) -> list[str]:
    actions: list[str] = []
    for part in message.walk():
        if part.get_content_type() == "message/delivery-status":
            text = str(part.get_payload()) if not part.is_multipart() else " ".join(str(p) for p in part.get_payload())  # type: ignore[union-attr]
            actions += [a.lower() for a in re.findall(r"(?im)^\s*Action\s*:\s*(\w+)", text)]
    return actions


def _dsn_kind(message: EmailMessage) -> str:
    """RFC 3464 section 2.3.3: every recipient delivered, every one only delayed, or a bounce."""
    actions = _dsn_actions(message)
    if actions and all(a in ("delivered", "relayed", "expanded") for a in actions):
        return "delivery_success_dsn"
    if actions and all(a == "delayed" for a in actions):
        return "delay_dsn"  # a warning, retried by the sender's server: not a bounce
    return "bounce"


_MESSAGE_ID_LINE = re.compile(r"(?im)^\s*(?:Original-)?Message-ID\s*:\s*<([^>\s]+)>")


def bounced_message_id(message: EmailMessage) -> str | None:
    """The Message-ID of the message that bounced: from the returned message or its headers."""
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type == "message/rfc822" or content_type == "message/global":
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if inner is not None and _header(inner, "Message-ID"):
                return _header(inner, "Message-ID").strip("<>") or None
        if content_type in ("text/rfc822-headers", "message/rfc822-headers") or content_type == "message/delivery-status":
            try:
                text = part.get_payload(decode=True) or b""
            except Exception:  # noqa: BLE001
                text = b""
            match = _MESSAGE_ID_LINE.search(text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text))
            if match:
                return match.group(1)
    own = _header(message, "Message-ID").strip("<> ")
    for part in message.walk():
        if part.get_content_maintype() == "text":
            try:
                payload = part.get_payload(decode=True) or b""
            except Exception:  # noqa: BLE001
                continue
            for match in _MESSAGE_ID_LINE.finditer(payload.decode("utf-8", "replace")):
                if match.group(1) != own:
                    return match.group(1)
    return None
