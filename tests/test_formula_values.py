"""The formula evaluator: Excel's semantics case by case, the Python figures, and
LibreOffice's values for every formula template of every table.

Every table with formulas (or a totals row) is written with edge-case and random rows by
the XlsxWriter writer, which stores the evaluator's values as the cached results; LibreOffice
recalculates the workbooks (one run for both languages, one per hypothesis example) and
every cached value must equal LibreOffice's.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from xlsales import figures
from xlsales.formula_values import (
    NA_LABEL,
    ExcelError,
    FormulaError,
    column_values,
    evaluate,
    evaluate_tables,
    formula_columns,
    prepare,
    serial,
    table_columns,
)
from xlsales.i18n import LANGS, Label, Lang
from xlsales.io.libreoffice import recalculate_many
from xlsales.io.xlsx_writer import _Formats, _write_lists, cell_rows, write_table
from xlsales.rollup import WeekRow
from xlsales.settings import Settings
from xlsales.tables import ALL, get
from xlsales.tables.base import Column, Kind, TableSpec
from xlsales.tables.pipeline import CATEGORIES
from xlsales.tables.pipeline import LEVELS as FORECAST_LEVELS
from xlsales.workbook import BookPlan

OPTIONS = Settings.default().general.model_dump()
DIV0, VALUE, NA, REF = "#DIV/0!", "#VALUE!", "#N/A", "#REF!"


def ev(template: str, row: Mapping[str, Any] | None = None, **kw: Any) -> Any:
    return evaluate(template, row or {}, lang=kw.pop("lang", "en"), options=OPTIONS, **kw)


# -- reading cached values straight from the sheet XML ------------------------------------------

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
      "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
      "rel": "http://schemas.openxmlformats.org/package/2006/relationships"}


def _address(ref: str) -> tuple[int, int]:
    letters = "".join(ch for ch in ref if ch.isalpha())
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    return int(ref[len(letters):]) - 1, col - 1


def sheet_parts(z: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name → the part holding it."""
    book = ET.fromstring(z.read("xl/workbook.xml"))
    rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in rels.findall("rel:Relationship", NS)}
    out = {}
    for s in book.findall("m:sheets/m:sheet", NS):
        target = targets[s.get(f"{{{NS['r']}}}id")]
        out[s.get("name", "")] = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
    return out


def formula_cells(path: Path, *, everything: bool = False
                  ) -> dict[str, dict[tuple[int, int], tuple[str, bool, Any]]]:
    """Every formula cell (every cell with ``everything``): sheet → (row, col) →
    (formula or ``""``, has a <v>, cached value).

    Values come typed as the XML says: ``t="e"`` an :class:`ExcelError`, ``t="b"`` a bool,
    ``t="str"`` text, else a number (an empty ``<v></v>`` is ``""``).
    """
    with zipfile.ZipFile(path) as z:
        shared = []
        if "xl/sharedStrings.xml" in z.namelist():
            sst = ET.fromstring(z.read("xl/sharedStrings.xml"))
            shared = ["".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t"))
                      for si in sst.findall("m:si", NS)]
        out: dict[str, dict[tuple[int, int], tuple[str, bool, Any]]] = {}
        for name, part in sheet_parts(z).items():
            cells = out[name] = {}
            root = ET.fromstring(z.read(part))
            for c in root.iter(f"{{{NS['m']}}}c"):
                f = c.find("m:f", NS)
                if f is None and not everything:
                    continue
                v = c.find("m:v", NS)
                text = "" if v is None or v.text is None else v.text
                inline = c.find("m:is", NS)
                if inline is not None:
                    text = "".join(t.text or "" for t in inline.iter(f"{{{NS['m']}}}t"))
                kind = c.get("t", "n")
                value: Any
                if kind == "e":
                    value = ExcelError(text)
                elif kind == "b":
                    value = text == "1"
                elif kind == "s":
                    value = shared[int(text)]
                elif kind in ("str", "inlineStr") or text == "":
                    value = text
                else:
                    value = float(text)
                formula = "" if f is None else f.text or ""
                cells[_address(c.get("r", ""))] = (formula, v is not None, value)
    return out


def agree(a: Any, b: Any) -> bool:
    """Equal as cached values: same type; numbers within rel 1e-9 (abs 1e-9 near 0)."""
    if isinstance(a, ExcelError) or isinstance(b, ExcelError):
        return isinstance(a, ExcelError) and isinstance(b, ExcelError) and a == b
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def disagreements(written: Path, recalculated: Path) -> tuple[int, list[str]]:
    """How many formula cells were compared, and those whose cached value differs from
    LibreOffice's (or that have no cached value)."""
    mine, theirs = formula_cells(written), formula_cells(recalculated)
    problems, count = [], 0
    for sheet, cells in mine.items():
        for (r, c), (formula, has_v, value) in cells.items():
            count += 1
            lo = theirs.get(sheet, {}).get((r, c))
            if not has_v:
                problems.append(f"{written.name}!{sheet} R{r + 1}C{c + 1}: no cached value")
            elif lo is None:
                problems.append(f"{written.name}!{sheet} R{r + 1}C{c + 1}: no formula in "
                                f"LibreOffice's file")
            elif not agree(value, lo[2]):
                problems.append(f"{written.name}!{sheet} R{r + 1}C{c + 1} ={formula}: "
                                f"cached {value!r}, LibreOffice {lo[2]!r}")
    return count, problems


# -- Excel semantics, case by case --------------------------------------------------------------

D = dt.date(2024, 3, 5)


