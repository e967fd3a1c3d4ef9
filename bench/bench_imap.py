"""IMAP intake speed against a real Dovecot on loopback, 10,000 messages of a few KB.

Measured in one run:
  (a) baseline: a bare imapclient loop fetching BODY.PEEK[] in batches, nothing stored;
  (b) durable intake: the sync (search, fetch, raw items committed, UID map, checkpoint)
      with processing left queued;
  (c) end to end: every message a tagged ticket, on the embedded broker (in-process worker
      threads, SQLite). Peak memory is this process's max RSS.
Run (as root, with dovecot-imapd installed): uv run python bench/bench_imap.py [N]
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from imapclient import IMAPClient  # noqa: E402

from tests.imap.dovecot import PASSWORD, USER, running_dovecot  # noqa: E402
from tests.samples import sample_email  # noqa: E402

BODY = (
    "Kính gửi BHXH Việt Nam,\n\nTôi là công nhân ở KCN Sóng Thần, Dĩ An, Bình Dương. Công ty nợ đóng BHXH "
    "nhiều tháng nên tôi không chốt được sổ để làm hồ sơ hưởng trợ cấp thất nghiệp. Đề nghị cơ quan BHXH kiểm tra.\n"
) * 6


def message(index: int) -> bytes:
    attachment = (b"%PDF-1.4 " + bytes(20_000), "application/pdf", "don.pdf") if index % 10 == 0 else None
    return sample_email(index, subject="Phản ánh nợ đóng BHXH #{index}", body=BODY, sender="Công nhân {index} <cn{index}@example.vn>",
                        id_prefix="bench", attachment=attachment)


def bare_fetch(port: int, total: int, items: list[str]) -> tuple[float, int]:
    """Messages/s of a bare imapclient loop fetching `items` in batches of 200, and the bytes."""
    imap = IMAPClient("127.0.0.1", port=port, ssl=False, timeout=60)
    imap.login(USER, PASSWORD)
    imap.select_folder("INBOX", readonly=True)
    started = time.perf_counter()
    uids = imap.search(["ALL"])
    size = 0
    for start in range(0, len(uids), 200):
        for data in imap.fetch(uids[start : start + 200], items).values():
            size += len(data[b"BODY[]"])
    rate = total / (time.perf_counter() - started)
    imap.logout()
    return rate, size


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    server_iter = running_dovecot()
    server = next(server_iter)
    try:
        box = server.folder_path() / "cur"
        box.mkdir(parents=True, exist_ok=True)
        for index in range(total):
            (box / f"{index}.bench:2,").write_bytes(message(index))
        server.chown()

        from ingest.imap.sync import FETCH_ITEMS

        baseline, size = bare_fetch(server.port, total, ["BODY.PEEK[]"])
        # The same loop with the items the sync must fetch (INTERNALDATE, RFC822.SIZE too):
        # what imapclient itself costs before tiepnhan stores anything.
        same_items, _ = bare_fetch(server.port, total, FETCH_ITEMS)

        from config.settings import load_settings
        from tickets.db import get_engine, migrate
        from tiepnhan import runtime
        from tiepnhan.broker import install_broker

        workdir = Path(tempfile.mkdtemp(prefix="tiepnhan-bench-imap-"))
        mailbox = {"name": "hotro", "host": "127.0.0.1", "port": server.port, "security": "plain", "username": USER,
                   "password": PASSWORD, "batch_size": 200, "timeout_seconds": 60}
        settings = runtime.configure(load_settings(None, database_url=f"sqlite:///{workdir / 'b.db'}", redis_url=None, mailboxes=[mailbox]))
        install_broker(settings)
        import tickets.actors  # noqa: F401
        from ingest.imap.poller import ImapPoller

        engine = get_engine(settings.database_url)
        migrate(engine)
        started = time.perf_counter()
        result = ImapPoller(settings.mailboxes[0]).poll_once(engine, enqueue=False)
        durable = total / (time.perf_counter() - started)
        assert result["new"] == total, result

        from tiepnhan.embedded import drain, embedded_worker
        from tiepnhan.scheduler import reconcile

        started = time.perf_counter()
        with embedded_worker(settings.worker.threads):
            reconcile(engine, settings)  # enqueue the stored, unprocessed items
            drain()
        processing = time.perf_counter() - started
        end_to_end = total / (total / durable + processing)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"messages: {total} ({size // total} bytes on average, every 10th with a 20 KB PDF)")
        print(f"(a) baseline, bare imapclient fetch: {baseline:,.0f} messages/s")
        print(f"(a') bare fetch of the sync's items ({', '.join(FETCH_ITEMS)}): {same_items:,.0f} messages/s; a'/a = {same_items / baseline:.2f}")
        print(f"(b) durable intake (raw items committed): {durable:,.0f} messages/s; b/a = {durable / baseline:.2f}, b/a' = {durable / same_items:.2f}")
        print(f"(c) end to end, tagged tickets (embedded, one process): {end_to_end:,.0f} messages/s; c/a = {end_to_end / baseline:.3f}")
        print(f"peak memory (max RSS of this process): {peak:.0f} MB")
    finally:
        try:
            next(server_iter)
        except StopIteration:
            pass


if __name__ == "__main__":
    main()
