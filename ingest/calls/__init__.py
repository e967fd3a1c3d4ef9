"""The call center's records (issue 18): call-log files (CSV/XLSX) and CTI call events.

Pure: `record.py` (one call), `log_file.py` (a file's rows → calls, with per-line errors, by the
column mapping in `columns.toml`), `cti.py` (signed CTI events → the call they describe),
`normalize.py` (a call with the agent's summary → NormalizedMessage, channel "call").
Side effects: `models.py` (the call_record table), `intake.py` (store calls, hand summaries
to `tiepnhan.intake.accept`).
"""
