"""Which raw item each IMAP message (mailbox, folder, UIDVALIDITY, UID) became."""

from __future__ import annotations

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


class MailboxUid(SQLModel, table=True):
    """RFC 3501 section 2.3.1.1: (UIDVALIDITY, UID) names one message in a folder, for good.

    Reconciliation compares the UIDs a folder holds with these rows to find any gap.
    """

    __table_args__ = (UniqueConstraint("source", "folder", "uidvalidity", "uid", name="uq_mailbox_uid"),)

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=200)
    folder: str = Field(max_length=500)
    uidvalidity: int
    uid: int
    raw_item_id: int = Field(foreign_key="rawitem.id", index=True)