@pytest.mark.parametrize(("template", "row", "want"), [
    ("{a}+1", {}, 1),
    ("{a}+1", {"a": None}, 1),
    ("{a}+1", {"a": ""}, VALUE),  # an empty text is not a number
    ("{a}+1", {"a": "5"}, 6),
    ("{a}+1", {"a": " 12.5 "}, 13.5),
    ("{a}+1", {"a": "1,000"}, 1001),
    ("{a}+1", {"a": "50%"}, 1.5),
    ("{a}+1", {"a": "1e3"}, 1001),
    ("{a}+1", {"a": "abc"}, VALUE),
    ("{a}+1", {"a": "  "}, VALUE),
    ("{a}+1", {"a": True}, 2),
    ("{a}+1", {"a": D}, 45357),
    ("{a}+1", {"a": "2024-03-05"}, 45357),
    ("{a}+1", {"a": dt.datetime(2024, 3, 5, 17, 30)}, 45357 + 17.5 / 24),
    ("{a}+1", {"a": "2024-03-05 17:30"}, 45357 + 17.5 / 24),
    ("{a}+1", {"a": "12:30"}, 1 + 12.5 / 24),
    ("{a}+1", {"a": ExcelError("#N/A")}, NA),
    ("{a}/{b}", {"a": 1, "b": 0}, DIV0),
    ("{a}/{b}", {"a": 1}, DIV0),
    ("{a}/{b}", {"a": "x", "b": 0}, VALUE),  # the left operand's error first
    ("-{a}", {}, 0),
    ("-{a}*2", {"a": 3}, -6),
    ("+{a}", {"a": "x"}, "x"),
    ("0.1+0.2=0.3", {}, True),
    ("0.3-0.2-0.1", {}, 0),
    ("1-0.9-0.1", {}, 0),
    ("N({a})", {"a": "5"}, 0),
    ("N({a})", {"a": True}, 1),
    ("N({a})", {}, 0),
    ("N({a})", {"a": D}, 45356),
    ("N({a})", {"a": ExcelError("#DIV/0!")}, DIV0),
    ("{a}=\"\"", {}, True),
    ("{a}=0", {}, True),
    ("{a}=FALSE", {}, True),
    ("{a}=\"\"", {"a": 0}, False),
    ("{a}=\"\"", {"a": ""}, True),
    ("\"a\"=\"A\"", {}, True),
    ("{a}=\"REP\"", {"a": "Rep"}, True),
    ("\"a\"<\"B\"", {}, True),
    ("1<\"a\"", {}, True),
    ("\"a\"<TRUE", {}, True),
    ("{a}>5", {"a": "abc"}, True),  # text sorts after every number
    ("{a}<>{b}", {"a": 1, "b": 1 + 1e-16}, False),
    ("IF({a},1,2)", {}, 2),
    ("IF({a},1,2)", {"a": "x"}, VALUE),
    ("IF({a},1,2)", {"a": "true"}, 1),
    ("IF(0,1)", {}, False),
    ("IF(TRUE,{a})", {}, 0),  # a blank reached by reference caches as 0
    ("IF(TRUE,{a})=\"\"", {}, True),
    ("ISNUMBER(IF(TRUE,{a}))", {}, False),
    ("ISNUMBER({a})", {"a": D}, True),
    ("ISNUMBER({a})", {"a": "5"}, False),
    ("ISNUMBER(1/0)", {}, False),
    ("IFERROR(1/0,\"x\")", {}, "x"),
    ("IFERROR(1,\"x\")", {}, 1),
    ("IF(1/0,1,2)", {}, DIV0),
    ("OR({a}=\"\",1/0)", {}, DIV0),
    ("AND(TRUE,{a})", {}, True),  # a blank reference is skipped
    ("OR({a})", {}, VALUE),
    ("NOT({a})", {}, True),
    ("MAX(0,{a}-{b})", {"a": 3, "b": 5}, 0),
    ("MAX({a},{b})", {"a": "9", "b": -2}, -2),  # text in a reference is skipped
    ("MAX(0,\"3\")", {}, 3),
    ("MIN({a},{b})", {}, 0),
    ("SUM({a},{b},{c})", {"a": 1, "b": "x", "c": True}, 1),
    ("SUM({a},1)", {"a": ExcelError("#N/A")}, NA),
    ("COUNT({a},{b},{c})", {"a": 1, "b": "2", "c": None}, 1),
    ("COUNT(1,\"2\",TRUE,\"x\")", {}, 3),
    ("COUNT({a},{b})", {"a": ExcelError("#N/A"), "b": D}, 1),
    ("COUNTA({a},{b},{c})", {"a": 1, "b": "", "c": None}, 2),
    ("ABS({a})", {"a": -2}, 2),
    ("\"a\"&1/4", {}, "a0.25"),
    ("{a}&\"x\"&{b}", {"b": True}, "xTRUE"),
    ("1/3&\"\"", {}, "0.333333333333333"),
    ("\"say \"\"hi\"\"\"", {}, 'say "hi"'),
])
def test_excel_semantics(template: str, row: dict[str, Any], want: Any) -> None:
    got = ev(template, row)
    if isinstance(want, str) and want.startswith("#"):
        assert isinstance(got, ExcelError) and got == want
    else:
        assert agree(got, want), (got, want)
        assert type(got) is not ExcelError


# SUMIFS and VLOOKUP over the same cells as LibreOffice 7.4 was seen to answer.
G = ["5", 5, None, "abc", "aXc", True]
H = [1, 2, 4, 8, 16, 32]
T = {"T": {"g": G, "h": H}}


