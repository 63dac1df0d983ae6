"""The committed templates: fresh, error-free in LibreOffice, validated, formulas right.

Cells are always found by their headers (``spec.headers(lang)``), never by address.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import math
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import olefile
import openpyxl
import pytest
from oletools.olevba import decompress_stream
from openpyxl.utils.cell import get_column_letter, range_boundaries
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from xlsales import figures
from xlsales.i18n import LANGS, Lang
from xlsales.io.formulas import NA_LABEL
from xlsales.io.libreoffice import recalculate_many
from xlsales.io.snapshot import diff, snapshot
from xlsales.io.xlsx_writer import TOTAL_LABEL
from xlsales.settings import ListItem, RosterEntry, Settings
from xlsales.tables import ALL, Kind, TableSpec
from xlsales.templates import build_templates
from xlsales.vba.macros import BOOK_BUTTONS
from xlsales.workbook import LISTS_SHEET, list_name
from xlsales.workspace import BOOK_BY_KEY, BOOK_OF_TABLE, BOOKS, write_workspace

TEMPLATES = Path(__file__).resolve().parent.parent / "workbook_templates"
TEMPLATE_FILES = [(lang, book.filename) for lang in LANGS for book in BOOKS]
MACRO_FILES = [(lang, Path(BOOK_BY_KEY[key].filename).with_suffix(".xlsm").name)
               for lang in LANGS for key in BOOK_BUTTONS]
SHEETS = [(lang, book.filename, spec) for lang in LANGS for book in BOOKS for spec in book.specs]
FORMULA_SHEETS = [s for s in SHEETS if any(c.formula for c in s[2].columns)]
ERROR_VALUES = {"#NAME?", "#REF!", "#VALUE!", "#DIV/0!", "#N/A", "#NUM!", "#NULL!"}
VALIDATION_TYPES = {Kind.INT: "whole", Kind.AMOUNT: "decimal", Kind.PERCENT: "decimal",
                    Kind.DATE: "date", Kind.DATETIME: "date"}
STALE = "the committed templates are stale; run `xlsales templates build`"


# -- helpers ------------------------------------------------------------------------------

@functools.cache
def load(path: Path, data_only: bool = False) -> Workbook:
    """A workbook, loaded once per test session (tests only read it)."""
    return openpyxl.load_workbook(path, data_only=data_only)


def find_header(ws: Worksheet, spec: TableSpec, lang: Lang) -> tuple[int, dict[str, int]]:
    """The header row of ``spec`` in ``ws`` and each column key's column (both 1-based)."""
    headers = spec.headers(lang)
    for row in ws.iter_rows(max_row=30):
        values = [c.value for c in row]
        if all(h in values for h in headers):
            return row[0].row, {c.key: values.index(c.header(lang)) + 1 for c in spec.columns}
    raise AssertionError(f"sheet {ws.title}: no row holds the headers {headers}")


def data_rows(ws: Worksheet, spec: TableSpec, header_row: int) -> range:
    """The data rows of the spec's Excel table (without its totals row)."""
    table = ws.tables[spec.name]
    _, _, _, last = range_boundaries(table.ref)
    assert last is not None
    return range(header_row + 1, last - (table.totalsRowCount or 0) + 1)


def validations_at(ws: Worksheet, coord: str) -> list[DataValidation]:
    return [dv for dv in ws.data_validations.dataValidation if coord in dv.sqref]


def has_cjk(text: str | None) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text or "")


def is_error(value: Any) -> bool:
    return isinstance(value, str) and (value in ERROR_VALUES or value.startswith("Err:"))


def blank(value: Any) -> bool:
    return value is None or value == ""


def same(actual: Any, expected: Any) -> bool:
    """A LibreOffice result equals a Python figure (None means a blank cell)."""
    if expected is None:
        return blank(actual)
    if isinstance(expected, str):
        return actual == expected
    if isinstance(expected, dt.datetime):
        return isinstance(actual, dt.datetime) and abs(actual - expected) < dt.timedelta(seconds=1)
    return (isinstance(actual, int | float) and not isinstance(actual, bool)
            and math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9))


# -- a filled workspace and what its formulas must show -------------------------------------

REPS = ("张三", "李四", "王五")


