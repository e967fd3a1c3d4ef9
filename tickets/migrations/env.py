"""Alembic environment: runs against the engine tiepnhan hands over, or alembic.ini's URL."""

from __future__ import annotations

import os

from alembic import context
from sqlmodel import SQLModel

import tickets.models  # noqa: F401  (registers the tables on SQLModel.metadata)
import tickets.model_registry  # noqa: F401  (tables defined by other packages)

config = context.config
target_metadata = SQLModel.metadata

# Search indexes made by hand in their migration (tickets/search_models.py): SQLite's FTS5
# table and its shadow tables, PostgreSQL's expression index. Autogenerate leaves them alone.
HAND_MADE = ("ticketsearch_fts", "ix_ticketsearch_tsv")


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    return not (reflected and name is not None and name.startswith(HAND_MADE))


def run_migrations() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        from tickets.db import make_engine

        engine = make_engine(os.environ.get("TIEPNHAN_DATABASE_URL", "sqlite:///var/tiepnhan.db"))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_object=include_object,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations()
