"""Test helpers: assert that a written workbook is Excel-strict, and read its formulas."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from xlsales.io.check import check_workbook, format_problems, scan_formulas


def assert_strict(path: str | Path,
                  expected: Mapping[tuple[str, str], object] | None = None) -> None:
    """Fails, listing every problem, unless Excel would open ``path`` without repairs and
    the cached results of the ``expected`` (sheet, "B7") cells are the values given."""
    problems = check_workbook(path, expected=expected)
    if problems:
        raise AssertionError(f"{Path(path).name} is not Excel-strict: "
                             f"{format_problems(problems)}")


def formula_cells(path: str | Path) -> dict[tuple[str, str], tuple[str, object]]:
    """(sheet, "B7") → (formula without '=', cached value or None) of every formula cell;
    shared-formula children have formula ''."""
    return {(c.sheet, c.ref): (c.formula, c.value) for c in scan_formulas(path)}
