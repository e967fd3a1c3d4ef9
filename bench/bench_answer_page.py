"""The ticket page's cost of the answer form (issue 14): GET /tickets/{id} on a real uvicorn on
loopback, for question tickets, with a question bank of 2,000 entries (bench/bench_qbank.py's
variants of the sample bank).

Baseline measured in the same run: the same pages for a viewer (no answer form, so no
suggestions); then the agent's page (the form, the top 3 suggestions, the greeting previews) and
the agent's page with "Dùng câu trả lời này" (?use=<entry>: the entry's draft filled in).
Run: uv run python bench/bench_answer_page.py [TICKETS]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TICKETS = int(sys.argv[1]) if len(sys.argv) > 1 else 20
ROUNDS = 5
PASSWORD = "mat-khau-bench-2025"
QUESTIONS = (
    ("Hỏi về thẻ BHYT", "Tôi làm mất thẻ bảo hiểm y tế, xin hỏi cấp lại ở đâu ạ?"),
    ("Hỏi", "Cho hỏi mức đóng BHXH tự nguyện thấp nhất hiện nay là bao nhiêu?"),
    ("Hỏi về lương hưu", "Tôi đóng BHXH được 20 năm, bao nhiêu tuổi thì được nhận lương hưu?"),
    ("Hỏi", "Xin hỏi thủ tục hưởng trợ cấp thất nghiệp cần giấy tờ gì?"),
)


def timed(client, paths: list[str]) -> list[float]:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(ROUNDS):
        for path in paths:
            started = time.perf_counter()
            answer = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, (path, answer.status_code)
    return times


def describe(name: str, times: list[float]) -> str:
    times = sorted(times)
    return f"{name:<48} median {statistics.median(times):7.1f} ms   p95 {times[int(len(times) * 0.95)]:7.1f} ms"


def main() -> None:
    import httpx

    from access.users import create_user
    from bench.bench_qbank import DATA, variants
    from config.settings import load_settings
    from qbank.entry import load_jsonl_bank
    from qbank.store import save_entries
    from tests.escalation.conftest import INTAKE_ADDRESS, citizen_email, ingest_email
    from tests.servers import serve_asgi
    from tickets.db import dispose_engines, session_scope
    from tickets.directory import routing
    from tiepnhan import runtime
    from tiepnhan.web.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        settings = runtime.configure(load_settings(
            None, database_url=f"sqlite:///{root / 'bench.db'}", redis_url=None, data_dir=str(root / "var"), log_level="WARNING",
            intake={"reply_address": INTAKE_ADDRESS}, web={"secret_key": "b" * 40},
        ))
        engine = runtime.engine()
        bank = variants(load_jsonl_bank(str(DATA / "bank.jsonl")), 2_000)
        with session_scope(engine) as session:
            save_entries(session, bank, "bench")
        units = [u.id for u in routing(settings).units.units]
        for name, role in (("tuvan", "agent"), ("lanhdao", "viewer")):
            create_user(engine, name, role, known_units=units, password=PASSWORD)
        ids = []
        for n in range(TICKETS):
            subject, body = QUESTIONS[n % len(QUESTIONS)]
            ticket_id = ingest_email(citizen_email(subject, f"{body} (lần {n})", message_id=f"bench-{n}@dan.localhost"))
            assert ticket_id is not None
            ids.append(ticket_id)
        with serve_asgi(create_app(settings), log_level="warning") as (url, _port):
            clients = {}
            for name in ("tuvan", "lanhdao"):
                client = httpx.Client(base_url=url, timeout=60)
                client.get("/login")
                client.post("/login", data={"username": name, "password": PASSWORD, "next": "/", "csrftoken": client.cookies["csrftoken"]})
                clients[name] = client
            pages = [f"/tickets/{i}" for i in ids]
            for client in clients.values():  # the index built and the templates compiled outside every figure
                client.get(pages[0])
            viewer = timed(clients["lanhdao"], pages)
            agent = timed(clients["tuvan"], pages)
            picked = timed(clients["tuvan"], [f"{p}?use={bank[0].id}" for p in pages])
        dispose_engines()
    print(f"{TICKETS} question tickets, bank of {len(bank)} entries, {ROUNDS} rounds each")
    print(describe("baseline: viewer's page (no answer form)", viewer))
    print(describe("agent's page (form, 3 suggestions, previews)", agent))
    print(describe("agent's page, an entry picked (?use=)", picked))
    base = statistics.median(viewer)
    print(f"ratios to the viewer's page: {statistics.median(agent) / base:.2f}x (form), {statistics.median(picked) / base:.2f}x (entry picked)")


if __name__ == "__main__":
    main()
