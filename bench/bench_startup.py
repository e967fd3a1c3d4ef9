"""How long each CLI command takes to start and finish (issue 16: every command under 0.5 s,
`classify` under 0.3 s), against `python -c pass` measured in the same run.

    uv run python bench/bench_startup.py [--before PATH]

Each command runs in a fresh interpreter, 5 times; the median wall time and the median CPU
time (user + system, which depends far less on the machine's other load) are printed. The database
is a migrated SQLite file with one ticket (built here). Each command first runs once unmeasured
(with PYTHONDONTWRITEBYTECODE unset), so what is measured is an installed tiepnhan's start-up:
modules read from their compiled bytecode, files in the page cache. With --before PATH (a `git worktree` of
an earlier commit), the same commands are also run with that tree's code (PYTHONPATH), for the
ratio before / now.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

REPEAT = 5
LINE = json.dumps({"id": 1, "subject": "Hỏi về chế độ thai sản BHXH ở Hà Nội", "body": "Tôi muốn hỏi thủ tục."}, ensure_ascii=False) + "\n"
COMMANDS = [
    ("--help", ["--help"], ""),
    ("status", ["status"], ""),
    ("tickets", ["tickets"], ""),
    ("tickets --json", ["tickets", "--json"], ""),
    ("show 1", ["show", "1"], ""),
    ("classify (one line)", ["classify"], LINE),
]

# What every command that reads the database imports however lazily it is written: Typer (and
# the pydantic it converts arguments with), the typed configuration (pydantic-settings),
# SQLAlchemy and the SQLModel models. Printed as the floor the database commands stand on.
FLOOR = "import typer, typer._adapters, config.settings, tickets.db, tickets.models"


def wall(argv: list[str], env: dict[str, str], stdin: str) -> tuple[float, float]:
    """Median wall and CPU (user + system) seconds of REPEAT runs; CPU time depends far less on
    what else the machine is running."""
    walls, cpus = [], []
    subprocess.run(argv, env=env, input=stdin.encode(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=env.get("_CWD", REPO))  # warm-up
    _children_cpu_delta()
    for _ in range(REPEAT):
        began = time.perf_counter()
        process = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=env.get("_CWD", REPO))
        _, err = process.communicate(stdin.encode())
        walls.append(time.perf_counter() - began)
        assert process.returncode in (0, 1), (argv, err.decode()[-800:])  # status exits 1 with no source: unhealthy, fine
        cpus.append(_children_cpu_delta())
    return statistics.median(walls), statistics.median(cpus)


_last_children_cpu = 0.0


def _children_cpu_delta() -> float:
    """CPU seconds of the children reaped since the last call."""
    global _last_children_cpu
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = usage.ru_utime + usage.ru_stime
    delta, _last_children_cpu = total - _last_children_cpu, total
    return delta


BUILD = """
import sys
from sqlalchemy import insert
from tickets.db import get_engine, migrate, session_scope
from tickets.models import Ticket
engine = get_engine(sys.argv[1])
migrate(engine)
with session_scope(engine) as session:
    session.execute(insert(Ticket), [{"channel": "email", "source": "hopthu", "subject": "Hỏi về BHXH", "status": "triaged", "insurance_types": ["BHXH"],
                                      "topics": [], "tag_confidence": {}, "tag_evidence": [], "province_code": "01", "category": "question", "tags_locked": False}])
"""


def build_with(tree: Path, url: str) -> None:
    """The one-ticket database, migrated by `tree`'s own code (an older tree has older migrations)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIEPNHAN_")} | {"PYTHONPATH": str(tree)}
    subprocess.run([sys.executable, "-c", BUILD, url], env=env, cwd=tree, check=True, stderr=subprocess.DEVNULL)


def main() -> None:
    before = Path(sys.argv[sys.argv.index("--before") + 1]) if "--before" in sys.argv else None
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as directory:
        url = f"sqlite:///{Path(directory) / 'one.db'}"
        build_with(REPO, url)
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("TIEPNHAN_") and k != "PYTHONDONTWRITEBYTECODE"} | {"TIEPNHAN_DATABASE_URL": url, "TIEPNHAN_DATA_DIR": str(Path(directory) / "var")}
        before_env = base_env | {"TIEPNHAN_DATABASE_URL": f"sqlite:///{Path(directory) / 'before.db'}"}
        if before:
            build_with(before, before_env["TIEPNHAN_DATABASE_URL"])
        _children_cpu_delta()
        baseline, baseline_cpu = wall([sys.executable, "-c", "pass"], base_env, "")
        print(f"python -c pass (baseline): {baseline * 1000:.0f} ms wall, {baseline_cpu * 1000:.0f} ms CPU (median of {REPEAT})\n")
        header = f"  {'command':22} {'wall ms':>8} {'× pass':>7} {'CPU ms':>7} {'× pass':>7}"
        print(header + (f" {'before wall':>12} {'before CPU':>11} {'CPU before/now':>15}" if before else ""))
        for label, args, stdin in COMMANDS:
            argv = [sys.executable, "-c", "from tiepnhan.cli import main; main()", *args]
            now, now_cpu = wall(argv, base_env | {"PYTHONPATH": str(REPO)}, stdin)
            line = f"  {label:22} {now * 1000:8.0f} {now / baseline:7.1f} {now_cpu * 1000:7.0f} {now_cpu / baseline_cpu:7.1f}"
            if before:
                old, old_cpu = wall(argv, before_env | {"PYTHONPATH": str(before), "_CWD": str(before)}, stdin)
                line += f" {old * 1000:12.0f} {old_cpu * 1000:11.0f} {old_cpu / now_cpu:15.2f}"
            print(line, flush=True)
        floor, floor_cpu = wall([sys.executable, "-c", FLOOR], base_env | {"PYTHONPATH": str(REPO)}, "")
        print(f"  {'floor (imports only)':22} {floor * 1000:8.0f} {floor / baseline:7.1f} {floor_cpu * 1000:7.0f} {floor_cpu / baseline_cpu:7.1f}   {FLOOR}")
        print("\ntargets: every command < 500 ms, classify < 300 ms (wall, this machine, this moment)")


if __name__ == "__main__":
    main()
