"""Real-world headers (issue 13): one alias table for every reader, amounts in 元 converted
to the table's unit, quarters however they are written, and what `validate` says about a
workbook holding none of xlsales's tables."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from tests.quirks.make_quirks import (
    CASES,
    QUARTER_SPELLINGS,
    Block,
    everyday_headers_and_yuan,
    new_book,
    staff_headers_fullwidth_yuan,
)
from xlsales import tables as T
from xlsales.calendar import parse_period, parse_quarter, period_label, quarter_months
from xlsales.cli import app
from xlsales.errors import InputError, TableNotFoundError
from xlsales.frames import locate, match_header, nearest_header
from xlsales.io.read import read_table
from xlsales.io.read.grid import table_from_grids
from xlsales.tables.base import (
    header_key,
    header_key_without_unit,
    header_lookup,
    header_unit,
    unit_conversion,
)
from xlsales.validate import VALIDATED, one_table_per_header_row, validate_file

runner = CliRunner()


# -- the alias table -------------------------------------------------------------------------------

@pytest.mark.parametrize("spec", T.ALL, ids=lambda s: s.key)
def test_no_header_names_two_columns_of_one_table(spec: T.TableSpec) -> None:
    exact: dict[str, set[str]] = defaultdict(set)
    for column in spec.columns:
        for text in column.all_headers():
            exact[header_key(text)].add(column.key)
    assert {k: v for k, v in exact.items() if len(v) > 1} == {}
    # Without its unit a header may only fall back on one column (exact forms win).
    loose: dict[str, set[str]] = defaultdict(set)
    for column in spec.columns:
        for text in column.all_headers():
            if (key := header_key_without_unit(text)) not in exact:
                loose[key].add(column.key)
    assert {k: v for k, v in loose.items() if len(v) > 1} == {}


@pytest.mark.parametrize("key", VALIDATED)
def test_no_business_table_reads_as_another(key: str) -> None:
    """A header row of one table, in Chinese, English or every alias it knows, is that
    table only, as validate reads it."""
    spec = T.get(key)
    rows = {"zh": spec.headers("zh"), "en": spec.headers("en"),
            "every form": [text for c in spec.columns for text in c.all_headers()]}
    for name, row in rows.items():
        found = one_table_per_header_row({k: locate({"s": [row]}, T.get(k)) for k in VALIDATED})
        assert {k for k, f in found.items() if f is not None} == {key}, name


REAL_HEADERS = [
    ("daily", "rep", ["业务员", "销售人员", "销售员", "姓名", "负责人", "销售代表", "Sales rep",
                      "Salesperson", "Name", "业 务 员"]),
    ("daily", "next_plan", ["明日计划", "明天计划", "次日计划", "Plan for tomorrow"]),
    ("daily", "problems", ["遇到的问题", "问题与困难", "遇到问题", "Issues"]),
    ("daily", "amount_signed", ["成交金额(元)", "成交金额（元）", "成交金额(万元)", "成交金额",
                                "Amount signed (CNY)"]),
    ("daily", "visits", ["拜访次数", "拜访客户数"]),
    ("targets", "owner", ["负责人", "销售代表", "业务员", "销售人员", "姓名", "Sales rep"]),
    ("customers", "owner", ["负责人", "销售代表", "业务员", "销售人员", "客户经理", "Owner"]),
    ("follow_ups", "owner", ["负责人", "业务员", "销售代表"]),
    ("leads", "assignee", ["跟进人", "负责人", "业务员", "销售代表", "Assignee"]),
    ("opportunities", "owner", ["负责人", "销售代表", "业务员", "销售人员", "Owner"]),
    ("stage_history", "owner", ["负责人", "业务员"]),
]


@pytest.mark.parametrize(("table", "key", "texts"), REAL_HEADERS,
                         ids=[f"{t}.{k}" for t, k, _ in REAL_HEADERS])
def test_real_headers_name_their_column(table: str, key: str, texts: list[str]) -> None:
    lookup = header_lookup(T.get(table).columns)
    for text in texts:
        assert match_header([text], lookup) == {key: 0}, text


@pytest.mark.parametrize("table", ["customers", "leads", "follow_ups", "opportunities"])
def test_a_name_column_is_no_owner_where_people_write_contacts(table: str) -> None:
    lookup = header_lookup(T.get(table).columns)
    assert match_header(["姓名", "Name"], lookup) == {}


def test_the_name_column_of_a_customer_list_stays_the_contacts(tmp_path: Path) -> None:
    path = tmp_path / "customers_name_column_is_the_contact.xlsx"
    CASES[path.name].build(path)
    read = read_table(path, T.get("customers"), CASES[path.name].settings())
    heads = {read.headers[k]: k for k in read.cols}
    assert heads["业务员"] == "owner" and "姓名" not in heads
    assert read.df["owner"].tolist() == ["张三", "李四"]


@pytest.mark.parametrize("build", [everyday_headers_and_yuan, staff_headers_fullwidth_yuan],
                         ids=lambda f: f.__name__)
def test_the_grid_reader_reads_real_headers_like_the_file_reader(
        tmp_path: Path, build: Any) -> None:
    """The Excel buttons read value grids: same columns, same values, 元 converted too."""
    path = tmp_path / f"{build.__name__}.xlsx"
    build(path)
    settings = CASES[path.name].settings()
    from_file = read_table(path, T.get("daily"), settings)
    wb = openpyxl.load_workbook(path)
    grids = {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in wb}
    from_grid = table_from_grids(grids, T.get("daily"), settings, file=str(path))
    assert from_grid is not None
    assert from_grid.cols == from_file.cols
    assert from_grid.df.equals(from_file.df)
    assert from_file.df["amount_signed"].max() < 100  # 万元, not 元


def test_a_chinese_workbook_of_aliases_is_read_in_chinese(tmp_path: Path) -> None:
    path = tmp_path / "everyday_headers_and_yuan.xlsx"
    everyday_headers_and_yuan(path)
    result = validate_file(path, today=CASES[path.name].today,
                           settings=CASES[path.name].settings())
    assert result.tables["daily"].lang == "zh"
    (finding,) = [f for f in result.findings if f.rule == "T2.effective_gt_visits"]
    assert "有效沟通" in finding.message


# -- units in headers ------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "unit"), [
    ("成交金额(元)", "元"), ("成交金额（元）", "元"), ("成交金额 ( 元 )", "元"),
    ("Amount signed (CNY)", "元"), ("成交金额(人民币元)", "元"), ("成交金额(万元)", "万元"),
    ("Amount signed (10k CNY)", "万元"), ("季度目标(千元)", "千元"), ("成交金额", None),
    ("新客户目标(家)", None), ("时长(分钟)", None),
])
def test_the_unit_a_header_names(text: str, unit: str | None) -> None:
    assert header_unit(text) == unit


def test_only_amount_columns_convert_and_only_from_another_unit() -> None:
    daily = T.get("daily")
    assert unit_conversion("成交金额(元)", daily.column("amount_signed")) == ("元", 1.0, 1e4)
    assert unit_conversion("成交金额(万元)", daily.column("amount_signed")) is None
    assert unit_conversion("Amount signed (10k CNY)", daily.column("amount_signed")) is None
    assert unit_conversion("拜访客户数(元)", daily.column("visits")) is None
    targets = T.get("targets")
    assert unit_conversion("季度目标(千元)", targets.column("quarterly_target")) == (
        "千元", 1e3, 1e4)


def test_yuan_targets_are_read_in_ten_thousands(tmp_path: Path) -> None:
    wb, ws = new_book("目标")
    heads = {k: T.get("targets").column(k).label.zh
             for k in ("region", "product_line", "owner", "quarter")}
    heads.update(quarterly_target="季度目标(元)", month1="第1月目标（元）",
                 month2="第2月目标(元)", month3="第3月目标(元)")
    b = Block(ws, "A1", heads)
    b.add(region="华东", product_line="产品线A", owner="张三", quarter="2024Q1",
          quarterly_target=300000, month1=100000, month2="100,000", month3="10万")
    wb.save(tmp_path / "t.xlsx")
    read = read_table(tmp_path / "t.xlsx", T.get("targets"), CASES["targets_quarter_spellings.xlsx"]
                      .settings())
    assert read.records()[0]["quarterly_target"] == 30.0
    assert [read.records()[0][f"month{i}"] for i in (1, 2, 3)] == [10.0, 10.0, 10.0]


# -- quarters --------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [*QUARTER_SPELLINGS, "2024Q1", "2024 q1", "2024年第1季度",
                                  "2024年1季度", "2024第一季", "Q1 2024", "２０２４Ｑ１",
                                  "2024-1Q"])
def test_every_spelling_of_a_quarter_is_one_quarter(text: str) -> None:
    assert parse_quarter(text) == (2024, 1)
    assert quarter_months(text) == (2024, (1, 2, 3))
    assert parse_period(text) == (parse_period("2024Q1")[0], parse_period("2024Q1")[1],
                                  "quarter")
    assert period_label(text) == "2024Q1"


@pytest.mark.parametrize("text", ["2024Q5", "2024Q0", "2024年第五季度", "2024年4", "2024-04",
                                  "Q1", "2024", "24Q1", ""])
def test_what_is_no_quarter(text: str) -> None:
    assert parse_quarter(text) is None
    with pytest.raises(InputError):
        quarter_months(text)


def test_periods_other_than_quarters_keep_their_form() -> None:
    assert period_label("2024-w10") == "2024-W10" and period_label(" 2024-03 ") == "2024-03"
    assert parse_period("2024-03")[2] == "month" and parse_period("2024-W10")[2] == "week"
    with pytest.raises(InputError):
        parse_period("2024Q5")


def _quarter_cells(path: Path, spellings: tuple[str, ...], quarter: str) -> int:
    """Rewrite every ``quarter`` cell under a 季度 header of ``path``, round the spellings;
    how many were rewritten."""
    wb = openpyxl.load_workbook(path)
    n = 0
    for ws in wb:
        for row in ws.iter_rows(max_row=10):
            heads = [c for c in row if c.value == "季度"]
            for head in heads:
                for (cell,) in ws.iter_rows(min_row=head.row + 1, min_col=head.column,
                                            max_col=head.column):
                    if cell.value == quarter:
                        cell.value = spellings[n % len(spellings)]
                        n += 1
    wb.save(path)
    return n


@pytest.fixture(scope="module")
def respelled_workspace(demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo workspace with every 2024Q1 of the targets written another way."""
    root = tmp_path_factory.mktemp("quarters") / "ws"
    shutil.copytree(demo_workspace, root)
    assert _quarter_cells(root / "targets.xlsx", QUARTER_SPELLINGS, "2024Q1") > 5
    return root


