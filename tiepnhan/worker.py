"""The Dramatiq worker: `python -m tiepnhan.worker [dramatiq options]` (what `tiepnhan worker` runs).

Run as a program, this is dramatiq's own CLI with tiepnhan's logging: the parent process sets
up `tiepnhan.logs` and starts dramatiq with `--skip-logging`, so neither it nor its worker
processes add dramatiq's text-format handler, and every line written is one JSON object.

Imported as the broker module (`dramatiq tiepnhan.worker`, in each worker process) it reads the
configuration (environment and TIEPNHAN_CONFIG), sets up logging before anything that logs
at import (Alembic) is loaded, installs the configured broker with tiepnhan's middleware, and
declares every actor on it: the pipeline stages, the poll and periodic jobs, the notifiers.
"""

from __future__ import annotations

import sys

from config.settings import load_settings
from tiepnhan.logs import setup_logging

BROKER_MODULE = "tiepnhan.worker"


def main(argv: list[str] | None = None) -> int:
    """The dramatiq parent process, logging like every tiepnhan process."""
    from dramatiq.cli import main as dramatiq_main
    from dramatiq.cli import make_argument_parser

    setup_logging(load_settings())
    args = make_argument_parser().parse_args(["--skip-logging", BROKER_MODULE, *(sys.argv[1:] if argv is None else argv)])
    return int(dramatiq_main(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
else:
    settings = load_settings()
    setup_logging(settings)
    from tiepnhan.actor_setup import setup

    broker = setup(settings)

    def warm_up() -> None:
        """Load what the first message would otherwise wait for (the classifiers' data, the
        routing rules), so a worker taking over a dead one's message finishes it promptly."""
        from classifiers import classify
        from tickets.directory import routing

        classify("Hỏi về bảo hiểm xã hội", "Tôi ở Hà Nội, xin hỏi thủ tục.", "email")
        routing(settings)

    warm_up()
