"""Escalation delivery speed: N approved escalations sent to a real SMTP server on loopback.

Prints escalations/s through `deliver_escalation` (claim, compose from the store, attempt
bookkeeping, SMTP, outcome) and, as the baseline measured in the same run, the same number of
already-composed messages handed to the same server with plain smtplib, one connection each.
Run: uv run python bench/bench_notify.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

N = int(sys.argv[1]) if len(sys.argv) > 1 else 300


def main() -> None:
    from config.settings import load_settings
    from notifiers.delivery import Outcome, deliver_escalation
    from notifiers.smtp import send_message
    from tests.escalation.conftest import COMPLAINT, INTAKE_ADDRESS, citizen_email, ingest_email, units_file
    from tests.escalation.smtp_server import smtp_capture
    from tickets.escalations import approve, list_escalations
    from tiepnhan import runtime

    smtp = smtp_capture()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        settings = runtime.configure(
            load_settings(
                None, database_url=f"sqlite:///{tmp_path / 'bench.db'}", redis_url=None, data_dir=str(tmp_path / "var"),
                units_file=str(units_file(tmp_path)), smtp=smtp.settings(), intake={"reply_address": INTAKE_ADDRESS},
            )
        )  # fmt: skip
        engine = runtime.engine()
        for number in range(N):
            ingest_email(citizen_email(*COMPLAINT, message_id=f"bench-{number}@dan.localhost", sender=f"Dân {number} <d{number}@dan.localhost>"))
        proposals = list_escalations(engine, status="proposed")
        for proposal in proposals:
            approve(engine, proposal.id or 0, "bench")

        started = time.perf_counter()
        outcomes = [deliver_escalation(settings, engine, p.id or 0) for p in proposals]
        ours = len(proposals) / (time.perf_counter() - started)
        assert all(o is Outcome.SENT for o in outcomes), outcomes

        composed = [r.message for r in smtp.wait_for(len(proposals))]
        assert settings.smtp is not None
        started = time.perf_counter()
        for message in composed:
            del message["Message-ID"]
            message["Message-ID"] = f"<baseline-{id(message)}@bench>"
            send_message(settings.smtp, message, ("baseline@donvi.localhost",))
        baseline = len(composed) / (time.perf_counter() - started)
    smtp.stop()
    print(f"escalations delivered: {len(proposals)}")
    print(f"deliver_escalation: {ours:,.0f}/s")
    print(f"baseline, smtplib alone (same messages, same server): {baseline:,.0f}/s")
    print(f"ratio: {ours / baseline:.2f}")


if __name__ == "__main__":
    main()
