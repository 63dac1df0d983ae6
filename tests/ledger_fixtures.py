"""Fixtures of the ledger tests (tests/test_ledger*.py, tests/test_archive_ledger.py),
made known to every test by tests/conftest.py: ``ledger_on`` (recording switched on; a
module asks for it with ``pytestmark``) and ``url``, a new empty ledger database of each
engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from xlsales.ledger import hook

ENGINES = ["sqlite", "postgresql"]


@pytest.fixture
def ledger_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """These tests record (tests/conftest.py turns the ledger off for the others)."""
    monkeypatch.delenv("XLSALES_LEDGER", raising=False)
    yield
    hook.deactivate()


@pytest.fixture(params=ENGINES)
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new empty ledger database of each engine."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    return request.getfixturevalue("postgres").database()
