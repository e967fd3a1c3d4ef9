"""Hand a message to the configured SMTP server, and say whether a failure is worth retrying.

RFC 5321 section 4.2.1: 4yz replies are transient (try again later), 5yz permanent. A lost
connection or a timeout is transient: the server may be restarting.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage

from config.settings import SmtpConfig


class SmtpTransientError(Exception):
    pass


class SmtpPermanentError(Exception):
    pass


def _connect(config: SmtpConfig) -> smtplib.SMTP:
    timeout = config.timeout_seconds
    if config.security == "ssl":
        return smtplib.SMTP_SSL(config.host, config.port, timeout=timeout, context=ssl.create_default_context())
    client = smtplib.SMTP(config.host, config.port, timeout=timeout)
    if config.security == "starttls":
        client.starttls(context=ssl.create_default_context())
    return client


def send_message(config: SmtpConfig, message: EmailMessage, recipients: tuple[str, ...]) -> None:
    try:
        client = _connect(config)
    except (OSError, smtplib.SMTPException) as exc:
        raise SmtpTransientError(f"không kết nối được máy chủ SMTP {config.host}:{config.port}: {exc}") from exc
    try:
        if config.username:
            password = config.password.get_secret_value() if config.password else ""
            client.login(config.username, password)
        refused = client.send_message(message, from_addr=config.from_address, to_addrs=list(recipients))
        if refused:
            # Some recipients were refused, the rest accepted: the message went out; report it.
            raise SmtpPermanentError("máy chủ từ chối một số người nhận: " + ", ".join(f"{a} ({c})" for a, (c, _m) in refused.items()))
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        if all(code >= 500 for code in codes):
            raise SmtpPermanentError(f"máy chủ từ chối mọi người nhận: {exc.recipients}") from exc
        raise SmtpTransientError(f"người nhận tạm thời bị từ chối: {exc.recipients}") from exc
    except smtplib.SMTPAuthenticationError as exc:
        raise SmtpPermanentError(f"đăng nhập SMTP thất bại ({exc.smtp_code})") from exc
    except smtplib.SMTPResponseException as exc:
        error = SmtpPermanentError if exc.smtp_code >= 500 else SmtpTransientError
        raise error(f"máy chủ SMTP trả lời {exc.smtp_code}: {exc.smtp_error!r}") from exc
    except (smtplib.SMTPServerDisconnected, socket.timeout, OSError) as exc:
        raise SmtpTransientError(f"mất kết nối SMTP: {exc}") from exc
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()
