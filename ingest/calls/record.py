"""One call as the call center reported it. Pure."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class CallOutcome(enum.StrEnum):
    ANSWERED = "answered"  # an agent took the call
    MISSED = "missed"  # it rang out (or an outgoing call was not picked up)
    ABANDONED = "abandoned"  # the caller hung up while waiting


class CallDirection(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


@dataclass(frozen=True)
class CallRecordData:
    call_id: str
    started_at: datetime  # aware
    citizen_number: str  # the citizen's number (the caller of an inbound call, the callee of an outbound one), 0xxxxxxxxx
    direction: CallDirection = CallDirection.INBOUND
    outcome: CallOutcome | None = None  # None while the call is still going on (CTI)
    agent: str = ""
    line_number: str = ""  # the center's own number or extension
    duration_seconds: int = 0  # talk time
    wait_seconds: int = 0  # from the first ring to the answer (or to the hang-up)
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    summary: str = ""  # the agent's summary: a call with one becomes a message on a ticket


def outcome_without_answer(wait_seconds: int, ring_timeout_seconds: int, cause: str = "") -> CallOutcome:
    """A call nobody answered: abandoned when the caller gave up before it rang out, else missed.
    An explicit cause from the call center ("abandoned", "no_answer", …) wins."""
    cause = cause.strip().lower()
    if cause in {"abandoned", "caller", "caller_hangup", "bỏ máy"}:
        return CallOutcome.ABANDONED
    if cause in {"no_answer", "noanswer", "timeout", "busy", "missed"}:
        return CallOutcome.MISSED
    return CallOutcome.ABANDONED if wait_seconds < ring_timeout_seconds else CallOutcome.MISSED
