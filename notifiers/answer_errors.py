"""How an answer's sender says it failed: worth retrying, or not (docs/answers.md).

Every sender maps its own errors (SMTP 4xx/5xx, Graph API codes, Zalo codes) to these two, so
the delivery (notifiers/answer_delivery.py) records them the same way for every channel.
"""

from __future__ import annotations


class AnswerTransientError(Exception):
    """Try again later: a lost connection, a timeout, a 4xx SMTP reply, a rate limit."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AnswerPermanentError(Exception):
    """Never worth retrying; the Vietnamese reason is shown on the ticket."""

    def __init__(self, reason_vi: str) -> None:
        super().__init__(reason_vi)
        self.reason_vi = reason_vi


class AnswerWindowClosed(AnswerPermanentError):
    """The platform's messaging window (the fanpage's 24 hours) has closed for this citizen."""
