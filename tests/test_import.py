"""``xlsales import``: files read in every encoding, mappings proposed and kept, values
converted, rows planned (new, updated, unchanged, rejected, 撞单) and written once."""

from __future__ import annotations

import csv
import datetime as dt
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from xlsales.cli import app
from xlsales.errors import InputError, WorkbookError
from xlsales.importing.mapping import MAP_FILE, header_unit, load_map, propose, save_map
from xlsales.importing.values import amount, convert, parse_datetime
from xlsales.io.read.source import detect_encoding, read_source, sniff_delimiter
from xlsales.jobs.importing import run_import
from xlsales.jobs.sources import load_customers
from xlsales.tables.base import Kind

TODAY = dt.date(2024, 3, 29)
OPP_HEADERS = ["商机名称", "客户名称", "负责人", "商机阶段", "金额(元)", "预计成交日期",
               "创建日期", "备注"]


def write_csv(path: Path, rows: list[list[Any]], encoding: str = "utf-8",
              sep: str = ",") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh, delimiter=sep).writerows(rows)
    return path


def opportunities(root: Path) -> pd.DataFrame:
    return load_customers(root, ("opportunities",)).frame("opportunities")


# -- reading files ---------------------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16"])
def test_csv_in_any_encoding_reads_the_same(tmp_path: Path, encoding: str) -> None:
    path = write_csv(tmp_path / "x.csv", [["客户名称", "负责人"], ["北京瑞丰", "张伟"]], encoding)
    src = read_source(path)
    assert src.headers == ["客户名称", "负责人"]
    assert src.frame.iloc[0].tolist() == ["北京瑞丰", "张伟"]
    assert src.encoding == {"gbk": "gb18030", "utf-8-sig": "utf-8-sig", "utf-16": "utf-16"}.get(
        encoding, encoding)


def test_encoding_detection_of_a_cut_character() -> None:
    data = "客户".encode()[:-1]  # a sample that ends inside a character
    assert detect_encoding(data) == "utf-8"
    assert detect_encoding("客户".encode("gbk")) == "gb18030"


def test_delimiter_and_title_row_are_found(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "x.csv", [["商机导出 2024-03-29"], OPP_HEADERS,
                                           ["A项目", "某某科技有限公司", "张伟", "需求分析",
                                            "1,000", "2024/5/1", "2024/1/2", ""]], sep=";")
    assert sniff_delimiter(path.read_text().splitlines()) == ";"
    src = read_source(path)
    assert src.header_row == 2 and src.headers == OPP_HEADERS
    assert src.row_number(0) == 3


def test_an_xlsx_export_with_a_title_row(tmp_path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["纷享销客 商机列表"])
    ws.append(OPP_HEADERS)
    ws.append(["A项目", "某某科技有限公司", "张伟", "需求分析", 1000, dt.datetime(2024, 5, 1),
               "2024/1/2", None])
    wb.save(tmp_path / "x.xlsx")
    from xlsales.jobs.importing import _fit

    src = read_source(tmp_path / "x.xlsx", fit=_fit)
    assert src.header_row == 2 and src.headers == OPP_HEADERS
    assert src.frame.iloc[0, 4] == "1000" and src.frame.iloc[0, 5] == "2024-05-01"


def test_a_missing_or_empty_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(WorkbookError, match="no such file"):
        read_source(tmp_path / "none.csv")
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(WorkbookError):
        read_source(tmp_path / "empty.csv")


# -- values ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "order", "day"), [
    ("2024-03-05", "MDY", dt.date(2024, 3, 5)),
    ("2024/3/5 10:20", "MDY", dt.date(2024, 3, 5)),
    ("2024年3月5日", "MDY", dt.date(2024, 3, 5)),
    ("3/5/2024", "MDY", dt.date(2024, 3, 5)),
    ("3/5/2024", "DMY", dt.date(2024, 5, 3)),
    ("Mar 5, 2024", "DMY", dt.date(2024, 3, 5)),
    ("5-Mar-2024 3:04 PM", "MDY", dt.date(2024, 3, 5)),
    ("2024-03-05T23:30:00Z", "YMD", dt.date(2024, 3, 5)),
    ("45356", "YMD", dt.date(2024, 3, 5)),
])
def test_dates_in_every_common_form(text: str, order: str, day: dt.date) -> None:
    assert parse_datetime(text, order).date() == day  # type: ignore[union-attr]


