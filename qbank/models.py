"""Question-bank tables: the current entry, and every version of it (append-only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from tickets.dbtypes import UTCDateTime
from tickets.models import utcnow


def _tz() -> Any:
    return UTCDateTime()


class BankEntryRow(SQLModel, table=True):
    """An entry as it stands now; every change also writes a BankEntryVersion."""

    __tablename__ = "qbank_entry"
    __table_args__ = (UniqueConstraint("key", name="uq_qbank_entry_key"), Index("ix_qbank_entry_status", "status"))

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=100)  # the entry's id in files ("q01"), stable across imports
    question: str = Field(sa_column=Column(Text, nullable=False))
    alternatives: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    answer: str = Field(sa_column=Column(Text, nullable=False))
    insurance_type: str | None = Field(default=None, max_length=10)
    topic: str = Field(default="", max_length=200)
    legal_basis: str = Field(default="", sa_column=Column(Text, nullable=False))
    status: str = Field(default="draft", max_length=20)  # draft | published | retired
    version: int = 1
    changed_by: str = Field(max_length=200)
    changed_at: datetime = Field(default_factory=utcnow, sa_type=_tz())


class BankEntryVersion(SQLModel, table=True):
    """One version of an entry, as it was saved; never updated or deleted."""

    __tablename__ = "qbank_entry_version"
    __table_args__ = (UniqueConstraint("entry_id", "version", name="uq_qbank_entry_version"),)

    id: int | None = Field(default=None, primary_key=True)
    entry_id: int = Field(foreign_key="qbank_entry.id")
    version: int
    question: str = Field(sa_column=Column(Text, nullable=False))
    alternatives: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    answer: str = Field(sa_column=Column(Text, nullable=False))
    insurance_type: str | None = Field(default=None, max_length=10)
    topic: str = Field(default="", max_length=200)
    legal_basis: str = Field(default="", sa_column=Column(Text, nullable=False))
    status: str = Field(max_length=20)
    changed_by: str = Field(max_length=200)
    changed_at: datetime = Field(default_factory=utcnow, sa_type=_tz())
