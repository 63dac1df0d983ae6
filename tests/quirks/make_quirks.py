"""Small workbooks, each showing one quirk of real sales-team files, with what must be found.

Every workbook is named after its quirk; :func:`make_all` writes them into a folder and
returns, per file name, the exact findings ``validate_file(path, today=TODAY,
settings=...)`` must report, as ``(rule id, cell)`` pairs (cell None for findings about
a whole table or sheet). Expected cells are computed from the layout the builder wrote
(:class:`Block`), never typed by hand. The normalisation quirks also declare the values
the reader must produce (:data:`VALUES`).

Run it to look at the files in Excel::

    python tests/quirks/make_quirks.py OUT_DIR
"""

from __future__ import annotations

import datetime as dt
import re
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils import get_column_letter
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string
from openpyxl.utils.datetime import CALENDAR_MAC_1904
from openpyxl.worksheet.worksheet import Worksheet

from xlsales import tables as T
from xlsales.settings import ListItem, RosterEntry, Settings

TODAY = dt.date(2024, 3, 29)  # a Friday
Expected = list[tuple[str, str | None]]
REPS = ("张三", "李四", "王五")


def team_settings() -> Settings:
    """The quirk team: three reps in two regions, default lists and stages."""
    s = Settings.default()
    s.lists = [
        ListItem(list="regions", zh="华东", en="East", order=0),
        ListItem(list="regions", zh="华南", en="South", order=1),
        ListItem(list="product_lines", zh="产品线A", en="Line A", order=0),
        ListItem(list="product_lines", zh="产品线B", en="Line B", order=1),
        *s.lists,
    ]
    s.roster = [RosterEntry(rep="张三", region="华东", product_line="产品线A", manager="周经理"),
                RosterEntry(rep="李四", region="华东", product_line="产品线B", manager="周经理"),
                RosterEntry(rep="王五", region="华南", product_line="产品线A", manager="郑经理")]
    return s


def headers(table: str, keys: list[str] | tuple[str, ...], lang: str = "zh") -> dict[str, str]:
    """The table's own header texts of ``keys``."""
    spec = T.get(table)
    return {k: spec.column(k).label.zh if lang == "zh" else spec.column(k).label.en
            for k in keys}


