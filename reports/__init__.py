"""Workload and service-quality reports (issue 15): figures over the stored clocks.

Rows come from reports/rows.py (indexed, aggregated columns only, never the event log in full);
the figures are pure functions (volume, quality, sla, workload, acceptance); reports/render.py
writes them as a table, JSON, CSV, XLSX or PDF. See docs/reports.md.
"""