def team_settings() -> Settings:
    s = Settings.default()
    s.lists = [ListItem(list="regions", zh="华东", en="East China"),
               ListItem(list="regions", zh="华南", en="South China", order=1),
               ListItem(list="product_lines", zh="产品线A", en="Line A"),
               ListItem(list="product_lines", zh="产品线B", en="Line B", order=1), *s.lists]
    s.roster = [RosterEntry(rep=r, region="华东", product_line="产品线A") for r in REPS]
    return s


def target(region: str, line: str, owner: str, quarter: str, total: float,
           *months: float, strategy: str | None = None) -> dict[str, Any]:
    m1, m2, m3 = (*months, None, None, None)[:3]
    return {"region": region, "product_line": line, "owner": owner, "quarter": quarter,
            "quarterly_target": total, "month1": m1, "month2": m2, "month3": m3,
            "strategy": strategy}


def opportunity(i: int, stage: str, amount: float) -> dict[str, Any]:
    return {"opp_id": f"O{i:03d}", "name": f"商机{i}", "customer": f"客户{i}",
            "owner": REPS[i % len(REPS)], "stage": stage, "stage_entered": dt.date(2024, 3, 1),
            "amount": amount}


DATA: dict[str, list[dict[str, Any]]] = {
    "targets": [
        target("华东", "产品线A", "张三", "2024Q1", 30, 10, 10, 10,
               strategy="重点攻关3家行业龙头企业,参加2场行业展会"),
        target("华南", "产品线B", "李四", "2024Q1", 25, 8, 8, 9,
               strategy="推广新品试用套餐,拓展中小客户渠道"),
        target("华东", "产品线B", "王五", "2024Q1", 40, 10, 10, 15),  # does not add up
        target("华南", "产品线A", "张三", "2024Q1", 20.5, 7.25),  # one month split so far
        target("华东", "产品线A", "李四", "2024Q1", 12),  # not split yet
        target("华南", "产品线B", "王五", "2024Q2", 50, 20, 20, 10.1),
    ],
    "team_targets": [
        {"quarter": "2024Q1", "team_target": 100},
        {"quarter": "2024Q2", "team_target": 45},
        {"quarter": "2024Q3", "team_target": 0},
        {"quarter": "2024Q4", "team_target": 10},
    ],
    "review": [
        {"dimension": "销售额", "metric": "季度总销售额", "target": 100, "actual": 85},
        {"dimension": "客户转化率", "metric": "意向客户→成交客户转化率", "target": 0.3,
         "actual": 0.2},
        {"dimension": "新客户", "metric": "新客户数", "target": 0, "actual": 5},
        {"dimension": "客单价", "metric": "平均成交金额", "target": None, "actual": 3},
        {"dimension": "拜访", "metric": "拜访次数", "target": 40, "actual": None},
        {"dimension": "方案", "metric": "方案提交数", "target": 10, "actual": 12},
    ],
    "opportunities": [
        opportunity(1, "方案提交", 50), opportunity(2, "需求分析", 80),
        opportunity(3, "签约成交", 30), opportunity(4, "输单", 20),
        opportunity(5, "报价与谈判", 12.5), opportunity(6, "潜在客户识别", 0),
        opportunity(7, "初步接触", 7.3), opportunity(8, "未知阶段", 10),
    ],
    "minutes": [
        {"meeting_at": dt.datetime(2024, 3, 4, 9, 0), "attendees": "全体销售"},
        {"meeting_at": dt.datetime(2024, 3, 11, 9, 30), "sent_at": dt.datetime(2024, 3, 11, 17)},
    ],
    "agenda": [
        {"topic": "季度目标冲刺周会", "time": "周一 9:00-10:30", "no": i + 1, "item": item,
         "owner": "销售主管", "minutes": minutes}
        for i, (item, minutes) in enumerate((("上周业绩通报(数据对比)", 30),
                                             ("销售代表发言(未达标原因分析)", 30),
                                             ("客户共性问题讨论", 20), ("本周行动项明确", 10)))
    ],
}
FILLED_BOOKS = sorted({BOOK_OF_TABLE[key].key for key in DATA})
FILLED_FILES = [(lang, BOOK_BY_KEY[key].filename) for lang in LANGS for key in FILLED_BOOKS]


