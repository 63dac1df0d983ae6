"""The ``amount_unit`` option: a team keeps amounts in whole units (元, USD) instead of ten
thousands (万元, 10k). xlsales computes in 万 as always and converts at the workbooks'
edges, so a whole-unit workspace of the sample team gives the same figures as the 万 one:
its workbooks hold every amount × 10,000 under headers naming the whole unit, with a
whole-number format; formulas' cached values are computed from the written amounts; the
CLI's tables and the digests show whole units; ``--json`` keeps the library's unit (万),
so a script reads the same numbers whatever a team chose."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from python_calamine import CalamineWorkbook
from typer.testing import CliRunner

from tests.helpers import comparable
from tests.strict import assert_strict
from tests.test_formula_values import disagreements
from xlsales.cli import app
from xlsales.jobs.summary import build_summary
from xlsales.sample import SAMPLE_TODAY, generate
from xlsales.settings import General
from xlsales.words import TEN_THOUSANDS, WHOLE, amount_unit, money_text, unit_code
from xlsales.workspace import read_settings, read_table, settings_problems, write_workspace

runner = CliRunner()
ON = SAMPLE_TODAY.isoformat()
MONTH = "2024-03"
WIDE = {"COLUMNS": "200"}


def _cli(*args: str) -> Any:
    result = runner.invoke(app, list(args), env=WIDE)
    assert result.exit_code in (0, 1), result.output
    return result


def _json(*args: str) -> dict[str, Any]:
    out = json.loads(_cli(*args, "--json").stdout)
    assert out["ok"], out
    return out


@pytest.fixture(scope="module")
def teams(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The sample team written by ``xlsales sample`` in 万 and in whole units, with the
    pipeline report, the review, the weekly sheets and the meeting pack of each, and the
    JSON of completion, forecast, funnel and review."""
    root = tmp_path_factory.mktemp("amount_unit")
    out: dict[str, Any] = {}
    for name, extra in (("wan", ()), ("whole", ("--amount-unit", "元"))):
        ws = root / name
        _json("sample", str(ws), *extra)
        out[name] = {
            "ws": ws,
            "completion": _json("completion", "--period", MONTH, "-w", str(ws), "--on", ON),
            "forecast": _json("forecast", "--period", MONTH, "-w", str(ws), "--on", ON,
                              "--write"),
            "funnel": _json("funnel", "--period", "2024Q1", "-w", str(ws), "--on", ON),
            "review": _json("review", "--month", MONTH, "-w", str(ws), "--on", ON),
        }
        _json("rollup", "-w", str(ws), "--month", MONTH)
        _json("agenda", "--week", "2024-W13", "-w", str(ws))
    return out


def _without_paths(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_paths(v) for k, v in value.items()
                if k not in ("written", "pdf", "path")}
    if isinstance(value, list):
        return [_without_paths(v) for v in value]
    return value


def test_the_option_is_in_the_settings_workbook(teams: dict[str, Any]) -> None:
    whole, wan = read_settings(teams["whole"]["ws"]), read_settings(teams["wan"]["ws"])
    assert whole.general.amount_unit == WHOLE and wan.general.amount_unit == TEN_THOUSANDS
    wb = openpyxl.load_workbook(teams["whole"]["ws"] / "settings.xlsx")
    rows = [r for r in wb.worksheets[0].iter_rows(values_only=True) if "amount_unit" in r]
    wb.close()
    assert len(rows) == 1 and rows[0][0] == "金额单位" and rows[0][1] == WHOLE
    assert not settings_problems(teams["whole"]["ws"])


@pytest.mark.parametrize("command", ["completion", "forecast", "funnel", "review"])
def test_json_figures_are_the_same(teams: dict[str, Any], command: str) -> None:
    """--json keeps the library's unit (万): the whole-unit workspace gives the very
    figures of the 万 one (its workbooks were written × 10,000 and read back ÷ 10,000)."""
    wan, whole = _without_paths(teams["wan"][command]), _without_paths(teams["whole"][command])
    if command == "review":  # the metrics' names say the unit: 销售额(元)
        assert "销售额(元)" in {m["metric"] for m in whole["metrics"]}
        for m in wan["metrics"]:
            m["metric"] = money_text(m["metric"], None, WHOLE)
        # the sentence under the review's table says its sums in the team's unit
        lines = wan["reconciliation"].pop("line"), whole["reconciliation"].pop("line")
        assert "万元" in lines[0] and "万" not in lines[1] and " 元" in lines[1]
    assert whole == wan
    text = json.dumps(wan)
    assert text.count('"') > 100  # a real result, not an empty one


