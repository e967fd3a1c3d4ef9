"""Saving entries: every change a new version row (append-only), the entry row the latest one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session, select

from qbank.entry import BankEntry
from qbank.models import BankEntryRow, BankEntryVersion
from tickets.models import utcnow

CONTENT_FIELDS = ("question", "alternatives", "answer", "insurance_type", "topic", "legal_basis", "status")


def row_to_entry(row: BankEntryRow) -> BankEntry:
    return BankEntry(
        id=row.key,
        question=row.question,
        answer=row.answer,
        alternatives=tuple(row.alternatives),
        insurance_type=row.insurance_type,
        topic=row.topic,
        legal_basis=row.legal_basis,
        status=row.status,
    )


def _content(entry: BankEntry) -> dict[str, object]:
    return {
        "question": entry.question,
        "alternatives": list(entry.alternatives),
        "answer": entry.answer,
        "insurance_type": entry.insurance_type,
        "topic": entry.topic,
        "legal_basis": entry.legal_basis,
        "status": entry.status,
    }


def _append_version(session: Session, row: BankEntryRow) -> None:
    assert row.id is not None
    session.add(
        BankEntryVersion(
            entry_id=row.id,
            version=row.version,
            changed_by=row.changed_by,
            changed_at=row.changed_at,
            **{name: getattr(row, name) for name in CONTENT_FIELDS},
        )
    )


def save_entry(session: Session, entry: BankEntry, actor: str) -> tuple[BankEntryRow, bool]:
    """Create or change the entry with this key; (row, whether anything changed). An unchanged
    entry writes nothing; a changed one gets the next version number and a version row."""
    row = session.exec(select(BankEntryRow).where(BankEntryRow.key == entry.id)).first()
    content = _content(entry)
    if row is None:
        row = BankEntryRow(key=entry.id, changed_by=actor, changed_at=utcnow(), version=1, **content)  # type: ignore[arg-type]
        session.add(row)
        session.flush()
        _append_version(session, row)
        return row, True
    if all(getattr(row, name) == value for name, value in content.items()):
        return row, False
    for name, value in content.items():
        setattr(row, name, value)
    row.version += 1
    row.changed_by, row.changed_at = actor, utcnow()
    session.add(row)
    session.flush()
    _append_version(session, row)
    return row, True


@dataclass(frozen=True)
class ImportResult:
    created: int
    changed: int
    unchanged: int


def save_entries(session: Session, entries: Iterable[BankEntry], actor: str) -> ImportResult:
    created = changed = unchanged = 0
    for entry in entries:
        existed = session.exec(select(BankEntryRow.id).where(BankEntryRow.key == entry.id)).first() is not None
        _row, did_change = save_entry(session, entry, actor)
        if not did_change:
            unchanged += 1
        elif existed:
            changed += 1
        else:
            created += 1
    return ImportResult(created, changed, unchanged)


def all_entries(session: Session, statuses: Iterable[str] | None = None) -> list[BankEntry]:
    query = select(BankEntryRow).order_by(BankEntryRow.key)
    if statuses is not None:
        query = query.where(BankEntryRow.status.in_(list(statuses)))  # type: ignore[attr-defined]
    return [row_to_entry(row) for row in session.exec(query)]


def versions_of(session: Session, key: str) -> list[BankEntryVersion]:
    row = session.exec(select(BankEntryRow).where(BankEntryRow.key == key)).first()
    if row is None:
        return []
    return list(session.exec(select(BankEntryVersion).where(BankEntryVersion.entry_id == row.id).order_by(BankEntryVersion.version)))