def expected_formulas(lang: Lang, settings: Settings) -> dict[str, list[dict[str, Any]]]:
    """Per table, per data row: each formula column's value computed in Python."""
    def stage_probability(stage: str) -> float | None:
        found = settings.stage(stage)
        return None if found is None else found.probability

    def completion(target: float | None, actual: float | None) -> float | str | None:
        if target is None or actual is None:
            return None
        rate = figures.completion_rate(actual, target)
        return NA_LABEL(lang) if rate is None else rate

    owners = DATA["targets"]
    return {
        "targets": [
            {"split_sum": figures.split_sum([r["month1"], r["month2"], r["month3"]]),
             "split_gap": figures.split_gap(r["quarterly_target"],
                                            [r["month1"], r["month2"], r["month3"]])}
            for r in owners],
        "team_targets": [
            {"owners_sum": float(sum(o["quarterly_target"] for o in owners
                                     if o["quarter"] == r["quarter"])),
             "margin": figures.target_margin([o["quarterly_target"] for o in owners
                                              if o["quarter"] == r["quarter"]],
                                             r["team_target"])}
            for r in DATA["team_targets"]],
        "review": [{"completion": completion(r["target"], r["actual"])} for r in DATA["review"]],
        "opportunities": [
            {"probability": stage_probability(r["stage"]),
             "weighted": figures.weighted_amount(r["amount"], stage_probability(r["stage"]))}
            for r in DATA["opportunities"]],
        "minutes": [{"due_at": r["meeting_at"] + dt.timedelta(days=1)} for r in DATA["minutes"]],
    }


