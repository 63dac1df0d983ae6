"""The quirk workbooks (tests/quirks/make_quirks.py): each one validates to exactly its
expected findings, and the normalisation quirks read to the expected values."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.quirks.make_quirks import CASES, TODAY, VALUES, Expected, make_all
from xlsales import tables as T
from xlsales.io.read import read_table
from xlsales.validate import validate_file

SCRIPT = Path(__file__).parent / "quirks" / "make_quirks.py"


@pytest.fixture(scope="session")
def quirks(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Expected]]:
    """The quirk folder, built once per session, and the expected findings per file."""
    folder = tmp_path_factory.mktemp("quirks")
    return folder, make_all(folder)


def _quirk_path(name: str, quirks: tuple[Path, dict[str, Expected]],
                request: pytest.FixtureRequest) -> Path:
    if CASES[name].needs_soffice:
        request.getfixturevalue("soffice")  # skips, or fails under CI, without LibreOffice
    folder, expected = quirks
    assert name in expected, f"{name} was not built"
    return folder / name


def _params(names: list[str]) -> list[Any]:
    return [pytest.param(n, id=n.removesuffix(".xlsx"),
                         marks=[pytest.mark.libreoffice] if CASES[n].needs_soffice else [])
            for n in names]


@pytest.mark.parametrize("name", _params(list(CASES)))
def test_quirk_findings(name: str, quirks: tuple[Path, dict[str, Expected]],
                        request: pytest.FixtureRequest) -> None:
    path = _quirk_path(name, quirks, request)
    case = CASES[name]
    result = validate_file(path, today=case.today, settings=case.settings())
    got = Counter((f.rule, f.cell) for f in result.findings)
    want = Counter(quirks[1][name])
    assert got == want, (f"missing {sorted((want - got).elements(), key=str)}, "
                         f"unexpected {sorted((got - want).elements(), key=str)}")
    for f in result.findings:  # every finding says where, and why, in the sheet's language
        assert f.file == str(path) and f.sheet and f.message
        assert (f.row is None) == (f.cell is None)


def _value_params() -> list[Any]:
    out = []
    for name in VALUES:
        marks = [pytest.mark.xfail(strict=True, reason=CASES[name].xfail_values)] \
            if CASES[name].xfail_values else []
        out.append(pytest.param(name, id=name.removesuffix(".xlsx"), marks=marks))
    return out


@pytest.mark.parametrize("name", _value_params())
def test_quirk_values(name: str, quirks: tuple[Path, dict[str, Expected]],
                      request: pytest.FixtureRequest) -> None:
    """The records read, cell by cell (only the columns each case names)."""
    path = _quirk_path(name, quirks, request)
    table, expected = VALUES[name]
    read = read_table(path, T.get(table), CASES[name].settings())
    assert len(read.rows) == len(expected), [r.values for r in read.rows]
    for i, (row, want) in enumerate(zip(read.rows, expected, strict=True)):
        for key, value in want.items():
            got = row.values[key]
            assert got == value and type(got) is type(value), (
                f"row {i} ({row.cells[key]}) {key}: {got!r} != {value!r}")


def test_title_row_table_is_found_at_its_offset(quirks: tuple[Path, dict[str, Expected]],
                                                request: pytest.FixtureRequest) -> None:
    # The one place a position is asserted: this workbook puts its header at C5 on purpose.
    path = _quirk_path("title_row_and_offset.xlsx", quirks, request)
    read = read_table(path, T.get("daily"), CASES["title_row_and_offset.xlsx"].settings())
    assert (read.sheet, read.header_row) == ("三月日报", 5)
    assert read.rows[0].cells["date"] == "C6"
    assert [r.row for r in read.rows] == [6, 7]


def test_blank_rows_and_totals_are_skipped(quirks: tuple[Path, dict[str, Expected]],
                                           request: pytest.FixtureRequest) -> None:
    path = _quirk_path("blank_rows_and_totals_row.xlsx", quirks, request)
    read = read_table(path, T.get("daily"), CASES["blank_rows_and_totals_row.xlsx"]
                           .settings())
    assert all(r.raw.get("date") not in ("合计",) for r in read.rows)
    assert all(r.values["date"] is not None for r in read.rows)


def test_english_workbook_is_read_as_english(quirks: tuple[Path, dict[str, Expected]],
                                             request: pytest.FixtureRequest) -> None:
    path = _quirk_path("english_headers.xlsx", quirks, request)
    case = CASES["english_headers.xlsx"]
    result = validate_file(path, today=TODAY, settings=case.settings())
    assert result.tables["daily"].lang == "en"
    backward = next(f for f in result.findings if f.rule == "T2.stage_backward")
    assert backward.message == "stage moved backwards: Customer D:Proposal→Needs analysis"


@pytest.mark.libreoffice
def test_libreoffice_copy_reads_like_its_source(quirks: tuple[Path, dict[str, Expected]],
                                                request: pytest.FixtureRequest) -> None:
    copy = _quirk_path("libreoffice_resaved.xlsx", quirks, request)
    source = quirks[0] / CASES["libreoffice_resaved.xlsx"].source  # type: ignore[operator]
    settings = CASES["libreoffice_resaved.xlsx"].settings()
    a = read_table(source, T.get("daily"), settings)
    b = read_table(copy, T.get("daily"), settings)
    assert [(r.cells, r.values) for r in a.rows] == [(r.cells, r.values) for r in b.rows]
    assert len(a.rows) == 2


def test_every_quirk_has_a_docstring_and_expectations() -> None:
    for name, case in CASES.items():
        assert case.build.__doc__, name
        assert name.endswith(".xlsx")
    assert set(VALUES) <= set(CASES)


def test_the_script_writes_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, str(SCRIPT), str(out)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    written = sorted(p.name for p in out.glob("*.xlsx"))
    assert set(written) <= set(CASES)
    assert set(CASES) - set(written) <= {n for n, c in CASES.items() if c.needs_soffice}
    assert len(proc.stdout.splitlines()) == len(written)