@pytest.mark.parametrize(("criterion", "want"), [
    ('"5"', 3), ("5", 2), ('""', 4), ('"<>"', 59), ("{blank}", 0), ('"a*"', 24), ('"="', 4),
    ('">4"', 2), ('"<>5"', 60), ('"ABC"', 8), ('"<b"', 25), ("TRUE", 32), ('"=abc"', 8),
    ('"<>abc"', 55), ('"a?c"', 24), ('"~*"', 0), ('">=5"', 2),
])
def test_sumifs_criteria(criterion: str, want: float) -> None:
    assert ev(f"SUMIFS({{T.h}},{{T.g}},{criterion})", tables=T) == want


def test_sumifs_several_criteria_and_errors() -> None:
    assert ev('SUMIFS({T.h},{T.g},"<>",{T.g},"<>5")', tables=T) == 56
    bad = {"T": {"g": G, "h": [1, ExcelError("#N/A"), 4, 8, 16, 32]}}
    assert ev("SUMIFS({T.h},{T.g},5)", tables=bad) == NA
    assert ev("SUMIFS({T.h},{T.g},4)", tables=bad) == 0  # unmatched errors do not count
    short = {"T": {"g": G[:3], "h": H}}
    assert ev('SUMIFS({T.h},{T.g},"5")', tables=short) == VALUE


@pytest.mark.parametrize(("formula", "want"), [
    ('VLOOKUP("A?C",xs,2,FALSE)', 8), ('VLOOKUP("abc",xs,2,FALSE)', 8),
    ("VLOOKUP(5,xs,2,FALSE)", 2), ('VLOOKUP("5",xs,2,FALSE)', 1),
    ("VLOOKUP({blank},xs,2,FALSE)", NA), ('VLOOKUP("zzz",xs,2,FALSE)', NA),
    ('VLOOKUP("abc",xs,3,FALSE)', REF), ('VLOOKUP("abc",xs,0,FALSE)', VALUE),
    ('IFERROR(VLOOKUP("zzz",xs,2,FALSE),"")', ""), ("VLOOKUP(TRUE,xs,2,0)", 32),
    ("INDEX({T.h},1)", 1), ("INDEX({T.h},6)", 32), ("INDEX({T.h},7)", REF),
    ("INDEX({T.g},3)", 0), ("ISNUMBER(INDEX({T.g},3))", False),
    ("SUBTOTAL(109,{T.h})", 63), ("SUBTOTAL(9,{T.h})", 63), ("SUBTOTAL(103,{T.g})", 5),
    ("SUBTOTAL(102,{T.g})", 1), ("SUBTOTAL(101,{T.h})", 10.5), ("SUBTOTAL(104,{T.h})", 32),
    ("SUBTOTAL(105,{T.h})", 1), ("SUBTOTAL(101,{T.g},{T.g})", 5),
    ("SUM({T.h})", 63), ("COUNTA({T.g})", 5), ("COUNT({T.g})", 1), ("MAX({T.g})", 5),
])
def test_lookups_and_totals(formula: str, want: Any) -> None:
    names = {"xs": [list(p) for p in zip(G, H, strict=True)]}
    got = ev(formula, tables=T, names=names)
    assert agree(got, ExcelError(want) if isinstance(want, str) and want.startswith("#")
                 else want), (got, want)


def test_subtotal_spread() -> None:
    got = ev("SUBTOTAL(107,{T.h})", tables=T)
    assert math.isclose(got, __import__("statistics").stdev(H))
    assert ev("SUBTOTAL(107,{T.x})", tables={"T": {"x": [1]}}) == DIV0


@pytest.mark.parametrize("template", [
    "FOO(1)", "{x:y}", "1^2", "50%", "{T.h}+1", "IF({T.h}=1,1,2)", "VLOOKUP(1,xs,2)",
    "VLOOKUP(1,xs,2,TRUE)", "nowhere", "SUM({Other.h})", "SUM({T.nothing})", "IF(1,2",
    "", "1 2", "{opt:no_such_option}", "{t:no bar}", "\"{a}\"", "SUMIFS({T.h},1,2)",
    "INDEX(1,1)", "IF(1)", "NOT(1,2)",
])
def test_what_it_cannot_evaluate_raises(template: str) -> None:
    with pytest.raises(FormulaError):
        ev(template, tables=T, names={"xs": [[1, 2]]})


def test_tokens_follow_expand() -> None:
    from xlsales.io import formulas

    assert NA_LABEL == formulas.NA_LABEL
    assert ev('"{na}"', lang="zh") == "无目标"
    assert ev('"{t:代表|Rep}"', lang="zh") == "代表"
    assert ev('"{t:代表|Rep}"', lang="en") == "Rep"
    assert ev("{opt:completion_threshold}*2") == OPTIONS["completion_threshold"] * 2
    assert ev('"{v:stages:签约成交}"', display=lambda lst, v: f'{lst}/"{v}"') == \
        'stages/"签约成交"'
    assert ev("{next:a}+1", {"a": 5}, next_row={"a": 2}) == 3
    assert ev("{next:a}+1", {"a": 5}) == 1  # no next row: the blank row under the table


def test_compiled_once_per_template() -> None:
    a = prepare("IF({x}=\"\",\"\",{x}*2)", lang="zh", options={})
    b = prepare("IF({x}=\"\",\"\",{x}*2)", lang="en", options={})
    assert a is b
    assert a.cells == {"x"} and not a.next_cells and not a.tables


