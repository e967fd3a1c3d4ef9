"""Notifiers: forward escalations to units (email over SMTP, signed webhooks), chase them.

    compose.py   the Vietnamese messages, as pure functions of a view of the ticket
    views.py     reads that view from the store
    smtp.py      hands a message to the SMTP server; classifies its errors
    webhook.py   POSTs a signed JSON payload to a unit's endpoint
    delivery.py  one escalation → one delivery, with attempt bookkeeping (never lost, never twice)
    dispatch.py  now (embedded default) or through the "notify" queue (Redis)
    actors.py    the Dramatiq actor for the "notify" queue
    reminders.py the periodic pass: retries due, overdue escalations chased
    digests.py   the daily per-unit digest
"""
