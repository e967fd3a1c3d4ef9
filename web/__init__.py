"""The web app: login, pages for coordinators, offices and managers, and the JSON API.

`tiepnhan/web/` wires the process (webhooks, metrics) and mounts this (web/app.py).
"""