def _grid(path: Path) -> dict[str, list[list[Any]]]:
    wb = CalamineWorkbook.from_path(str(path))
    return {name: wb.get_sheet_by_name(name).to_python() for name in wb.sheet_names}


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


WORKBOOKS = ("targets.xlsx", "daily_report.xlsx", "customers.xlsx", "meeting_agenda.xlsx",
             "pipeline_2024-03.xlsx", "review_2024-03.xlsx")


@pytest.mark.parametrize("name", WORKBOOKS)
def test_workbook_cells_are_the_same_figures_in_whole_units(teams: dict[str, Any],
                                                            name: str) -> None:
    """Every cell (values and formulas' cached results, read as Excel shows them) of the
    whole-unit workbook is the 万 one's: an amount × 10,000 under a header naming 元
    where the 万 header names 万元, everything else equal."""
    wan, whole = _grid(teams["wan"]["ws"] / name), _grid(teams["whole"]["ws"] / name)
    assert list(wan) == list(whole)
    scaled = texts = 0
    for sheet, rows in wan.items():
        other = whole[sheet]
        assert len(rows) == len(other), sheet
        above: dict[int, str] = {}  # the nearest text above, per column (its header)
        for r, (row, row2) in enumerate(zip(rows, other, strict=True)):
            money_row = any(isinstance(v, str) and "万元" in v for v in row)
            for c, (a, b) in enumerate(zip(row, row2, strict=True)):
                at = f"{name}!{sheet} R{r + 1}C{c + 1}"
                if _number(a) and _number(b):
                    header = above.get(c, "")
                    if "万元" in header or (money_row and b != pytest.approx(a, rel=1e-12)):
                        assert b == pytest.approx(a * 1e4, rel=1e-12, abs=1e-6), at
                        scaled += a != 0
                    else:  # not money (or money in a block that names no unit): equal
                        assert b == pytest.approx(a, rel=1e-12) or \
                            b == pytest.approx(a * 1e4, rel=1e-12), at
                elif isinstance(a, str) and a:
                    above[c] = a
                    if a != b:
                        texts += 1
                        assert "万元" not in b, at
                        assert b == money_text(a, None, WHOLE) or "元" in b, (at, a, b)
                else:
                    assert a == b or (a in ("", None) and b in ("", None)), (at, a, b)
    if name != "meeting_agenda.xlsx":
        assert scaled > 10, name
    assert texts > 0, name  # the unit is named somewhere


@pytest.mark.parametrize("name", WORKBOOKS)
def test_headers_and_formats_name_the_whole_unit(teams: dict[str, Any], name: str) -> None:
    wb = openpyxl.load_workbook(teams["whole"]["ws"] / name)
    headers = 0
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.endswith("(元)"):
                    headers += 1
                    below = ws.cell(cell.row + 1, cell.column)
                    if _number(below.value) or str(below.value or "").startswith("="):
                        assert below.number_format == "#,##0", (ws.title, below.coordinate)
                assert not (isinstance(cell.value, str) and "万元" in cell.value), \
                    (ws.title, cell.coordinate, cell.value)
    wb.close()
    if name != "meeting_agenda.xlsx":
        assert headers > 0, name


def test_formulas_cache_the_python_figures_in_whole_units(teams: dict[str, Any]) -> None:
    """The pipeline report's team line: the cached results of its formulas (weighted,
    expected, shortage) are the forecast's figures × 10,000; the workbooks pass the
    Excel-strict checker."""
    ws = teams["whole"]["ws"]
    forecast = _json("forecast", "--period", MONTH, "-w", str(ws), "--on", ON, "--by",
                     "team")
    [team] = forecast["rows"]
    grid = _grid(ws / "pipeline_2024-03.xlsx")
    found = None
    for rows in grid.values():
        for i, row in enumerate(rows):
            if "加权预测(元)" in row and "缺口(元)" in row:
                head = row
                team_rows = [r for r in rows[i + 1:] if "团队" in r]
                found = dict(zip(head, team_rows[0], strict=True))
                break
        if found:
            break
    assert found is not None
    for header, key in (("本期目标(元)", "quota"), ("已成交(元)", "won"),
                        ("加权预测(元)", "weighted"), ("缺口(元)", "shortage")):
        assert found[header] == pytest.approx(team[key] * 1e4, rel=1e-9), header
    assert found["覆盖率"] == pytest.approx(team["coverage"], rel=1e-12)
    for name in ("pipeline_2024-03.xlsx", "review_2024-03.xlsx", "targets.xlsx",
                 "customers.xlsx", "daily_report.xlsx"):
        assert_strict(ws / name)