@pytest.fixture(scope="module")
def recalculated(soffice: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Every committed template and the filled workspaces, recalculated in one LibreOffice run.

    Keys: ``template/<lang>/<file>`` and ``filled/<lang>/<file>``.
    """
    root = tmp_path_factory.mktemp("recalc")
    staging = root / "in"
    staging.mkdir()
    sources: dict[str, Path] = {}
    for lang, filename in TEMPLATE_FILES:
        sources[f"template/{lang}/{filename}"] = staging / f"template-{lang}-{filename}"
        shutil.copyfile(TEMPLATES / lang / filename, sources[f"template/{lang}/{filename}"])
    for lang in LANGS:
        for path in write_workspace(root / f"filled-{lang}", team_settings(), DATA, lang=lang,
                                    books=FILLED_BOOKS):
            sources[f"filled/{lang}/{path.name}"] = staging / f"filled-{lang}-{path.name}"
            shutil.copyfile(path, sources[f"filled/{lang}/{path.name}"])
    outputs = recalculate_many(list(sources.values()), root / "out", soffice=soffice)
    return dict(zip(sources, outputs, strict=True))


# -- freshness --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fresh")
    build_templates(root)
    return root


def test_committed_templates_are_the_built_ones(fresh: Path) -> None:
    def listed(root: Path) -> list[str]:
        return sorted(p.relative_to(root).as_posix() for pattern in ("*.xlsx", "*.xlsm")
                      for p in root.rglob(pattern))

    assert listed(TEMPLATES) == listed(fresh), STALE
    assert listed(fresh) == sorted(f"{lang}/{name}"
                                   for lang, name in [*TEMPLATE_FILES, *MACRO_FILES])


@pytest.mark.parametrize(("lang", "filename"), TEMPLATE_FILES)
def test_committed_template_is_fresh(fresh: Path, lang: str, filename: str) -> None:
    committed = TEMPLATES / lang / filename
    assert committed.is_file(), f"{lang}/{filename} is missing; {STALE}"
    problems = diff(snapshot(committed), snapshot(fresh / lang / filename),
                    label=f"{lang}/{filename}")
    assert not problems, f"{STALE} (committed != fresh build):\n" + "\n".join(problems)


_XLWINGS_STREAM = "VBA/xlwings"
_PROTECTION = re.compile(rb'^(CMG|DPB|GC)="[0-9A-F]+"\r$', re.M)


def _xml_equal(a: bytes, b: bytes) -> bool:
    """Two XML parts say the same (canonical XML: attribute order and the like aside)."""
    try:
        return ET.canonicalize(a.decode("utf-8")) == ET.canonicalize(b.decode("utf-8"))
    except (ET.ParseError, UnicodeDecodeError):
        return False


def _vba_streams(data: bytes) -> dict[str, bytes]:
    ole = olefile.OleFileIO(io.BytesIO(data))
    try:
        return {"/".join(p): ole.openstream(p).read()
                for p in ole.listdir(streams=True, storages=False)}
    finally:
        ole.close()


def _xlwings_version(stream: bytes) -> str:
    """The ``'Version:`` line of the xlwings module (offset 0: no performance cache)."""
    text = bytes(decompress_stream(bytearray(stream))).decode("cp1252")
    assert text.startswith('Attribute VB_Name = "xlwings"'), text[:80]
    found = re.search(r"^'Version: (\S+)", text, re.M)
    assert found, "the xlwings module has no version line"
    return found.group(1)


def vba_differences(committed: bytes, fresh: bytes) -> list[str]:
    """How two ``vbaProject.bin`` differ, stream by stream, allowing for the xlwings
    version: built with another xlwings, the xlwings module differs and so do the seeds
    of CMG/DPB/GC (derived from the content), nothing else may."""
    if committed == fresh:
        return []
    a, b = _vba_streams(committed), _vba_streams(fresh)
    if sorted(a) != sorted(b):
        return [f"vbaProject.bin streams {sorted(a)} != {sorted(b)}"]
    versions = (_xlwings_version(a[_XLWINGS_STREAM]), _xlwings_version(b[_XLWINGS_STREAM]))
    if versions[0] == versions[1]:  # the same xlwings: nothing may differ
        return ["vbaProject.bin differs (same xlwings version " + versions[0] + ")"]
    out = []
    for name in sorted(a):
        if name == _XLWINGS_STREAM:
            continue
        if name == "PROJECT":
            same = _PROTECTION.sub(rb"\1", a[name]) == _PROTECTION.sub(rb"\1", b[name])
        else:
            same = a[name] == b[name]
        if not same:
            out.append(f"vbaProject.bin stream {name} differs (xlwings {versions[0]} "
                       f"committed, {versions[1]} installed)")
    return out


@pytest.mark.parametrize(("lang", "filename"), MACRO_FILES)
def test_committed_macro_template_is_fresh(fresh: Path, lang: str, filename: str) -> None:
    """Part by part: the same parts, each the same bytes (or the same canonical XML), the
    VBA project the same but for the version of the xlwings module inside."""
    committed = TEMPLATES / lang / filename
    assert committed.is_file(), f"{lang}/{filename} is missing; {STALE}"
    with zipfile.ZipFile(committed) as zc, zipfile.ZipFile(fresh / lang / filename) as zf:
        names = zc.namelist()
        assert names == zf.namelist(), f"{STALE}: the parts differ"
        problems = []
        for name in names:
            a, b = zc.read(name), zf.read(name)
            if name == "xl/vbaProject.bin":
                problems += vba_differences(a, b)
            elif a != b and not _xml_equal(a, b):
                problems.append(f"part {name} differs")
    assert not problems, f"{STALE} ({lang}/{filename}):\n" + "\n".join(problems)


def test_macro_freshness_allows_only_the_xlwings_version() -> None:
    from xlsales.vba import Module, vba_project

    def project(version: str, buttons: str = "Sub A()\nEnd Sub\n") -> bytes:
        xlwings = f'Attribute VB_Name = "xlwings"\n\'Version: {version}\nSub RunPython()\nEnd Sub\n'
        return vba_project([Module("ThisWorkbook", "", "workbook"), Module("Buttons", buttons),
                            Module("xlwings", xlwings)])

    assert vba_differences(project("0.30.0"), project("0.30.0")) == []
    assert vba_differences(project("0.30.0"), project("0.33.1")) == []
    assert vba_differences(project("0.30.0"), project("0.33.1", "Sub B()\nEnd Sub\n")) == [
        "vbaProject.bin stream VBA/Buttons differs (xlwings 0.30.0 committed, 0.33.1 "
        "installed)"]
    assert vba_differences(project("0.30.0", "Sub B()\nEnd Sub\n"), project("0.30.0")) == [
        "vbaProject.bin differs (same xlwings version 0.30.0)"]


# -- structure ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("lang", "filename"), TEMPLATE_FILES)
def test_sheets_in_order_with_hidden_lists(lang: Lang, filename: str) -> None:
    wb = load(TEMPLATES / lang / filename)
    book = next(b for b in BOOKS if b.filename == filename)
    assert wb.sheetnames == [*(spec.sheet(lang) for spec in book.specs), LISTS_SHEET]
    states = {ws.title: ws.sheet_state for ws in wb.worksheets}
    assert states == {**{spec.sheet(lang): "visible" for spec in book.specs},
                      LISTS_SHEET: "hidden"}


@pytest.mark.parametrize(("lang", "filename", "spec"), SHEETS,
                         ids=[f"{lang}-{spec.key}" for lang, _, spec in SHEETS])
def test_table_layout_and_number_formats(lang: Lang, filename: str, spec: TableSpec) -> None:
    ws = load(TEMPLATES / lang / filename)[spec.sheet(lang)]
    header_row, cols = find_header(ws, spec, lang)
    first = min(cols.values())
    assert [ws.cell(header_row, first + i).value for i in range(len(spec.columns))] == \
        spec.headers(lang), "headers out of order"
    assert spec.name in ws.tables, f"{ws.title}: no Excel table named {spec.name}"
    table = ws.tables[spec.name]
    c0, r0, c1, _ = range_boundaries(table.ref)
    assert (r0, c0, c1) == (header_row, first, first + len(spec.columns) - 1)
    assert [c.name for c in table.tableColumns] == spec.headers(lang)
    assert ws.freeze_panes == f"A{header_row + 1}"
    rows = data_rows(ws, spec, header_row)
    assert len(rows) >= 1
    for col in spec.columns:
        cell = ws.cell(rows[0], cols[col.key])
        assert cell.number_format == (col.fmt or "General"), (col.key, cell.coordinate)


@pytest.mark.parametrize(("lang", "filename", "spec"), SHEETS,
                         ids=[f"{lang}-{spec.key}" for lang, _, spec in SHEETS])
def test_dropdowns_and_validations(lang: Lang, filename: str, spec: TableSpec) -> None:
    wb = load(TEMPLATES / lang / filename)
    ws = wb[spec.sheet(lang)]
    header_row, cols = find_header(ws, spec, lang)
    rows = data_rows(ws, spec, header_row)
    lists_ws = wb[LISTS_SHEET]
    defaults = Settings.default()
    for col in spec.input_columns:
        letter = get_column_letter(cols[col.key])
        first, last = f"{letter}{rows[0]}", f"{letter}{rows[-1]}"
        found = validations_at(ws, first)
        assert len(found) <= 1, f"{col.key}: several validations on {first}"
        dv = found[0] if found else None
        if col.choices:
            name = list_name(col.choices)
            assert dv is not None and dv.type == "list", f"{col.key}: no dropdown on {first}"
            assert dv.formula1.lstrip("=") == name, (col.key, dv.formula1)
            assert (dv.errorStyle or "stop") == ("stop" if col.strict_choices else "warning")
            assert name in wb.defined_names, f"{col.key}: defined name {name} missing"
            (sheet, ref), = wb.defined_names[name].destinations
            assert sheet == LISTS_SHEET, (name, sheet)
            c0, r0, c1, r1 = range_boundaries(ref.replace("$", ""))
            assert c0 == c1 and lists_ws.cell(r0 - 1, c0).value == col.choices
            values = [lists_ws.cell(r, c0).value for r in range(r0, r1 + 1)]
            assert [v for v in values if v is not None] == defaults.labels(col.choices, lang)
        elif col.kind in VALIDATION_TYPES and (col.kind is not Kind.AMOUNT
                                               or col.minimum is not None):
            expected = VALIDATION_TYPES[col.kind]
            assert dv is not None and dv.type == expected, \
                f"{col.key}: expected a {expected} validation on {first}, found {dv and dv.type}"
            if col.kind is Kind.INT:
                assert float(dv.formula1) == (col.minimum or 0), (col.key, dv.formula1)
        if col.hint:
            assert dv is not None and dv.prompt == col.hint(lang), f"{col.key}: no hint"
        if dv is not None:
            assert last in dv.sqref, f"{col.key}: validation stops before {last}"
            if dv.type is not None:
                assert dv.allow_blank and dv.showErrorMessage and dv.error, col.key
            for text in (dv.error, dv.errorTitle, dv.prompt):
                if lang == "zh" and text:
                    assert has_cjk(text), f"{col.key}: message not in Chinese: {text!r}"
                if lang == "en":
                    assert not has_cjk(text), f"{col.key}: message not in English: {text!r}"
            if lang == "en" and dv.error:
                assert dv.error.isascii(), (col.key, dv.error)
    for col in spec.columns:
        if col.formula:
            letter = get_column_letter(cols[col.key])
            assert not validations_at(ws, f"{letter}{rows[0]}"), f"{col.key}: formula validated"


# -- LibreOffice ----------------------------------------------------------------------------

@pytest.mark.libreoffice
@pytest.mark.parametrize(("kind", "lang", "filename"),
                         [("template", *f) for f in TEMPLATE_FILES]
                         + [("filled", *f) for f in FILLED_FILES])
def test_no_error_values_after_recalculation(recalculated: dict[str, Path], kind: str,
                                             lang: str, filename: str) -> None:
    wb = load(recalculated[f"{kind}/{lang}/{filename}"], data_only=True)
    errors = [f"{ws.title}!{c.coordinate} {c.value}" for ws in wb.worksheets
              for row in ws.iter_rows() for c in row if is_error(c.value)]
    assert not errors, f"{kind} {lang}/{filename}: error values in LibreOffice: {errors[:20]}"


@pytest.mark.libreoffice
@pytest.mark.parametrize(("lang", "filename", "spec"), FORMULA_SHEETS,
                         ids=[f"{lang}-{spec.key}" for lang, _, spec in FORMULA_SHEETS])
def test_formulas_are_blank_on_empty_rows(recalculated: dict[str, Path], lang: Lang,
                                          filename: str, spec: TableSpec) -> None:
    ws = load(recalculated[f"template/{lang}/{filename}"], data_only=True)[spec.sheet(lang)]
    header_row, cols = find_header(ws, spec, lang)
    shown = {f"{c.key}@{r}": ws.cell(r, cols[c.key]).value
             for c in spec.columns if c.formula
             for r in range(header_row + 1, header_row + 1 + spec.blank_rows)}
    assert all(blank(v) for v in shown.values()), {k: v for k, v in shown.items() if not blank(v)}


def test_every_formula_column_is_checked() -> None:
    """Each workspace table's formula columns appear in :func:`expected_formulas`."""
    checked = expected_formulas("zh", team_settings())
    with_formulas = {spec.key: {c.key for c in spec.columns if c.formula}
                     for book in BOOKS for spec in book.specs}
    assert {k: v for k, v in with_formulas.items() if v} == \
        {k: set(rows[0]) for k, rows in checked.items()}
    assert all(len(checked[k]) == len(DATA[k]) for k in checked)


@pytest.mark.libreoffice
@pytest.mark.parametrize("lang", LANGS)
def test_formulas_agree_with_python(recalculated: dict[str, Path], lang: Lang) -> None:
    settings = team_settings()
    problems: list[str] = []
    for key, expected_rows in expected_formulas(lang, settings).items():
        spec = next(s for s in ALL if s.key == key)
        path = recalculated[f"filled/{lang}/{BOOK_OF_TABLE[key].filename}"]
        ws = load(path, data_only=True)[spec.sheet(lang)]
        header_row, cols = find_header(ws, spec, lang)
        blank_row = {k: None for k in expected_rows[0]}
        rows = [*expected_rows, *[blank_row] * max(spec.blank_rows - len(expected_rows), 0)]
        for i, expected in enumerate(rows):
            for col_key, value in expected.items():
                cell = ws.cell(header_row + 1 + i, cols[col_key])
                if not same(cell.value, value):
                    header = spec.column(col_key).header(lang)
                    problems.append(f"{ws.title}!{cell.coordinate} ({header}): "
                                    f"LibreOffice {cell.value!r}, Python {value!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.libreoffice
@pytest.mark.parametrize("lang", LANGS)
def test_agenda_total_row(recalculated: dict[str, Path], lang: Lang) -> None:
    spec = next(s for s in ALL if s.key == "agenda")
    for kind, expected in (("template", 0), ("filled", sum(r["minutes"]
                                                           for r in DATA["agenda"]))):
        ws = load(recalculated[f"{kind}/{lang}/{BOOK_OF_TABLE['agenda'].filename}"],
                  data_only=True)[spec.sheet(lang)]
        header_row, cols = find_header(ws, spec, lang)
        first = min(cols.values())
        total_row = next(r for r in range(header_row + 1, ws.max_row + 1)
                         if ws.cell(r, first).value == TOTAL_LABEL(lang))
        assert same(ws.cell(total_row, cols["minutes"]).value, expected), kind
