"""scan indexes (issue 16): unthreaded and waiting messages, untagged tickets, tickets by status/province in id order

Revision ID: 7c3e91d5a2f4
Revises: 4890f4cb4eb5
Create Date: 2026-12-04 02:55:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '7c3e91d5a2f4'
down_revision: Union[str, None] = '4890f4cb4eb5'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# Each partial index's condition is the expression the queries use, as each dialect writes it
# (tickets/scan_indexes.py): SQLite uses a partial index only when it finds that term in the query.
PARTIAL = (
    ("ix_message_unthreaded", "message", ["id"], "threaded IS 0", "threaded IS false"),
    ("ix_message_waiting", "message", ["thread_key"], "ticket_id IS NULL", "ticket_id IS NULL"),
    ("ix_ticket_untagged", "ticket", ["id"], "tagged_at IS NULL", "tagged_at IS NULL"),
)
COMPOSITE = (
    ("ix_ticket_status_id", "ticket", ["status", "id"]),
    ("ix_ticket_province_id", "ticket", ["province_code", "id"]),
)


def upgrade() -> None:
    for name, table, columns, sqlite_where, postgresql_where in PARTIAL:
        op.create_index(name, table, columns, unique=False, sqlite_where=sa.text(sqlite_where), postgresql_where=sa.text(postgresql_where))
    for name, table, columns in COMPOSITE:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, *_ in (*PARTIAL, *COMPOSITE):
        op.drop_index(name, table_name=table)