def _json(args: list[str]) -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, args)
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.parametrize("period", ["2024q1", "2024年第一季度", "2024 Q1"])
def test_completion_reads_respelled_quarters_and_periods(
        demo_workspace: Path, respelled_workspace: Path, period: str) -> None:
    code, want = _json(["completion", "--period", "2024Q1", "-w", str(demo_workspace),
                        "--on", "2024-03-29", "--json"])
    assert code == 0
    code, got = _json(["completion", "--period", period, "-w", str(respelled_workspace),
                       "--on", "2024-03-29", "--json"])
    assert code == 0
    assert got == want
    assert any(r.get("target") for r in got["rows"])


def test_respelled_target_quarters_still_give_every_rep_a_target(
        demo_workspace: Path, respelled_workspace: Path) -> None:
    """The cross-table check reads 2024q1 as 2024Q1: no rep loses a target to a spelling."""
    def findings(root: Path, book: str) -> list[tuple[str, str | None]]:
        code, payload = _json(["validate", str(root / book), "--on", "2024-03-29", "--json"])
        assert code in (0, 1), payload
        return sorted((f["rule"], f["cell"]) for f in payload["findings"])

    before = findings(demo_workspace, "daily_report.xlsx")
    after = findings(respelled_workspace, "daily_report.xlsx")
    assert after == before
    assert not [f for f in findings(respelled_workspace, "targets.xlsx")
                if f[0] == "T1.quarter_format"]
    targets = read_table(respelled_workspace / "targets.xlsx", T.get("targets"),
                         CASES["targets_quarter_spellings.xlsx"].settings())
    assert "2024Q1" in set(targets.df["quarter"]) and not set(targets.df["quarter"]) & set(
        QUARTER_SPELLINGS)