def test_a_column_tells_its_date_order() -> None:
    days = convert(pd.Series(["3/5/2024", "25/3/2024"]), Kind.DATE, order="MDY")
    assert days.values.tolist() == [dt.date(2024, 5, 3), dt.date(2024, 3, 25)]
    bad = convert(pd.Series(["3/5/2024", "soon", None]), Kind.DATE, order="MDY")
    assert bad.values.tolist() == [dt.date(2024, 3, 5), None, None]
    assert list(bad.bad) == [1] and "soon" in bad.bad[1]("en")


@pytest.mark.parametrize(("text", "unit", "wan"), [
    ("$12,500.00", "元", 1.25), ("¥1,234", "元", 0.1234), ("1.2万", "元", 1.2),
    ("(1,000)", "元", -0.1), ("12500 元", "万元", 1.25), ("3.5", "万元", 3.5),
    ("RMB 20000", "元", 2.0), ("8", "千元", 0.8),
])
def test_amounts_in_wan(text: str, unit: str, wan: float) -> None:
    assert amount(text, unit) == pytest.approx(wan)


def test_whole_percents_read_as_shares() -> None:
    assert convert(pd.Series(["35", "50", None]), Kind.PERCENT).values.tolist() == [
        0.35, 0.5, None]
    assert convert(pd.Series(["35%", "0.5"]), Kind.PERCENT).values.tolist() == [0.35, 0.5]


# -- mappings --------------------------------------------------------------------------------

def test_template_headers_map_without_a_profile() -> None:
    m = propose(OPP_HEADERS)
    assert m is not None and m.table == "opportunities" and m.key == "plain_zh/opportunities"
    assert m.mapped()["金额(元)"] == "amount" and m.units == {"amount": "元"}
    assert m.left_out() == ["备注"]
    assert header_unit("Amount (USD)") == ("Amount", "元")


def test_a_kept_mapping_is_used_and_completed(tmp_path: Path) -> None:
    m = propose(OPP_HEADERS)
    assert m is not None
    m.columns["备注"] = "lost_reason"
    m.values["stage"] = {"谈判中": "报价与谈判"}
    save_map(tmp_path, m)
    text = (tmp_path / MAP_FILE).read_text(encoding="utf-8")
    assert '"谈判中" = "报价与谈判"' in text
    again = propose([*OPP_HEADERS, "新列"], saved=load_map(tmp_path))
    assert again is not None and again.saved
    assert again.columns["备注"] == "lost_reason" and again.columns["新列"] == ""
    assert again.values["stage"]["谈判中"] == "报价与谈判"


def test_a_bad_kept_mapping_names_the_file(tmp_path: Path) -> None:
    (tmp_path / MAP_FILE).write_text('[sources."plain_zh/opportunities"]\n'
                                     'amount_unit = "磅"\n', encoding="utf-8")
    with pytest.raises(InputError, match="amount_unit"):
        propose(OPP_HEADERS, saved=load_map(tmp_path))
    (tmp_path / MAP_FILE).write_text("not toml [", encoding="utf-8")
    with pytest.raises(InputError, match="TOML"):
        load_map(tmp_path)


# -- plans -----------------------------------------------------------------------------------

@pytest.fixture
def team(sample_copy: Callable[[str], Path]) -> Path:
    return sample_copy("zh")


def _sample_rows(root: Path) -> tuple[pd.Series, pd.Series]:
    """An open opportunity and a won one of the sample (each the only one of its customer
    with its name: a file without ids tells opportunities apart by those)."""
    opps = opportunities(root)
    opps = opps[~opps.duplicated(["customer", "name"], keep=False)]
    open_ = opps[~opps["stage"].isin(["签约成交", "输单", "售后服务"])].iloc[0]
    won = opps[opps["stage"] == "签约成交"].iloc[0]
    return open_, won


