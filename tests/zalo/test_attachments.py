"""Files of user_send_image / user_send_file events: fetched from the Zalo stand-in after the
webhook's 200 (real uvicorn), size-limited, their type checked, kept as blobs on the Attachment.
The webhook tests run on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from ingest.zalo.attachments import allowed_url, check_content, family_of, fetch_pending_attachments
from tests.conftest import make_settings
from tests.zalo.conftest import account, account_config, process_all, send, user_event
from tests.zalo.zalo_server import ZaloServer
from tickets.db import dispose_engines, get_engine, migrate, session_scope
from tickets.models import Attachment, Blob

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4
PDF = b"%PDF-1.7\n" + b"1 0 obj << /Type /Catalog >> endobj\n" * 20 + b"%%EOF\n"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = get_engine(db_url)
    migrate(engine)
    yield engine
    dispose_engines()


def attachments(engine: Engine) -> list[Attachment]:
    with session_scope(engine) as session:
        rows = list(session.execute(select(Attachment).order_by(Attachment.id)).scalars())  # type: ignore[arg-type]
        for row in rows:
            session.expunge(row)
        return rows


def wait_settled(engine: Engine, count: int, seconds: float = 20) -> list[Attachment]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rows = attachments(engine)
        if len(rows) >= count and all(r.sha256 or r.skipped_reason or r.content_type == "text/uri-list" for r in rows):
            return rows
        time.sleep(0.1)
    raise AssertionError(f"attachments not settled: {attachments(engine)}")


def image(url: str) -> dict[str, Any]:
    return {"type": "image", "payload": {"url": url, "thumbnail": url}}


def test_an_image_is_fetched_after_the_answer_and_kept_as_a_blob(web: str, zalo: ZaloServer, engine: Engine) -> None:
    zalo.state.files["/cdn/so-bhxh.jpg"] = ("image/jpeg", JPEG)
    zalo.state.file_gate = threading.Event()  # the file is not served until the webhook has answered
    status, answer = send(web, user_event("user_send_image", "img-1", attachments=[image(f"{zalo.url}cdn/so-bhxh.jpg")]))
    assert status == 200 and answer == {"received": 1, "new": 1, "quarantined": 0}
    process_all(engine)
    (pending,) = attachments(engine)
    assert pending.sha256 is None and pending.url == f"{zalo.url}cdn/so-bhxh.jpg"
    zalo.state.file_gate.set()
    (kept,) = wait_settled(engine, 1)
    assert kept.skipped_reason is None and kept.content_type == "image/jpeg" and kept.size == len(JPEG)
    with session_scope(engine) as session:
        blob = session.get(Blob, kept.sha256)
        assert blob is not None and blob.content == JPEG
    assert zalo.state.file_calls == 1


def test_a_file_and_refusals_by_size_type_and_host(web: str, zalo: ZaloServer, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from tiepnhan import runtime

    monkeypatch.setattr(runtime.settings(), "max_attachment_bytes", 4096)
    zalo.state.files["/cdn/to-khai.pdf"] = ("application/pdf", PDF)
    zalo.state.files["/cdn/big.jpg"] = ("image/jpeg", JPEG * 8)
    zalo.state.files["/cdn/fake.jpg"] = ("image/jpeg", b"<html><body>404</body></html>")
    zalo.state.files["/cdn/page.html"] = ("text/html", b"<html></html>")
    files = [
        {"type": "file", "payload": {"url": f"{zalo.url}cdn/to-khai.pdf", "name": "to-khai.pdf", "size": str(len(PDF)), "type": "pdf"}},
        image(f"{zalo.url}cdn/big.jpg"), image(f"{zalo.url}cdn/fake.jpg"), image(f"{zalo.url}cdn/page.html"),
        image("http://169.254.169.254/latest/meta-data"),  # not Zalo's: never fetched
    ]
    assert send(web, user_event("user_send_file", "file-1", attachments=files))[0] == 200
    process_all(engine)
    pdf, big, fake, page, foreign = wait_settled(engine, 5)
    assert pdf.skipped_reason is None and pdf.content_type == "application/pdf" and pdf.size == len(PDF)
    assert big.sha256 is None and "quá giới hạn" in (big.skipped_reason or "")
    assert fake.sha256 is None and "không đúng loại image/jpeg" in (fake.skipped_reason or "")
    assert page.sha256 is None and "loại tệp không được nhận (text/html)" in (page.skipped_reason or "")
    assert foreign.sha256 is None and "không thuộc Zalo" in (foreign.skipped_reason or "")
    assert all(row.url for row in (big, fake, page, foreign))  # what is refused keeps its URL: nothing lost


def test_the_type_check_and_host_rule_are_pure(zalo: ZaloServer) -> None:
    assert family_of(JPEG) == "jpeg" and family_of(PDF) == "pdf" and family_of(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "webp"
    assert family_of(b"MZ\x90\x00") is None
    assert check_content("image/jpg; charset=binary", JPEG) == "image/jpeg"
    with pytest.raises(ValueError, match="không đúng loại"):
        check_content("application/pdf", JPEG)
    config = account_config(zalo)
    assert allowed_url("https://f20-zpc.zdn.vn/abc/photo.jpg", config)
    assert not allowed_url("https://zdn.vn.evil.example/photo.jpg", config)
    assert not allowed_url("file:///etc/passwd", config)


def test_files_the_webhook_task_missed_are_fetched_by_the_periodic_job(zalo: ZaloServer, engine: Engine, tmp_path: Path) -> None:
    from datetime import timedelta

    from ingest.zalo.events import read_event
    from ingest.zalo.intake import store_event
    from tickets.models import utcnow
    from tiepnhan.scheduler import PERIODIC_JOBS, resolve_target, run_periodic_now

    zalo.state.files["/cdn/don.jpg"] = ("image/jpeg", JPEG)
    config = account_config(zalo)
    settings = make_settings(str(engine.url), tmp_path, zalo_accounts=[account(zalo)])
    payload = user_event("user_send_image", "img-missed", attachments=[image(f"{zalo.url}cdn/don.jpg")])
    event = read_event(payload, config.name, config.oa_id, b"")
    store_event(engine, config, event, enqueue=False)  # stored and processed, but no background fetch ran
    process_all(engine)
    (job,) = [j for j in PERIODIC_JOBS if j.name == "zalo_attachments"]
    assert resolve_target(job.targets) is fetch_pending_attachments
    assert run_periodic_now(settings, engine, "zalo_attachments") == {}  # too recent: the webhook's own task may still get it
    assert attachments(engine)[0].sha256 is None and zalo.state.file_calls == 0
    assert fetch_pending_attachments(settings, engine, utcnow() + timedelta(minutes=3)) == {"zalo-oa": {"kept": 1, "refused": 0}}
    (kept,) = attachments(engine)
    assert kept.content_type == "image/jpeg" and kept.size == len(JPEG)
    assert fetch_pending_attachments(settings, engine, utcnow() + timedelta(minutes=3)) == {}  # nothing left to do
    assert zalo.state.file_calls == 1
