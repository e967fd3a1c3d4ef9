"""IMAP intake speed against a real Dovecot on loopback, messages of a few KB (every 10th with a PDF).

Measured in one run, each size in a fresh process (so its peak memory is its own):
  (a) baseline: a bare imapclient loop fetching BODY.PEEK[] in batches, nothing stored;
  (b) durable intake: the sync (search, fetch, raw items committed, UID map, checkpoint)
      with processing left queued;
  (c) end to end: every message a tagged ticket, on the embedded broker (in-process worker
      threads, SQLite), intake and processing together;
  (p) parsing + classifying the same emails in one plain loop (no database, no broker): the
      real work, which (c) is compared to;
  (c-before) (c) of the code of an earlier commit, from a `git worktree` of it, measured at the
      same time on the same machine (`--before /tmp/base`), and the ratio (c)/(c-before);
  the pipeline threads of the embedded worker (`--threads 1 2 4`) at the smaller size.
Peak memory is each process's max RSS.

Run (as root, with dovecot-imapd installed):
  uv run python bench/bench_imap.py 10000 [--also 2000] [--before /tmp/base --before-n 2000] [--threads 1 2 4]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

BODY = (
    "Kính gửi BHXH Việt Nam,\n\nTôi là công nhân ở KCN Sóng Thần, Dĩ An, Bình Dương. Công ty nợ đóng BHXH "
    "nhiều tháng nên tôi không chốt được sổ để làm hồ sơ hưởng trợ cấp thất nghiệp. Đề nghị cơ quan BHXH kiểm tra.\n"
) * 6


def message(index: int) -> bytes:
    from tests.samples import sample_email

    attachment = (b"%PDF-1.4 " + bytes(20_000), "application/pdf", "don.pdf") if index % 10 == 0 else None
    return sample_email(index, subject="Phản ánh nợ đóng BHXH #{index}", body=BODY, sender="Công nhân {index} <cn{index}@example.vn>",
                        id_prefix="bench", attachment=attachment)


def bare_fetch(port: int, total: int, items: list[str]) -> tuple[float, int]:
    """Messages/s of a bare imapclient loop fetching `items` in batches of 200, and the bytes."""
    from imapclient import IMAPClient

    from tests.imap.dovecot import PASSWORD, USER

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


def plain_loop(total: int) -> float:
    """Messages/s of parsing and classifying the mailbox's emails (the same bytes, made again one
    at a time, outside the clock) in one loop: the pipeline's real work."""
    from classifiers import classify
    from ingest.registry import ParseContext, parser_for

    parse = parser_for("email")
    classify("khởi động", "khởi động", "email")  # load the lexicons outside the clock
    spent = 0.0
    for index in range(total):
        content = message(index)
        started = time.perf_counter()
        normalized = parse(content, ParseContext(source="hotro", arrived_at=None, max_attachment_bytes=25 << 20))  # type: ignore[arg-type]
        classify(normalized.subject, normalized.clean_text, normalized.channel.value)
        spent += time.perf_counter() - started
    return total / spent


