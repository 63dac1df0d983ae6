"""``xlsales import`` of every export tests/crm_exports.py writes, end to end: a fresh
workspace, the import, the workbook read back and compared with the rows the export
should give; the same file again changes nothing; a dry run plans what the real run does
and writes nothing; an updated export updates its rows (and a moved stage gets its
history row); unknown stages and owners wait in the import map; an 8,000-row dataset's
figures, as xlsales computes them from the workbook, agree with pandas on the CSV files;
and a failure mid-import leaves the workbook as it was."""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import inspect
import json
import math
import shutil
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.crm_exports import (
    ENCODINGS,
    FORMATS,
    GENERATORS,
    TODAY,
    Export,
    Row,
    write_crm_dataset,
)
from xlsales.cli import app
from xlsales.importing.mapping import MAP_FILE
from xlsales.importing.plan import OWNER_COLUMN
from xlsales.io.atomic import TEMP_SUFFIX
from xlsales.jobs.importing import ImportResult, run_import
from xlsales.settings import ListItem, RosterEntry, Settings
from xlsales.workspace import BOOK_OF_TABLE, book_path, read_settings, write_workspace

N = 40
SEED = 0
CUSTOMER_TABLES = ("customers", "leads", "opportunities", "stage_history", "follow_ups")
REGIONS = ("华东", "华南", "华北")  # plain_zh/targets
PRODUCTS = ("产品A", "产品B", "产品C")
OPEN = ("潜在客户识别", "初步接触", "需求分析", "方案提交", "报价与谈判")
# Exports whose file has rows the import must keep out: (key column left blank, the
# file's header the reason names). The dataset leaves two open deals in three without an
# account; an opportunity needs its customer.
BLANK_REJECTS = {"crm_sample/opportunities": ("customer", "account")}
# Besides each generator's own format: other encodings, a CSV with a title row (the
# dingtalk and fxiaoke exports have one), an xlsx of a home-made CSV.
EXTRA_FORMATS = [("salesforce/opportunities", "csv-gbk"), ("plain_zh/customers", "xlsx"),
                 ("fxiaoke/opportunities", "csv-bom"), ("dingtalk/daily", "csv-gbk"),
                 ("pipedrive/opportunities", "xlsx"), ("zoho/leads", "csv-gb18030")]
CASES = [(key, None) for key in GENERATORS] + EXTRA_FORMATS


def _case_id(case: tuple[str, str | None]) -> str:
    key, fmt = case
    return key if fmt is None else f"{key}@{fmt}"


# -- helpers -------------------------------------------------------------------------------

def _settings(owners: list[str], *, extra_reps: tuple[str, ...] = ()) -> Settings:
    """The default settings with ``owners`` (and ``extra_reps``) on the roster, and the
    regions and product lines the home-made target sheet names."""
    settings = Settings.default()
    settings.roster = [RosterEntry(rep=r) for r in dict.fromkeys([*owners, *extra_reps])]
    settings.lists += [ListItem(list="regions", zh=z, order=i) for i, z in enumerate(REGIONS)]
    settings.lists += [ListItem(list="product_lines", zh=z, order=i)
                       for i, z in enumerate(PRODUCTS)]
    return settings


def _owners(e: Export) -> list[str]:
    key = OWNER_COLUMN[e.table]
    return sorted({r[key] for r in e.expected if r.get(key)})


def _book(root: Path, table: str) -> Path:
    return book_path(root, BOOK_OF_TABLE[table].key)


def _read(root: Path, table: str) -> pd.DataFrame:
    """The table read back from the workspace, rows holding something, in sheet order."""
    if table in CUSTOMER_TABLES:
        from xlsales.jobs.sources import load_customers

        df = load_customers(root, (table,)).frame(table)
    else:  # targets, daily: read as load_targets and load_daily read them
        from xlsales.io.read import read_table
        from xlsales.jobs.sources import workspace_settings
        from xlsales.tables import get

        df = read_table(_book(root, table), get(table), workspace_settings(root)).df
    return df[df.notna().any(axis=1)]


