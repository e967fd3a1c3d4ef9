"""Every route of the web process, with who may use it and what its path parameters name.

A route added to the app without a row here fails tests/webapp/test_route_scope.py, so a new
page or API endpoint cannot ship without its scope being tested.

`target` says which object the path's parameter names: "ticket", "escalation", "attachment",
"bank_entry" (a question-bank entry: coordinators only, never an office), or None (a list, a form, or no parameter). `roles` are the roles that may use the route at all
("*" for everyone, including anonymous callers).
"""

from __future__ import annotations

from dataclasses import dataclass

EVERYONE = frozenset({"*"})
STAFF = frozenset({"coordinator", "office", "viewer", "admin", "agent"})
COORDINATOR = frozenset({"coordinator"})
OFFICE = frozenset({"office"})
ADMIN = frozenset({"admin"})


@dataclass(frozen=True)
class RouteRow:
    roles: frozenset[str]
    target: str | None = None
    # Public: answers without a login (health, metrics, webhooks with their own signature, login).
    public: bool = False


ROUTES: dict[tuple[str, str], RouteRow] = {
    ("GET", "/healthz"): RouteRow(EVERYONE, public=True),
    ("GET", "/metrics"): RouteRow(EVERYONE, public=True),
    ("GET", "/webhooks/facebook"): RouteRow(EVERYONE, public=True),
    ("POST", "/webhooks/facebook"): RouteRow(EVERYONE, public=True),
    ("POST", "/webhooks/zalo"): RouteRow(EVERYONE, public=True),
    ("POST", "/webhooks/calls"): RouteRow(EVERYONE, public=True),  # signed with the call center's secret
    # The web portal (issue 18): public pages, and the API its own clients call with their key
    ("GET", "/hoi-dap"): RouteRow(EVERYONE, public=True),
    ("POST", "/hoi-dap"): RouteRow(EVERYONE, public=True),
    ("GET", "/hoi-dap/da-nhan"): RouteRow(EVERYONE, public=True),
    ("GET", "/hoi-dap/tra-cuu"): RouteRow(EVERYONE, public=True),
    ("POST", "/hoi-dap/tra-cuu"): RouteRow(EVERYONE, public=True),
    ("POST", "/api/portal/questions"): RouteRow(EVERYONE, public=True),
    ("GET", "/login"): RouteRow(EVERYONE, public=True),
    ("POST", "/login"): RouteRow(EVERYONE, public=True),
    ("POST", "/logout"): RouteRow(EVERYONE, public=True),
    ("GET", "/account/password"): RouteRow(STAFF),  # the user's own password form
    ("POST", "/account/password"): RouteRow(EVERYONE, public=True),  # the caller's own account only (no target; anonymous: to /login)
    ("GET", "/static"): RouteRow(EVERYONE, public=True),
    # JSON API
    ("GET", "/api/tickets"): RouteRow(STAFF),
    ("GET", "/api/tickets/{ticket_id}"): RouteRow(STAFF, "ticket"),
    ("POST", "/api/tickets/{ticket_id}/reply"): RouteRow(OFFICE, "ticket"),
    ("POST", "/api/tickets/{ticket_id}/answer"): RouteRow(COORDINATOR | frozenset({"agent"}), "ticket"),
    ("GET", "/api/attachments/{attachment_id}"): RouteRow(STAFF, "attachment"),
    ("GET", "/api/escalations"): RouteRow(STAFF),
    ("POST", "/api/escalations/{escalation_id}/approve"): RouteRow(COORDINATOR, "escalation"),
    ("POST", "/api/escalations/{escalation_id}/reject"): RouteRow(COORDINATOR, "escalation"),
    ("POST", "/api/escalations/{escalation_id}/reroute"): RouteRow(COORDINATOR, "escalation"),
    # Pages
    ("GET", "/reports"): RouteRow(frozenset({"coordinator", "office", "viewer", "admin"})),  # office: only what it was sent
    ("GET", "/"): RouteRow(STAFF),
    ("GET", "/tickets"): RouteRow(STAFF),
    ("GET", "/tickets/{ticket_id:int}"): RouteRow(STAFF, "ticket"),
    ("GET", "/attachments/{attachment_id:int}"): RouteRow(STAFF, "attachment"),
    ("GET", "/escalations"): RouteRow(STAFF),
    ("GET", "/dashboard"): RouteRow(STAFF),
    ("GET", "/admin"): RouteRow(ADMIN),
    ("POST", "/escalations/{escalation_id:int}/approve"): RouteRow(COORDINATOR, "escalation"),
    ("POST", "/escalations/{escalation_id:int}/reroute"): RouteRow(COORDINATOR, "escalation"),
    ("POST", "/escalations/{escalation_id:int}/reject"): RouteRow(COORDINATOR, "escalation"),
    ("POST", "/tickets/{ticket_id:int}/escalate"): RouteRow(COORDINATOR, "ticket"),
    ("POST", "/tickets/{ticket_id:int}/resolve"): RouteRow(COORDINATOR | OFFICE, "ticket"),
    ("POST", "/tickets/{ticket_id:int}/office/answer"): RouteRow(OFFICE, "ticket"),
    ("POST", "/tickets/{ticket_id:int}/office/acknowledge"): RouteRow(OFFICE, "ticket"),
    ("POST", "/tickets/{ticket_id:int}/office/not-ours"): RouteRow(OFFICE, "ticket"),
    ("POST", "/tickets/{ticket_id:int}/office/resolve"): RouteRow(OFFICE, "ticket"),
    ("POST", "/tickets/{ticket_id:int}/tags"): RouteRow(COORDINATOR, "ticket"),
    ("POST", "/tickets/{ticket_id:int}/merge"): RouteRow(COORDINATOR, "ticket"),
    ("POST", "/tickets/{ticket_id:int}/split"): RouteRow(COORDINATOR, "ticket"),
    ("POST", "/tickets/{ticket_id:int}/reopen"): RouteRow(COORDINATOR, "ticket"),
    ("POST", "/tickets/{ticket_id:int}/note"): RouteRow(COORDINATOR | frozenset({"agent"}), "ticket"),
    ("POST", "/tickets/{ticket_id:int}/assign"): RouteRow(COORDINATOR, "ticket"),
    # Question bank (web/pages_bank.py)
    ("GET", "/bank"): RouteRow(COORDINATOR),
    ("GET", "/bank/clusters"): RouteRow(COORDINATOR),
    ("GET", "/bank/{entry_id:int}"): RouteRow(COORDINATOR, "bank_entry"),
    ("POST", "/bank/{entry_id:int}"): RouteRow(COORDINATOR, "bank_entry"),
    # Answering the citizen from the ticket page (web/pages_answers.py)
    ("POST", "/tickets/{ticket_id:int}/answer"): RouteRow(COORDINATOR | frozenset({"agent"}), "ticket"),
    ("POST", "/tickets/{ticket_id:int}/answers/{answer_id:int}/draft"): RouteRow(COORDINATOR | frozenset({"agent"}), "ticket"),
}
