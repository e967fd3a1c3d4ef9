"""The web portal\x27s question form and API (issue 18)."""
