"""Imports every module that defines tables, so metadata and migrations see them all.

Packages that add tables (escalations, notifier deliveries, IMAP UID maps...) list their
model modules here.
"""

import tickets.models  # noqa: F401
import tiepnhan.failures  # noqa: F401,E402  (FailedJob: dead-lettered jobs)
import ingest.imap.models  # noqa: F401
import tickets.escalation_models  # noqa: F401
import access.models  # noqa: F401  (users, API tokens, login throttle)
import tickets.action_models  # noqa: F401  (notes, assignments)
import tickets.search_models  # noqa: F401  (folded search text)
import qbank.models  # noqa: F401  (question bank entries and their versions)
import tickets.clock_models  # noqa: F401  (ticket and escalation clocks, issue 15)
import tickets.answer_models  # noqa: F401  (answers to citizens and their delivery attempts, issue 14)
import ingest.calls.models  # noqa: F401  (call_record: the call center's calls, issue 18)
import ingest.portal.models  # noqa: F401  (portal_attempt: the public form's rate limits, issue 18)
import tickets.scan_indexes  # noqa: F401  (partial and composite indexes of the periodic scans and listings, issue 16)
