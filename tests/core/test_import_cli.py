"""`tiepnhan import`, `tickets`, `show`, `demo` and `reprocess`, through the real CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tickets.db import dispose_engines, session_scope
from tickets.models import Blob, RawItem
from tiepnhan import runtime
from tiepnhan.cli import app

SAMPLES = Path(__file__).resolve().parents[2] / "tiepnhan" / "samples"
EMAILS = SAMPLES / "emails"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TIEPNHAN_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.delenv("TIEPNHAN_REDIS_URL", raising=False)
    monkeypatch.delenv("TIEPNHAN_CONFIG", raising=False)
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, list(args), catch_exceptions=False)
        return result.exit_code, result.output

    yield invoke
    dispose_engines()


def import_json(cli, *paths: Path) -> dict:  # type: ignore[no-untyped-def, type-arg]
    code, output = cli("import", "--json", *map(str, paths))
    summary = json.loads(output.strip().splitlines()[-1])
    summary["exit_code"] = code
    return summary


def tickets(cli) -> list[dict]:  # type: ignore[no-untyped-def, type-arg]
    code, output = cli("tickets", "--json")
    assert code == 0
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_import_threads_replies_and_skips_duplicates(cli) -> None:  # type: ignore[no-untyped-def]
    files = sorted(EMAILS.glob("*.eml"))
    summary = import_json(cli, EMAILS)
    assert summary["exit_code"] == 0
    assert summary["items"] == len(files)
    assert summary["failures"] == []
    # 04 repeats 03's Message-ID: the same message delivered twice.
    assert summary["duplicates"] == 1
    rows = tickets(cli)
    assert summary["new_tickets"] == len(rows)
    by_subject = {row["subject"]: row for row in rows}
    thread = by_subject["Công ty nợ đóng BHXH 8 tháng, tôi không chốt được sổ"]
    # the citizen's own reply and the employer's out-of-office answer joined the thread
    assert thread["message_count"] == 3
    assert set(thread["external_ids"]) >= {"CAF7tung.001@mail.gmail.com", "CAF7tung.002@mail.gmail.com"}
    assert not any(row["subject"].startswith(("Re:", "Trả lời tự động")) for row in rows)
    for row in rows:
        assert {"id", "channel", "source", "subject", "sender", "status", "insurance_types", "province_code",
                "category", "message_count", "created_at", "external_ids"} <= row.keys()
        assert row["channel"] == "email"
        assert row["status"] == "triaged"  # every ticket was tagged on arrival


def test_importing_twice_adds_nothing(cli) -> None:  # type: ignore[no-untyped-def]
    first = import_json(cli, EMAILS)
    before = tickets(cli)
    second = import_json(cli, EMAILS)
    assert second["new_tickets"] == 0
    assert second["added_to_existing"] == 0
    assert second["duplicates"] == first["items"]
    assert tickets(cli) == before


def test_later_reply_is_added_to_the_existing_ticket(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first_batch = tmp_path / "first"
    first_batch.mkdir()
    shutil.copy(EMAILS / "01_no_dong_binh_duong.eml", first_batch)
    assert import_json(cli, first_batch)["new_tickets"] == 1
    summary = import_json(cli, EMAILS / "02_reply_no_dong_binh_duong.eml")
    assert summary["new_tickets"] == 0
    assert summary["added_to_existing"] == 1
    (ticket,) = tickets(cli)
    assert ticket["message_count"] == 2


def test_mbox_and_maildir_are_read(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import mailbox

    mbox = mailbox.mbox(tmp_path / "hop-thu.mbox")
    maildir = mailbox.Maildir(tmp_path / "Maildir")
    for index, path in enumerate(sorted(EMAILS.glob("*.eml"))):
        (mbox if index % 2 else maildir).add(path.read_bytes())
    mbox.flush()
    summary = import_json(cli, tmp_path / "hop-thu.mbox", tmp_path / "Maildir")
    direct = len(tickets(cli))
    assert summary["items"] == len(list(EMAILS.glob("*.eml")))
    assert summary["failures"] == []
    assert direct == summary["new_tickets"] == 5


def test_malformed_files_give_clear_errors_and_are_kept(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    broken_json = tmp_path / "fanpage.json"
    broken_json.write_bytes(b'{"data": [ {"id": "t_1", ')
    outlook = tmp_path / "outlook.msg"
    outlook.write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + bytes(range(256)) * 4)
    summary = import_json(cli, broken_json, outlook, EMAILS / "07_tro_cap_that_nghiep_nam_dinh.eml")
    assert summary["exit_code"] == 1
    assert summary["new_tickets"] == 1  # the good email still went through
    reasons = {Path(f["where"]).name: f["reason"] for f in summary["failures"]}
    assert set(reasons) == {"fanpage.json", "outlook.msg"}
    assert "not valid JSON" in reasons["fanpage.json"]
    assert reasons["outlook.msg"]  # says why, whatever the parser's words
    engine = runtime.engine()
    with session_scope(engine) as session:
        kept = {
            raw.origin.get("path"): (raw.state, session.get(Blob, raw.sha256).content)  # type: ignore[union-attr]
            for raw in session.execute(select(RawItem)).scalars()
        }
    assert kept[str(broken_json)] == ("quarantined", broken_json.read_bytes())
    assert kept[str(outlook)] == ("quarantined", outlook.read_bytes())


def test_show_prints_messages_tags_and_events(cli) -> None:  # type: ignore[no-untyped-def]
    import_json(cli, EMAILS)
    rows = tickets(cli)
    thread = next(r for r in rows if r["message_count"] == 3)
    code, output = cli("show", f"TN-{thread['id']:06d}")
    assert code == 0
    assert "Công ty nợ đóng BHXH" in output
    assert "Tôi gửi bổ sung" in output  # the reply's own text
    assert "Nhật ký" in output and "Tạo phiếu" in output and "Thêm tin nhắn" in output
    assert "[tự động trả lời]" in output
    code, output = cli("show", "999")
    assert code == 1 and "TN-000999" in output


def test_filters(cli) -> None:  # type: ignore[no-untyped-def]
    import_json(cli, EMAILS)
    rows = tickets(cli)
    code, output = cli("tickets", "--json", "--limit", "2")
    assert len(output.strip().splitlines()) == min(2, len(rows))
    code, output = cli("tickets", "--status", "bogus")
    assert code == 2 and "trạng thái không hợp lệ" in output


def test_reprocess_keeps_ticket_numbers(cli) -> None:  # type: ignore[no-untyped-def]
    import_json(cli, EMAILS)
    before = tickets(cli)
    code, output = cli("reprocess")
    assert code == 0
    result = json.loads(output.strip().splitlines()[-1])
    assert result["retagged"] == len(before)
    after = tickets(cli)
    assert [(t["id"], t["message_count"], t["external_ids"]) for t in after] == [
        (t["id"], t["message_count"], t["external_ids"]) for t in before
    ]


def test_demo_runs(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, output = cli("demo", "--database", str(tmp_path / "demo.db"))
    assert code == 0, output
    assert "Phiếu mới" in output
    assert "TN-000001" in output
