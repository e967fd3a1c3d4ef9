"""The call center\x27s records (issue 18)."""