# -- workbooks holding none of xlsales's tables ----------------------------------------------------

def _ledger(path: Path) -> Block:
    """A sales ledger that looks like a daily report without being one (no visits, no
    effective conversations, no next-day plan), under a title, beside an instructions sheet."""
    wb, first = new_book("填写说明")
    first["A1"] = "本表由各业务员每日填写"
    ws = wb.create_sheet("销售台账")
    ws["A1"] = "2024年3月销售台账"
    b = Block(ws, "B3", {"date": "日期", "customer": "客户", "rep": "业务员",
                         "amount": "成交金额(元)", "note": "备注"})
    b.add(date="2024-03-01", customer="杭州华东科技", rep="张三", amount=12000)
    wb.save(path)
    return b


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_validate_names_the_closest_header_row(tmp_path: Path, lang: str) -> None:
    path = tmp_path / "ledger.xlsx"
    b = _ledger(path)
    result = runner.invoke(app, ["validate", str(path), "--json"], env={"XLSALES_LANG": lang})
    assert result.exit_code == 2, result.output
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    assert payload["where"] == {"file": str(path), "sheet": "销售台账",
                                "cell": b.cell(b.header_row, "date")}
    daily = T.get("daily")
    missing = [daily.column(k).header(lang) for k in ("visits", "effective", "next_plan")]
    error = payload["error"]
    if lang == "zh":
        assert error.startswith("没有找到 xlsales 的表")
        assert f"「销售台账」第 {b.header_row} 行" in error and "「销售日报」" in error
        assert "认出 日期、业务员、成交金额(元)" in error
        assert f"缺少表头 {'、'.join(missing)}" in error
    else:
        assert error.startswith("no xlsales table found")
        assert f"row {b.header_row} of sheet '销售台账'" in error
        assert "Daily sales report" in error and "recognised 日期, 业务员, 成交金额(元)" in error
        assert f"missing the headers {', '.join(missing)}" in error
    for text in daily.headers(lang):  # the headers it expects
        assert text in error
    plain = runner.invoke(app, ["validate", str(path)], env={"XLSALES_LANG": lang})
    assert plain.exit_code == 2 and "销售台账" in plain.stderr