def _lost(root: Path) -> pd.Series:
    opps = opportunities(root)
    opps = opps[~opps.duplicated(["customer", "name"], keep=False)]
    return opps[opps["stage"] == "输单"].iloc[0]


def _line(opp: pd.Series, **change: Any) -> list[Any]:
    values = {"商机名称": opp["name"], "客户名称": opp["customer"], "负责人": opp["owner"],
              "商机阶段": opp["stage"], "金额(元)": f"{opp['amount'] * 10000:,.0f}",
              "预计成交日期": opp["expected_close"].strftime("%Y/%m/%d"),
              "创建日期": opp["created_on"].strftime("%Y/%m/%d"), "备注": ""}
    values.update(change)
    return [values[h] for h in OPP_HEADERS]


def test_a_dry_run_plans_every_row_and_writes_nothing(team: Path) -> None:
    open_, won = _sample_rows(team)
    lost = _lost(team)
    rows = [OPP_HEADERS,
            _line(won),                                            # 2 unchanged
            _line(open_, 商机阶段="报价与谈判"),                      # 3 updated, stage moved
            ["新项目", "某某科技有限公司", "张伟", "需求分析", "50000", "2024/5/1",
             "2024/1/2", ""],                                      # 4 new
            ["新项目", "某某科技有限公司", "张伟", "需求分析", "50000", "2024/5/1",
             "2024/1/2", ""],                                      # 5 the same as line 4
            ["X", "某某2科技有限公司", "王不在", "需求分析", "1", "2024/5/1", "2024/1/2", ""],
            ["Y", "某某3科技有限公司", "张伟", "谈判中", "1", "2024/5/1", "2024/1/2", ""],
            ["Z", "某某4科技有限公司", "张伟", "需求分析", "abc", "2024/5/1", "2024/1/2", ""],
            _line(lost, 负责人="张伟" if lost["owner"] != "张伟" else "李娜"),  # 9 撞单
            ]
    path = write_csv(team / ".." / "opps.csv", rows, "gb18030")
    before = (team / "customers.xlsx").read_bytes()
    result = run_import(path, team, dry_run=True, today=TODAY)
    plan = result.plan
    assert plan.main.counts() == {"new": 1, "updated": 1, "unchanged": 1, "rejected": 4,
                                  "clashes": 1}
    assert [r.line for r in plan.main.rejected] == [5, 6, 7, 8]
    assert "line 4" in plan.main.rejected[0].reason or "第 4 行" in plan.main.rejected[0].reason
    assert dict(plan.unknown["owner"]) == {"王不在": 1}
    assert dict(plan.unknown["stage"]) == {"谈判中": 1}
    (row, change), = plan.main.updates.items()
    assert row == open_.name
    assert change == {"stage": "报价与谈判", "stage_entered": TODAY}
    assert plan.tables["stage_history"].new == [{
        "opp_id": open_["opp_id"], "customer": open_["customer"], "from_stage": open_["stage"],
        "to_stage": "报价与谈判", "date": TODAY, "owner": open_["owner"],
        "note": "导入 opps.csv"}]
    new, = plan.main.new
    assert new["amount"] == 5.0 and new["opp_id"] == "O0449" and new["name"] == "新项目"
    assert new["stage_entered"] == dt.date(2024, 1, 2)
    clash, = plan.main.clashes
    assert clash.line == 9 and clash.theirs == lost["owner"]
    assert (team / "customers.xlsx").read_bytes() == before
    assert not (team / MAP_FILE).exists()


