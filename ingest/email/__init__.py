"""Email normalization: raw RFC 5322 bytes → NormalizedMessage (pure functions)."""

from ingest.email.headers import NO_SUBJECT, email_external_id
from ingest.email.parse import EmailParseError, parse_email

__all__ = ["NO_SUBJECT", "EmailParseError", "email_external_id", "parse_email"]