def test_serial_is_what_xlsxwriter_writes(tmp_path: Path) -> None:
    values = (dt.date(1900, 1, 15), dt.date(1900, 2, 28), dt.date(1900, 3, 1), D,
              dt.datetime(2024, 3, 5, 17, 30, 15, 250000), dt.datetime(2099, 12, 31, 23, 59),
              dt.time(17, 30))
    wb = xlsxwriter.Workbook(str(tmp_path / "dates.xlsx"))
    ws = wb.add_worksheet("S")
    for r, value in enumerate(values):
        ws.write_datetime(r, 0, value)
    wb.close()
    with zipfile.ZipFile(tmp_path / "dates.xlsx") as z:
        root = ET.fromstring(z.read("xl/worksheets/sheet1.xml"))
    written = [float(v.text or "") for v in root.iter(f"{{{NS['m']}}}v")]
    assert written == [serial(v) for v in values]


def test_importable_without_excel_libraries() -> None:
    code = ("import sys\n"
            "for m in ('xlsxwriter', 'openpyxl', 'pandas', 'python_calamine'):\n"
            "    sys.modules[m] = None\n"
            "import xlsales.formula_values as f\n"
            "assert f.evaluate('{a}*2', {'a': 3}, lang='zh', options={}) == 6\n")
    subprocess.run([sys.executable, "-c", code], check=True)


# -- tables: formula columns that read other formula columns, rows and tables ------------------

def test_targets_split_gap_uses_split_sum() -> None:
    spec = get("targets")
    rows = [{"quarterly_target": 30, "month1": 10, "month2": 10, "month3": 10},
            {"quarterly_target": 30, "month1": 10},
            {"quarterly_target": 30},
            {"quarterly_target": "x", "month2": 5}]
    got = column_values(spec, rows, lang="zh", options=OPTIONS)
    assert got == [{"split_sum": 30, "split_gap": 0}, {"split_sum": 10, "split_gap": 20},
                   {"split_sum": "", "split_gap": ""}, {"split_sum": 5, "split_gap": VALUE}]


def test_team_targets_read_the_targets_table() -> None:
    targets = [{"quarter": "2024Q1", "quarterly_target": 60}, {"quarter": "2024q1",
               "quarterly_target": 55}, {"quarter": "2024Q2", "quarterly_target": 7}, {}]
    team = [{"quarter": "2024Q1", "team_target": 100}, {"quarter": "2024Q3", "team_target": 0},
            {}]
    with pytest.raises(FormulaError, match="Targets"):
        column_values(get("team_targets"), team, lang="zh", options=OPTIONS)
    tables = evaluate_tables([(get("team_targets"), team), (get("targets"), targets)],
                             lang="zh", options=OPTIONS)
    assert tables["TeamTargets"]["owners_sum"] == [115, 0, ""]
    assert agree(tables["TeamTargets"]["margin"][0], 0.15)
    assert tables["TeamTargets"]["margin"][1:] == ["", ""]
    assert tables["Targets"]["split_sum"] == [""] * 4


def test_forecast_expected_and_coverage_follow_weighted() -> None:
    lines = [{"owner": "赵一", "region": "华东", "amount": 10, "probability": 0.25,
              "category": "承诺"},
             {"owner": "钱二", "region": "华南", "amount": 20, "probability": 0.5,
              "category": "储备"}]
    rows = [{"level": "代表", "key": "赵一", "quota": 10, "won": 1},
            {"level": "区域", "key": "华南", "quota": 0, "won": 0},
            {"level": "团队", "key": "全部", "won": 2}]
    tables = evaluate_tables([(get("forecast"), rows), (get("forecast_lines"), lines)],
                             lang="zh", options=OPTIONS)
    f = tables["Forecast"]
    assert f["weighted"] == [2.5, 10, 12.5]
    assert f["commit"] == [2.5, 0, 2.5] and f["pipeline"] == [0, 10, 10]
    assert f["expected"] == [3.5, 10, 14.5]
    assert f["coverage"] == [0.35, "无目标", "无目标"]
    assert f["shortage"] == [6.5, 0, ""]


def test_funnel_reads_the_next_row_and_the_summary() -> None:
    summary = [{"quota": 30, "average_deal": 40}]
    stages = [{"stage": "A", "entered": 1, "advanced": 1, "ideal": 0.2},
              {"stage": "B", "entered": 1, "advanced": 0, "ideal": 0.6},
              {"stage": "C", "entered": 2, "advanced": 1, "ideal": 0.9}]
    tables = evaluate_tables([(get("funnel"), stages), (get("funnel_summary"), summary)],
                             lang="en", options=OPTIONS)
    assert tables["FunnelSummary"]["deals_needed"] == [0.75]
    assert tables["Funnel"]["conversion"] == [1, 0, 0.5]
    assert [round(x, 12) for x in tables["Funnel"]["needed"]] == [2.5, 2.5, 1.5]


def test_circular_and_unknown_references_raise() -> None:
    spec = TableSpec("t", "T", Label("t", "t"), Label("t", "t"), (
        Column("a", Label("a", "a"), formula="{b}+1"),
        Column("b", Label("b", "b"), formula="{a}+1")))
    with pytest.raises(FormulaError, match="itself"):
        column_values(spec, [{}], lang="en", options={})
    spec = TableSpec("t", "T", Label("t", "t"), Label("t", "t"), (
        Column("a", Label("a", "a"), formula="{zzz}+1"),))
    with pytest.raises(FormulaError, match="zzz"):
        column_values(spec, [{}], lang="en", options={})


