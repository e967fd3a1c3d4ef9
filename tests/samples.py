"""Sample citizen emails for tests and benchmarks: one builder, so they all look alike."""

from __future__ import annotations

from email.message import EmailMessage

DEFAULT_SUBJECT = "Hỏi về thẻ BHYT số {index}"
DEFAULT_SENDER = "Công dân {index} <dan{index}@example.vn>"
DEFAULT_BODY = "Tôi ở Hải Dương, thẻ BHYT của tôi hết hạn, xin hỏi gia hạn thế nào? (thư {index})"
DEFAULT_DATE = "Mon, 06 Oct 2025 08:00:00 +0700"


def sample_email(
    index: int,
    *,
    subject: str = DEFAULT_SUBJECT,
    body: str = DEFAULT_BODY,
    sender: str = DEFAULT_SENDER,
    id_prefix: str = "msg",
    date: str = DEFAULT_DATE,
    attachment: tuple[bytes, str, str] | None = None,
) -> bytes:
    """A plain-text email to hotro@example.vn with Message-ID `<{id_prefix}-{index}@example.vn>`.

    `subject`, `body` and `sender` may use `{index}`; `attachment` is (bytes, "type/subtype", filename).
    """
    message = EmailMessage()
    message["From"] = sender.format(index=index)
    message["To"] = "hotro@example.vn"
    message["Subject"] = subject.format(index=index)
    message["Message-ID"] = f"<{id_prefix}-{index}@example.vn>"
    message["Date"] = date
    message.set_content(body.format(index=index))
    if attachment is not None:
        data, content_type, filename = attachment
        maintype, _, subtype = content_type.partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()