@pytest.mark.libreoffice
def test_libreoffice_computes_the_cached_values(teams: dict[str, Any], soffice: str,
                                                tmp_path: Path) -> None:
    """One LibreOffice run recalculates the whole-unit review and pipeline report: every
    formula's result is the value xlsales cached."""
    from xlsales.io.libreoffice import recalculate_many

    srcs = []
    for name in ("review_2024-03.xlsx", "pipeline_2024-03.xlsx"):
        srcs.append(tmp_path / name)
        shutil.copyfile(teams["whole"]["ws"] / name, srcs[-1])
    recalculated = recalculate_many(srcs, tmp_path / "lo", soffice=soffice)
    for src, lo in zip(srcs, recalculated, strict=True):
        count, problems = disagreements(src, lo)
        assert count > 20, src.name
        assert not problems, "\n".join(problems[:20])


def test_cli_tables_and_digests_show_whole_units(teams: dict[str, Any]) -> None:
    whole, wan = teams["whole"], teams["wan"]
    team = next(r for r in _json("completion", "--period", MONTH, "-w", str(wan["ws"]),
                                 "--on", ON, "--by", "team")["rows"])
    shown = f"{round(team['actual'] * 1e4):,}"
    text = _cli("completion", "--period", MONTH, "-w", str(whole["ws"]), "--on", ON,
                "--by", "team").stdout
    assert shown in text
    assert shown not in _cli("completion", "--period", MONTH, "-w", str(wan["ws"]), "--on",
                             ON, "--by", "team").stdout
    digest = build_summary(whole["ws"], "month", on=SAMPLE_TODAY).render("text")
    assert f"{shown} / " in digest and " 元" in digest and "万元" not in digest
    assert "万元" in build_summary(wan["ws"], "month", on=SAMPLE_TODAY).render("text")
    review = _cli("review", "--month", MONTH, "-w", str(whole["ws"]), "--on", ON,
                  "--out", str(whole["ws"] / "again.xlsx")).stdout
    assert "销售额(元)" in review and f"{shown}" in review
    # A command without a workspace afterwards shows 万 again (the unit is per command).
    again = _cli("completion", "--period", MONTH, "-w", str(wan["ws"]), "--on", ON,
                 "--by", "team").stdout
    assert f"{team['actual']:,.1f}" in again


def test_usd_whole_units_read_back_alike(tmp_path: Path) -> None:
    """Headers in whole US dollars (金额(美元), Amount (USD)) are read as amounts × 10,000
    of the library's unit: the tables read back equal the 万 team's."""
    for lang in ("zh", "en"):
        usd = generate(2024, lang)  # type: ignore[arg-type]
        usd.settings.general.currency = "USD"
        usd.settings.general.amount_unit = WHOLE
        write_workspace(tmp_path / f"usd-{lang}", usd.settings, usd.data,
                        lang=lang)  # type: ignore[arg-type]
        plain = generate(2024, lang)  # type: ignore[arg-type]
        write_workspace(tmp_path / f"wan-{lang}", plain.settings, plain.data,
                        lang=lang)  # type: ignore[arg-type]
        unit = amount_unit(lang, "USD", WHOLE)  # type: ignore[arg-type]
        wb = openpyxl.load_workbook(tmp_path / f"usd-{lang}" / "targets.xlsx")
        texts = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row
                 if isinstance(c.value, str)]
        wb.close()
        assert any(t.endswith(f"({unit})") for t in texts), lang
        a_settings = read_settings(tmp_path / f"usd-{lang}")
        b_settings = read_settings(tmp_path / f"wan-{lang}")
        for key in ("targets", "daily", "opportunities", "customers"):
            a = read_table(tmp_path / f"usd-{lang}", key, a_settings)
            b = read_table(tmp_path / f"wan-{lang}", key, b_settings)
            assert [comparable(key, r) for r in a] == [comparable(key, r) for r in b], key


def test_init_writes_a_whole_unit_workspace(tmp_path: Path) -> None:
    _json("init", str(tmp_path / "ws"), "--amount-unit", "unit", "--lang", "en")
    assert read_settings(tmp_path / "ws").general.amount_unit == WHOLE
    wb = openpyxl.load_workbook(tmp_path / "ws" / "customers.xlsx")
    texts = {c.value for ws in wb.worksheets for row in ws.iter_rows(max_row=4) for c in row
             if isinstance(c.value, str)}
    wb.close()
    assert "Amount (CNY)" in texts and "Weighted (CNY)" in texts
    assert not any("10k" in t for t in texts)
    bad = runner.invoke(app, ["init", str(tmp_path / "bad"), "--amount-unit", "千", "--json"])
    assert bad.exit_code == 2 and "--amount-unit" in json.loads(bad.stdout)["error"]
    assert not (tmp_path / "bad" / "settings.xlsx").exists()