def test_an_input_value_given_for_a_formula_column_is_ignored() -> None:
    got = column_values(get("review"), [{"target": 4, "actual": 2, "completion": 99}],
                        lang="en", options=OPTIONS)
    assert got == [{"completion": 0.5}]


# -- the Python figures: the formula gives what xlsales computed ------------------------------

# Realistic magnitudes: a figure over a tiny divisor would overflow (Excel's #NUM!, inf).
floats = st.floats(-1e9, 1e9, allow_nan=False).filter(lambda x: x == 0 or abs(x) >= 1e-9)
amounts = st.one_of(st.none(), st.integers(-10, 10**6), floats)


def same_figure(formula: Any, figure: float | None, none: str) -> bool:
    """The formula's cached value against a Python figure (None shows as ``none``)."""
    if figure is None:
        return formula == none
    return agree(formula, figure)


@settings(max_examples=200, deadline=None)
@given(amounts, amounts, amounts, amounts, st.sampled_from(LANGS))
def test_weekly_and_review_rates_equal_the_python_figures(
        signed: float | None, target: float | None, visits: float | None,
        effective: float | None, lang: Lang) -> None:
    row = WeekRow("2024-W10", "rep", "赵一", amount_signed=signed or 0.0, target=target,
                  visits=int(visits or 0), effective=int(effective or 0))
    [got] = column_values(get("weekly"), [row.as_dict()], lang=lang, options=OPTIONS)
    assert same_figure(got["completion"], row.completion, NA_LABEL(lang))
    assert same_figure(got["effective_rate"], row.effective_rate, "")
    [got] = column_values(get("review"), [{"target": target, "actual": signed}], lang=lang,
                          options=OPTIONS)
    want = "" if target is None or signed is None else figures.completion_rate(signed, target)
    assert same_figure(got["completion"], want, NA_LABEL(lang)) if want != "" \
        else got["completion"] == ""


@settings(max_examples=200, deadline=None)
@given(st.floats(0, 1e6, allow_nan=False), st.lists(amounts, min_size=3, max_size=3),
       st.lists(st.floats(0, 1e6, allow_nan=False), max_size=4), amounts)
def test_target_figures_equal_the_python_figures(quarterly: float, months: list[Any],
                                                 owners: list[float],
                                                 team: float | None) -> None:
    row = {"quarterly_target": quarterly, "quarter": "2024Q1",
           **dict(zip(("month1", "month2", "month3"), months, strict=True))}
    [got] = column_values(get("targets"), [row], lang="zh", options=OPTIONS)
    assert same_figure(got["split_sum"], figures.split_sum(months), "")
    assert same_figure(got["split_gap"], figures.split_gap(quarterly, months), "")
    targets = [{"quarter": "2024Q1", "quarterly_target": o} for o in owners]
    tables = evaluate_tables([(get("targets"), targets),
                              (get("team_targets"), [{"quarter": "2024Q1", "team_target": team}])],
                             lang="zh", options=OPTIONS)
    margin = tables["TeamTargets"]["margin"][0]
    assert agree(tables["TeamTargets"]["owners_sum"][0], math.fsum(owners))
    assert same_figure(margin, figures.target_margin(owners, team or 0), "")


@settings(max_examples=100, deadline=None)
@given(st.floats(0, 1e6, allow_nan=False), st.sampled_from(["初步接触", "签约成交", "输单",
                                                            "没有", None]))
def test_weighted_amount_equals_the_python_figure(amount: float, stage: str | None) -> None:
    stages = Settings.default().stages
    probs = [[s.zh, s.probability] for s in stages]
    [got] = column_values(get("opportunities"), [{"stage": stage, "amount": amount}],
                          lang="zh", options=OPTIONS, names={"xs_stage_prob": probs})
    prob = next((p for s, p in probs if s == stage), None)
    assert same_figure(got["probability"], prob, "")
    assert same_figure(got["weighted"], figures.weighted_amount(amount, prob), "")


# -- every template against LibreOffice ------------------------------------------------------

FORMULA_SPECS = [s for s in ALL if any(c.formula or c.total for c in s.columns)]
# Tables read by others come first, so the writer knows their columns.
ORDER = ["targets", "team_targets", "forecast_lines", "forecast", "funnel_summary", "funnel"]
FORMULA_SPECS.sort(key=lambda s: ORDER.index(s.key) if s.key in ORDER else -1)

# No booleans: LibreOffice has no boolean type (TRUE is the number 1, so ISNUMBER, COUNT
# and SUM count a TRUE cell where Excel does not); the evaluator follows Excel, checked above.
NUMBERS: list[Any] = [None, 0, 0.0, 1, -3, 2.5, 0.15, 1e-7, 123456789.25, 1e12, "", "abc", "5",
                      " 12.5 ", "1,000", "50%", "1e3", "  ", "华东"]
DATES: list[Any] = [None, D, dt.datetime(2024, 3, 5, 17, 30), dt.datetime(2023, 12, 31, 23, 59),
                    dt.date(1900, 1, 15), dt.date(2099, 12, 31), "2024-03-05",
                    "2024-03-05 17:30", "abc", 0, 45000.5, ""]
TEXT: list[Any] = [None, "", "abc", "ABC", "5", 5, "华东"]
OWNERS = ["赵一", "钱二", "Zhao", "zhao", "ZHAO", "Zh?o", "赵*", "华东", "East", "产品线A",
          "Line A"]


