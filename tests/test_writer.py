"""Writing workbooks: user text stays text, writes are atomic, values round-trip."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import comparable
from xlsales.errors import WorkbookError
from xlsales.io import atomic
from xlsales.normalize import clean_long_text
from xlsales.settings import ListItem, RosterEntry, Settings
from xlsales.tables import get
from xlsales.workspace import BOOK_OF_TABLE, read_table, write_workspace

REPS = ["张三", "李四", "O'Brien"]


def team_settings() -> Settings:
    s = Settings.default()
    s.lists = [ListItem(list="regions", zh="华东", en="East"),
               ListItem(list="product_lines", zh="产品线A", en="Line A"), *s.lists]
    s.roster = [RosterEntry(rep=r, region="华东", product_line="产品线A") for r in REPS]
    return s


def cell_by_header(path: Path, table: str, lang: str, key: str, row: int) -> openpyxl.cell.Cell:
    spec = get(table)
    wb = openpyxl.load_workbook(path)
    ws = wb[spec.sheet(lang)]  # type: ignore[arg-type]
    for r in ws.iter_rows():
        headers = [c.value for c in r]
        if spec.column(key).header(lang) in headers:  # type: ignore[arg-type]
            col = headers.index(spec.column(key).header(lang))  # type: ignore[arg-type]
            return ws.cell(row=r[0].row + 1 + row, column=col + 1)
    raise AssertionError(f"header of {key} not found")


DANGEROUS = ["=1+1", "+8613800000000", "-5", "@SUM(A1)", "=HYPERLINK(\"http://x\",\"y\")",
             "\tTab", "\rCR", "\nLF"]


@pytest.mark.parametrize("text", DANGEROUS)
def test_user_text_is_never_a_formula(tmp_path: Path, text: str) -> None:
    row = {"customer_id": "C1", "name": text, "stage": "意向客户", "owner": "张三",
           "phone": text, "needs": text}
    write_workspace(tmp_path, team_settings(), {"customers": [row]}, books=["customers"])
    path = tmp_path / BOOK_OF_TABLE["customers"].filename
    for key in ("name", "phone", "needs"):
        cell = cell_by_header(path, "customers", "zh", key, 0)
        assert cell.data_type == "s", (key, cell.value)
    back = read_table(tmp_path, "customers", team_settings())[0]
    assert back["name"] == back["phone"] == back["needs"] == text.strip()


def test_numbers_stay_numbers(tmp_path: Path) -> None:
    row = {"date": dt.date(2024, 3, 1), "rep": "张三", "visits": 5, "effective": 3,
           "amount_signed": 12.5, "next_plan": "x"}
    write_workspace(tmp_path, team_settings(), {"daily": [row]}, books=["daily"])
    path = tmp_path / "daily_report.xlsx"
    assert cell_by_header(path, "daily", "zh", "visits", 0).value == 5
    assert cell_by_header(path, "daily", "zh", "amount_signed", 0).data_type == "n"
    assert cell_by_header(path, "daily", "zh", "date", 0).is_date


def test_failed_write_leaves_the_original(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_workspace(tmp_path, team_settings(), books=["daily"])
    path = tmp_path / "daily_report.xlsx"
    before = path.read_bytes()

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", broken)
    row = {"date": dt.date(2024, 3, 1), "rep": "张三", "visits": 1, "effective": 1}
    with pytest.raises(WorkbookError, match="disk full"):
        write_workspace(tmp_path, team_settings(), {"daily": [row]}, books=["daily"])
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["daily_report.xlsx"]


def test_failed_write_inside_the_writer_leaves_the_original(tmp_path: Path) -> None:
    write_workspace(tmp_path, team_settings(), books=["daily"])
    path = tmp_path / "daily_report.xlsx"
    before = path.read_bytes()
    with pytest.raises(TypeError), atomic.atomic_path(path) as tmp:
        tmp.write_bytes(b"half a workbook")
        raise TypeError("writer crashed")
    assert path.read_bytes() == before
    assert len(list(tmp_path.iterdir())) == 1


text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30).map(str.strip)
daily_rows = st.fixed_dictionaries({
    "date": st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31)),
    "rep": st.sampled_from(REPS),
    "visits": st.integers(0, 50),
    "effective": st.integers(0, 50),
    "new_customers": st.integers(0, 9),
    "proposals": st.integers(0, 9),
    "amount_signed": st.floats(0, 10_000, allow_nan=False).map(lambda x: round(x, 2)),
    "stage_moves": st.one_of(st.none(), text),
    "problems": st.one_of(st.none(), text),
    "next_plan": st.one_of(st.none(), text),
    "submitted_at": st.one_of(st.none(), st.datetimes(dt.datetime(2020, 1, 1),
                                                      dt.datetime(2030, 1, 1))),
})


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(daily_rows, min_size=1, max_size=8), lang=st.sampled_from(["zh", "en"]))
def test_daily_rows_round_trip(tmp_path: Path, rows: list[dict[str, object]], lang: str) -> None:
    s = team_settings()
    write_workspace(tmp_path, s, {"daily": rows}, lang=lang, books=["settings", "daily"])  # type: ignore[arg-type]
    back = read_table(tmp_path, "daily")
    expected = [comparable("daily", {k: clean_long_text(v) if isinstance(v, str) else v
                                     for k, v in r.items()}) for r in rows]
    assert [comparable("daily", r) for r in back] == expected