def test_cli_dry_run_json_and_text(team: Path) -> None:
    open_, _ = _sample_rows(team)
    path = write_csv(team.parent / "opps.csv", [OPP_HEADERS, _line(open_, 商机阶段="报价与谈判")])
    runner = CliRunner()
    out = runner.invoke(app, ["import", str(path), "-w", str(team), "--dry-run", "--json",
                              "--on", "2024-03-29"])
    assert out.exit_code == 0, out.output
    payload = json.loads(out.stdout)
    assert payload["counts"]["opportunities"]["updated"] == 1 and payload["dry_run"]
    text = runner.invoke(app, ["import", str(path), "-w", str(team), "--dry-run"])
    assert text.exit_code == 0 and "更新 1" in text.output and "试运行" in text.output


def test_a_new_mapping_needs_yes_outside_a_terminal(team: Path) -> None:
    open_, _ = _sample_rows(team)
    path = write_csv(team.parent / "opps.csv", [OPP_HEADERS, _line(open_, 商机阶段="报价与谈判")])
    before = (team / "customers.xlsx").read_bytes()
    out = CliRunner().invoke(app, ["import", str(path), "-w", str(team), "--json"])
    assert out.exit_code == 2 and "--yes" in json.loads(out.stdout)["error"]
    assert (team / "customers.xlsx").read_bytes() == before


def test_unknown_table_and_unreadable_headers(team: Path) -> None:
    path = write_csv(team.parent / "x.csv", [["foo", "bar"], ["1", "2"]])
    with pytest.raises(WorkbookError, match="--table"):
        run_import(path, team, dry_run=True)
    with pytest.raises(InputError, match="importable"):
        run_import(path, team, table="review", dry_run=True)


# -- real imports ----------------------------------------------------------------------------

def _import(path: Path, team: Path, **kw: Any) -> Any:
    return run_import(path, team, today=TODAY, **kw)


def test_an_import_writes_once_and_again_changes_nothing(team: Path) -> None:
    import openpyxl

    open_, _ = _sample_rows(team)
    rows = [OPP_HEADERS, _line(open_, 商机阶段="报价与谈判"),
            ["新项目", "某某科技有限公司", "张伟", "需求分析", "50,000", "2024/5/1",
             "2024/1/2", "备注"]]
    path = write_csv(team.parent / "opps.csv", rows, "utf-8-sig")
    first = _import(path, team)
    book = team / "customers.xlsx"
    assert first.written == book and (team / MAP_FILE).exists()
    opps = opportunities(team)
    new = opps[opps["name"] == "新项目"].iloc[0]
    assert new["opp_id"] == "O0449" and new["amount"] == 5.0 and new["owner"] == "张伟"
    assert new["stage_entered"] == pd.Timestamp(2024, 1, 2)
    moved = opps[opps["opp_id"] == open_["opp_id"]].iloc[0]
    assert moved["stage"] == "报价与谈判" and moved["stage_entered"] == pd.Timestamp(TODAY)
    hist = load_customers(team, ("stage_history",)).frame("stage_history")
    last = hist.iloc[-1]
    assert (last["opp_id"], last["from_stage"], last["to_stage"]) == (
        open_["opp_id"], open_["stage"], "报价与谈判")
    # the formula columns of the new row carry their values
    wb = openpyxl.load_workbook(book, data_only=True)
    ws = wb["商机"]
    header = [c.value for c in ws[3]]
    row = next(r for r in ws.iter_rows(min_row=4) if r[header.index("商机名称")].value == "新项目")
    assert row[header.index("赢单概率")].value == pytest.approx(0.25)
    assert row[header.index("加权金额(万元)")].value == pytest.approx(5.0 * 0.25)
    before = book.read_bytes()
    again = _import(path, team)
    assert again.written is None and book.read_bytes() == before
    assert again.plan.main.counts()["unchanged"] == 2


def test_an_updated_export_updates_the_rows(team: Path) -> None:
    open_, _ = _sample_rows(team)
    path = write_csv(team.parent / "opps.csv", [OPP_HEADERS, _line(open_)])
    assert _import(path, team).written is None  # nothing differs
    write_csv(path, [OPP_HEADERS, _line(open_, **{"金额(元)": "123,400"})])
    result = _import(path, team)
    assert result.plan.main.counts()["updated"] == 1
    opps = opportunities(team)
    assert opps[opps["opp_id"] == open_["opp_id"]].iloc[0]["amount"] == pytest.approx(12.34)
    assert len(opps) == 448