def text_pools(lang: Lang) -> dict[str, list[Any]]:
    """Values for the text columns the formulas compare or look up."""
    s = Settings.default()
    stages = [st_.label(lang) for st_ in s.stages]
    levels = [lab(lang) for lab in FORECAST_LEVELS.values()]
    return {
        "level": [*levels, *(x.upper() for x in levels), *(x.lower() for x in levels),
                  "其他", None, "", 5],
        "key": [*OWNERS, None, "", 5, "5"],
        "owner": [*OWNERS, None], "region": [*OWNERS, None], "product_line": [*OWNERS, None],
        "category": [*(c(lang) for c in CATEGORIES.values()), "commit", "COMMIT", "x", None],
        "stage": [*stages, *(x.upper() for x in stages), stages[0][:2] + "*", "?" * 4,
                  "无此阶段", None, "", 5],
        "quarter": ["2024Q1", "2024q1", "2024Q2", None, "", 2024, "2024"],
    }


def pool(col: Column, pools: dict[str, list[Any]]) -> list[Any]:
    if col.key in pools and col.kind in (Kind.TEXT, Kind.CHOICE):
        return pools[col.key]
    if col.kind in (Kind.DATE, Kind.DATETIME):
        return DATES
    if col.kind in (Kind.INT, Kind.AMOUNT, Kind.NUMBER, Kind.PERCENT):
        return NUMBERS
    return TEXT


def typical(col: Column, pools: dict[str, list[Any]], i: int) -> Any:
    """A plain value for ``col`` (varied by ``i``)."""
    if col.kind in (Kind.DATE, Kind.DATETIME):
        return D + dt.timedelta(days=i)
    if col.kind in (Kind.INT, Kind.AMOUNT, Kind.NUMBER, Kind.PERCENT):
        return [10, 4, 0.5, 25, 3][i % 5]
    values = [v for v in pool(col, pools) if isinstance(v, str) and v]
    return values[i % len(values)] if values else "x"


def edge_rows(spec: TableSpec, lang: Lang, rng: random.Random, n_random: int = 40
              ) -> list[dict[str, Any]]:
    """Every pool value in every input column a formula reads (the other columns plain),
    a blank row, and random rows drawn from the pools."""
    pools = text_pools(lang)
    read = set()
    for c in spec.columns:
        if c.formula:
            compiled = prepare(c.formula, lang=lang, options=OPTIONS)
            read |= compiled.cells | compiled.next_cells
        if c.total:
            read.add(c.key)
    inputs = [c for c in spec.input_columns if c.key in read]
    rows: list[dict[str, Any]] = [{}]
    for col in inputs:
        for i, value in enumerate(pool(col, pools)):
            row = {c.key: typical(c, pools, i) for c in inputs}
            row[col.key] = value
            rows.append(row)
    for _ in range(n_random):
        rows.append({c.key: rng.choice(pool(c, pools)) for c in inputs})
    return rows


def write_cases(path: Path, lang: Lang, cases: Mapping[str, list[dict[str, Any]]]) -> Path:
    """One sheet per table holding ``cases[key]``, written by the XlsxWriter writer."""
    stage_prob = [(s.label(lang), s.probability) for s in Settings.default().stages]
    names = {"xs_stage_prob": [list(p) for p in stage_prob]}
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False,
                                         "strings_to_numbers": False,
                                         "strings_to_urls": False})
    fmts = _Formats(wb)
    tables: dict[str, Any] = {}
    for spec in FORMULA_SPECS:
        ws = wb.add_worksheet(spec.key)
        write_table(ws, fmts, spec, cases[spec.key], lang=lang, options=OPTIONS,
                    display=lambda _l, v: v, header_row=0, blank_rows=0, validations=False,
                    tables=tables, names=names)
    _write_lists(wb, BookPlan(lang=lang, sheets=[], lists={}, stage_prob=stage_prob,
                              options=OPTIONS))
    wb.close()
    return path


def check_cached_values(path: Path, lang: Lang, cases: Mapping[str, list[dict[str, Any]]]
                        ) -> None:
    """The cached values are the evaluator's, for every formula cell of every table."""
    cells = formula_cells(path)
    stage_prob = [[s.label(lang), s.probability] for s in Settings.default().stages]
    tables = evaluate_tables([(s, cell_rows(s, cases[s.key], 0)) for s in FORMULA_SPECS],
                             lang=lang, options=OPTIONS, names={"xs_stage_prob": stage_prob})
    for spec in FORMULA_SPECS:
        sheet = cells[spec.key]
        for col in spec.columns:
            if col.formula:
                c = spec.index(col.key)
                for r, value in enumerate(tables[spec.name][col.key]):
                    assert agree(sheet[(r + 1, c)][2], value), (spec.key, col.key, r)
        assert len(sheet) == len(cases[spec.key]) * sum(bool(c.formula) for c in spec.columns) \
            + sum(bool(c.total) for c in spec.columns)


@pytest.fixture(scope="module")
def edge_books(soffice: str, tmp_path_factory: pytest.TempPathFactory
               ) -> dict[Lang, tuple[Path, Path, dict[str, list[dict[str, Any]]]]]:
    """Both languages' edge-case workbooks and LibreOffice's recalculation (one run)."""
    root = tmp_path_factory.mktemp("edge")
    out: dict[Lang, tuple[Path, dict[str, list[dict[str, Any]]]]] = {}
    for lang in LANGS:
        rng = random.Random(f"xlsales-{lang}")
        cases = {s.key: edge_rows(s, lang, rng) for s in FORMULA_SPECS}
        out[lang] = (write_cases(root / f"edge-{lang}.xlsx", lang, cases), cases)
    recalced = recalculate_many([p for p, _ in out.values()], root / "lo", soffice=soffice)
    return {lang: (p, lo, cases) for (lang, (p, cases)), lo in zip(out.items(), recalced,
                                                                    strict=True)}


