"""Is the database's schema the newest? Answered without loading Alembic.

Alembic's environment (its package, the migration scripts, every model module) takes longer to
load than most commands take to run. The newest revisions are read from the migration files'
own `revision` / `down_revision` lines, the stored one from the `alembic_version` table; only
when they differ (a fresh database, an upgrade of tiepnhan) does the caller run Alembic.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

VERSIONS_DIR = Path(__file__).resolve().parent.parent / "tickets" / "migrations" / "versions"
_REVISION = re.compile(r"^revision\s*(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\s*(?::[^=]*)?=\s*(.+)$", re.MULTILINE)
_QUOTED = re.compile(r"['\"]([^'\"]+)['\"]")


def head_revisions(versions_dir: Path = VERSIONS_DIR) -> frozenset[str]:
    """The revisions no other migration names as its down_revision (normally exactly one)."""
    return _heads(versions_dir, tuple(sorted((p.name, p.stat().st_mtime_ns) for p in versions_dir.glob("*.py"))))


@lru_cache(maxsize=4)
def _heads(versions_dir: Path, _files: tuple[tuple[str, int], ...]) -> frozenset[str]:
    revisions: set[str] = set()
    parents: set[str] = set()
    for name, _mtime in _files:
        text = (versions_dir / name).read_text(encoding="utf-8")
        revision = _REVISION.search(text)
        if revision is None:
            continue
        revisions.add(revision.group(1))
        down = _DOWN_REVISION.search(text)
        if down is not None:
            parents.update(_QUOTED.findall(down.group(1)))
    return frozenset(revisions - parents)


def stored_revisions(engine: Engine) -> frozenset[str]:
    """What `alembic_version` holds; empty when the table does not exist (a new database)."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    try:
        with engine.connect() as connection:
            return frozenset(str(row[0]) for row in connection.execute(text("SELECT version_num FROM alembic_version")))
    except DBAPIError:
        return frozenset()


def schema_is_current(engine: Engine) -> bool:
    heads = head_revisions()
    return bool(heads) and stored_revisions(engine) == heads
