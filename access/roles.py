"""Roles and what each may do. Reading is decided by access/scope.py; this decides acting."""

from __future__ import annotations

import enum
from typing import Protocol


class Role(enum.StrEnum):
    COORDINATOR = "coordinator"  # điều phối viên: reviews and routes everything
    OFFICE = "office"  # a provincial or central unit: only what was sent to it
    VIEWER = "viewer"  # manager: reads everything, changes nothing
    ADMIN = "admin"  # users and roles; reads everything
    AGENT = "agent"  # answers citizens (issue 14); reads like a coordinator


ROLE_LABELS = {
    Role.COORDINATOR: "điều phối viên",
    Role.OFFICE: "đơn vị xử lý",
    Role.VIEWER: "lãnh đạo / xem",
    Role.ADMIN: "quản trị",
    Role.AGENT: "trả lời công dân",
}


class Action(enum.StrEnum):
    APPROVE = "approve"
    REROUTE = "reroute"
    REJECT = "reject"
    ESCALATE = "escalate"
    TAG_CORRECT = "tag_correct"
    MERGE = "merge"
    SPLIT = "split"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    NOTE = "note"
    ASSIGN = "assign"
    OFFICE_ACKNOWLEDGE = "office_acknowledge"
    OFFICE_ANSWER = "office_answer"
    OFFICE_NOT_OURS = "office_not_ours"
    OFFICE_RESOLVE = "office_resolve"
    MANAGE_USERS = "manage_users"
    VIEW_ADMIN = "view_admin"
    ANSWER_CITIZEN = "answer_citizen"
    MANAGE_BANK = "manage_bank"  # the question bank's pages: edit entries, see unanswered clusters
    VIEW_REPORTS = "view_reports"  # the reports page (issue 15); an office counts only what it was sent


_COORDINATION = frozenset(
    {
        Action.APPROVE, Action.REROUTE, Action.REJECT, Action.ESCALATE, Action.TAG_CORRECT, Action.MERGE,
        Action.SPLIT, Action.RESOLVE, Action.REOPEN, Action.NOTE, Action.ASSIGN,
    }
)
_OFFICE = frozenset({Action.OFFICE_ACKNOWLEDGE, Action.OFFICE_ANSWER, Action.OFFICE_NOT_OURS, Action.OFFICE_RESOLVE})

ALLOWED: dict[Role, frozenset[Action]] = {
    Role.COORDINATOR: _COORDINATION | {Action.ANSWER_CITIZEN, Action.MANAGE_BANK, Action.VIEW_REPORTS},
    Role.OFFICE: _OFFICE | {Action.VIEW_REPORTS},
    Role.VIEWER: frozenset({Action.VIEW_REPORTS}),
    Role.ADMIN: frozenset({Action.MANAGE_USERS, Action.VIEW_ADMIN, Action.VIEW_REPORTS}),
    Role.AGENT: frozenset({Action.NOTE, Action.ANSWER_CITIZEN}),
}


class HasRole(Protocol):
    role: str
    disabled: bool


def can(user: HasRole | None, action: Action) -> bool:
    """Whether this user may do this; a disabled user or an unknown role may do nothing."""
    if user is None or user.disabled:
        return False
    try:
        role = Role(user.role)
    except ValueError:
        return False
    return action in ALLOWED[role]