def _blank(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (
        isinstance(value, float) and math.isnan(value))


def _equal(want: Any, got: Any) -> bool:
    """A value read back against the export's expectation: amounts closely, dates and
    date-times exactly (a date has no time), text and list values as written."""
    if want is None:
        return _blank(got)
    if _blank(got):
        return False
    if isinstance(want, float):
        return math.isclose(float(got), want, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(want, dt.datetime):
        return pd.Timestamp(got) == pd.Timestamp(want)
    if isinstance(want, dt.date):
        return pd.Timestamp(got) == pd.Timestamp(want)  # midnight: no time of day
    if isinstance(want, int):
        return float(got) == want
    return str(got) == want


def _mismatches(expected: list[Row], got: pd.DataFrame) -> list[tuple[int, str, Any, Any]]:
    """(position, key, expected, read back) of every provided key that differs."""
    assert len(got) == len(expected)
    out = []
    for i, (want, (_, row)) in enumerate(zip(expected, got.iterrows(), strict=True)):
        out += [(i, k, v, row.get(k)) for k, v in want.items() if not _equal(v, row.get(k))]
    return out


def _line(e: Export, position: int) -> int:
    """The file's line (CSV) or row (xlsx) of expected row ``position``."""
    return e.header_row + 1 + position


def _kept_out(e: Export) -> list[int]:
    """The positions of the expected rows the import must reject."""
    blank = BLANK_REJECTS.get(e.key)
    return [] if blank is None else [i for i, r in enumerate(e.expected) if r[blank[0]] is None]


def _generate(tmp_path: Path, key: str, fmt: str | None = None, n: int = N) -> Export:
    kw = {"fmt": fmt} if fmt else {}
    return GENERATORS[key](tmp_path / "export", n=n, seed=SEED, **kw)


def _files(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(root.iterdir()) if p.is_file()}


def _counts(result: ImportResult) -> dict[str, dict[str, int]]:
    return {k: t.counts() for k, t in result.plan.tables.items()}


def _rewrite_csv(e: Export, edits: dict[tuple[int, str], str]) -> None:
    """The export rewritten in its own encoding, with {(expected position, header): text}
    changed."""
    encoding = ENCODINGS[e.fmt]
    with e.path.open(encoding=encoding, newline="") as fh:
        lines = list(csv.reader(fh))
    head = e.header_row - 1
    where = {h: i for i, h in enumerate(lines[head])}
    for (position, header), text in edits.items():
        lines[head + 1 + position][where[header]] = text
    with e.path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows(lines)


@pytest.fixture(scope="module")
def blank_team(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh workspace, written once, whose roster holds the owners of every export
    these tests make (the generators draw them from the seed, whatever the format)."""
    folder = tmp_path_factory.mktemp("owners")
    owners: list[str] = []
    for key, gen in GENERATORS.items():
        n = UPDATES[key][1] if key in UPDATES else N
        for size in sorted({N, n}):
            owners += _owners(gen(folder / f"{key.replace('/', '_')}_{size}", n=size,
                                  seed=SEED))
    root = tmp_path_factory.mktemp("blank") / "team"
    write_workspace(root, _settings(sorted(set(owners))), lang="zh")
    return root


@pytest.fixture
def team(blank_team: Path, tmp_path: Path) -> Path:
    """A copy of the fresh workspace for the test to import into."""
    root = tmp_path / "team"
    shutil.copytree(blank_team, root)
    return root


def test_cases_cover_every_format() -> None:
    """The round trips read every encoding, and a title row in xlsx and in CSV."""
    default = {key: inspect.signature(gen).parameters["fmt"].default
               for key, gen in GENERATORS.items()}
    fmts = {fmt or default[key] for key, fmt in CASES}
    assert fmts == set(FORMATS)
    assert default["fxiaoke/opportunities"] == "xlsx"  # with its title row
    assert ("dingtalk/daily", "csv-gbk") in CASES  # a title row above a GBK CSV's header


# -- 1. round trips ------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_round_trip(tmp_path: Path, team: Path, case: tuple[str, str | None]) -> None:
    """Every export comes in as the rows it should give (only its deliberate gaps are
    rejected, with their line and reason), and importing it again changes nothing."""
    key, fmt = case
    e = _generate(tmp_path, key, fmt)
    root = team
    assert set(_owners(e)) <= set(read_settings(root).reps())
    result = run_import(e.path, root, today=TODAY)
    plan = result.plan
    assert plan.mapping.key == key and plan.mapping.table == e.table
    assert plan.source.header_row == e.header_row
    assert not plan.unknown and not plan.main.clashes
    out = _kept_out(e)
    assert [r.line for r in plan.main.rejected] == [_line(e, i) for i in out]
    if out:
        _, header = BLANK_REJECTS[key]
        assert {r.column for r in plan.main.rejected} == {header}
        assert all(header in r.reason for r in plan.main.rejected)
    kept = [r for i, r in enumerate(e.expected) if i not in out]
    assert plan.main.counts() == {"new": len(kept), "updated": 0, "unchanged": 0,
                                  "rejected": len(out), "clashes": 0}
    book = _book(root, e.table)
    assert result.written == book and result.map_file == root / MAP_FILE
    got = _read(root, e.table)
    assert _mismatches(kept, got) == []
    if e.table == "opportunities":  # imported as they are: no stage moved
        assert plan.tables["stage_history"].counts()["new"] == 0
        assert _read(root, "stage_history").empty

    before = _files(root)
    again = run_import(e.path, root, today=TODAY)
    assert again.written is None
    assert again.plan.mapping.saved
    assert _files(root) == before  # the workbook's bytes, and the map's
    assert again.plan.main.counts() == {"new": 0, "updated": 0, "unchanged": len(kept),
                                        "rejected": len(out), "clashes": 0}
    assert all(not t.changes for t in again.plan.tables.values())


# -- 2. dry runs ---------------------------------------------------------------------------

DRY_KEYS = ["salesforce/opportunities", "plain_zh/customers", "dingtalk/daily",
            "plain_zh/targets", "crm_sample/opportunities"]


@pytest.mark.parametrize("key", DRY_KEYS)
def test_a_dry_run_counts_what_the_run_does(tmp_path: Path, team: Path, key: str) -> None:
    """A dry run plans exactly what the real run then does, and writes nothing: not the
    workbook, not the import map, no temporary file."""
    e = _generate(tmp_path, key)
    root = team
    before = _files(root)
    dry = run_import(e.path, root, dry_run=True, today=TODAY)
    assert _files(root) == before and not (root / MAP_FILE).exists()
    assert dry.written is None and dry.map_file is None and dry.dry_run
    real = run_import(e.path, root, today=TODAY)
    assert _counts(dry) == _counts(real)
    assert dry.as_dict()["rejected"] == real.as_dict()["rejected"]
    assert dry.plan.main.new == real.plan.main.new
    assert real.written is not None and _files(root) != before


# -- 3. updated exports --------------------------------------------------------------------

@dataclass
class Update:
    """An export edited after its first import: the file edits, the expected rows after
    the re-import, and the stage moves it should record (position, from, to, date)."""

    edits: dict[tuple[int, str], str]
    expected: list[Row]
    changed: set[int]
    moves: list[tuple[int, str, str, dt.date]]


def _salesforce_update(e: Export) -> Update:
    """Two open deals move on (the report says no date: they moved on the import's day),
    one is won (on its close date), three amounts change."""
    rows = [dict(r) for r in e.expected]
    opens = [i for i, r in enumerate(rows) if r["stage"] in OPEN[:-1]]
    moved, won = opens[:2], opens[2]
    others = [i for i in range(len(rows)) if i not in opens[:3]][:3]
    edits: dict[tuple[int, str], str] = {}
    moves = []
    for i in moved:
        edits[(i, "Stage")] = "Negotiation/Review"
        moves.append((i, rows[i]["stage"], "报价与谈判", TODAY))
        rows[i].update(stage="报价与谈判", stage_entered=TODAY)
    edits[(won, "Stage")] = "Closed Won"
    close = rows[won]["expected_close"]
    moves.append((won, rows[won]["stage"], "签约成交", close))
    rows[won].update(stage="签约成交", closed_on=close, stage_entered=close)
    for i in others:
        yuan = round(rows[i]["amount"] * 1e4) + 12_300
        edits[(i, "Amount")] = f"CNY {yuan:,.2f}"
        rows[i]["amount"] = yuan / 1e4
    return Update(edits, rows, {*opens[:3], *others}, moves)


def _crm_sample_update(e: Export) -> Update:
    """An engaged deal is won (close date and value given), a prospect is engaged (no
    date: the import's day), a won deal's value is corrected."""
    rows = [dict(r) for r in e.expected]
    engaged = next(i for i, r in enumerate(rows) if r["stage"] == "需求分析" and r["customer"])
    prospect = next(i for i, r in enumerate(rows)
                    if r["stage"] == "潜在客户识别" and r["customer"])
    won = next(i for i, r in enumerate(rows) if r["stage"] == "签约成交")
    day = dt.date(2017, 12, 20)
    edits = {(engaged, "deal_stage"): "Won", (engaged, "close_date"): day.isoformat(),
             (engaged, "close_value"): "1234", (prospect, "deal_stage"): "Engaging",
             (won, "close_value"): str(round(rows[won]["amount"] * 1e4) + 100)}
    moves = [(engaged, "需求分析", "签约成交", day), (prospect, "潜在客户识别", "需求分析", TODAY)]
    rows[engaged].update(stage="签约成交", closed_on=day, expected_close=day,
                         stage_entered=day, amount=0.1234)
    rows[prospect].update(stage="需求分析", stage_entered=TODAY)
    rows[won]["amount"] = round(rows[won]["amount"] * 1e4 + 100) / 1e4
    return Update(edits, rows, {engaged, prospect, won}, moves)


def _plain_customers_update(e: Export) -> Update:
    """A GBK customer list: two budgets and two customer stages change."""
    rows = [dict(r) for r in e.expected]
    budgets = [0, 1]
    stages = [i for i, r in enumerate(rows) if i > 1 and r["stage"] != "成交客户"][:2]
    edits: dict[tuple[int, str], str] = {}
    for i in budgets:
        edits[(i, "预算")] = "66万"
        rows[i]["budget"] = 66.0
    for i in stages:
        edits[(i, "客户状态")] = "已成交"
        rows[i]["stage"] = "成交客户"
    return Update(edits, rows, {*budgets, *stages}, [])


UPDATES: dict[str, tuple[Callable[[Export], Update], int]] = {
    "salesforce/opportunities": (_salesforce_update, N),
    "crm_sample/opportunities": (_crm_sample_update, 150),  # enough prospects with accounts
    "plain_zh/customers": (_plain_customers_update, N),
}


@pytest.mark.parametrize("key", list(UPDATES))
def test_an_updated_export_updates_its_rows(tmp_path: Path, team: Path, key: str) -> None:
    """The same export with a few amounts and stages changed (same ids): those rows are
    updated, nothing is new, the values read back changed and nothing else did; every
    opportunity whose stage moved has its stage-history row, dated when the file says
    (its close date) or else on the import's day; once more, nothing changes."""
    make, n = UPDATES[key]
    e = _generate(tmp_path, key, n=n)
    root = team
    run_import(e.path, root, today=TODAY)
    update = make(e)
    _rewrite_csv(e, update.edits)
    out = set(_kept_out(e))
    dry = run_import(e.path, root, dry_run=True, today=TODAY)
    result = run_import(e.path, root, today=TODAY)
    assert _counts(dry) == _counts(result)
    main = result.plan.main
    kept = [i for i in range(len(e.expected)) if i not in out]
    assert main.counts() == {"new": 0, "updated": len(update.changed),
                             "unchanged": len(kept) - len(update.changed),
                             "rejected": len(out), "clashes": 0}
    assert sorted(main.update_lines.values()) == sorted(_line(e, i) for i in update.changed)
    assert _mismatches([update.expected[i] for i in kept], _read(root, e.table)) == []
    if e.table == "opportunities":
        history = _read(root, "stage_history")
        got = sorted(zip(history["opp_id"], history["from_stage"], history["to_stage"],
                         history["date"].dt.date, history["owner"], strict=True))
        want = sorted((e.expected[i]["opp_id"], old, new, day, e.expected[i]["owner"])
                      for i, old, new, day in update.moves)
        assert got == want
        assert result.plan.tables["stage_history"].counts()["new"] == len(update.moves)
    again = run_import(e.path, root, today=TODAY + dt.timedelta(days=3))
    assert again.written is None and not again.plan.changes


# -- 4. unknown stages and owners, through the CLI -----------------------------------------

def _cli_import(path: Path, root: Path, *extra: str) -> dict[str, Any]:
    out = CliRunner().invoke(app, ["import", str(path), "-w", str(root), "--yes", "--json",
                                   "--on", TODAY.isoformat(), *extra])
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)


def test_unknown_stages_and_owners_are_counted_and_wait_in_the_map(tmp_path: Path) -> None:
    """A rep the roster does not know (the CRM's pinyin name) and a stage the profile
    does not know keep their rows out, counted per value; the map gets empty entries;
    once they are filled in, the same command brings exactly those rows in."""
    e = _generate(tmp_path, "salesforce/opportunities")
    stranger = e.expected[0]["owner"]
    theirs = [i for i, r in enumerate(e.expected) if r["owner"] == stranger]
    stalled = [i for i, r in enumerate(e.expected) if r["owner"] != stranger][:3]
    _rewrite_csv(e, {(i, "Stage"): "Stalled" for i in stalled})
    owners = [o for o in _owners(e) if o != stranger]
    root = tmp_path / "team"
    write_workspace(root, _settings(owners, extra_reps=("李娜",)), lang="zh",
                    books=["customers", "settings"])

    text = CliRunner().invoke(app, ["import", str(e.path), "-w", str(root), "--dry-run"])
    assert text.exit_code == 0, text.output
    assert "Stalled × 3" in text.output and f"{stranger} × {len(theirs)}" in text.output

    first = _cli_import(e.path, root)
    assert first["unknown"] == {"owner": {stranger: len(theirs)}, "stage": {"Stalled": 3}}
    out = sorted([*theirs, *stalled])
    assert [r["line"] for r in first["rejected"]] == [_line(e, i) for i in out]
    assert first["counts"]["opportunities"] == {"new": N - len(out), "updated": 0,
                                                "unchanged": 0, "rejected": len(out),
                                                "clashes": 0}
    map_file = root / MAP_FILE
    assert first["map_file"] == str(map_file)
    text_map = map_file.read_text(encoding="utf-8")
    values = tomllib.loads(text_map)["sources"]["salesforce/opportunities"]["values"]
    assert values["owner"] == {stranger: ""} and values["stage"]["Stalled"] == ""
    assert len(_read(root, "opportunities")) == N - len(out)

    map_file.write_text(text_map.replace(f'"{stranger}" = ""', f'"{stranger}" = "李娜"')
                        .replace('"Stalled" = ""', '"Stalled" = "需求分析"'), encoding="utf-8")
    second = _cli_import(e.path, root)
    assert second["unknown"] == {} and second["rejected"] == []
    assert second["map_saved_before"]
    assert second["counts"]["opportunities"] == {"new": len(out), "updated": 0,
                                                 "unchanged": N - len(out), "rejected": 0,
                                                 "clashes": 0}
    opps = _read(root, "opportunities").set_index("opp_id")
    assert set(opps.loc[[e.expected[i]["opp_id"] for i in theirs], "owner"]) == {"李娜"}
    assert set(opps.loc[[e.expected[i]["opp_id"] for i in stalled], "stage"]) == {"需求分析"}
    assert len(opps) == N
    third = _cli_import(e.path, root)
    assert third["written"] is None
    assert third["counts"]["opportunities"]["unchanged"] == N


# -- 5. the "CRM Sales Opportunities" dataset, checked against pandas ----------------------

@dataclass
class Crm:
    folder: Path
    root: Path
    result: ImportResult
    pipeline: pd.DataFrame  # sales_pipeline.csv joined with sales_teams.csv, by pandas
    opps: pd.DataFrame  # the opportunities read back
    history: pd.DataFrame
    settings: Settings


def _cli_json(*args: str) -> dict[str, Any]:
    out = CliRunner().invoke(app, [*args, "--json"])
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> Crm:
    """The 8,000-row dataset imported into a workspace whose roster is sales_teams.csv."""
    from xlsales.jobs.sources import load_customers

    folder = tmp_path_factory.mktemp("crm")
    write_crm_dataset(folder / "data", n=8000, seed=0)
    teams = pd.read_csv(folder / "data" / "sales_teams.csv", dtype=str, keep_default_na=False)
    settings = Settings.default()
    offices = sorted(set(teams["regional_office"]))
    settings.lists += [ListItem(list="regions", zh=o, en=o, order=i)
                       for i, o in enumerate(offices)]
    settings.roster = [RosterEntry(rep=t.sales_agent, region=t.regional_office,
                                   manager=t.manager) for t in teams.itertuples()]
    root = folder / "team"
    write_workspace(root, settings, lang="zh")
    result = run_import(folder / "data" / "sales_pipeline.csv", root, profile="crm_sample",
                        today=dt.date(2018, 1, 2))
    pipeline = pd.read_csv(folder / "data" / "sales_pipeline.csv", dtype=str,
                           keep_default_na=False)
    pipeline["close_value"] = pd.to_numeric(pipeline["close_value"].replace("", None))
    pipeline = pipeline.merge(teams, on="sales_agent", how="left", validate="many_to_one")
    ws = load_customers(root, ("opportunities", "stage_history"))
    return Crm(folder, root, result, pipeline, ws.frame("opportunities"),
               ws.frame("stage_history"), ws.settings)


def _months(first: dt.date, last: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    out = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        end = dt.date(year, month, calendar.monthrange(year, month)[1])
        out.append((f"{year}-{month:02d}", dt.date(year, month, 1), end))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def _close(a: dict[Any, float], b: dict[Any, float]) -> bool:
    return a.keys() == b.keys() and all(math.isclose(a[k], b[k], rel_tol=1e-9, abs_tol=1e-6)
                                        for k in a)


def test_crm_gaps_are_rejected_and_counted(crm: Crm) -> None:
    """The open deals without an account stay out, each with its line and the reason
    naming the file's column (an opportunity needs its customer), and are counted; a
    Prospecting deal with an account comes in without a creation or stage date (the file
    has none), and the forecast names the open deals it cannot place (no close date)."""
    p = crm.pipeline
    plan = crm.result.plan
    blank = p.index[p["account"] == ""]
    assert set(p.loc[blank, "deal_stage"]) <= {"Engaging", "Prospecting"}
    assert [r.line for r in plan.main.rejected] == [int(i) + 2 for i in blank]
    assert {r.reason for r in plan.main.rejected} == {"缺少account"}
    assert {r.column for r in plan.main.rejected} == {"account"}
    assert plan.blank_needed == {"customer": len(blank), "stage": 0}
    assert plan.main.counts() == {"new": len(p) - len(blank), "updated": 0, "unchanged": 0,
                                  "rejected": len(blank), "clashes": 0}
    assert not plan.unknown and crm.result.written is not None
    assert len(crm.opps) == len(p) - len(blank) and crm.history.empty
    prospects = crm.opps[crm.opps["stage"] == "潜在客户识别"]
    assert len(prospects) == ((p["deal_stage"] == "Prospecting") & (p["account"] != "")).sum()
    assert prospects["created_on"].isna().all() and prospects["stage_entered"].isna().all()
    engaged = crm.opps[crm.opps["stage"] == "需求分析"]
    assert engaged["stage_entered"].notna().all()
    assert (engaged["stage_entered"] == engaged["created_on"]).all()
    fc = _cli_json("forecast", "--period", "2017", "--by", "rep", "-w", str(crm.root))
    opened = (p["deal_stage"].isin(["Engaging", "Prospecting"]) & (p["account"] != "")).sum()
    assert fc["left_out"]["no_close_date"]["count"] == opened


def test_crm_won_by_month_and_office(crm: Crm) -> None:
    """Won amounts per month of close_date × regional office: pandas on the CSV files,
    the workbook's rows joined with the roster's regions, and xlsales's forecast by
    region month by month, all agree (万元 = 元 / 10,000)."""
    p = crm.pipeline
    won = p[p["deal_stage"] == "Won"]
    truth = (won.groupby([won["close_date"].str[:7], "regional_office"])["close_value"].sum()
             / 1e4).to_dict()
    opps = crm.opps[crm.opps["stage"] == "签约成交"]
    region = {r.rep: r.region for r in crm.settings.roster}
    mine = opps.groupby([opps["closed_on"].dt.strftime("%Y-%m"),
                         opps["owner"].map(region)])["amount"].sum().to_dict()
    assert _close(mine, truth)

    from xlsales.performance import Targets
    from xlsales.pipeline import forecast

    figures: dict[tuple[str, str], float] = {}
    for month, first, last in _months(dt.date(2016, 10, 1), dt.date(2017, 12, 31)):
        fc = forecast(crm.opps, Targets(), crm.settings, first, last, by="region")
        figures.update({(month, r.key): r.won for r in fc.rows if r.won})
    assert _close(figures, truth)


def test_crm_won_by_agent(crm: Crm) -> None:
    """Won amounts per sales agent: ``xlsales forecast --by rep --json`` against pandas."""
    p = crm.pipeline
    won = p[p["deal_stage"] == "Won"]
    assert won["close_date"].str.startswith("2017").all()
    truth = (won.groupby("sales_agent")["close_value"].sum() / 1e4).to_dict()
    fc = _cli_json("forecast", "--period", "2017", "--by", "rep", "-w", str(crm.root))
    assert _close({r["key"]: r["won"] for r in fc["rows"] if r["won"]}, truth)
    before = _cli_json("forecast", "--period", "2016", "--by", "rep", "-w", str(crm.root))
    assert all(r["won"] == 0 for r in before["rows"])


def test_crm_win_rate(crm: Crm) -> None:
    """The win rate, won ÷ (won + lost) of the deals closed in 2017, of the team and of
    every agent: xlsales's review figures against pandas."""
    from xlsales.performance import Targets
    from xlsales.review import ReviewData, figures

    p = crm.pipeline
    closed = p[p["deal_stage"].isin(["Won", "Lost"])]
    assert closed["close_date"].str.startswith("2017").all()
    data = ReviewData(crm.settings, Targets(), [], crm.opps, crm.history)
    first, last = dt.date(2017, 1, 1), dt.date(2017, 12, 31)
    team = figures(data, first, last)
    truth = (closed["deal_stage"] == "Won").mean()
    assert team.values["win_rate"] == pytest.approx(truth, rel=1e-12)
    assert team.sales_source == "opportunities"
    assert team.values["sales"] == pytest.approx(
        closed["close_value"][closed["deal_stage"] == "Won"].sum() / 1e4, rel=1e-12)
    by_agent = closed.groupby("sales_agent")["deal_stage"].apply(lambda s: (s == "Won").mean())
    for agent, rate in by_agent.items():
        assert figures(data, first, last, reps=[agent]).values["win_rate"] == pytest.approx(
            rate, rel=1e-12), agent


def test_crm_stage_counts(crm: Crm) -> None:
    """Deals per stage: ``xlsales funnel --json`` (open deals per stage, deals won) and
    the workbook's rows against pandas (open deals without an account stay out)."""
    p = crm.pipeline
    counts = p["deal_stage"].value_counts()
    with_account = p[p["account"] != ""]["deal_stage"].value_counts()
    assert with_account["Won"] == counts["Won"] and with_account["Lost"] == counts["Lost"]
    stored = crm.opps["stage"].value_counts().to_dict()
    assert stored == {"签约成交": counts["Won"], "输单": counts["Lost"],
                      "需求分析": with_account["Engaging"],
                      "潜在客户识别": with_account["Prospecting"]}
    fu = _cli_json("funnel", "--period", "2017", "-w", str(crm.root), "--on", "2017-12-31")
    open_counts = {s["stage"]: s["open_count"] for s in fu["stages"]}
    assert open_counts == {"潜在客户识别": with_account["Prospecting"], "初步接触": 0,
                           "需求分析": with_account["Engaging"], "方案提交": 0, "报价与谈判": 0}
    assert fu["won_count"] == counts["Won"]
    won = p["close_value"][p["deal_stage"] == "Won"]
    assert fu["won_amount"] == pytest.approx(won.sum() / 1e4, rel=1e-12)
    assert fu["average_deal"] == pytest.approx(won.mean() / 1e4, rel=1e-12)


# -- 6. atomicity --------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["put_rows", "replace"])
def test_a_failure_mid_import_leaves_the_workbook(tmp_path: Path, team: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  where: str) -> None:
    """An import that changes two tables (a stage moves: the opportunity and its history
    row) fails after the first table is written, or at the final replace: the workbook
    keeps its bytes, no temporary file is left; the next run imports it all."""
    from xlsales.errors import WorkbookError
    from xlsales.io import atomic
    from xlsales.io.edit import rows as edit_rows

    e = _generate(tmp_path, "salesforce/opportunities")
    root = team
    run_import(e.path, root, today=TODAY)
    update = _salesforce_update(e)
    _rewrite_csv(e, update.edits)
    book = _book(root, e.table)
    before = _files(root)
    written: list[str] = []
    real = edit_rows.put_rows

    def flaky(wb: Any, table: Any, **kw: Any) -> list[int]:
        if written:
            raise RuntimeError("the disk went away")
        written.append(table.spec.key)
        return real(wb, table, **kw)

    def broken(*_a: Any) -> None:
        raise OSError("disk full")

    if where == "put_rows":
        monkeypatch.setattr(edit_rows, "put_rows", flaky)
        with pytest.raises(RuntimeError, match="disk went away"):
            run_import(e.path, root, today=TODAY)
        assert written == ["opportunities"]
    else:
        monkeypatch.setattr(atomic.os, "replace", broken)
        with pytest.raises(WorkbookError, match="disk full"):
            run_import(e.path, root, today=TODAY)
    monkeypatch.undo()
    after = _files(root)
    assert after[book.name] == before[book.name]
    assert set(after) == set(before)
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(TEMP_SUFFIX)]
    result = run_import(e.path, root, today=TODAY)
    assert result.written == book
    assert result.plan.main.counts()["updated"] == len(update.changed)
    assert result.plan.tables["stage_history"].counts()["new"] == len(update.moves)
