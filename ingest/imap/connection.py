"""Open an authenticated IMAP connection for one configured mailbox (imapclient)."""

from __future__ import annotations

import ssl

from imapclient import IMAPClient, SocketTimeout

from config.settings import MailboxConfig


def connect(mailbox: MailboxConfig) -> IMAPClient:
    """Connect, secure (SSL or STARTTLS) and log in. Timeouts bound every blocking call."""
    timeout = SocketTimeout(connect=mailbox.timeout_seconds, read=mailbox.timeout_seconds)
    client = IMAPClient(mailbox.host, port=mailbox.port, ssl=mailbox.security == "ssl", timeout=timeout,
                        ssl_context=ssl.create_default_context() if mailbox.security != "plain" else None)
    try:
        if mailbox.security == "starttls":
            client.starttls(ssl.create_default_context())
        if mailbox.oauth2_token is not None:
            client.oauth2_login(mailbox.username, mailbox.oauth2_token.get_secret_value())
        else:
            assert mailbox.password is not None
            client.login(mailbox.username, mailbox.password.get_secret_value())
    except BaseException:
        try:
            client.shutdown()
        except Exception:  # noqa: BLE001 - already failing; the first error is the one to report
            pass
        raise
    # INTERNALDATE as timezone-aware datetimes, not converted to this machine's local time.
    client.normalise_times = False
    return client
