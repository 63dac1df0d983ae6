"""Fixtures shared by the tests."""

from __future__ import annotations

import os

import pytest

from xlsales.io.libreoffice import SOFFICE_ENV, find_soffice


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
