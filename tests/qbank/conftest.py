from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from qbank.entry import BankEntry, load_jsonl_bank
from qbank.retrieve import BankIndex, build_index

DATA = Path(__file__).parent.parent / "data" / "qbank"
BANK_FILE = DATA / "bank.jsonl"
QUERIES_FILE = DATA / "queries_dev.jsonl"


@pytest.fixture(scope="session")
def sample_bank() -> list[BankEntry]:
    return load_jsonl_bank(str(BANK_FILE))


@pytest.fixture(scope="session")
def sample_index(sample_bank: list[BankEntry]) -> BankIndex:
    return build_index(sample_bank)


@pytest.fixture(scope="session")
def dev_queries() -> list[dict[str, Any]]:
    return [json.loads(line) for line in QUERIES_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(autouse=True)
def _own_index_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # qbank.index_cache writes under $XDG_CACHE_HOME: keep the tests' indexes out of the home directory.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))
