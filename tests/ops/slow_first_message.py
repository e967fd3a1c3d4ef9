"""Test-only: loaded into worker processes as an extra dramatiq module, never by tiepnhan.

`python -m tiepnhan.worker … tests.ops.slow_first_message` adds a middleware that makes the
first pipeline message any of the processes takes (claimed by creating a file, so exactly one
process in one test holds it) sleep `OPS_TEST_SLOW_SECONDS` before its actor runs, and records
every pipeline message each process starts, so a test can tell who held what and whether a
message was ever handed out twice.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import dramatiq
from dramatiq.middleware import Middleware

CLAIM_FILE = "slow-claim.json"
STARTS_FILE = "starts.log"


class SlowFirstPipelineMessage(Middleware):
    def __init__(self, directory: Path, seconds: float) -> None:
        self.directory = directory
        self.seconds = seconds

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:  # type: ignore[type-arg]
        if not message.queue_name.startswith("pipeline"):
            return
        line = json.dumps({"pid": os.getpid(), "message_id": message.message_id, "actor": message.actor_name, "at": time.time()}) + "\n"
        with open(self.directory / STARTS_FILE, "a") as starts:
            starts.write(line)
        try:
            fd = os.open(self.directory / CLAIM_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        except FileExistsError:
            return  # another message (or a redelivery of this one) was claimed already
        with os.fdopen(fd, "w") as claim:
            claim.write(line)
        time.sleep(self.seconds)


if os.environ.get("OPS_TEST_DIR"):
    dramatiq.get_broker().add_middleware(
        SlowFirstPipelineMessage(Path(os.environ["OPS_TEST_DIR"]), float(os.environ.get("OPS_TEST_SLOW_SECONDS", "0")))
    )