def test_a_bad_amount_unit_is_a_finding_naming_its_cell(tmp_path: Path) -> None:
    sample = generate(2024)
    write_workspace(tmp_path, sample.settings, sample.data)
    path = tmp_path / "settings.xlsx"
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    row = next(r for r in ws.iter_rows() if r[3].value == "amount_unit")
    row[1].value = "千元"
    cell = row[1].coordinate
    wb.save(path)
    settings = read_settings(tmp_path)
    assert settings.general.amount_unit == TEN_THOUSANDS  # the default, and a finding
    [problem] = [p for p in settings.problems if p.value == "千元"]
    assert problem.cell == cell and problem.sheet == ws.title
    assert "amount_unit" in problem.message and problem.severity == "error"
    result = _cli("validate", str(path), "--json")
    found = json.loads(result.stdout)
    assert result.exit_code == 1 and found["errors"] >= 1
    assert any(f["cell"] == cell and f["value"] == "千元" for f in found["findings"])


SPELLINGS = [("万", TEN_THOUSANDS), ("万元", TEN_THOUSANDS), ("10k", TEN_THOUSANDS),
             (10000, TEN_THOUSANDS), ("10000", TEN_THOUSANDS), (None, TEN_THOUSANDS),
             ("1", WHOLE), (1, WHOLE), (1.0, WHOLE), ("元", WHOLE), (" Unit ", WHOLE),
             ("千", None), (5, None), (True, None)]


@pytest.mark.parametrize(("typed", "code"), SPELLINGS)
def test_amount_unit_spellings(typed: object, code: str | None) -> None:
    assert unit_code(typed) == code
    if code is None:
        with pytest.raises(ValueError, match="amount unit"):
            General(amount_unit=typed)  # type: ignore[arg-type]
    else:
        assert General(amount_unit=typed).amount_unit == code  # type: ignore[arg-type]


def test_texts_in_whole_units() -> None:
    assert money_text("成交金额(万元)", "CNY", WHOLE) == "成交金额(元)"
    assert money_text("Amount (10k CNY)", "USD", WHOLE) == "Amount (USD)"
    assert money_text("成交金额(万元)", "CNY", TEN_THOUSANDS) == "成交金额(万元)"
    assert amount_unit("zh", "EUR", WHOLE) == "欧元" and amount_unit("en") == "10k CNY"
    assert General().model_dump()["amount_unit"] == TEN_THOUSANDS


def test_warnings_name_amounts_in_the_teams_unit() -> None:
    """The implausible-completion and the dailies-against-won-deals warnings say their
    amounts in the team's unit and currency (the library computes in 万)."""
    from types import SimpleNamespace

    from xlsales.ranking import implausible_message
    from xlsales.review import reconcile

    whole = {"currency": "CNY", "amount_unit": "1"}
    text = implausible_message("张伟", 400.0, 12000.0, 30.0, 3.0, "zh", money=whole)
    assert "成交 120,000,000 元" in text and "目标 300,000 元" in text and "万" not in text
    assert "成交 12,000 万元" in implausible_message("张伟", 400.0, 12000.0, 30.0, 3.0, "zh")
    usd = implausible_message("Wei", 400.0, 12000.0, 30.0, 3.0, "en",
                              money={"currency": "USD", "amount_unit": "1"})
    assert "signed 120,000,000" in usd and "target of its months, 300,000" in usd
    now = SimpleNamespace(dailies_signed=1.5, opportunities_won=15.25, sales_source="dailies")
    said = reconcile(now, 0.05, "zh", whole)
    assert said["warning"] == ("成交金额对不上:日报合计 15,000 元,赢单商机合计 152,500 元,"
                               "相差 +137,500 元(超过 5%)")
    assert said["difference"] == 13.75  # the JSON stays in the library's unit (万)
    assert "日报合计 1.5 万元" in reconcile(now, 0.05, "zh")["warning"]


def test_one_rounding_for_every_writer() -> None:
    """Amounts turn into whole units one way (words.to_units), cell lists and single
    figures alike: text typed among them stays, blanks stay blank."""
    from xlsales.words import to_unit, to_unit_cells, to_units

    cells = [12.3, "待定", None, 3.3333333333333335, 0, True, 7]
    assert to_unit_cells(cells, "1") == [123000.0, "待定", None, to_unit(3.3333333333333335, "1"),
                                        0.0, True, 70000.0]
    assert to_unit_cells(cells, "10000") == cells
    assert to_units([12.3, float("nan")], "1")[0] == 123000.0
    assert to_unit(12.3, "10000") == 12.3