def test_a_workbook_without_a_single_known_header(tmp_path: Path) -> None:
    wb, ws = new_book("Sheet1")
    ws["A1"], ws["B1"] = "hello", "world"
    wb.create_sheet("Sheet2")["C3"] = 42
    wb.save(tmp_path / "other.xlsx")
    with pytest.raises(TableNotFoundError) as exc:
        validate_file(tmp_path / "other.xlsx")
    assert exc.value.file == str(tmp_path / "other.xlsx") and exc.value.sheet is None
    en, zh = exc.value.text("en"), exc.value.text("zh")
    assert en.startswith("no xlsales table found") and zh.startswith("没有找到 xlsales 的表")
    assert "'Sheet1', 'Sheet2'" in en and "「Sheet1」、「Sheet2」" in zh
    for key in VALIDATED:  # every table it looked for, with its required headers
        spec = T.get(key)
        assert spec.title("en") in en and spec.title("zh") in zh
        for column in spec.input_columns:
            if column.required:
                assert column.header("en") in en and column.header("zh") in zh


def test_one_table_asked_for_names_that_table(tmp_path: Path) -> None:
    path = tmp_path / "ledger.xlsx"
    b = _ledger(path)
    result = runner.invoke(app, ["validate", str(path), "--table", "targets", "--json"],
                           env={"XLSALES_LANG": "en"})
    assert result.exit_code == 2
    payload = json.loads(result.stdout)
    assert payload["error"].startswith("no Quarterly target breakdown table found")
    assert payload["where"]["sheet"] == "销售台账"
    # The other commands read through the same reader and say the same.
    result = runner.invoke(app, ["rollup", str(path), "--all", "--json"],
                           env={"XLSALES_LANG": "en"})
    assert result.exit_code == 2
    payload = json.loads(result.stdout)
    assert payload["error"].startswith("no Daily sales report table found")
    assert payload["where"]["cell"] == b.cell(b.header_row, "date")


def test_the_nearest_header_prefers_more_headers_then_fewer_missing() -> None:
    grids = {"a": [["日期", "销售代表"]],
                "b": [[], ["日期", "销售代表", "拜访客户数"]]}
    near = nearest_header(grids, [T.get(k) for k in VALIDATED])
    assert near is not None
    assert (near.sheet, near.row, near.spec.key) == ("b", 1, "daily")
    assert near.missing == ("effective", "next_plan") and near.cell == "A2"
    assert nearest_header({"a": [["x"]]}, [T.get("daily")]) is None


def test_the_validate_button_says_the_same(tmp_path: Path) -> None:
    from tests.fake_xlwings import FakeBook
    from xlsales.excel import buttons

    path = tmp_path / "ledger.xlsx"
    b = _ledger(path)
    book = FakeBook(path)
    text = buttons.validate(book)
    assert book.app.alerts and "没有找到 xlsales 的表" in text
    assert f"「销售台账」第 {b.header_row} 行" in text and "缺少表头" in text
