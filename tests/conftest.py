"""Fixtures shared by the tests."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.flavours import LIBREOFFICE_FLAVOURS, FlavourCache
from tests.ledger_fixtures import ledger_on, url  # noqa: F401  (the ledger tests' fixtures)
from xlsales.io.libreoffice import SOFFICE_ENV, find_soffice
from xlsales.settings import Settings

if TYPE_CHECKING:
    from tests.pg_server import PgServer

DEMO_BOOKS = ("daily_report.xlsx", "customers.xlsx", "meeting_agenda.xlsx")


@pytest.fixture(scope="session")
def soffice() -> str:
    """The LibreOffice executable; skips the test without it, fails instead when CI=true."""
    path = find_soffice()
    if path is None:
        message = (f"LibreOffice (soffice) not found: install libreoffice-calc-nogui "
                   f"(bash scripts/run-tests.sh does) or set {SOFFICE_ENV}")
        if os.environ.get("CI", "").strip().lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


def pytest_configure(config: pytest.Config) -> None:
    """The commands the tests run record nothing in a team ledger (its file would appear
    in the workspaces they read, samples/ too), from the first fixture on; the ledger's
    own tests turn it back on."""
    os.environ["XLSALES_LEDGER"] = "off"


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgServer]:
    """A PostgreSQL server of the session (tests/pg_server.py); skips without one, fails
    instead when CI=true."""
    from tests import pg_server

    try:
        server = pg_server.start()
    except pg_server.PgUnavailable as exc:
        message = f"PostgreSQL could not start: {exc}"
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sample_team(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """The sample team's workspace in a language (``sample_team("zh")``), written once per
    session. Read it, or copy it, never edit it."""
    from xlsales.sample import generate
    from xlsales.workspace import write_workspace

    made: dict[str, Path] = {}

    def make(lang: str) -> Path:
        if lang not in made:
            sample = generate(2024)
            root = tmp_path_factory.mktemp(f"sample-{lang}") / "team"
            write_workspace(root, sample.settings, sample.data, lang=lang)  # type: ignore[arg-type]
            made[lang] = root
        return made[lang]
    return make


@pytest.fixture
def sample_copy(sample_team: Callable[[str], Path], tmp_path: Path) -> Callable[[str], Path]:
    """A copy of the sample team's workspace (``sample_copy("zh")``) in the test's own
    folder, to edit."""
    import shutil

    def make(lang: str) -> Path:
        root = tmp_path / "team"
        shutil.copytree(sample_team(lang), root)
        return root
    return make


@pytest.fixture(scope="session")
def demo_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``xlsales demo`` once per session. Read it, never edit it."""
    from xlsales.demo import run_demo

    root = tmp_path_factory.mktemp("demo") / "workspace"
    run_demo(root)
    return root


@pytest.fixture(scope="session")
def flavour_cache(tmp_path_factory: pytest.TempPathFactory) -> FlavourCache:
    """Every flavour of a workbook is built once per session; tests get copies."""
    return FlavourCache(tmp_path_factory.mktemp("flavours"))


@pytest.fixture(scope="session")
def libreoffice_flavours(soffice: str, demo_workspace: Path,
                         flavour_cache: FlavourCache) -> FlavourCache:
    """The LibreOffice flavours of the demo workbooks, built in one LibreOffice run."""
    flavour_cache.soffice = soffice
    flavour_cache.prepare([demo_workspace / b for b in DEMO_BOOKS], sorted(LIBREOFFICE_FLAVOURS))
    return flavour_cache


@pytest.fixture(scope="session")
def demo_settings(demo_workspace: Path) -> Settings:
    from xlsales.workspace import read_settings

    return read_settings(demo_workspace)
