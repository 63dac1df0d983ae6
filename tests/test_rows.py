"""Rows written into an existing table in place (:mod:`xlsales.io.edit.rows`), on real
workbooks: the sample team's workspace, the empty templates, the flavours of the demo's
customers workbook (macros, a manager's additions) and a sheet laid out by a user.

Results are read back by header with xlsales's reader and with openpyxl, the package is
compared part by part with the original, formula cells are checked against Python's
values and LibreOffice's recalculation, and the checker must find the files Excel-strict.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import zipfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Border, Font, PatternFill, Side
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table as ListObject

from tests.flavours import LIBREOFFICE_FLAVOURS, FlavourCache, changed_parts, parts
from tests.helpers import comparable
from tests.strict import assert_strict
from tests.test_formula_values import disagreements
from xlsales import tables as T
from xlsales.errors import WorkbookError
from xlsales.frames import Table
from xlsales.i18n import Lang
from xlsales.io.check import check_workbook, scan_formulas
from xlsales.io.edit.book import WorkbookEdit
from xlsales.io.edit.rows import put_rows
from xlsales.io.read import WorkbookReader
from xlsales.settings import Settings
from xlsales.workbook import STAGE_PROB_NAME, team_lists
from xlsales.workspace import read_settings

TEMPLATES = Path(__file__).resolve().parent.parent / "workbook_templates"
FORMULA_LIKE = ['=HYPERLINK("http://evil.example","click")', "+cmd|' /C calc'!A0", "-2+3",
                "@SUM(1,2)", "=1+1"]

NEW_OPPORTUNITIES = [
    {"opp_id": "N0001", "name": "新增项目一", "customer": "杭州永安物流集团有限公司",
     "owner": "张伟", "product_line": "产品线A", "stage": "方案提交",
     "stage_entered": dt.date(2024, 3, 20), "amount": 12.5,
     "expected_close": dt.date(2024, 6, 30), "urgency": "强", "created_on": dt.date(2024, 3, 1)},
    {"opp_id": "N0002", "name": "新增项目二", "customer": "上海盛世包装材料有限公司",
     "owner": "刘洋", "product_line": "产品线B", "stage": "输单",
     "stage_entered": dt.date(2024, 3, 22), "amount": 40, "closed_on": dt.date(2024, 3, 22),
     "lost_reason": "价格"},
    {"opp_id": "N0003", "name": "新增项目三", "customer": "上海盛世包装材料有限公司",
     "owner": "李娜", "stage": None, "stage_entered": dt.date(2024, 3, 25), "amount": 7.25},
    {"opp_id": "N0004", "name": "新增项目四", "customer": "广州安泰医疗器械有限责任公司",
     "owner": "赵磊", "product_line": "产品线A", "stage": "报价与谈判",
     "stage_entered": pd.Timestamp("2024-03-26"), "amount": np.float64(99.9)},
]
NEW_CUSTOMERS = [
    {"customer_id": "C9001", "name": "苏州新航精密机械有限公司", "contact": "王经理",
     "phone": 13800000000, "industry": "制造", "stage": "潜在客户", "tier": "A",
     "needs": ["产线升级", "售后培训"], "budget": 80, "owner": "张伟",
     "created_on": dt.date(2024, 3, 28), "birthday": dt.date(1980, 5, 6)},
    {"customer_id": "C9002", "name": "宁波恒通物流有限公司", "stage": "意向客户", "owner": "刘洋",
     "last_contact": dt.date(2024, 3, 27), "city": "宁波"},
]


def options(settings: Settings) -> dict[str, Any]:
    return settings.general.model_dump()


def read(path: Path, key: str, settings: Settings) -> Table:
    with WorkbookReader(path) as wb:
        return wb.table(T.get(key), settings)


def put(path: Path, settings: Settings, lang: Lang,
        edits: Mapping[str, tuple[Sequence[Mapping[str, Any]], Mapping[int, Mapping[str, Any]]]],
        **kw: Any) -> dict[str, list[int]]:
    """Each table's (appends, updates) written in one edit of ``path``; the rows added."""
    read_first = {key: read(path, key, settings) for key in edits}
    added = {}
    with WorkbookEdit(path) as wb:
        for key, (appends, updates) in edits.items():
            added[key] = put_rows(wb, read_first[key], appends=appends, updates=updates,
                                  lang=lang, options=options(settings),
                                  display=lambda n, v: settings.display(n, v, lang), **kw)
        wb.save()
    return added


