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


# What each database command must NOT load (issue 16): libraries and packages of other commands.
# Checked in `sys.modules` after the command ran in a fresh interpreter on a small database.
OTHER_COMMANDS = ("classifiers", "config.routing", "tickets.directory", "tiepnhan.scheduler", "tickets.actors", "dramatiq", "redis",
                  "alembic", "pygal", "openpyxl", "fpdf", "httpx", "pyfacebook", "starlette", "jinja2", "uvicorn", "reports",
                  "web", "bm25s", "numpy", "scipy")  # fmt: skip
RANKING = ("qbank.retrieve", "qbank.index_cache", "bm25s", "numpy", "scipy")
QUESTION = "Cho tôi hỏi thủ tục hưởng chế độ thai sản BHXH như thế nào?"
COMPLAINT = "Tôi khiếu nại: cơ quan BHXH chậm giải quyết chế độ ốm đau của tôi đã ba tháng, rất bức xúc."


def loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    """The names (packages with their submodules) that are in `modules`."""
    return [name for name in names if name in modules or any(m.startswith(name + ".") for m in modules)]


@pytest.fixture(scope="module")
def small_db(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A migrated SQLite database with a question ticket (#1) and a complaint (#2), made by the
    real pipeline; the environment that points tiepnhan at it."""
    from tests.samples import sample_email
    from tickets.models import Ticket
    from tickets.pipeline import process_raw_item_now
    from tickets.store import RawInput, save_raw_items

    directory = tmp_path_factory.mktemp("startup")
    url = f"sqlite:///{directory / 'small.db'}"
    engine = get_engine(url)
    migrate(engine)
    for index, body in enumerate((QUESTION, COMPLAINT)):
        raw = RawInput("hopthu", "email", f"<startup{index}@example.vn>", sample_email(index, subject="Gửi BHXH", body=body, id_prefix="su"))
        (saved,) = save_raw_items(engine, [raw])
        process_raw_item_now(engine, saved.raw_item_id, 1_000_000)
    from tickets.db import session_scope

    with session_scope(engine) as session:
        assert [session.get(Ticket, i).category for i in (1, 2)] == ["question", "complaint"]  # type: ignore[union-attr]
    dispose_engines()
    return {"TIEPNHAN_DATABASE_URL": url, "TIEPNHAN_DATA_DIR": str(directory / "var")}


@pytest.mark.parametrize(
    "args",
    [["status"], ["status", "--json"], ["tickets"], ["tickets", "--json"], ["show", "2"], ["show", "1"]],
    ids=lambda args: " ".join(args),
)
def test_a_database_command_loads_only_what_it_reads(small_db: dict[str, str], args: list[str]) -> None:
    code, modules, out = run_probe(args, env=small_db)
    assert code in (0, 1) and out, (args, out[-500:])  # status exits 1 with no source configured: unhealthy
    assert "sqlalchemy" in modules  # the probe sees what the command really loaded
    assert loaded(modules, OTHER_COMMANDS) == [], args
    if args[0] != "show":
        assert loaded(modules, ("qbank",)) == [], args
    if args != ["tickets"] and args[0] != "show":  # nothing shown with a province's name
        assert loaded(modules, ("vietnam_provinces",)) == [], args


def test_show_of_a_complaint_loads_nothing_of_the_question_bank(small_db: dict[str, str]) -> None:
    code, modules, out = run_probe(["show", "2"], env=small_db)
    assert code == 0 and "TN-000002" in out
    assert loaded(modules, ("qbank",)) == []


def test_show_of_a_question_ranks_with_the_bank_only_when_something_is_published(small_db: dict[str, str], tmp_path: Path) -> None:
    code, modules, out = run_probe(["show", "1"], env=small_db)
    assert code == 0 and "Gợi ý từ ngân hàng câu hỏi" in out
    assert loaded(modules, RANKING) == []  # an empty bank: nothing to rank, no ranking library

    import shutil

    from qbank.entry import BankEntry
    from qbank.store import save_entry
    from tickets.db import session_scope

    url = f"sqlite:///{tmp_path / 'with-bank.db'}"
    shutil.copy(small_db["TIEPNHAN_DATABASE_URL"].removeprefix("sqlite:///"), tmp_path / "with-bank.db")
    engine = get_engine(url)
    with session_scope(engine) as session:
        save_entry(session, BankEntry("thai-san-1", "Thủ tục hưởng chế độ thai sản?", "Nộp hồ sơ cho đơn vị sử dụng lao động.", status="published"), "tuvan")
    dispose_engines()
    code, modules, out = run_probe(["show", "1"], env={**small_db, "TIEPNHAN_DATABASE_URL": url})
    assert code == 0 and "Gợi ý từ ngân hàng câu hỏi" in out
    assert loaded(modules, RANKING) != []  # the same probe sees the ranking once there is a bank


def test_the_province_names_read_from_the_data_file_are_the_packages_own() -> None:
    import vietnam_provinces
    from vietnam_provinces import Province

    from tickets.places import divisions_file, province_codes, province_name

    assert divisions_file() == vietnam_provinces.NESTED_DIVISIONS_JSON_PATH
    assert {code: province_name(code) for code in province_codes()} == {f"{int(p.code):02d}": p.name for p in Province.iter_all()}
    assert len(province_codes()) == 34 and province_name("79") == "Thành phố Hồ Chí Minh" and province_name("99") == ""