def test_unknown_stages_wait_in_the_map_until_filled_in(team: Path) -> None:
    path = write_csv(team.parent / "opps.csv", [
        OPP_HEADERS, ["Y", "某某3科技有限公司", "张伟", "谈判中", "1", "2024/5/1", "2024/1/2", ""]])
    first = _import(path, team)
    assert first.written is None and dict(first.plan.unknown["stage"]) == {"谈判中": 1}
    text = (team / MAP_FILE).read_text(encoding="utf-8")
    assert '"谈判中" = ""' in text
    (team / MAP_FILE).write_text(text.replace('"谈判中" = ""', '"谈判中" = "报价与谈判"'),
                                 encoding="utf-8")
    second = _import(path, team)
    assert second.plan.main.counts()["new"] == 1
    opps = opportunities(team)
    assert opps[opps["name"] == "Y"].iloc[0]["stage"] == "报价与谈判"


def test_a_failed_import_leaves_the_workbook(team: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from xlsales.io import atomic

    open_, _ = _sample_rows(team)
    path = write_csv(team.parent / "opps.csv", [OPP_HEADERS, _line(open_, 商机阶段="报价与谈判")])
    book = team / "customers.xlsx"
    before = book.read_bytes()

    def broken(*_a: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", broken)
    with pytest.raises(WorkbookError, match="disk full"):
        _import(path, team)
    monkeypatch.undo()
    assert book.read_bytes() == before
    assert not [p for p in team.iterdir() if p.name.startswith(".customers")]


def test_customers_of_another_rep_are_reported_not_created(team: Path) -> None:
    ws = load_customers(team, ("customers",))
    customers = ws.frame("customers")
    theirs = customers.iloc[0]
    other = "张伟" if theirs["owner"] != "张伟" else "李娜"
    path = write_csv(team.parent / "accounts.csv", [
        ["客户名称", "联系人", "联系电话", "负责人", "客户等级"],
        [f"{theirs['name']}", "王五", "13800000000", other, "A"],
        ["全新客户有限公司", "赵六", "13900000000", other, "B"]])
    result = _import(path, team, table="customers")
    assert result.plan.main.counts()["clashes"] == 1 and result.plan.main.counts()["new"] == 1
    clash = result.plan.main.clashes[0]
    assert clash.theirs == theirs["owner"] and clash.owner == other
    after = load_customers(team, ("customers",)).frame("customers")
    assert len(after) == len(customers) + 1
    assert after.iloc[-1]["name"] == "全新客户有限公司" and after.iloc[-1]["customer_id"]


@pytest.mark.libreoffice
def test_an_old_xls_export_is_read(team: Path, soffice: str, tmp_path: Path) -> None:
    """An Excel 97–2003 ``.xls`` (made here by LibreOffice from an .xlsx) imports like the
    .xlsx it was made from."""
    import openpyxl

    from xlsales.io.libreoffice import convert

    open_, _ = _sample_rows(team)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["商机导出"])
    ws.append(OPP_HEADERS)
    ws.append(_line(open_, 商机阶段="报价与谈判"))
    ws.append(["新项目", "某某科技有限公司", "张伟", "需求分析", 50000, dt.datetime(2024, 5, 1),
               dt.datetime(2024, 1, 2), None])
    wb.save(tmp_path / "opps.xlsx")
    xls = convert(tmp_path / "opps.xlsx", "xls", tmp_path / "out", soffice=soffice)
    assert xls.suffix == ".xls" and not zipfile.is_zipfile(xls)
    result = _import(xls, team, dry_run=True)
    assert result.plan.source.header_row == 2
    assert result.plan.main.counts()["updated"] == 1 and result.plan.main.counts()["new"] == 1
    new, = result.plan.main.new
    assert new["amount"] == 5.0 and new["expected_close"] == dt.date(2024, 5, 1)
