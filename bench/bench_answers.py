"""Email answer speed: N answers to citizens sent to a real SMTP server on loopback.

Prints answers/s through `submit_answer` (the text checked and composed, the answer stored, then
claim, prepare from the thread, attempt row, SMTP, the outbound message, thread key, status and
events), and, as the baseline measured in the same run, the same number of already-composed
mails handed to the same server with plain smtplib, one connection each; then the same for
`deliver_escalation` in the same run (bench/bench_notify.py), for comparison.
Run: uv run python bench/bench_answers.py [N]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

N = int(sys.argv[1]) if len(sys.argv) > 1 else 300
QUESTION = ("Hỏi về thủ tục cấp lại thẻ BHYT", "Cho tôi hỏi thủ tục cấp lại thẻ BHYT bị mất cần giấy tờ gì ạ?")
ANSWER = "Ông/bà mang CCCD đến BHXH cấp huyện nơi cư trú hoặc làm trên VssID; thẻ được cấp lại trong ngày."


def main() -> None:
    from config.settings import load_settings
    from notifiers.answer_delivery import submit_answer
    from notifiers.smtp import send_message
    from tests.escalation.conftest import INTAKE_ADDRESS, citizen_email, ingest_email
    from tests.escalation.smtp_server import smtp_capture
    from tickets.db import dispose_engines
    from tiepnhan import runtime

    smtp = smtp_capture()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        settings = runtime.configure(
            load_settings(
                None, database_url=f"sqlite:///{tmp_path / 'bench.db'}", redis_url=None, data_dir=str(tmp_path / "var"),
                smtp=smtp.settings(), intake={"reply_address": INTAKE_ADDRESS},
            )
        )  # fmt: skip
        engine = runtime.engine()
        tickets = []
        for number in range(N):
            ticket_id = ingest_email(citizen_email(*QUESTION, message_id=f"bench-{number}@dan.localhost", sender=f"Dân {number} <d{number}@dan.localhost>"))
            assert ticket_id is not None
            tickets.append(ticket_id)

        started = time.perf_counter()
        answers = [submit_answer(engine, settings, ticket_id, ANSWER, "bench") for ticket_id in tickets]
        ours = len(answers) / (time.perf_counter() - started)
        assert all(a.status == "sent" for a in answers), {a.status for a in answers}

        composed = [r.message for r in smtp.wait_for(len(answers))]
        assert settings.smtp is not None
        started = time.perf_counter()
        for message in composed:
            del message["Message-ID"]
            message["Message-ID"] = f"<baseline-{id(message)}@bench>"
            send_message(settings.smtp, message, ("baseline@dan.localhost",))
        baseline = len(composed) / (time.perf_counter() - started)
        dispose_engines()
    smtp.stop()
    print(f"answers sent: {len(answers)}")
    print(f"submit_answer (email): {ours:,.0f}/s ({1000 / ours:.1f} ms each)")
    print(f"baseline, smtplib alone (same mails, same server): {baseline:,.0f}/s ({1000 / baseline:.1f} ms each)")
    print(f"ratio: {ours / baseline:.2f}")


if __name__ == "__main__":
    main()
