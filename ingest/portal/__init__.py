"""The web portal's question form and its forwarding API (issue 18): pure validation and parsing.

`question.py` checks what a citizen (or the agency's portal) sent and makes a `PortalQuestion`;
`raw.py` turns one into the raw item kept first (JSON, attachments inside as base64);
`normalize.py` is the registry's parser from that raw item to a `NormalizedMessage`.
"""