def table_part(path: Path, name: str) -> tuple[str, str]:
    """(part, XML) of the Excel table ``name``."""
    with zipfile.ZipFile(path) as z:
        for part in z.namelist():
            if part.startswith("xl/tables/"):
                xml = z.read(part).decode()
                if f'displayName="{name}"' in xml:
                    return part, xml
    raise AssertionError(f"no table {name}")


def refs(xml: str) -> tuple[str, str]:
    table = re.search(r'<table\b[^>]*?\bref="([^"]*)"', xml)
    auto = re.search(r'<autoFilter\b[^>]*?\bref="([^"]*)"', xml)
    assert table and auto
    return table.group(1), auto.group(1)


def sheet_part(path: Path, sheet: str) -> str:
    with WorkbookEdit(path) as wb:
        return wb.ref(sheet).part


def sheet_xml(path: Path, sheet: str) -> str:
    part = sheet_part(path, sheet)
    with zipfile.ZipFile(path) as z:
        return z.read(part).decode()


def same(key: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`comparable`, with pandas and numpy values as the Python ones a table reads."""
    spec = T.get(key)
    out = dict(record)
    for k, v in record.items():
        if isinstance(v, pd.Timestamp):
            v = v.to_pydatetime()
        if isinstance(v, dt.datetime) and spec.column(k).kind.value == "date":
            v = v.date()
        out[k] = v.item() if isinstance(v, np.generic) else v
    return comparable(key, out)


def by_row(table: Table) -> dict[int, dict[str, Any]]:
    return {rec.pop("_row"): rec for rec in table.records(with_row=True)}


def stage_probability(settings: Settings, stage: str | None) -> Any:
    found = settings.stage(stage) if stage else None
    return found.probability if found else ""


# -- the sample team's workbooks ------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_opportunities_added_and_changed(sample_copy: Callable[[str], Path], lang: Lang,
                                         tmp_path: Path) -> None:
    root = sample_copy(lang)
    settings = read_settings(root)
    path = root / "customers.xlsx"
    before = Path(shutil.copyfile(path, tmp_path / "before.xlsx"))
    table = read(path, "opportunities", settings)
    old = by_row(table)
    last = max(old)
    updates = {last: {"stage": "报价与谈判", "amount": 33.0}, last - 1: {"name": "改过的名称"},
               last - 2: {"lost_reason": "预算取消", "closed_on": None}}
    added = put(path, settings, lang, {"opportunities": (NEW_OPPORTUNITIES, updates)})
    assert added["opportunities"] == list(range(last + 1, last + 1 + len(NEW_OPPORTUNITIES)))

    # (a) read back by header
    new = by_row(read(path, "opportunities", settings))
    assert set(new) == set(old) | set(added["opportunities"])
    for row, rec in zip(added["opportunities"], NEW_OPPORTUNITIES, strict=True):
        assert same("opportunities", new[row]) == same("opportunities", rec)
    for row, change in updates.items():
        assert comparable("opportunities", new[row]) == comparable(
            "opportunities", {**old[row], **change})
    for row in set(old) - set(updates):
        assert new[row] == old[row]

    # (b) the Excel table grew
    part, xml = table_part(path, "Opportunities")
    new_last = added["opportunities"][-1]
    assert refs(xml) == (f"A3:R{new_last}", f"A3:R{new_last}")
    assert refs(table_part(before, "Opportunities")[1]) == (f"A3:R{last}", f"A3:R{last}")
    ws = sheet_xml(path, table.sheet)
    assert f'<dimension ref="A1:R{new_last}"/>' in ws
    assert f'sqref="K4:K{new_last}"' in ws and f'sqref="D4:D{new_last}"' in ws
    assert f":K{last}\"" not in ws and f":D{last}\"" not in ws

    # (c) only the sheet and its table changed
    assert changed_parts(before, path) == {sheet_part(path, table.sheet), part}

    # (d) formulas with their cached values, as Python computes them
    values = openpyxl.load_workbook(path, data_only=True)[table.sheet]
    formulas = openpyxl.load_workbook(path)[table.sheet]
    for row in [*added["opportunities"], last, last - 1]:
        stage = new[row]["stage"]
        probability = stage_probability(settings, stage)
        assert str(formulas[f"I{row}"].value).startswith("=IF(F")
        assert formulas[f"J{row}"].value == f'=IF(I{row}="","",H{row}*I{row})'
        cached = values[f"I{row}"].value
        assert (cached in (None, "")) if probability == "" else cached == pytest.approx(
            probability)
        weighted = values[f"J{row}"].value
        if probability == "":
            assert weighted in (None, "")
        else:
            assert weighted == pytest.approx(new[row]["amount"] * probability)
    # choices are shown in the sheet's language, dates as dates
    first = added["opportunities"][0]
    assert values[f"F{first}"].value == settings.display("stages", "方案提交", lang)
    assert values[f"G{first}"].value == dt.datetime(2024, 3, 20)
    assert values[f"G{first}"].number_format == values[f"G{last}"].number_format

    # (g) Excel-strict
    assert_strict(path)


def test_customers_added_and_changed(sample_copy: Callable[[str], Path],
                                     tmp_path: Path) -> None:
    root = sample_copy("zh")
    settings = read_settings(root)
    path = root / "customers.xlsx"
    before = Path(shutil.copyfile(path, tmp_path / "before.xlsx"))
    table = read(path, "customers", settings)
    old = by_row(table)
    first_row = min(old)
    updates = {first_row: {"city": None, "lost_reason": "搬迁", "budget": 12.3456},
               first_row + 1: {"next_follow_up": dt.date(2024, 4, 2)}}
    added = put(path, settings, "zh", {"customers": (NEW_CUSTOMERS, updates)})["customers"]
    new = by_row(read(path, "customers", settings))
    one, two = (new[r] for r in added)
    assert one["needs"] == "产线升级; 售后培训"  # lists are joined
    assert one["phone"] == "13800000000"  # a number in a text column is text
    assert one["birthday"] == dt.date(1980, 5, 6) and one["budget"] == 80
    assert comparable("customers", two) == comparable("customers", NEW_CUSTOMERS[1])
    assert new[first_row]["city"] is None and new[first_row]["lost_reason"] == "搬迁"
    assert new[first_row]["budget"] == pytest.approx(12.3456)
    assert new[first_row + 1]["next_follow_up"] == dt.date(2024, 4, 2)
    part, xml = table_part(path, "Customers")
    assert refs(xml)[0].endswith(str(added[-1]))
    assert changed_parts(before, path) == {sheet_part(path, table.sheet), part}
    assert_strict(path)


def test_text_that_looks_like_a_formula_stays_text(sample_copy: Callable[[str], Path]) -> None:
    root = sample_copy("zh")
    settings = read_settings(root)
    path = root / "customers.xlsx"
    first_row = min(by_row(read(path, "customers", settings)))
    rows = [{"customer_id": f"X{i}", "name": text, "contact": text, "needs": text,
             "stage": "潜在客户", "owner": "张伟"} for i, text in enumerate(FORMULA_LIKE)]
    added = put(path, settings, "zh", {"customers": (rows, {first_row: {"needs": "=1+1"}})})
    sheet = read(path, "customers", settings).sheet
    xml = sheet_xml(path, sheet)
    ws = openpyxl.load_workbook(path)[sheet]
    for row, text in zip(added["customers"], FORMULA_LIKE, strict=True):
        for col in ("B", "C", "H"):
            cell = re.search(rf'<c r="{col}{row}"[^>]*>.*?</c>', xml)
            assert cell and "<f>" not in cell.group() and 't="inlineStr"' in cell.group()
            assert ws[f"{col}{row}"].data_type == "s" and ws[f"{col}{row}"].value == text
    assert ws[f"H{first_row}"].data_type == "s" and ws[f"H{first_row}"].value == "=1+1"
    back = by_row(read(path, "customers", settings))
    assert [back[r]["name"] for r in added["customers"]] == FORMULA_LIKE
    assert_strict(path)


def test_targets_formulas_follow_their_inputs(sample_copy: Callable[[str], Path],
                                              tmp_path: Path) -> None:
    root = sample_copy("zh")
    settings = read_settings(root)
    path = root / "targets.xlsx"
    before = Path(shutil.copyfile(path, tmp_path / "before.xlsx"))
    table = read(path, "targets", settings)
    row = min(by_row(table))
    put(path, settings, "zh", {"targets": ([], {row: {"month1": 1.5, "month2": 2.25},
                                                 row + 1: {"strategy": "只改文字"}})})
    values = openpyxl.load_workbook(path, data_only=True)[table.sheet]
    formulas = openpyxl.load_workbook(path)[table.sheet]
    split, gap = (f"{c}{row}" for c in ("I", "J"))
    assert str(formulas[split].value).startswith("=IF(COUNT(F")
    expected = 1.5 + 2.25 + (values[f"H{row}"].value or 0)
    assert values[split].value == pytest.approx(expected)
    assert values[gap].value == pytest.approx(values[f"E{row}"].value - expected)
    old = openpyxl.load_workbook(before, data_only=True)[table.sheet]
    assert values[f"I{row + 1}"].value == old[f"I{row + 1}"].value  # inputs unchanged
    assert changed_parts(before, path) == {sheet_part(path, table.sheet)}
    assert_strict(path)


# -- the templates' pre-sized blank rows ------------------------------------------------------


def test_template_rows_are_reused_then_the_table_grows(tmp_path: Path) -> None:
    path = Path(shutil.copyfile(TEMPLATES / "zh" / "customers.xlsx", tmp_path / "c.xlsx"))
    before = Path(shutil.copyfile(path, tmp_path / "before.xlsx"))
    settings = Settings.default()
    first = put(path, settings, "zh", {"opportunities": (NEW_OPPORTUNITIES[:2], {})})
    assert first["opportunities"] == [4, 5]
    # the blank rows were there
    assert refs(table_part(path, "Opportunities")[1]) == ("A3:R23", "A3:R23")
    sheet = read(path, "opportunities", settings).sheet
    assert changed_parts(before, path) == {sheet_part(path, sheet)}
    many = [{**NEW_OPPORTUNITIES[0], "opp_id": f"M{i:03d}"} for i in range(30)]
    second = put(path, settings, "zh", {"opportunities": (many, {})})
    assert second["opportunities"] == list(range(6, 36))
    assert refs(table_part(path, "Opportunities")[1]) == ("A3:R35", "A3:R35")
    xml = sheet_xml(path, sheet)
    assert 'sqref="K4:K35"' in xml and 'sqref="D4:D35"' in xml
    back = read(path, "opportunities", settings)
    assert list(back.df.index) == list(range(4, 36))
    ws = openpyxl.load_workbook(path, data_only=True)[sheet]
    assert ws["I35"].value == pytest.approx(0.5) and ws["J35"].value == pytest.approx(6.25)
    assert ws["I36"].value is None
    assert_strict(path)


# -- flavours of the demo's workbook -----------------------------------------------------------


@pytest.mark.parametrize("flavour", [
    pytest.param(f, marks=[pytest.mark.libreoffice] if f in LIBREOFFICE_FLAVOURS else [])
    for f in ("plain", "xlsm", "rich")])
def test_flavours_keep_every_other_part(request: pytest.FixtureRequest, flavour: str,
                                        demo_workspace: Path, demo_settings: Settings,
                                        flavour_cache: FlavourCache, tmp_path: Path) -> None:
    if flavour in LIBREOFFICE_FLAVOURS:
        request.getfixturevalue("libreoffice_flavours")
    path = flavour_cache.copy(demo_workspace / "customers.xlsx", flavour, tmp_path / "ws")
    before = Path(shutil.copyfile(path, tmp_path / f"before{path.suffix}"))
    tables = {key: read(path, key, demo_settings) for key in ("customers", "opportunities")}
    old = {key: by_row(t) for key, t in tables.items()}
    some = min(old["opportunities"])
    added = put(path, demo_settings, "zh", {
        "customers": (NEW_CUSTOMERS, {}),
        "opportunities": (NEW_OPPORTUNITIES, {some: {"stage": "签约成交"}})})
    expected = set()
    for t in tables.values():
        expected.add(sheet_part(path, t.sheet))
        expected.add(table_part(path, t.spec.name)[0])
    assert changed_parts(before, path) == expected
    if flavour == "xlsm":
        assert parts(before)["xl/vbaProject.bin"] == parts(path)["xl/vbaProject.bin"]
    for key in tables:
        back = by_row(read(path, key, demo_settings))
        assert len(back) == len(old[key]) + len(added[key])
        rows = NEW_CUSTOMERS if key == "customers" else NEW_OPPORTUNITIES
        assert [back[r]["name"] for r in added[key]] == [r["name"] for r in rows]
    assert by_row(read(path, "opportunities", demo_settings))[some]["stage"] == "签约成交"

    def problems(p: Path) -> set[tuple[str, str | None, str | None]]:
        # formulas without a cached value (openpyxl drops them in the rich flavour) are
        # listed 50 per sheet: the cells written are checked below instead
        return {(x.kind, x.sheet, x.cell) for x in check_workbook(p)
                if x.kind != "formula-no-cache"}

    assert not problems(path) - problems(before)
    cached = {(c.sheet, c.ref): c.cached for c in scan_formulas(path)}
    sheet = tables["opportunities"].sheet
    for row in [*added["opportunities"], some]:
        assert cached[sheet, f"I{row}"] and cached[sheet, f"J{row}"]
    if flavour not in LIBREOFFICE_FLAVOURS:
        assert_strict(path)


# -- a sheet laid out by its user ---------------------------------------------------------------


USER_HEADERS = ["备注", "商机名称", "商机编号", "客户名称", "负责人", "商机阶段", "进入阶段日期",
                "金额(元)", "赢单概率", "自定义"]
THIN = Side(style="thin")


def user_sheet(path: Path, *, below: dict[str, Any] | None = None) -> Path:
    """Opportunities in the user's own layout: columns in another order, amounts in 元, the
    win probability typed in (no formula), no weighted amount, two columns of their own, an
    Excel table, a conditional format and a dropdown over the rows."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "我的商机"
    ws.append(USER_HEADERS)
    rows = [["", "甲项目", "U1", "杭州永安物流集团有限公司", "张伟", "方案提交",
             dt.date(2024, 3, 1), 120000, 0.5, "x"],
            ["老客户", "乙项目", "U2", "上海盛世包装材料有限公司", "刘洋", "需求分析",
             dt.date(2024, 3, 2), 55000, 0.25, None]]
    for values in rows:
        ws.append(values)
    for row in ws.iter_rows(min_row=2, max_row=3):
        for cell in row:
            cell.border = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
            cell.font = Font(color="FF1F4E78")
        row[6].number_format = "yyyy/mm/dd"
        row[7].number_format = "#,##0"
        row[8].number_format = "0%"
    ws.add_table(ListObject(displayName="MyPipe", ref="A1:J3"))
    ws.conditional_formatting.add("H2:H3", FormulaRule(formula=["H2>100000"],
                                                       fill=PatternFill("solid", "FFFFC7CE")))
    dv = DataValidation(type="list", formula1='"方案提交,需求分析"', allow_blank=True)
    dv.add("F2:F3")
    ws.add_data_validation(dv)
    for ref, value in (below or {}).items():
        ws[ref] = value
    wb.save(path)
    return path


def stage_names(settings: Settings, lang: Lang) -> dict[str, list[list[Any]]]:
    _, stage_prob = team_lists(settings, lang)
    return {STAGE_PROB_NAME: [[stage, prob] for stage, prob in stage_prob]}


def test_the_users_layout_wins(tmp_path: Path, demo_settings: Settings) -> None:
    path = user_sheet(tmp_path / "mine.xlsx")
    before = Path(shutil.copyfile(path, tmp_path / "before.xlsx"))
    table = read(path, "opportunities", demo_settings)
    assert table.df.loc[2, "amount"] == 12  # read in 万元
    new = [NEW_OPPORTUNITIES[0], NEW_OPPORTUNITIES[3]]
    added = put(path, demo_settings, "zh", {"opportunities": (new, {3: {"stage": "方案提交"}})},
                names=stage_names(demo_settings, "zh"))["opportunities"]
    assert added == [4, 5]
    ws = openpyxl.load_workbook(path)["我的商机"]
    assert [c.value for c in ws[4]] == [
        None, "新增项目一", "N0001", "杭州永安物流集团有限公司", "张伟", "方案提交",
        dt.datetime(2024, 3, 20), 125000, 0.5, None]
    assert ws["H5"].value == 999000 and ws["I5"].value == 0.75  # 元; typed, not a formula
    assert ws["I3"].value == 0.5  # the changed stage's probability, as a value
    for col in "ABCDEFGHIJ":  # the look of the last row continues
        assert ws[f"{col}5"].border.left.style == "thin"
        assert ws[f"{col}5"].font.color.rgb == "FF1F4E78"
    assert ws["G5"].number_format == "yyyy/mm/dd" and ws["I5"].number_format == "0%"
    assert ws.tables["MyPipe"].ref == "A1:J5"
    xml = sheet_xml(path, "我的商机")
    assert 'sqref="H2:H5"' in xml and 'sqref="F2:F5"' in xml
    back = by_row(read(path, "opportunities", demo_settings))
    assert back[4]["amount"] == 12.5 and back[5]["amount"] == pytest.approx(99.9)
    assert back[2]["name"] == "甲项目"
    assert changed_parts(before, path) == {sheet_part(path, "我的商机"),
                                           table_part(path, "MyPipe")[0]}
    assert_strict(path)


def test_a_formula_needs_its_names(tmp_path: Path, demo_settings: Settings) -> None:
    path = user_sheet(tmp_path / "mine.xlsx")
    with pytest.raises(WorkbookError, match="xs_stage_prob"):
        put(path, demo_settings, "zh", {"opportunities": ([NEW_OPPORTUNITIES[0]], {})})


def test_rows_are_not_written_over_what_lies_below(tmp_path: Path,
                                                   demo_settings: Settings) -> None:
    names = stage_names(demo_settings, "zh")
    path = user_sheet(tmp_path / "below.xlsx", below={"A7": "别动"})
    before = path.read_bytes()
    many = [{**NEW_OPPORTUNITIES[0], "opp_id": f"M{i}"} for i in range(4)]
    with pytest.raises(WorkbookError) as err:
        put(path, demo_settings, "zh", {"opportunities": (many, {})}, names=names)
    assert err.value.cell == "A7" and path.read_bytes() == before
    assert put(path, demo_settings, "zh", {"opportunities": (many[:3], {})},
               names=names)["opportunities"] == [4, 5, 6]

    total = user_sheet(tmp_path / "total.xlsx", below={"B4": "合计", "H4": "=SUM(H2:H3)"})
    with pytest.raises(WorkbookError) as err:
        put(total, demo_settings, "zh", {"opportunities": (many, {})}, names=names)
    assert err.value.cell == "B4"


def test_two_calls_in_one_edit_add_one_after_the_other(tmp_path: Path,
                                                       demo_settings: Settings) -> None:
    names = stage_names(demo_settings, "zh")
    for layout in ("template", "user"):
        if layout == "template":
            path = Path(shutil.copyfile(TEMPLATES / "zh" / "customers.xlsx", tmp_path / "t.xlsx"))
        else:
            path = user_sheet(tmp_path / "u.xlsx")
        table = read(path, "opportunities", demo_settings)
        first = len(table) + table.header_row + 1
        with WorkbookEdit(path) as wb:
            kw: dict[str, Any] = {"lang": "zh", "options": options(demo_settings),
                                  "names": names}
            one = put_rows(wb, table, appends=NEW_OPPORTUNITIES[:3], **kw)
            two = put_rows(wb, table, appends=[{**NEW_OPPORTUNITIES[3], "opp_id": f"Z{i}"}
                                               for i in range(25)], **kw)
            wb.save()
        assert one == [first, first + 1, first + 2]
        assert two == list(range(first + 3, first + 28))
        back = read(path, "opportunities", demo_settings)
        assert list(back.df.index)[-28:] == [*one, *two]
        ws = openpyxl.load_workbook(path)[table.sheet]
        assert ws.tables[table.spec.name if layout == "template" else "MyPipe"].ref.endswith(
            str(two[-1]))
        assert_strict(path)


def test_a_table_with_a_total_row_is_refused(tmp_path: Path, demo_settings: Settings) -> None:
    path = user_sheet(tmp_path / "mine.xlsx")
    with zipfile.ZipFile(path) as z:
        contents = {i.filename: z.read(i) for i in z.infolist()}
    part = next(p for p in contents if p.startswith("xl/tables/"))
    contents[part] = contents[part].replace(b'ref="A1:J3"', b'ref="A1:J4" totalsRowCount="1"', 1)
    with zipfile.ZipFile(path, "w") as z:
        for name, data in contents.items():
            z.writestr(name, data)
    with pytest.raises(WorkbookError, match="total row"):
        put(path, demo_settings, "zh", {"opportunities": ([NEW_OPPORTUNITIES[0]], {})},
            names=stage_names(demo_settings, "zh"))


def test_a_shared_formula_is_not_broken(tmp_path: Path, demo_settings: Settings) -> None:
    """A formula Excel filled down is stored once, in the first cell, and shared by the cells
    below: writing over that first cell is refused, over the others allowed."""
    path = user_sheet(tmp_path / "mine.xlsx")
    part = sheet_part(path, "我的商机")
    with zipfile.ZipFile(path) as z:
        contents = {i.filename: z.read(i) for i in z.infolist()}
    xml = contents[part].decode()
    xml = re.sub(r'(<c r="H2"[^>]*?)( t="n")?><v>120000</v>',
                 r'\1><f t="shared" ref="H2:H3" si="0">100000+20000</f><v>120000</v>', xml)
    xml = re.sub(r'(<c r="H3"[^>]*?)( t="n")?><v>55000</v>',
                 r'\1><f t="shared" si="0"/><v>120000</v>', xml)
    assert 't="shared" ref="H2:H3"' in xml and 'si="0"/>' in xml
    contents[part] = xml.encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in contents.items():
            z.writestr(name, data)
    names = stage_names(demo_settings, "zh")
    before = path.read_bytes()
    with pytest.raises(WorkbookError) as err:
        put(path, demo_settings, "zh", {"opportunities": ([], {2: {"amount": 1}})}, names=names)
    assert err.value.cell == "H2" and path.read_bytes() == before
    put(path, demo_settings, "zh", {"opportunities": ([], {3: {"amount": 1}})}, names=names)
    assert openpyxl.load_workbook(path)["我的商机"]["H3"].value == 10000
    assert_strict(path)


def test_bad_arguments_are_refused(sample_copy: Callable[[str], Path]) -> None:
    root = sample_copy("zh")
    settings = read_settings(root)
    path = root / "customers.xlsx"
    table = read(path, "customers", settings)
    with WorkbookEdit(path) as wb:
        for kw in ({"updates": {table.header_row: {"city": "x"}}},
                   {"appends": [{"no_such_column": 1}]}):
            with pytest.raises(WorkbookError):
                put_rows(wb, table, lang="zh", options=options(settings), **kw)
        assert put_rows(wb, table, lang="zh", options=options(settings)) == []


# -- LibreOffice agrees with the cached values ---------------------------------------------


@pytest.mark.libreoffice
def test_libreoffice_recalculates_the_cached_values(sample_copy: Callable[[str], Path],
                                                    soffice: str, tmp_path: Path) -> None:
    from xlsales.io.libreoffice import recalculate_many

    outputs = []
    for lang in ("zh", "en"):
        root = Path(shutil.move(sample_copy(lang), tmp_path / lang))
        settings = read_settings(root)
        path = root / "customers.xlsx"
        last = max(by_row(read(path, "opportunities", settings)))
        put(path, settings, lang, {"opportunities": (NEW_OPPORTUNITIES, {
            last: {"stage": "方案提交", "amount": 3.5}, last - 1: {"stage": None}})})
        outputs.append(Path(shutil.copyfile(path, tmp_path / f"customers-{lang}.xlsx")))
        targets = root / "targets.xlsx"
        row = min(by_row(read(targets, "targets", settings)))
        put(targets, settings, lang, {"targets": ([{"region": "华东", "owner": "张伟",
                                                    "product_line": "产品线A",
                                                    "quarter": "2024Q3",
                                                    "quarterly_target": 90, "month1": 30}],
                                                  {row: {"month3": None}})})
        outputs.append(Path(shutil.copyfile(targets, tmp_path / f"targets-{lang}.xlsx")))
    template = Path(shutil.copyfile(TEMPLATES / "en" / "customers.xlsx", tmp_path / "tpl.xlsx"))
    put(template, Settings.default(), "en", {"opportunities": (
        [{**NEW_OPPORTUNITIES[i % 4], "opp_id": f"T{i}"} for i in range(25)], {})})
    outputs.append(template)
    recalculated = recalculate_many(outputs, tmp_path / "lo", soffice=soffice)
    for written, lo in zip(outputs, recalculated, strict=True):
        count, problems = disagreements(written, lo)
        assert count and not problems, problems[:10]