def test_every_formula_table_is_covered() -> None:
    keys = {s.key for s in FORMULA_SPECS}
    assert keys == {s.key for s in ALL if any(c.formula or c.total for c in s.columns)}
    assert {"targets", "team_targets", "minutes", "review", "review_horizontal",
            "opportunities", "weekly", "compliance", "forecast_lines", "forecast", "funnel",
            "funnel_summary", "agenda", "agenda_template"} <= keys


@pytest.mark.libreoffice
@pytest.mark.parametrize("lang", LANGS)
def test_cached_values_are_the_evaluators(edge_books: dict[Lang, Any], lang: Lang) -> None:
    path, _, cases = edge_books[lang]
    check_cached_values(path, lang, cases)


@pytest.mark.libreoffice
@pytest.mark.parametrize("lang", LANGS)
def test_edge_cases_agree_with_libreoffice(edge_books: dict[Lang, Any], lang: Lang) -> None:
    path, recalculated, _ = edge_books[lang]
    count, problems = disagreements(path, recalculated)
    assert count > 2000
    assert not problems, f"{len(problems)} of {count} differ:\n" + "\n".join(problems[:30])


def _some_text() -> st.SearchStrategy[str]:
    return st.text(alphabet="abAB华东* ?5.", max_size=5)


def row_strategy(spec: TableSpec, lang: Lang) -> st.SearchStrategy[dict[str, Any]]:
    pools = text_pools(lang)
    parts: dict[str, st.SearchStrategy[Any]] = {}
    for col in spec.input_columns:
        values = st.sampled_from(pool(col, pools))
        if col.kind in (Kind.INT, Kind.AMOUNT, Kind.NUMBER, Kind.PERCENT):
            values = st.one_of(values, st.integers(-10**6, 10**6), floats)
        elif col.kind in (Kind.DATE, Kind.DATETIME):
            values = st.one_of(values, st.datetimes(dt.datetime(1900, 3, 1),
                                                    dt.datetime(2100, 1, 1)))
        else:
            values = st.one_of(values, _some_text())
        parts[col.key] = values
    return st.fixed_dictionaries(parts)


@st.composite
def batches(draw: st.DrawFn) -> tuple[Lang, dict[str, list[dict[str, Any]]]]:
    lang = draw(st.sampled_from(LANGS))
    return lang, {s.key: draw(st.lists(row_strategy(s, lang), min_size=1, max_size=25))
                  for s in FORMULA_SPECS}


@pytest.mark.libreoffice
@settings(max_examples=2, deadline=None, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(batches())
def test_random_rows_agree_with_libreoffice(soffice: str, batch: tuple[Lang, Any]) -> None:
    lang, cases = batch
    with tempfile.TemporaryDirectory() as tmp:
        path = write_cases(Path(tmp) / "random.xlsx", lang, cases)
        check_cached_values(path, lang, cases)
        [recalculated] = recalculate_many([path], Path(tmp) / "lo", soffice=soffice)
        count, problems = disagreements(path, recalculated)
    assert count > 0
    assert not problems, f"{len(problems)} of {count} differ:\n" + "\n".join(problems[:30])


def test_table_columns_blank_inputs() -> None:
    spec = get("review")
    got = table_columns(spec, [{"target": "", "actual": 3}], [{"completion": ""}])
    assert got["target"] == [None] and got["actual"] == [3] and got["completion"] == [""]


# -- whole columns at once (xlsales.formula_vector) against row by row --------------------------

_VECTOR_FORMULAS = (
    'IF(N({a})=0,"",{b}/{a})', 'IF(N({a})=0,"{na}",{b}/{a})', "{a}+{b}", "{a}-{b}", "{a}*{b}",
    "{a}/{b}", "-{a}", "+{a}", "{a}", '""', "1.5", "TRUE", 'IF({a}="","x",{a}>{b})',
    "{a}<>{b}", "{a}<={b}", "{a}>=1.5", "{a}<{c}", "{a}={b}", "{a}=TRUE", '{a}="abc"',
    'IFERROR({a}/{b},"e")', "IFERROR({a},{c})", "NOT({a})", "ABS({a})", "ISNUMBER({a})",
    "IF({a},{b},{c})", "IF({a},{b})", "N({a})", "N({f})+1", "IF(ISNUMBER({f}),{f}*2,{c})",
    "{a}+{b}-{c}*2/{a}", "IF(OR({a}=\"\",{b}=\"\"),\"\",{a}+{b})",  # OR: row by row
    '{a}&"x"', "MAX(0,{a}-{b})",  # not taken: the whole column row by row
)
_CELLS = st.one_of(
    st.none(), st.just(""), st.booleans(),
    st.integers(-5, 5), st.integers(-10**6, 10**6), st.sampled_from([2**52, -2**53, 10**20]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 0.1, 1e-300, 1.5, 3.0, 1e308, -1e308, 5e-324]),
    st.sampled_from([0.3, 0.1 + 0.2, -0.3, 1.0, 1 + 2**-52, 1 + 2**-45, 1e15 + 0.125]),
    st.sampled_from(["abc", "ABC", "1,000", "5%", "TRUE", " false ", "x", "2024-03-05", " "]),
    st.sampled_from([ExcelError("#DIV/0!"), ExcelError("#N/A"), ExcelError("#VALUE!")]),
    st.sampled_from([dt.date(2024, 3, 5), dt.datetime(2024, 3, 5, 17, 30), dt.time(9, 15)]),
)

