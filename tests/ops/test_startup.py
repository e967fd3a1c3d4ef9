"""Start-up (issue 16): commands import what they need when they need it, and a command that
touches the database checks its schema without loading Alembic unless it must migrate.

What is imported is asserted (in a fresh interpreter), not how long it takes: the times are
printed by bench/bench_startup.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import REPO
from tickets.db import dispose_engines, get_engine, migrate

# Heavy packages no command needs before it runs (the help screens, `classify`). Pydantic itself
# is not among them: Typer (0.29) converts every command's arguments with it.
HEAVY = ("sqlalchemy", "sqlmodel", "alembic", "pydantic_settings", "dramatiq", "rich", "typer.rich_utils",
         "config.settings", "vietnam_provinces", "holidays", "redis", "psycopg")  # fmt: skip

PROBE = """
import io, json, sys
sys.argv = ["tiepnhan", *json.loads(sys.argv[1])]
sys.stdin = io.StringIO({stdin!r})
from tiepnhan.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
sys.stdout.flush()
sys.stderr.write("\\nPROBE " + json.dumps({{"code": code, "modules": sorted(sys.modules)}}) + "\\n")
"""


def run_probe(args: list[str], env: dict[str, str] | None = None, stdin: str = "") -> tuple[int, set[str], str]:
    """Run `tiepnhan ARGS` in a fresh interpreter; its exit code, loaded modules and output."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(stdin=stdin), json.dumps(args)],
        cwd=REPO, env={**_clean_env(), **(env or {})}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    line = next(part for part in result.stderr.splitlines() if part.startswith("PROBE "))
    report = json.loads(line.removeprefix("PROBE "))
    return report["code"], set(report["modules"]), result.stdout


def _clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("TIEPNHAN_")}


def heavy_in(modules: set[str]) -> list[str]:
    return [name for name in HEAVY if name in modules]


def test_importing_the_cli_loads_nothing_heavy() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import sys, tiepnhan.cli; print('\\n'.join(sorted(sys.modules)))"],
        cwd=REPO, env=_clean_env(), capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    assert heavy_in(set(result.stdout.split())) == []


def test_classify_runs_without_database_config_or_rich() -> None:
    code, modules, out = run_probe(["classify"], stdin=json.dumps({"id": 1, "subject": "Hỏi về chế độ thai sản BHXH ở Hà Nội", "body": "Tôi muốn hỏi"}) + "\n")
    assert code == 0
    assert json.loads(out)["insurance_types"] == ["BHXH"]
    assert heavy_in(modules) == []


def test_help_screens_load_no_database_layer() -> None:
    for args in (["--help"], ["tickets", "--help"], ["status", "--help"], ["show", "--help"], ["classify", "--help"]):
        code, modules, out = run_probe(args)
        assert code == 0 and "Tuỳ chọn" in out, (args, out[-500:])
        assert not {"sqlalchemy", "alembic", "config.settings", "dramatiq"} & modules, args


def test_a_database_command_on_a_current_schema_does_not_load_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'current.db'}"
    migrate(get_engine(url))
    dispose_engines()
    code, modules, out = run_probe(["tickets", "--json"], env={"TIEPNHAN_DATABASE_URL": url})
    assert code == 0 and out == ""
    assert "alembic" not in modules


@pytest.mark.parametrize("state", ["new", "behind"])
def test_a_new_or_older_database_is_migrated_by_the_first_command(tmp_path: Path, state: str) -> None:
    url = f"sqlite:///{tmp_path / f'{state}.db'}"
    if state == "behind":  # the schema of the first migration only, as an older tiepnhan left it
        from alembic import command

        from tickets.db import alembic_config

        command.upgrade(alembic_config(get_engine(url)), "0001")
        dispose_engines()
    code, modules, _ = run_probe(["tickets", "--json"], env={"TIEPNHAN_DATABASE_URL": url})
    assert code == 0 and "alembic" in modules
    from tiepnhan.schema_version import head_revisions

    with get_engine(url).connect() as connection:
        stored = {row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))}
    dispose_engines()
    assert stored == set(head_revisions())


def test_head_revisions_read_from_the_files_are_alembics_own() -> None:
    from alembic.script import ScriptDirectory

    from tickets.db import MIGRATIONS_DIR
    from tiepnhan.schema_version import head_revisions

    assert set(head_revisions()) == set(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads())


def test_the_names_on_the_help_screens_are_the_real_ones() -> None:
    from reports.build import REPORTS
    from reports.groups import GROUPINGS
    from tiepnhan.commands import report

    assert report.REPORTS == tuple(REPORTS) and report.GROUPINGS == tuple(GROUPINGS)