def measure(total: int, threads: int | None) -> dict[str, float]:
    """One size, in this process: (a), (a'), (b), (c), (p), peak RSS."""
    from tests.imap.dovecot import PASSWORD, USER, running_dovecot

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
        same_items, _ = bare_fetch(server.port, total, FETCH_ITEMS)
        plain = plain_loop(total)

        from config.settings import load_settings
        from tickets.db import get_engine, migrate
        from tiepnhan import runtime
        from tiepnhan.broker import install_broker

        workdir = Path(tempfile.mkdtemp(prefix="tiepnhan-bench-imap-"))
        mailbox = {"name": "hotro", "host": "127.0.0.1", "port": server.port, "security": "plain", "username": USER,
                   "password": PASSWORD, "batch_size": 200, "timeout_seconds": 60}
        overrides = {"worker": {"threads": threads}} if threads else {}
        settings = runtime.configure(load_settings(None, database_url=f"sqlite:///{workdir / 'b.db'}", redis_url=None, mailboxes=[mailbox], **overrides))
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
        from sqlalchemy import func, select

        from tickets.db import session_scope
        from tickets.models import Ticket

        with session_scope(engine) as session:
            tagged = session.execute(select(func.count()).select_from(Ticket).where(Ticket.tagged_at.is_not(None))).scalar_one()  # type: ignore[union-attr]
        assert tagged == total, (tagged, total)
        end_to_end = total / (total / durable + processing)
    finally:
        try:
            next(server_iter)
        except StopIteration:
            pass
    return {
        "n": total,
        "threads": settings.worker.threads,
        "bytes": size / total,
        "a": baseline,
        "a_items": same_items,
        "b": durable,
        "c": end_to_end,
        "p": plain,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_child(total: int, threads: int | None, tree: Path = REPO) -> dict[str, float]:
    """`measure` in a fresh process; for another tree (a worktree of an earlier commit), that
    tree's own bench script with that tree's code, its (c) line read from its output."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("TIEPNHAN_")}, "PYTHONPATH": str(tree)}
    if tree == REPO:
        argv = [sys.executable, str(REPO / "bench" / "bench_imap.py"), "--one", str(total)] + (["--one-threads", str(threads)] if threads else [])
        output = subprocess.run(argv, env=env, cwd=tree, check=True, capture_output=True, text=True).stdout
        return json.loads(output.strip().splitlines()[-1])
    output = subprocess.run([sys.executable, str(tree / "bench" / "bench_imap.py"), str(total)], env=env, cwd=tree, check=True, capture_output=True, text=True).stdout
    found = re.search(r"\(c\)[^:]*: ([\d,.]+) messages/s", output)
    peak = re.search(r"peak memory[^:]*: (\d+) MB", output)
    if not found:
        raise SystemExit(f"no (c) figure in the output of {tree}:\n{output}")
    return {"n": total, "c": float(found.group(1).replace(",", "")), "rss_mb": float(peak.group(1)) if peak else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int, nargs="?", default=10_000)
    parser.add_argument("--also", type=int, default=2_000, help="a second, smaller mailbox: memory must be flat in size")
    parser.add_argument("--before", type=Path, help="a git worktree of the earlier commit, whose (c) is measured in this run")
    parser.add_argument("--before-n", type=int, default=2_000, help="mailbox size for the earlier commit's (c)")
    parser.add_argument("--threads", type=int, nargs="*", default=[], help="pipeline threads to compare at the smaller size")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--one-threads", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.one_threads)))
        return

    runs = []
    for size in sorted({args.also, args.n}):  # each printed as soon as it is measured
        run = run_child(size, None)
        runs.append(run)
        print(f"--- messages: {run['n']:.0f} ({run['bytes']:.0f} bytes on average, every 10th with a 20 KB PDF), {run['threads']:.0f} pipeline threads", flush=True)
        print(f"(a) baseline, bare imapclient fetch: {run['a']:,.0f} messages/s")
        print(f"(a') bare fetch of the sync's items: {run['a_items']:,.0f} messages/s; a'/a = {run['a_items'] / run['a']:.2f}")
        print(f"(b) durable intake (raw items committed): {run['b']:,.0f} messages/s; b/a = {run['b'] / run['a']:.2f}")
        print(f"(p) parse + classify in one plain loop: {run['p']:,.0f} messages/s")
        print(f"(c) end to end, tagged tickets (embedded, one process): {run['c']:,.0f} messages/s; c/a = {run['c'] / run['a']:.3f}; c/p = {run['c'] / run['p']:.2f}")
        print(f"peak memory (max RSS of that process): {run['rss_mb']:.0f} MB; load average {os.getloadavg()[0]:.1f}", flush=True)
    small = runs[0]
    for threads in args.threads:
        run = run_child(small["n"], threads)
        print(f"(c) at {run['n']:.0f} messages with {threads} pipeline threads: {run['c']:,.0f} messages/s ({run['c'] / run['p']:.2f} of p)", flush=True)
    if args.before:
        now = next((r for r in runs if r["n"] == args.before_n), None) or run_child(args.before_n, None)
        before = run_child(args.before_n, None, args.before)
        print(f"(c-before) end to end of {args.before} at {args.before_n} messages: {before['c']:,.0f} messages/s, peak {before['rss_mb']:.0f} MB")
        print(f"(c)/(c-before) at {args.before_n} messages, same machine, same run: {now['c'] / before['c']:.2f}x")
    sizes = ", ".join(f"{r['n']:.0f}: {r['rss_mb']:.0f} MB" for r in runs)
    print(f"peak RSS by mailbox size: {sizes}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