# Few values, so that rows meet near-equal numbers, equal texts in other cases, blanks
# against blanks …
_FEW = [None, "", 0, -0.0, 0.3, 0.1 + 0.2, -0.3, -(0.1 + 0.2), 1, 1 + 2**-52, 1 + 2**-45,
        True, False, "abc", "ABC", "2", ExcelError("#N/A")]
_NARROW = st.sampled_from(_FEW)


def _same_cells(a: list[Any], b: list[Any]) -> bool:
    return len(a) == len(b) and all(
        type(x) is type(y) and (x == y or (x != x and y != y))
        and (not isinstance(x, float) or math.copysign(1, x) == math.copysign(1, y))
        for x, y in zip(a, b, strict=True))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(_VECTOR_FORMULAS), st.sampled_from(LANGS),
       st.one_of(st.lists(st.tuples(_CELLS, _CELLS, _CELLS), min_size=1, max_size=40),
                 st.lists(st.tuples(_NARROW, _NARROW, _NARROW), min_size=1, max_size=40)))
def test_whole_columns_equal_row_by_row(formula: str, lang: Lang,
                                        cells: list[tuple[Any, Any, Any]]) -> None:
    """The columnar evaluator gives what the row-by-row one gives, cell for cell and type
    for type, over blanks, text, numbers (0, -0.0, huge, NaN), booleans, errors and dates;
    a formula reading another formula column (``{f}``) too."""
    spec = TableSpec("t", "T", Label("t", "t"), Label("t", "t"), (
        Column("a", Label("a", "a")), Column("b", Label("b", "b")),
        Column("c", Label("c", "c")), Column("f", Label("f", "f"), formula="{b}*2"),
        Column("x", Label("x", "x"), formula=formula)))
    rows = [{"a": a, "b": b, "c": c} for a, b, c in cells]
    kw: dict[str, Any] = {"lang": lang, "options": OPTIONS}
    slow = column_values(spec, rows, vectorise=False, **kw)
    fast = column_values(spec, rows, vectorise=True, **kw)
    for key in ("f", "x"):
        assert _same_cells([r[key] for r in fast], [r[key] for r in slow]), key
    columns = {k: [r[k] for r in rows] for k in ("a", "b", "c")}
    got = formula_columns(spec, columns, len(rows), vectorise=True, **kw)
    assert _same_cells(got["x"], [r["x"] for r in slow])


@pytest.mark.parametrize("formula", _VECTOR_FORMULAS)
def test_whole_columns_every_combination(formula: str) -> None:
    """Every combination of a few values in the three cells, in one table."""
    spec = TableSpec("t", "T", Label("t", "t"), Label("t", "t"), (
        Column("a", Label("a", "a")), Column("b", Label("b", "b")),
        Column("c", Label("c", "c")), Column("f", Label("f", "f"), formula="{b}*2"),
        Column("x", Label("x", "x"), formula=formula)))
    rows = [{"a": a, "b": b, "c": c} for a in _FEW for b in _FEW for c in _FEW]
    slow = column_values(spec, rows, vectorise=False, lang="en", options=OPTIONS)
    fast = column_values(spec, rows, vectorise=True, lang="en", options=OPTIONS)
    for key in ("f", "x"):
        want, got = [r[key] for r in slow], [r[key] for r in fast]
        assert _same_cells(got, want), next(
            (rows[i], g, w) for i, (g, w) in enumerate(zip(got, want, strict=True))
            if not _same_cells([g], [w]))


@pytest.mark.parametrize("spec", [s for s in (*ALL, get("weekly"), get("compliance"))
                                  if any(c.formula for c in s.columns)], ids=lambda s: s.key)
def test_every_table_whole_columns_equal_row_by_row(spec: TableSpec) -> None:
    """The tables' own formulas, over random rows of every kind of cell."""
    rng = random.Random(spec.key)
    pool = [None, "", True, False, 0, 1, -3, 7, 0.0, -0.0, 0.25, 12.5, 1e9, float("nan"),
            "abc", "3", "2024Q1", "方案提交", ExcelError("#N/A"), dt.date(2024, 3, 5)]
    inputs = [c.key for c in spec.columns if c.is_input]
    rows = [{k: rng.choice(pool) for k in inputs} for _ in range(300)]
    names = {"xs_stage_prob": [["方案提交", 0.5], ["赢单", 1]]}
    tables = {t: {k: [rng.choice(pool) for _ in range(20)] for k in ks}
              for t, ks in _table_refs(spec).items()}
    for lang in LANGS:
        kw: dict[str, Any] = {"lang": lang, "options": OPTIONS, "names": names,
                              "tables": tables}
        slow = column_values(spec, rows, vectorise=False, **kw)
        fast = column_values(spec, rows, vectorise=True, **kw)
        for c in spec.columns:
            if c.formula:
                assert _same_cells([r[c.key] for r in fast], [r[c.key] for r in slow]), c.key


def _table_refs(spec: TableSpec) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for c in spec.columns:
        if c.formula:
            for t, k in prepare(c.formula, lang="en", options=OPTIONS).tables:
                out.setdefault(t, set()).add(k)
    return out
