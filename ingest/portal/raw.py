"""A checked portal question as the raw item kept before anything else (JSON, attachments inside). Pure."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import asdict
from datetime import datetime
from typing import Any

from ingest.portal.attachments import AcceptedFile
from ingest.portal.question import PortalQuestion
from tickets.store import RawInput

KIND = "portal_question"
FORM_SOURCE = "portal"  # the public form; API clients use their [[portal_clients]] name


def form_external_id(nonce: str, question: PortalQuestion, files: list[AcceptedFile]) -> str:
    """One form shown once and sent with the same content (a reload, a double click) is one
    question; the same form sent again with other content (back, edit, send) is another."""
    digest = hashlib.sha256(json.dumps([asdict(question), [hashlib.sha256(f.content).hexdigest() for f in files]], ensure_ascii=False).encode()).hexdigest()
    return f"form:{nonce}:{digest[:32]}"


def api_external_id(client: str, client_id: str) -> str:
    return f"api:{client}:{client_id}"


def portal_raw_input(question: PortalQuestion, files: list[AcceptedFile], *, source: str, external_id: str, via: str, submitted_at: datetime) -> RawInput:
    envelope: dict[str, Any] = {
        "via": via,
        "source": source,
        "external_id": external_id,
        "submitted_at": submitted_at.isoformat(),
        "question": asdict(question),
        "attachments": [{"filename": f.filename, "content_type": f.content_type, "content_b64": base64.b64encode(f.content).decode("ascii")} for f in files],
    }
    content = json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return RawInput(source=source, kind=KIND, external_id=external_id, content=content, origin={"via": via, "attachments": len(files)}, arrived_at=submitted_at)