class Block:
    """A table written at a known place: header row at ``origin``, data rows below it."""

    def __init__(self, ws: Worksheet, origin: str, heads: dict[str, str]) -> None:
        letters, row = coordinate_from_string(origin)
        self.ws, self.header_row, self.col0 = ws, row, column_index_from_string(letters)
        self.keys = list(heads)
        for i, text in enumerate(heads.values()):
            ws.cell(row, self.col0 + i, text)
        self.next_row = row + 1

    def col(self, key: str) -> str:
        return get_column_letter(self.col0 + self.keys.index(key))

    def add(self, **values: Any) -> int:
        """Write a data row (keys not given stay empty); returns its sheet row number."""
        unknown = set(values) - set(self.keys)
        if unknown:
            raise KeyError(f"no column for {sorted(unknown)}")
        r = self.next_row
        for key, value in values.items():
            cell = self.ws.cell(r, self.col0 + self.keys.index(key), value)
            if isinstance(value, dt.datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(value, dt.date):
                cell.number_format = "yyyy-mm-dd"
        self.next_row += 1
        return r

    def skip(self, n: int = 1) -> None:
        self.next_row += n

    def cell(self, row: int, key: str) -> str:
        return f"{self.col(key)}{row}"


def new_book(title: str) -> tuple[openpyxl.Workbook, Worksheet]:
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = title
    return wb, ws


DAILY_KEYS = ("date", "rep", "visits", "effective", "new_customers", "proposals",
              "amount_signed", "stage_moves", "problems", "next_plan", "submitted_at")


def daily_row(day: Any, rep: str, /, **over: Any) -> dict[str, Any]:
    """A clean daily report row, submitted at 17:30 (when ``day`` is a date)."""
    row: dict[str, Any] = {"date": day, "rep": rep, "visits": 4, "effective": 3,
                           "new_customers": 0, "proposals": 0, "amount_signed": 0,
                           "next_plan": "拜访2家意向客户"}
    if isinstance(day, dt.date):
        row["submitted_at"] = dt.datetime.combine(day, dt.time(17, 30))
    row.update(over)
    return row


def d(day: int, month: int = 3) -> dt.date:
    return dt.date(2024, month, day)


# -- the registry ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One quirk workbook: how to build it and the context to validate it in."""

    name: str
    build: Callable[[Path], Expected]
    today: dt.date = TODAY
    needs_soffice: bool = False
    source: str | None = None  # the case a converted workbook is made from
    xfail_values: str | None = None  # why reading its values is a known bug

    def settings(self) -> Settings:
        return team_settings()


CASES: dict[str, Case] = {}
# File name -> (table key, the values of its rows, in order; only the keys given).
VALUES: dict[str, tuple[str, list[dict[str, Any]]]] = {}


def case(name: str, **kw: Any) -> Callable[[Callable[[Path], Expected]],
                                           Callable[[Path], Expected]]:
    def register(fn: Callable[[Path], Expected]) -> Callable[[Path], Expected]:
        CASES[name] = Case(name, fn, **kw)
        return fn
    return register


# -- layout ----------------------------------------------------------------------------------------

@case("title_row_and_offset.xlsx")
def title_row_and_offset(path: Path) -> Expected:
    """A merged title over the table, a subtitle, and the table starting at C5."""
    wb, ws = new_book("三月日报")
    ws["C2"] = "华东区销售日报(2024年3月)"
    ws.merge_cells("C2:M2")
    ws["C3"] = "填表说明:每个工作日下班前填写"
    b = Block(ws, "C5", headers("daily", DAILY_KEYS))
    b.add(**daily_row(d(25), "张三"))
    b.add(**daily_row(d(25), "李四", visits=6, effective=7))
    wb.save(path)
    assert b.col("date") == "C"
    return [("T2.effective_gt_visits", b.cell(7, "effective"))]


VALUES["title_row_and_offset.xlsx"] = ("daily", [
    {"date": d(25), "rep": "张三", "visits": 4, "effective": 3, "next_plan": "拜访2家意向客户",
     "submitted_at": dt.datetime(2024, 3, 25, 17, 30)},
    {"date": d(25), "rep": "李四", "visits": 6, "effective": 7},
])


@case("aliases_and_fullwidth_headers.xlsx")
def aliases_and_fullwidth_headers(path: Path) -> Expected:
    """Headers as people type them: aliases, full-width brackets, stray spaces, units."""
    wb, ws = new_book("日报")
    heads = {"date": " 日期 ", "rep": "销售\u3000代表", "visits": "拜访数",
             "effective": "有效沟通数", "new_customers": "新客户数 ",
             "amount_signed": "签约金额（万元）",
             "stage_moves": "商机阶段（如：需求分析→方案提交）",
             "problems": "遇到的问题", "next_plan": "次日\n计划", "submitted_at": "提交时间"}
    b = Block(ws, "A1", heads)
    b.add(date=d(26), rep="张三", visits=5, effective=3, new_customers=1, amount_signed=12.5,
          stage_moves="客户C:需求分析→方案提交", problems="客户预算低于预期",
          next_plan="跟进客户C方案反馈", submitted_at=dt.datetime(2024, 3, 26, 17, 0))
    b.add(date=d(26), rep="李四", visits=2, effective=3, next_plan="拜访客户D")
    wb.save(path)
    return [("T2.effective_gt_visits", b.cell(3, "effective"))]


VALUES["aliases_and_fullwidth_headers.xlsx"] = ("daily", [
    {"date": d(26), "rep": "张三", "visits": 5, "effective": 3, "new_customers": 1,
     "amount_signed": 12.5, "stage_moves": "客户C:需求分析→方案提交",
     "problems": "客户预算低于预期", "next_plan": "跟进客户C方案反馈",
     "submitted_at": dt.datetime(2024, 3, 26, 17, 0)},
    {"date": d(26), "rep": "李四", "visits": 2, "effective": 3, "new_customers": None,
     "amount_signed": None},
])


@case("everyday_headers_and_yuan.xlsx")
def everyday_headers_and_yuan(path: Path) -> Expected:
    """A hand-made daily report with the headers teams use: 业务员, 拜访次数, 遇到的问题,
    明日计划, and the amount in 元 (成交金额(元)): read as the daily report, amounts in 万元."""
    wb, ws = new_book("业务日报")
    heads = {"date": "日期", "rep": "业务员", "visits": "拜访次数",
             "effective": "有效沟通客户数", "amount_signed": "成交金额(元)",
             "problems": "遇到的问题", "next_plan": "明日计划"}
    b = Block(ws, "A1", heads)
    b.add(date=d(25), rep="张三", visits=4, effective=3, amount_signed=12000,
          problems="客户预算低于预期", next_plan="跟进客户C方案反馈")
    b.add(date=d(25), rep="李四", visits=5, effective=2, amount_signed="3,500",
          next_plan="拜访客户D")
    b.add(date=d(25), rep="王五", visits=3, effective=3, amount_signed="1.5万",
          next_plan="准备报价")
    r = b.add(date=d(26), rep="张三", visits=2, effective=5, next_plan="拜访客户E")
    wb.save(path)
    return [("T2.effective_gt_visits", b.cell(r, "effective"))]


VALUES["everyday_headers_and_yuan.xlsx"] = ("daily", [
    {"rep": "张三", "visits": 4, "amount_signed": 1.2, "problems": "客户预算低于预期",
     "next_plan": "跟进客户C方案反馈"},
    {"rep": "李四", "visits": 5, "amount_signed": 0.35, "problems": None,
     "next_plan": "拜访客户D"},
    {"rep": "王五", "amount_signed": 1.5, "next_plan": "准备报价"},
    {"rep": "张三", "date": d(26), "effective": 5, "amount_signed": None},
])


@case("staff_headers_fullwidth_yuan.xlsx")
def staff_headers_fullwidth_yuan(path: Path) -> Expected:
    """The other common spellings: 销售人员, 明天计划, 问题与困难, and 成交金额（元） in
    full-width brackets under a title row."""
    wb, ws = new_book("Sheet1")
    ws["A1"] = "华南区销售日报"
    heads = {"rep": "销售人员", "date": "日期", "visits": "拜访客户数",
             "effective": "有效沟通客户数", "problems": "问题与困难",
             "next_plan": "明天计划", "amount_signed": "成交金额（元）"}
    b = Block(ws, "A3", heads)
    b.add(rep="王五", date=d(27), visits=6, effective=4, problems="竞品降价",
          next_plan="约见客户F决策人", amount_signed=250000)
    b.add(rep="李四", date=d(27), visits=3, effective=3, next_plan="整理报价单",
          amount_signed=0)
    wb.save(path)
    return []


VALUES["staff_headers_fullwidth_yuan.xlsx"] = ("daily", [
    {"rep": "王五", "amount_signed": 25.0, "problems": "竞品降价", "next_plan": "约见客户F决策人"},
    {"rep": "李四", "amount_signed": 0.0, "next_plan": "整理报价单"},
])


@case("customers_name_column_is_the_contact.xlsx")
def customers_name_column_is_the_contact(path: Path) -> Expected:
    """A customer list whose 姓名 column is the contact person and whose 业务员 column is the
    owner: 姓名 is a rep only in tables without a contact, so it never takes the owner."""
    wb, ws = new_book("客户名单")
    heads = {"customer_id": "客户编号", "name": "客户名称", "contact_name": "姓名",
             "phone": "联系电话", "stage": "客户阶段", "owner": "业务员"}
    b = Block(ws, "A1", heads)
    b.add(customer_id="C001", name="杭州华东科技有限公司", contact_name="张经理",
          phone="13812345678", stage="意向客户", owner="张三")
    b.add(customer_id="C002", name="南京远景物流", contact_name="刘总", stage="潜在客户",
          owner="李四")
    wb.save(path)
    return []


VALUES["customers_name_column_is_the_contact.xlsx"] = ("customers", [
    {"customer_id": "C001", "owner": "张三", "phone": "13812345678"},
    {"customer_id": "C002", "owner": "李四"},
])


@case("blank_rows_and_totals_row.xlsx")
def blank_rows_and_totals_row(path: Path) -> Expected:
    """Blank rows, a row of spaces inside the table and a 合计 row under it."""
    wb, ws = new_book("销售日报")
    b = Block(ws, "A1", headers("daily", DAILY_KEYS))
    b.add(**daily_row(d(18), "张三"))
    b.skip(2)
    b.add(**daily_row(d(18), "李四"))
    b.add(date=" ", rep="  ", next_plan="\u3000")
    r = b.add(**daily_row(d(18), "王五", next_plan=None))
    b.skip()
    b.add(date="合计", visits=12, effective=9, amount_signed=0)
    b.skip(3)
    wb.save(path)
    return [("cell.required", b.cell(r, "next_plan"))]


VALUES["blank_rows_and_totals_row.xlsx"] = ("daily", [
    {"rep": "张三"}, {"rep": "李四"}, {"rep": "王五", "next_plan": None},
])


@case("english_headers.xlsx")
def english_headers(path: Path) -> Expected:
    """An English workbook: English headers, stage names and list values."""
    wb, ws = new_book("Daily report")
    b = Block(ws, "A1", headers("daily", DAILY_KEYS, "en"))
    b.add(**daily_row(d(19), "张三", stage_moves="Customer C:Needs analysis→Proposal"))
    r = b.add(**daily_row(d(19), "李四", visits=1, effective=2,
                          stage_moves="Customer D:Proposal→Needs analysis"))
    wb.save(path)
    return [("T2.effective_gt_visits", b.cell(r, "effective")),
            ("T2.stage_backward", b.cell(r, "stage_moves"))]


VALUES["english_headers.xlsx"] = ("daily", [
    {"date": d(19), "rep": "张三", "stage_moves": "Customer C:Needs analysis→Proposal"},
    {"date": d(19), "rep": "李四", "visits": 1, "effective": 2},
])


@case("wps_style_layout.xlsx")
def wps_style_layout(path: Path) -> Expected:
    """A layout from the field: an instructions sheet first, a hidden helper sheet, the
    table on the second sheet under a merged title, columns reordered, an extra column."""
    wb, first = new_book("填写说明")
    first["A1"] = "1. 每个工作日下班前填写;2. 日期、拜访客户数必填"
    first["A2"] = "日期"
    ws = wb.create_sheet("3月")
    helper = wb.create_sheet("_lists")
    helper.sheet_state = "hidden"
    helper.append(["张三"])
    ws["B1"] = "销售日报"
    ws.merge_cells("B1:L1")
    heads = headers("daily", ("rep", "date", "visits", "effective"))
    heads["remark"] = "领导批示"
    heads.update(headers("daily", ("stage_moves", "next_plan", "submitted_at", "problems",
                                   "amount_signed")))
    b = Block(ws, "B3", heads)
    b.add(rep="张三", date=d(27), visits=3, effective=2, remark="好",
          stage_moves="客户E:初步接触→方案提交", next_plan="准备报价",
          submitted_at=dt.datetime(2024, 3, 27, 18, 40), amount_signed=0)
    b.add(rep="李四", date=d(27), visits=5, effective=4, next_plan="拜访客户F",
          submitted_at=dt.datetime(2024, 3, 27, 17, 10), amount_signed="3万")
    wb.save(path)
    return [("T2.stage_skipped", b.cell(4, "stage_moves")),
            ("T2.late", b.cell(4, "submitted_at"))]


@case("libreoffice_resaved.xlsx", needs_soffice=True, source="wps_style_layout.xlsx")
def libreoffice_resaved(path: Path) -> Expected:
    """The WPS-style workbook opened and saved again by LibreOffice (shared strings,
    its own styles and dimension)."""
    from xlsales.io.libreoffice import convert

    src = path.parent / "wps_style_layout.xlsx"
    expected = wps_style_layout(src)
    with tempfile.TemporaryDirectory() as tmp:
        out = convert(src, "xlsx", tmp)
        path.write_bytes(out.read_bytes())
    return expected


# -- normalisation ---------------------------------------------------------------------------------

@case("fullwidth_numbers_and_units.xlsx")
def fullwidth_numbers_and_units(path: Path) -> Expected:
    """Numbers typed in full width, with units, a Unicode minus; odd spaces in names (a
    zero-width character inside or before a name is a warning naming the cell)."""
    wb, ws = new_book("销售日报")
    b = Block(ws, "A1", headers("daily", DAILY_KEYS))
    rows = [b.add(**raw) for raw in FULLWIDTH_RAW]
    wb.save(path)
    return [("cell.name_spacing", b.cell(rows[1], "rep")),
            ("cell.name_spacing", b.cell(rows[3], "rep")),
            ("cell.minimum", b.cell(rows[2], "new_customers")),
            ("cell.type", b.cell(rows[3], "visits")),
            ("cell.type", b.cell(rows[3], "amount_signed"))]


FULLWIDTH_RAW = [
    daily_row(d(20), "张三\u00a0", visits="５", effective="3个", new_customers="5家",
              amount_signed="1.5万", proposals="２份"),
    daily_row(d(20), "\u200b李四", visits="１２", effective="１０", amount_signed="１，０００元",
              new_customers=" 1 家 "),
    daily_row(d(20), "王五\u3000", visits="4", effective="２", new_customers="−3",
              amount_signed="2万元", proposals="1,000"),
    daily_row(d(21), "张\u200d三", visits="1.5家", effective=1, amount_signed="5美元",
              new_customers="1万"),
]
VALUES["fullwidth_numbers_and_units.xlsx"] = ("daily", [
    {"rep": "张三", "visits": 5, "effective": 3, "new_customers": 5, "amount_signed": 1.5,
     "proposals": 2},
    {"rep": "李四", "visits": 12, "effective": 10, "amount_signed": 0.1, "new_customers": 1},
    {"rep": "王五", "visits": 4, "effective": 2, "new_customers": -3, "amount_signed": 2.0,
     "proposals": 1000},
    {"rep": "张三", "date": d(21), "visits": None, "effective": 1, "amount_signed": None,
     "new_customers": 10_000},
])


@case("text_dates.xlsx")
def text_dates(path: Path) -> Expected:
    """Dates typed as text in every way people type them, and bare serial numbers."""
    wb, ws = new_book("销售日报")
    b = Block(ws, "A1", headers("daily", DAILY_KEYS))
    rows = [b.add(**raw) for raw in TEXT_DATES_RAW]
    wb.save(path)
    return [("cell.type", b.cell(rows[-2], "date")), ("cell.type", b.cell(rows[-1], "date"))]


TEXT_DATES_RAW = [
    daily_row("2024/3/5", "张三", submitted_at="2024/3/5 17:30"),
    daily_row("2024年3月6日", "张三", submitted_at="2024年3月6日 17:45"),
    daily_row("3月7日", "张三", submitted_at="3月7日 17:20"),
    daily_row(45359, "张三", submitted_at=45359.75),
    daily_row("2024.3.11", "张三", submitted_at="2024-03-11T17:05"),
    daily_row("20240312", "张三", submitted_at="2024-03-12 17:05:30"),
    daily_row("２０２４－０３－１３", "张三", submitted_at=None),
    daily_row("3/14", "张三", submitted_at="2024/03/14 17:00"),
    daily_row("2024-02-30", "李四"),
    daily_row("下周一", "李四"),
]
VALUES["text_dates.xlsx"] = ("daily", [
    {"date": d(5), "submitted_at": dt.datetime(2024, 3, 5, 17, 30)},
    {"date": d(6), "submitted_at": dt.datetime(2024, 3, 6, 17, 45)},
    {"date": d(7), "submitted_at": dt.datetime(2024, 3, 7, 17, 20)},
    {"date": d(8), "submitted_at": dt.datetime(2024, 3, 8, 18, 0)},
    {"date": d(11), "submitted_at": dt.datetime(2024, 3, 11, 17, 5)},
    {"date": d(12), "submitted_at": dt.datetime(2024, 3, 12, 17, 5, 30)},
    {"date": d(13), "submitted_at": None},
    {"date": d(14), "submitted_at": dt.datetime(2024, 3, 14, 17, 0)},
    {"date": None, "rep": "李四"},
    {"date": None, "rep": "李四"},
])


@case("date1904.xlsx")
def date1904(path: Path) -> Expected:
    """A workbook in the 1904 date system (old Mac Excel): formatted dates."""
    wb, ws = new_book("销售日报")
    wb.epoch = CALENDAR_MAC_1904
    b = Block(ws, "A1", headers("daily", DAILY_KEYS))
    b.add(**daily_row(d(4), "张三"))
    r = b.add(**daily_row(d(9), "李四"))  # a Saturday
    wb.save(path)
    return [("T2.non_working_day", b.cell(r, "date"))]


VALUES["date1904.xlsx"] = ("daily", [
    {"date": d(4), "submitted_at": dt.datetime(2024, 3, 4, 17, 30)},
    {"date": d(9), "submitted_at": dt.datetime(2024, 3, 9, 17, 30)},
])


@case("date1904_unformatted_serial.xlsx")
def date1904_unformatted_serial(path: Path) -> Expected:
    """A 1904 workbook whose date cell lost its format: a bare serial of that system."""
    wb, ws = new_book("销售日报")
    wb.epoch = CALENDAR_MAC_1904
    b = Block(ws, "A1", headers("daily", DAILY_KEYS))
    serial = (d(5) - dt.date(1904, 1, 1)).days
    b.add(**daily_row(d(5), "张三", date=serial, submitted_at=None))
    wb.save(path)
    return []


VALUES["date1904_unformatted_serial.xlsx"] = ("daily", [{"date": d(5)}])


@case("error_values.xlsx")
def error_values(path: Path) -> Expected:
    """Error values in input cells are reported as such, never read as blanks."""
    wb, ws = new_book("销售日报")
    b = Block(ws, "A1", headers("daily", DAILY_KEYS))
    r1 = b.add(**daily_row(d(22), "张三", visits="#N/A"))
    r2 = b.add(**daily_row(d(22), "李四", effective="#DIV/0!", next_plan="#REF!"))
    r3 = b.add(**daily_row(d(22), "#NAME?"))
    wb.save(path)
    return [("cell.error_value", b.cell(r1, "visits")),
            ("cell.error_value", b.cell(r2, "effective")),
            ("cell.error_value", b.cell(r2, "next_plan")),
            ("cell.error_value", b.cell(r3, "rep"))]


VALUES["error_values.xlsx"] = ("daily", [
    {"visits": None, "effective": 3}, {"effective": None, "next_plan": None}, {"rep": None},
])


@case("formula_without_value.xlsx")
def formula_without_value(path: Path) -> Expected:
    """Formulas openpyxl wrote without a cached result (the file was never opened in Excel)."""
    wb, ws = new_book("销售日报")
    b = Block(ws, "A1", headers("daily", DAILY_KEYS))
    r1 = b.add(**daily_row(d(25), "张三", visits="=2+3"))
    r2 = b.add(**daily_row(d(25), "李四", next_plan='="拜访"&"客户"'))
    b.add(**daily_row(d(25), "王五"))
    wb.save(path)
    return [("cell.no_cached_value", b.cell(r1, "visits")),
            ("cell.no_cached_value", b.cell(r2, "next_plan"))]


@case("merged_cells_over_data.xlsx")
def merged_cells_over_data(path: Path) -> Expected:
    """A rep's name merged down over her rows; the merged title above is fine."""
    wb, ws = new_book("销售日报")
    ws["A1"] = "销售日报"
    ws.merge_cells("A1:K1")
    b = Block(ws, "A2", headers("daily", DAILY_KEYS))
    r1 = b.add(**daily_row(d(25), "张三"))
    r2 = b.add(**daily_row(d(26), "张三", rep=None))
    b.add(**daily_row(d(25), "李四"))
    ws.merge_cells(f"{b.cell(r1, 'rep')}:{b.cell(r2, 'rep')}")
    wb.save(path)
    return [("cell.merged", b.cell(r1, "rep")), ("cell.required", b.cell(r2, "rep"))]


@case("nan_text_in_number_column.xlsx")
def nan_text_in_number_column(path: Path) -> Expected:
    """NaN, inf, dashes, booleans and words where numbers belong."""
    wb, ws = new_book("销售日报")
    b = Block(ws, "A1", headers("daily", DAILY_KEYS))
    r1 = b.add(**daily_row(d(18), "张三", visits="NaN", effective="nan"))
    r2 = b.add(**daily_row(d(18), "李四", amount_signed="inf", new_customers="-"))
    r3 = b.add(**daily_row(d(18), "王五", visits=True, proposals="N/A"))
    r4 = b.add(**daily_row(d(19), "张三", visits=2.5, amount_signed="约10万"))
    r5 = b.add(**daily_row("待定", "李四", effective="三"))
    wb.save(path)
    return [("cell.type", b.cell(r1, "visits")), ("cell.type", b.cell(r1, "effective")),
            ("cell.type", b.cell(r2, "amount_signed")),
            ("cell.type", b.cell(r2, "new_customers")),
            ("cell.type", b.cell(r3, "visits")), ("cell.type", b.cell(r3, "proposals")),
            ("cell.type", b.cell(r4, "visits")), ("cell.type", b.cell(r4, "amount_signed")),
            ("cell.type", b.cell(r5, "date")), ("cell.type", b.cell(r5, "effective"))]


# -- daily report rules ----------------------------------------------------------------------------

@case("duplicate_daily_row.xlsx")
def duplicate_daily_row(path: Path) -> Expected:
    """The same rep twice on a day, once with a trailing space in the name."""
    wb, ws = new_book("销售日报")
    b = Block(ws, "A1", headers("daily", DAILY_KEYS))
    first = b.add(**daily_row(d(26), "张三"))
    b.add(**daily_row(d(26), "李四"))
    second = b.add(**daily_row(d(26), "张三 ", visits=5))
    third = b.add(**daily_row(d(26), "\u3000张三"))
    b.add(**daily_row(d(27), "张三"))
    wb.save(path)
    assert first < second < third
    return [("T2.duplicate_row", b.cell(second, "rep")),
            ("T2.duplicate_row", b.cell(third, "rep"))]


VALUES["names_padded_with_spaces.xlsx"] = ("daily", [
    {"rep": "张三"}, {"rep": "张三"}, {"rep": "李四"}, {"rep": "王五"}])


@case("names_padded_with_spaces.xlsx")
def names_padded_with_spaces(path: Path) -> Expected:
    """Two-character names padded with a space (ASCII or full-width) are the rep on the
    roster, with a warning; so is one with a zero-width character (issue 13)."""
    wb, ws = new_book("销售日报")
    b = Block(ws, "A1", headers("daily", DAILY_KEYS))
    b.add(**daily_row(d(25), "张三"))
    ascii_space = b.add(**daily_row(d(26), "张 三"))
    wide_space = b.add(**daily_row(d(26), "李\u3000四"))
    zero_width = b.add(**daily_row(d(26), "王\u200b五"))
    wb.save(path)
    return [("cell.name_spacing", b.cell(ascii_space, "rep")),
            ("cell.name_spacing", b.cell(wide_space, "rep")),
            ("cell.name_spacing", b.cell(zero_width, "rep"))]


STAGE_MOVES: list[tuple[str, list[str]]] = [
    ("客户A:需求分析->方案提交", []),
    ("客户B：方案提交=>报价与谈判", []),
    ("客户C: 初步接触 至 需求分析", []),
    ("客户D:需求分析→方案制定", []),
    ("客户E:Needs analysis→Proposal", []),
    ("客户J:报价与谈判→签约成交;客户L:方案提交→输单", []),
    ("客户F:需求分析→方案评审", ["T2.stage_unknown"]),
    ("客户G:报价与谈判→需求分析", ["T2.stage_backward"]),
    ("客户H:初步接触→方案提交", ["T2.stage_skipped"]),
    ("客户I 需求分析 方案提交", ["T2.stage_unparsed"]),
    ("客户K:需求分析→签约成交；客户M:潜在客户识别-->初步接触\n客户N:初步接触→潜在客户识别",
     ["T2.stage_skipped", "T2.stage_backward"]),
]


@case("stage_moves_variants.xlsx")
def stage_moves_variants(path: Path) -> Expected:
    """Stage moves with every arrow and colon, English names, and each kind of problem."""
    wb, ws = new_book("销售日报")
    b = Block(ws, "A1", headers("daily", DAILY_KEYS))
    days = [d(n) for n in (18, 19, 20, 21, 22, 25, 26, 27, 28)]
    out: Expected = []
    for i, (text, rules) in enumerate(STAGE_MOVES):
        r = b.add(**daily_row(days[i % len(days)], REPS[i // len(days)], stage_moves=text))
        out += [(rule, b.cell(r, "stage_moves")) for rule in rules]
    wb.save(path)
    return out


@case("effective_gt_visits.xlsx")
def effective_gt_visits(path: Path) -> Expected:
    """Effective conversations above visits; equal is fine; zero is fine."""
    wb, ws = new_book("销售日报")
    b = Block(ws, "A1", headers("daily", DAILY_KEYS))
    r = b.add(**daily_row(d(25), "张三", visits=3, effective=5))
    b.add(**daily_row(d(25), "李四", visits=3, effective=3))
    b.add(**daily_row(d(25), "王五", visits=0, effective=0))
    r2 = b.add(**daily_row(d(26), "王五", visits="2", effective="３家"))
    wb.save(path)
    return [("T2.effective_gt_visits", b.cell(r, "effective")),
            ("T2.effective_gt_visits", b.cell(r2, "effective"))]


@case("future_and_weekend_dates.xlsx")
def future_and_weekend_dates(path: Path) -> Expected:
    """Dates after today, weekends, a statutory holiday, a make-up Sunday (fine) and a
    year the holiday data does not cover."""
    wb, ws = new_book("销售日报")
    b = Block(ws, "A1", headers("daily", DAILY_KEYS))
    fut = b.add(**daily_row(dt.date(2024, 4, 1), "张三"))
    sat = b.add(**daily_row(d(23), "张三"))
    holiday = b.add(**daily_row(dt.date(2024, 2, 12), "张三"))  # 春节
    b.add(**daily_row(dt.date(2024, 2, 18), "张三"))  # 调休 working Sunday
    old = b.add(**daily_row(dt.date(2003, 3, 3), "李四"))
    b.add(**daily_row(dt.date(2003, 3, 4), "李四"))
    b.add(**daily_row(TODAY, "李四"))
    wb.save(path)
    return [("T2.future_date", b.cell(fut, "date")),
            ("T2.non_working_day", b.cell(sat, "date")),
            ("T2.non_working_day", b.cell(holiday, "date")),
            ("T2.calendar_uncovered", b.cell(old, "date"))]


@case("late_submission.xlsx")
def late_submission(path: Path) -> Expected:
    """Submitted after the 18:00 deadline (on the day, next morning); 18:00 sharp is on time."""
    wb, ws = new_book("销售日报")
    b = Block(ws, "A1", headers("daily", DAILY_KEYS))
    late = b.add(**daily_row(d(25), "张三", submitted_at=dt.datetime(2024, 3, 25, 18, 30)))
    b.add(**daily_row(d(25), "李四", submitted_at=dt.datetime(2024, 3, 25, 17, 59)))
    b.add(**daily_row(d(25), "王五", submitted_at=dt.datetime(2024, 3, 25, 18, 0)))
    nxt = b.add(**daily_row(d(26), "张三", submitted_at=dt.datetime(2024, 3, 27, 9, 0)))
    text = b.add(**daily_row(d(27), "张三", submitted_at="2024/3/27 19:05"))
    b.add(**daily_row(d(27), "李四", submitted_at=None))
    wb.save(path)
    return [("T2.late", b.cell(late, "submitted_at")), ("T2.late", b.cell(nxt, "submitted_at")),
            ("T2.late", b.cell(text, "submitted_at"))]


@case("daily_with_targets_and_opportunities.xlsx")
def daily_with_targets_and_opportunities(path: Path) -> Expected:
    """One workbook holding the daily report, the targets and the opportunities: a rep
    without a target, a move of a customer the opportunities do not know."""
    wb, ws = new_book("销售日报")
    b = Block(ws, "A1", headers("daily", DAILY_KEYS))
    b.add(**daily_row(d(25), "张三", stage_moves="客户甲:需求分析→方案提交"))
    w1 = b.add(**daily_row(d(25), "王五", stage_moves="客户乙有限公司:初步接触→需求分析"))
    b.add(**daily_row(d(26), "王五"))
    unknown = b.add(**daily_row(d(26), "张三", stage_moves="客户丙:初步接触→需求分析"))
    t = Block(wb.create_sheet("目标分解"), "A1", headers("targets", TARGET_KEYS))
    t.add(**target_row("张三", "2024Q1", 30, (10, 10, 10)))
    t.add(**target_row("李四", "2024Q1", 30, (10, 10, 10)))
    t.add(**target_row("王五", "2023Q4", 30, (10, 10, 10)))
    o = Block(wb.create_sheet("商机"), "A1", headers("opportunities", OPP_KEYS))
    o.add(**opp_row("O001", "客户甲有限公司", "张三", "方案提交"))
    o.add(**opp_row("O002", "客户乙有限公司", "王五", "需求分析"))
    wb.save(path)
    return [("X.rep_without_target", b.cell(w1, "rep")),
            ("X.move_without_opportunity", b.cell(unknown, "stage_moves"))]


# The working days of March 2024 up to TODAY (21 of them).
MARCH = [d(n) for n in (1, 4, 5, 6, 7, 8, 11, 12, 13, 14, 15, 18, 19, 20, 21, 22, 25, 26, 27,
                        28, 29)]


@case("implausible_values_and_effective_runs.xlsx")
def implausible_values_and_effective_runs(path: Path) -> Expected:
    """A month of dailies of three reps with the rep's own history to judge by: 12000 typed
    into 成交金额(万元) by a rep whose deals are 10-25 (元 in a 万元 column), 150 visits in
    a day, effective = visits on every report (21 in a row), 27 visits without one effective
    conversation over six reports. Not flagged: a rep whose deals are 1-2 signing 50 (the
    team signs that much), another's first sale of 30."""
    wb, ws = new_book("销售日报")
    b = Block(ws, "A1", headers("daily", DAILY_KEYS))
    zhang = dict(zip(MARCH[:8], (10, 12, 15, 20, 18, 25, 14, 16), strict=True))
    wang = dict(zip(MARCH[6:11], (1, 1.5, 2, 1, 2), strict=True)) | {d(28): 50}
    cells: dict[str, int] = {}
    for i, day in enumerate(MARCH):
        zs = b.add(**daily_row(day, "张三", visits=150 if day == d(21) else 4 + i % 2,
                               amount_signed=12000 if day == d(27) else zhang.get(day, 0)))
        cells.update({"visits": zs} if day == d(21) else {"yuan": zs} if day == d(27) else {})
        visits = 3 + i % 4
        li = b.add(**daily_row(day, "李四", visits=visits, effective=visits,
                               amount_signed=30 if day == d(15) else 0))
        w = b.add(**daily_row(day, "王五", visits=4 + i % 2, effective=0 if i < 6 else 2,
                              amount_signed=wang.get(day, 0)))
        cells.update({"none": w} if i == 5 else {})
    wb.save(path)
    return [("T2.implausible_value", b.cell(cells["visits"], "visits")),
            ("T2.amount_in_yuan", b.cell(cells["yuan"], "amount_signed")),
            ("T2.effective_always_equal", b.cell(li, "effective")),
            ("T2.effective_none", b.cell(cells["none"], "effective"))]


# -- targets ---------------------------------------------------------------------------------------

TARGET_KEYS = ("region", "product_line", "owner", "quarter", "quarterly_target", "month1",
               "month2", "month3", "strategy", "owner_signed", "manager_signed", "signed_on")


def target_row(owner: str, quarter: str, target: Any, months: tuple[Any, Any, Any],
               **over: Any) -> dict[str, Any]:
    region = {"张三": "华东", "李四": "华东", "王五": "华南"}.get(owner, "华东")
    row = {"region": region, "product_line": "产品线A", "owner": owner, "quarter": quarter,
           "quarterly_target": target, "month1": months[0], "month2": months[1],
           "month3": months[2], "strategy": "重点攻关3家行业龙头企业", "owner_signed": owner,
           "manager_signed": "周经理", "signed_on": dt.date(2023, 12, 25)}
    row.update(over)
    return row


@case("targets_split_and_margin.xlsx")
def targets_split_and_margin(path: Path) -> Expected:
    """Owners' targets and the team total: a split that does not add up, a margin
    outside 10-15 %, a row unsigned after its quarter started (and one before: fine),
    a malformed quarter, a quarter without a team total, an unknown region."""
    wb, ws = new_book("目标分解")
    b = Block(ws, "A1", headers("targets", TARGET_KEYS))
    b.add(**target_row("张三", "2024Q1", 30, (10, 10, 10)))
    split = b.add(**target_row("李四", "2024Q1", 25, (8, 8, 10)))
    unsigned = b.add(**target_row("王五", "2024q1", 20, ("7", "7万", 6), manager_signed=None))
    b.add(**target_row("张三", "2024Q2", 33, (11, 11, 11), owner_signed=None,
                       manager_signed=None))
    bad_q = b.add(**target_row("李四", "2024Q5", 20, (None, None, None)))
    region = b.add(**target_row("王五", "2023Q4", 20, (5, 5, 10), region="华西"))
    team = Block(wb.create_sheet("团队目标"), "A1", headers("team_targets",
                                                           ("quarter", "team_target", "note")))
    q1 = team.add(quarter="2024Q1", team_target=70, note="75/70 = 7% 弹性,偏低")
    team.add(quarter="2023Q4", team_target=18)  # 20/18 = 11 %: fine
    wb.save(path)
    return [("T1.split_mismatch", b.cell(split, "month3")),
            ("T1.unsigned", b.cell(unsigned, "manager_signed")),
            ("T1.quarter_format", b.cell(bad_q, "quarter")),
            ("cell.choice", b.cell(region, "region")),
            ("T1.margin_out_of_band", team.cell(q1, "team_target")),
            ("T1.no_team_target", None)]


QUARTER_SPELLINGS = ("2024q1", "2024 Q1", "2024年第一季度", "2024年Q1", "2024-Q1")


@case("targets_quarter_spellings.xlsx")
def targets_quarter_spellings(path: Path) -> Expected:
    """Quarters written the ways people write them (2024q1, 2024 Q1, 2024年第一季度,
    2024年Q1, 2024-Q1) are all 2024Q1: the dailies of those owners have their targets
    (no X.rep_without_target); 2024Q5 is still no quarter."""
    wb, ws = new_book("销售日报")
    b = Block(ws, "A1", headers("daily", DAILY_KEYS))
    for rep in REPS:
        b.add(**daily_row(d(25), rep))
    t = Block(wb.create_sheet("目标分解"), "A1", headers("targets", TARGET_KEYS))
    for rep, quarter in zip((*REPS, "张三", "李四"), QUARTER_SPELLINGS, strict=True):
        t.add(**target_row(rep, quarter, 30, (10, 10, 10)))
    bad = t.add(**target_row("王五", "2024Q5", 30, (10, 10, 10)))
    wb.save(path)
    return [("T1.quarter_format", t.cell(bad, "quarter"))]


VALUES["targets_quarter_spellings.xlsx"] = ("targets", [
    *({"quarter": "2024Q1"} for _ in QUARTER_SPELLINGS), {"quarter": "2024Q5"},
])


# -- meetings --------------------------------------------------------------------------------------

@case("agenda_too_long_and_vague_actions.xlsx")
def agenda_too_long_and_vague_actions(path: Path) -> Expected:
    """Meetings over 90 minutes, impossible durations, vague action items, owners not on
    the roster, a missing due date."""
    wb, ws = new_book("会议议程")
    b = Block(ws, "A1", headers("agenda", ("topic", "time", "no", "item", "owner", "minutes",
                                           "materials")))
    b.add(topic="季度目标冲刺周会", time="周一 9:00-10:30", no=1, item="上周业绩通报(数据对比)",
          owner="销售主管", minutes=30)
    b.add(no=2, item="销售代表发言(未达标原因分析)", minutes=30)
    b.add(no=3, item="客户共性问题讨论", minutes=25)
    long_ = b.add(no=4, item="本周行动项明确", minutes=15)
    b.add(topic="月度复盘会", time="周五 15:00", no=1, item="复盘", minutes=60)
    zero = b.add(no=0, item="自由讨论", minutes=30)
    huge = b.add(topic="年度规划会", time="周六", no=1, item="年度规划", minutes=700)
    a = Block(wb.create_sheet("行动项"), "A1", headers(
        "actions", ("week", "item", "owner", "due", "status", "deliverable")))
    a.add(week="2024-W12", item="3月22日前完成客户C方案", owner="张三", due=d(22),
          status="已完成")
    vague = a.add(week="2024-W12", item="跟进客户C", owner="李四", due=d(29), status="进行中")
    a.add(week="2024-W13", item="约见客户D决策人", owner="张三", due=d(29), deliverable="拜访记录")
    stranger = a.add(week="2024-W13", item="3月29日前提交华南区周报", owner="赵六", due=d(29))
    nodue = a.add(week="2024-W13", item="下周五前发送报价单", owner="王五", due=None)
    wb.save(path)
    return [("T3.agenda_too_long", b.cell(long_, "minutes")),
            ("cell.minimum", b.cell(zero, "no")),
            ("cell.maximum", b.cell(huge, "minutes")),
            ("T3.agenda_too_long", b.cell(huge, "minutes")),
            ("T3.action_vague", a.cell(vague, "item")),
            ("cell.choice_unlisted", a.cell(stranger, "owner")),
            ("cell.required", a.cell(nodue, "due"))]


# -- customers, leads, opportunities ---------------------------------------------------------------

CUSTOMER_KEYS = ("customer_id", "name", "contact", "phone", "industry", "stage", "tier",
                 "credit_code", "owner", "last_contact", "next_follow_up", "lost_reason")


@case("customers_duplicates_and_lost.xlsx")
def customers_duplicates_and_lost(path: Path) -> Expected:
    """The same company written differently by one rep (duplicate) and by two reps (撞单),
    matched by name, phone or credit code; 华东 vs 华南 stay apart; a lost customer
    without a reason; a next follow-up before the last contact; a follow-up of a stranger."""
    wb, ws = new_book("客户档案")
    b = Block(ws, "A1", headers("customers", CUSTOMER_KEYS))

    def add(cid: str, name: str, owner: str, **kw: Any) -> int:
        return b.add(customer_id=cid, name=name, owner=owner,
                     stage=kw.pop("stage", "意向客户"), **kw)

    add("C001", "杭州华东科技有限公司", "张三", phone="13812345678")
    claimed = add("C002", "杭州华东科技股份有限公司", "李四")
    dup = add("C003", "杭州华东科技 有限公司", "张三")
    add("C004", "杭州华南科技有限公司", "王五")
    add("C005", "ＡＢＣ贸易（上海）有限公司", "张三")
    claimed2 = add("C006", "abc贸易有限公司", "王五")
    by_phone = add("C007", "杭州东华信息", "王五", phone="+86 138-1234-5678")
    add("C008", "南京远景物流", "李四", credit_code="91320100MA1XXXXX3K")
    by_code = add("C009", "远景物流(南京)", "张三", credit_code="91320100ma1xxxxx3k")
    lost = add("C010", "苏州金石医疗", "李四", stage="流失客户")
    add("C011", "苏州银河医疗", "李四", stage="Lost", lost_reason="预算取消")
    early = add("C012", "宁波海港能源", "王五", last_contact=d(10), next_follow_up=d(1))
    add("C013", "宁波海港零售", "王五", last_contact=d(10), next_follow_up=d(17))
    f = Block(wb.create_sheet("跟进记录"), "A1", headers(
        "follow_ups", ("date", "customer", "owner", "content")))
    f.add(date=d(25), customer="杭州华东科技（有限公司）", owner="张三", content="电话回访")
    stranger = f.add(date=d(26), customer="无锡未知公司", owner="李四", content="首次拜访")
    wb.save(path)
    return [("T5.claimed_by_two", b.cell(claimed, "owner")),
            ("T5.duplicate_customer", b.cell(dup, "name")),
            ("T5.claimed_by_two", b.cell(claimed2, "owner")),
            ("T5.claimed_by_two", b.cell(by_phone, "owner")),
            ("T5.claimed_by_two", b.cell(by_code, "owner")),
            ("T5.lost_without_reason", b.cell(lost, "lost_reason")),
            ("T5.next_before_last", b.cell(early, "next_follow_up")),
            ("T5.followup_unknown_customer", f.cell(stranger, "customer"))]


LEAD_KEYS = ("lead_id", "company", "contact", "phone", "source", "priority", "assignee",
             "created_at", "assigned_at")


@case("leads_unassigned.xlsx")
def leads_unassigned(path: Path) -> Expected:
    """High-priority leads unassigned or assigned late, in zh and en; a lead entered
    twice under two spellings."""
    wb, ws = new_book("线索")
    b = Block(ws, "A1", headers("leads", LEAD_KEYS))
    old = b.add(lead_id="L1", company="上海ABC贸易有限公司", priority="高",
                created_at=dt.datetime(2024, 3, 27, 9, 0))
    b.add(lead_id="L2", company="上海星辰零售", priority="高",
          created_at=dt.datetime(2024, 3, 29, 10, 0))
    late = b.add(lead_id="L3", company="上海海洋物流", priority="高", assignee="张三",
                 created_at=dt.datetime(2024, 3, 20, 9, 0),
                 assigned_at=dt.datetime(2024, 3, 22, 10, 0))
    b.add(lead_id="L4", company="上海山川能源", priority="中",
          created_at=dt.datetime(2024, 3, 1, 9, 0))
    english = b.add(lead_id="L5", company="上海云端教育", priority="High",
                    created_at=dt.datetime(2024, 3, 25, 14, 30))
    b.add(lead_id="L6", company="上海湖畔医疗", priority="高", assignee="李四",
          created_at=dt.datetime(2024, 3, 25, 9, 0), assigned_at=dt.datetime(2024, 3, 25, 11))
    dup = b.add(lead_id="L7", company="上海ＡＢＣ贸易股份有限公司", priority="低",
                created_at=dt.datetime(2024, 3, 28, 9, 0))
    wb.save(path)
    return [("T6.high_priority_unassigned", b.cell(old, "assignee")),
            ("T6.high_priority_assigned_late", b.cell(late, "assigned_at")),
            ("T6.high_priority_unassigned", b.cell(english, "assignee")),
            ("T6.duplicate_lead", b.cell(dup, "company"))]


OPP_KEYS = ("opp_id", "name", "customer", "owner", "stage", "stage_entered", "amount",
            "expected_close", "lost_reason")


def opp_row(oid: str, customer: str, owner: str, stage: str, **over: Any) -> dict[str, Any]:
    row = {"opp_id": oid, "name": f"{customer}项目", "customer": customer, "owner": owner,
           "stage": stage, "stage_entered": d(11), "amount": 20,
           "expected_close": dt.date(2024, 5, 31)}
    row.update(over)
    return row


@case("opportunities_rules.xlsx")
def opportunities_rules(path: Path) -> Expected:
    """Repeated IDs, a stage entered in the future, a lost deal without a reason, a close
    date that slipped, an unknown stage, an open deal without a close date; won deals past
    their close date are fine."""
    wb, ws = new_book("商机")
    b = Block(ws, "A1", headers("opportunities", OPP_KEYS))
    b.add(**opp_row("O001", "客户甲", "张三", "方案提交"))
    dup = b.add(**opp_row("O001", "客户乙", "李四", "需求分析"))
    future = b.add(**opp_row("O003", "客户丙", "王五", "初步接触", stage_entered=d(2, 4)))
    lost = b.add(**opp_row("O004", "客户丁", "张三", "输单"))
    b.add(**opp_row("O005", "客户戊", "张三", "Lost", lost_reason="竞品降价"))
    slipped = b.add(**opp_row("O006", "客户己", "李四", "报价与谈判",
                              expected_close=d(20)))
    b.add(**opp_row("O007", "客户庚", "李四", "签约成交", expected_close=d(1)))
    unknown = b.add(**opp_row("O008", "客户辛", "王五", "评估中", amount="15万"))
    undated = b.add(**opp_row("O009", "客户壬", "张三", "需求分析", expected_close=None))
    h = Block(wb.create_sheet("商机阶段记录"), "A1", headers(
        "stage_history", ("opp_id", "customer", "from_stage", "to_stage", "date")))
    h.add(opp_id="O001", customer="客户甲", from_stage="需求分析", to_stage="方案提交", date=d(11))
    odd = h.add(opp_id="O006", customer="客户己", from_stage="方案提交", to_stage="谈判中",
                date=d(12))
    wb.save(path)
    return [("T7.duplicate_id", b.cell(dup, "opp_id")),
            ("T7.stage_entered_future", b.cell(future, "stage_entered")),
            ("T7.lost_without_reason", b.cell(lost, "lost_reason")),
            ("T7.expected_close_past", b.cell(slipped, "expected_close")),
            ("cell.choice", b.cell(unknown, "stage")),
            ("T7.no_expected_close", b.cell(undated, "expected_close")),
            ("cell.choice", h.cell(odd, "to_stage"))]


@case("opportunity_amounts.xlsx")
def opportunity_amounts(path: Path) -> Expected:
    """Amounts of 12-40 万元, one typed in 元 (350000: 35 万元) and one far above anything
    the team enters that is no 元 amount either (2000)."""
    wb, ws = new_book("商机")
    b = Block(ws, "A1", headers("opportunities", OPP_KEYS))
    amounts = {"张三": (20, 25, 30, 18, 22, 35), "李四": (15, 28, 350000),
               "王五": (40, 12, 2000)}
    rows: dict[Any, int] = {}
    for owner, values in amounts.items():
        for value in values:
            n = len(rows) + 1
            rows[value] = b.add(**opp_row(f"O{n:03d}", f"客户{n}", owner, "方案提交",
                                          amount=value))
    wb.save(path)
    return [("T7.amount_in_yuan", b.cell(rows[350000], "amount")),
            ("T7.implausible_amount", b.cell(rows[2000], "amount"))]


# -- the file itself -------------------------------------------------------------------------------

@case("whole_grid_dimension.xlsx")
def whole_grid_dimension(path: Path) -> Expected:
    """A valid workbook whose sheet claims the whole grid as its used range."""
    wb, ws = new_book("销售日报")
    b = Block(ws, "A1", headers("daily", DAILY_KEYS))
    b.add(**daily_row(d(25), "张三"))
    r = b.add(**daily_row(d(25), "李四", effective=9))
    wb.save(path)
    rewrite_part(path, "xl/worksheets/sheet1.xml",
                 lambda xml: re.sub(rb'<dimension ref="[^"]*"\s*/>',
                                    b'<dimension ref="A1:XFD1048576"/>', xml, count=1))
    return [("sheet.huge_range", None), ("T2.effective_gt_visits", b.cell(r, "effective"))]


def rewrite_part(path: Path, part: str, change: Callable[[bytes], bytes]) -> None:
    """Rewrite one part of the zip at ``path``; fails when ``change`` changes nothing."""
    with zipfile.ZipFile(path) as zin:
        items = [(info, zin.read(info.filename)) for info in zin.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in items:
            if info.filename == part:
                new = change(data)
                if new == data:
                    raise ValueError(f"{part} of {path} was not changed")
                data = new
            zout.writestr(info, data)


# -- entry points ----------------------------------------------------------------------------------

def make_all(out_dir: str | Path, *, libreoffice: bool = True) -> dict[str, Expected]:
    """Write every quirk workbook into ``out_dir``; file name -> expected (rule, cell) pairs.

    The LibreOffice-saved workbook is made only when ``libreoffice`` and soffice exists.
    """
    from xlsales.io.libreoffice import find_soffice

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    have_soffice = libreoffice and find_soffice() is not None
    expected: dict[str, Expected] = {}
    for name, c in CASES.items():
        if c.needs_soffice and not have_soffice:
            continue
        expected[name] = sorted(c.build(out / name), key=lambda p: (p[0], p[1] or ""))
    return expected


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python tests/quirks/make_quirks.py OUT_DIR", file=sys.stderr)
        return 2
    for name, findings in make_all(argv[0]).items():
        print(f"{name}: {len(findings)} expected findings")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
