"""Weekly pipeline snapshots in the team ledger, ``xlsales forecast --accuracy`` and the
review's forecast accuracy of the last three months (issue 17) — against SQLite and a
real PostgreSQL server (tests/pg_server.py).

The hand-computed example: a two-rep team (default stages: 需求分析 0.25, 方案提交 0.5,
报价与谈判 0.75, commit ≥ 0.75), quarter 2024Q1, its opportunities table edited between
commands run on dates of different ISO weeks (the tests pin the system's date to
``--on``, see :func:`cli`):

* 2024-01-02 (W01): O1 赵一 报价与谈判 100 exp. 02-10 → 75 (commit); O2 赵一 方案提交 40
  exp. 03-20 → 20; O3 钱二 需求分析 80 exp. 02-01 → 20; O4 钱二 方案提交 60 exp. 05-01
  (outside). 赵一 95 / commit 75; 钱二 20 / 0; team 115 / 75.
* 2024-01-05 (W01 again): O2's amount typed as 400 — the week's first snapshot is kept.
* 2024-02-15 (W07): O1 won 02-12; O2 back to 40, 报价与谈判 → 30; O3 lost 02-05; O4
  报价与谈判 exp. 03-25 → 45. 赵一 100 won + 30 = 130 / 130; 钱二 45 / 45; team 175 / 175.
* 2024-03-01 (W09): unchanged — the same figures as 02-15.
* 2024-04-10 (W15): O2 won 03-18, O4 won 04-02. Won in 2024Q1: 赵一 140, 钱二 0, team 140.

The review of 2024-03 (months January to March): January's start snapshot is 01-02
(forecast 0, won 0), February has none (its 100 won count for nothing), March's is
03-01 (O2 30 + O4 45 = 75 against 40 won): accuracy 1 − (0 + 35) ÷ (0 + 40) = 0.125.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from tests.test_ledger import edit_cells
from xlsales import accuracy as A
from xlsales.cli import app
from xlsales.jobs.accuracy import FROM_LEDGER, RECONSTRUCTED, RECONSTRUCTED_SHORT
from xlsales.ledger import hook
from xlsales.ledger.store import HEAD, Ledger, migrate, revision
from xlsales.settings import RosterEntry, Settings
from xlsales.tables.review import TREND
from xlsales.workspace import write_workspace

pytestmark = pytest.mark.usefixtures("ledger_on")  # these tests record

runner = CliRunner()
D = dt.date
TEAM = "测试团队"




def settings() -> Settings:
    s = Settings.default()
    s.general.team_name = TEAM
    s.roster = [RosterEntry(rep="赵一", region="华东", product_line="产品线A"),
                RosterEntry(rep="钱二", region="华东", product_line="产品线A")]
    return s


def opp(oid: str, owner: str, stage: str, amount: float, expected: str) -> dict[str, Any]:
    return {"opp_id": oid, "customer": f"客户{oid}有限公司", "owner": owner, "stage": stage,
            "amount": amount, "created_on": D(2023, 12, 1), "stage_entered": D(2023, 12, 15),
            "expected_close": D.fromisoformat(expected), "closed_on": None,
            "lost_reason": None}


def workspace(root: Path) -> Path:
    """The example team as it stood on 2024-01-02."""
    opps = [opp("O1", "赵一", "报价与谈判", 100, "2024-02-10"),
            opp("O2", "赵一", "方案提交", 40, "2024-03-20"),
            opp("O3", "钱二", "需求分析", 80, "2024-02-01"),
            opp("O4", "钱二", "方案提交", 60, "2024-05-01")]
    history = [{"opp_id": o["opp_id"], "customer": o["customer"], "owner": o["owner"],
                "from_stage": None, "to_stage": o["stage"], "date": D(2023, 12, 15)}
               for o in opps]
    customers = [{"customer_id": f"C{i}", "name": o["customer"], "owner": o["owner"],
                  "stage": "意向客户"} for i, o in enumerate(opps, 1)]
    write_workspace(root, settings(), {"opportunities": opps, "stage_history": history,
                                       "customers": customers},
                    books=("settings", "daily", "customers"))
    return root


def edit_opps(root: Path, changes: dict[str, dict[str, Any]]) -> None:
    """Type new values into the opportunities table (by id and column), in place."""
    from xlsales import tables as T
    from xlsales.io.read import read_table
    from xlsales.jobs.sources import workspace_settings

    path = root / "customers.xlsx"
    table = read_table(path, T.get("opportunities"), workspace_settings(root))
    rows = dict(zip(table.df["opp_id"], table.df.index, strict=True))
    cells = {table.cell(col, rows[oid]): value
             for oid, values in changes.items() for col, value in values.items()}
    edit_cells(path, table.sheet, cells)


def cli(url: str, *args: str, real: bool = False) -> Any:
    """Run the command as if run on its ``--on`` day: the system's date is pinned to it
    (:func:`xlsales.ledger.hook.system_today`, the one source of the real date), so a
    snapshot is taken on that day as a team running it then would take it; ``real``: run
    on the real date, ``--on`` only the command's day."""
    pre = ["--ledger", url] if url.startswith("postgresql") else []
    on = [args[i + 1] for i, a in enumerate(args[:-1]) if a == "--on"]
    with pytest.MonkeyPatch.context() as mp:
        if on and not real:
            mp.setattr(hook, "system_today", lambda: D.fromisoformat(on[0]))
        result = runner.invoke(app, [*pre, *args])
    assert result.exit_code in (0, 1), (args, result.output, result.exception)
    return result


def ledger_of(root: Path, url: str) -> str:
    """The URL the CLI records into for this engine (sqlite: the workspace's own file)."""
    return url if url.startswith("postgresql") else f"sqlite:///{hook.default_path(root)}"


def stored(root: Path, url: str) -> pd.DataFrame:
    ledger = Ledger.open(ledger_of(root, url))
    try:
        return ledger.snapshots(TEAM)
    finally:
        ledger.close()


def forecast(root: Path, url: str, on: str) -> None:
    cli(url, "forecast", "-w", str(root), "--period", "2024Q1", "--on", on)


def run_weeks(root: Path, url: str) -> None:
    """The example's commands and edits (module docstring), up to 2024-03-01."""
    forecast(root, url, "2024-01-02")
    edit_opps(root, {"O2": {"amount": 400}})
    forecast(root, url, "2024-01-05")
    edit_opps(root, {"O1": {"stage": "签约成交", "closed_on": D(2024, 2, 12)},
                     "O2": {"amount": 40, "stage": "报价与谈判"},
                     "O3": {"stage": "输单", "closed_on": D(2024, 2, 5), "lost_reason": "价格"},
                     "O4": {"stage": "报价与谈判", "expected_close": D(2024, 3, 25)}})
    forecast(root, url, "2024-02-15")
    cli(url, "alerts", "-w", str(root), "--on", "2024-03-01")  # any reader of the table
    edit_opps(root, {"O2": {"stage": "签约成交", "closed_on": D(2024, 3, 18)},
                     "O4": {"stage": "签约成交", "closed_on": D(2024, 4, 2)}})


def by(rows: list[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    return {(r["snapshot_date"], r["level"], r["key"]): r for r in rows}


# -- the migration -------------------------------------------------------------------------


def test_r0003_to_r0004_keeps_the_data_and_down_again(url: str) -> None:
    engine = sa.create_engine(url)
    now = dt.datetime(2024, 3, 5, 9, 0)
    with engine.begin() as conn:
        migrate(conn, "0003")
        conn.execute(sa.text(
            "INSERT INTO ledger_rows (team, tbl, key, hash, version, first_seen, changed_at, "
            "source, deleted) VALUES ('t', 'opportunities', 'O1', 7, 1, :n, :n, "
            "'customers.xlsx', false)"), {"n": now})
        conn.execute(sa.text(
            "INSERT INTO ledger_sources (team, tbl, source, digest, rows, recorded_at, "
            "fingerprint) VALUES ('t', 'opportunities', 'customers.xlsx', 'abc', 1, :n, "
            "'fp')"), {"n": now})
    with engine.begin() as conn:
        migrate(conn, "0004")
        assert revision(conn) == "0004"
        assert conn.execute(sa.text("SELECT count(*) FROM ledger_snapshots")).scalar() == 0
    engine.dispose()
    ledger = Ledger.open(url)  # opening upgrades to the newest revision
    try:
        with ledger.engine.connect() as conn:
            assert revision(conn) == HEAD and int(HEAD) >= 4
            kept = conn.execute(sa.text("SELECT digest, fingerprint FROM ledger_sources")).all()
        assert [tuple(r) for r in kept] == [("abc", "fp")]
        assert ledger.keys_like("t", "opportunities", "O") == [("opportunities", "O1")]
        assert len(ledger.snapshots("t")) == 0
        assert ledger.record_snapshot("t", A.snapshot(pd.DataFrame({
            "opp_id": ["O1"], "customer": ["c"], "owner": ["赵一"], "stage": ["方案提交"],
            "amount": [10.0], "expected_close": [pd.Timestamp("2024-03-01")],
            "closed_on": [pd.NaT]}), Settings.default(), D(2024, 2, 1)), D(2024, 2, 1))
        assert ledger.snapshots("t")["amount"].tolist() == [10.0]
    finally:
        ledger.close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        migrate(conn, "0003")
    names = set(sa.inspect(engine).get_table_names())
    assert not names & {"ledger_snapshots", "ledger_snapshot_weeks"}
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT key FROM ledger_rows")).scalars().all() == ["O1"]
    engine.dispose()


# -- snapshots, the accuracy and the review, figure by figure ----------------------------------


def test_snapshots_accuracy_and_review_of_the_example(url: str, tmp_path: Path) -> None:
    root = workspace(tmp_path / "team")
    run_weeks(root, url)
    snaps = stored(root, url)
    # one snapshot per ISO week read (W01, W07, W09); W01's is its first read (O2 at 40)
    assert sorted({d.date() for d in snaps["snapshot_date"]}) == [
        D(2024, 1, 2), D(2024, 2, 15), D(2024, 3, 1)]
    first = snaps[snaps["snapshot_date"] == pd.Timestamp("2024-01-02")].set_index("opp_id")
    assert first.loc["O2", "amount"] == 40.0 and len(first) == 4
    assert first["commit"].to_dict() == {"O1": True, "O2": False, "O3": False, "O4": False}
    assert first["probability"].to_dict() == {"O1": 0.75, "O2": 0.5, "O3": 0.25, "O4": 0.5}

    result = cli(url, "forecast", "-w", str(root), "--accuracy", "2024Q1", "--on",
                 "2024-04-10", "--json")
    out = json.loads(result.stdout)
    assert out["ok"] and out["source"] == "ledger" and out["reconstructed"] is False
    assert out["note"] is None and out["period_over"] is True
    assert out["snapshots"] == ["2024-01-02", "2024-02-15", "2024-03-01"]
    rows = by(out["rows"])
    assert len(rows) == 3 * 3  # three snapshots × (two reps + the team)
    expected = {  # (forecast, commit forecast, actual)
        ("2024-01-02", "rep", "赵一"): (95, 75, 140), ("2024-01-02", "rep", "钱二"): (20, 0, 0),
        ("2024-01-02", "team", TEAM): (115, 75, 140),
        **{(d, lv, k): f for d in ("2024-02-15", "2024-03-01") for (lv, k), f in {
            ("rep", "赵一"): (130, 130, 140), ("rep", "钱二"): (45, 45, 0),
            ("team", TEAM): (175, 175, 140)}.items()}}
    assert set(rows) == set(expected)
    for key, (fc, cfc, won) in expected.items():
        r = rows[key]
        assert (r["forecast"], r["commit_forecast"], r["actual"]) == pytest.approx(
            (fc, cfc, won)), key
        if won:
            assert r["ratio"] == pytest.approx(fc / won)
            assert r["error"] == pytest.approx(abs(fc - won) / won)
            assert r["commit_error"] == pytest.approx(abs(cfc - won) / won)
        else:
            assert r["ratio"] is None and r["error"] is None
    assert rows[("2024-01-02", "team", TEAM)]["error"] == pytest.approx(25 / 140)
    assert rows[("2024-02-15", "team", TEAM)]["ratio"] == pytest.approx(1.25)
    assert rows[("2024-02-15", "rep", "赵一")]["won_to_date"] == pytest.approx(100)
    assert rows[("2024-02-15", "rep", "赵一")]["weighted"] == pytest.approx(30)
    assert [r["key"] for r in out["rows"]][:3] == [TEAM] * 3  # the team first

    text = cli(url, "forecast", "-w", str(root), "--accuracy", "2024Q1", "--on",
               "2024-04-10").stdout
    assert "预测准确度 2024Q1" in text and "1.25" not in text and "125%" in text
    assert "重建" not in text

    review = cli(url, "review", "-w", str(root), "--month", "2024-03", "--on", "2024-04-10",
                 "--json")
    got = json.loads(review.stdout)["forecast_accuracy"]
    assert got["source"] == "ledger" and got["reconstructed"] is False
    assert got["accuracy"] == pytest.approx(0.125)
    assert [(m["month"], m["snapshot_date"], m["forecast"], m["actual"])
            for m in got["months"]] == [("2024-01", "2024-01-02", 0.0, 0.0),
                                        ("2024-02", None, None, 100.0),
                                        ("2024-03", "2024-03-01", 75.0, 40.0)]
    opps = read_opps(root)
    recent = A.recent_accuracy(stored(root, url), opps, Settings.default().model_copy(
        update={"general": settings().general}), "2024-03")
    assert got["accuracy"] == pytest.approx(recent.accuracy)
    block = accuracy_block(root / "review_2024-03.xlsx")
    assert block["accuracy"] == pytest.approx(recent.accuracy)
    assert block["months"] == [
        (m.month, m.snapshot_date and dt.datetime.combine(m.snapshot_date, dt.time()),
         m.forecast, m.commit_forecast, m.actual, m.ratio) for m in recent.months]
    assert block["note"] == FROM_LEDGER("zh")


def read_opps(root: Path) -> pd.DataFrame:
    from xlsales.jobs.sources import load_customers

    hook.deactivate()
    return load_customers(root, ("opportunities",)).frame("opportunities")


def accuracy_block(path: Path) -> dict[str, Any]:
    """The forecast-accuracy block of a review workbook's trend sheet, as openpyxl reads it:
    the figure beside its title, the month rows, the note below them."""
    wb = openpyxl.load_workbook(path)
    try:
        ws = wb["纵向趋势"]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
    finally:
        wb.close()
    head = ["月份", "快照日期", "月初预测", "承诺预测", "实际赢单", "预测÷赢单"]
    at, col = next((i, c) for i, r in enumerate(rows) for c in range(len(r))
                   if list(r[c:c + 6]) == head)
    assert col > len(TREND.columns)  # right of the trend table, in its header row
    assert rows[at][:len(TREND.columns)] == [c.header("zh") for c in TREND.columns]
    months = [tuple(r[col:col + 6]) for r in rows[at + 1:at + 4]]
    assert rows[at + 4][col] == "近三个月预测准确度"
    return {"accuracy": rows[at + 4][col + 5], "months": months, "note": rows[at + 5][col]}


def test_one_snapshot_per_week_keeps_the_first(url: str, tmp_path: Path) -> None:
    root = workspace(tmp_path / "team")
    for on in ("2024-03-04", "2024-03-06", "2024-03-10"):  # Monday, Wednesday, Sunday: W10
        if on != "2024-03-04":
            edit_opps(root, {"O1": {"amount": float(on[-2:])}})
        forecast(root, url, on)
        snaps = stored(root, url)
        assert sorted(set(snaps["snapshot_date"])) == [pd.Timestamp("2024-03-04")]
        assert snaps.set_index("opp_id").loc["O1", "amount"] == 100.0
    forecast(root, url, "2024-03-11")  # W11: the table as it is now
    snaps = stored(root, url)
    assert snaps.groupby("snapshot_date")["opp_id"].count().to_dict() == {
        pd.Timestamp("2024-03-04"): 4, pd.Timestamp("2024-03-11"): 4}
    assert snaps[snaps["snapshot_date"] == pd.Timestamp("2024-03-11")].set_index(
        "opp_id").loc["O1", "amount"] == 10.0
    ledger = Ledger.open(ledger_of(root, url))
    try:  # one bulk insert per week: the header rows count what was written
        with ledger.engine.connect() as conn:
            weeks = conn.execute(sa.text("SELECT week, rows FROM ledger_snapshot_weeks "
                                         "ORDER BY week")).all()
        assert [tuple(w) for w in weeks] == [("2024-W10", 4), ("2024-W11", 4)]
        assert ledger.snapshots("another team").empty
    finally:
        ledger.close()


def test_a_command_run_on_another_day_takes_no_snapshot(url: str, tmp_path: Path) -> None:
    root = workspace(tmp_path / "team")
    for args in (["followups", "-w", str(root), "--on", "2023-06-01"],
                 ["forecast", "-w", str(root), "--period", "2024Q1", "--on", "2024-01-02"]):
        cli(url, *args, real=True)  # today's pipeline is no snapshot of that day
        assert stored(root, url).empty
    today = hook.system_today()
    cli(url, "forecast", "-w", str(root), "--period", "2024Q1", "--on", today.isoformat(),
        real=True)
    snaps = stored(root, url)
    assert set(snaps["snapshot_date"]) == {pd.Timestamp(today)} and len(snaps) == 4


def test_the_snapshot_a_command_just_took_is_no_evidence_of_the_past(url: str,
                                                                      tmp_path: Path) -> None:
    root = workspace(tmp_path / "team")
    args = ["forecast", "-w", str(root), "--accuracy", "2024Q1", "--on", "2024-02-15",
            "--json"]
    out = json.loads(cli(url, *args).stdout)  # a fresh ledger: it takes 02-15's snapshot
    assert set(stored(root, url)["snapshot_date"]) == {pd.Timestamp("2024-02-15")}
    assert out["source"] == "reconstructed" and out["note"] == RECONSTRUCTED("zh")
    again = json.loads(cli(url, *args).stdout)  # later that day: an earlier command's
    assert again["source"] == "ledger" and again["snapshots"] == ["2024-02-15"]

    other = workspace(tmp_path / "other")
    review = json.loads(cli(url, "review", "-w", str(other), "--month", "2024-03", "--on",
                            "2024-03-01", "--json").stdout)["forecast_accuracy"]
    assert set(stored(other, url)["snapshot_date"]) >= {pd.Timestamp("2024-03-01")}
    assert review["source"] == "reconstructed" and review["reconstructed"] is True


def test_long_cell_texts_are_stored_whole_on_both_engines(url: str, tmp_path: Path) -> None:
    root = workspace(tmp_path / "team")
    owner, customer = "赵" * 500, "客户" * 250  # beyond String(200) and String(400)
    edit_opps(root, {"O1": {"owner": owner, "customer": customer}})
    result = cli(url, "forecast", "-w", str(root), "--period", "2024Q1", "--on",
                 "2024-03-04")
    assert "Traceback" not in result.output
    snaps = stored(root, url).set_index("opp_id")
    assert snaps.loc["O1", "owner"] == owner and snaps.loc["O1", "stage"] == "报价与谈判"
    assert snaps.loc["O1", "customer"] == customer and len(snaps) == 4


# -- without snapshots: reconstructed, and said so --------------------------------------------


def test_without_snapshots_the_forecasts_are_reconstructed_and_said_so(tmp_path: Path) -> None:
    root = workspace(tmp_path / "team")
    out = json.loads(cli("", "--no-ledger", "forecast", "-w", str(root), "--accuracy",
                         "2024Q1", "--on", "2024-02-15", "--json").stdout)
    assert out["reconstructed"] is True and out["source"] == "reconstructed"
    assert out["note"] == RECONSTRUCTED("zh") and out["period_over"] is False
    assert not hook.default_path(root).exists()  # --no-ledger made no ledger
    opps = read_opps(root)
    from xlsales.jobs.sources import load_customers

    history = load_customers(root, ("opportunities", "stage_history")).frame("stage_history")
    mondays = [D(2024, 1, 1) + dt.timedelta(weeks=i) for i in range(7)]  # up to 02-12
    assert out["snapshots"] == [d.isoformat() for d in mondays]
    snaps = A.reconstruct_snapshots(opps, history, settings(), mondays)
    want = A.period_accuracy(snaps, opps, settings(), "2024Q1")
    team = want[want["level"] == "team"]
    got = [r for r in out["rows"] if r["level"] == "team"]
    assert [r["forecast"] for r in got] == pytest.approx(team["forecast"].tolist())
    assert got[0]["forecast"] == pytest.approx(115)  # nothing moved since 2023-12-15

    text = runner.invoke(app, ["--no-ledger", "forecast", "-w", str(root), "--accuracy",
                               "2024Q1", "--on", "2024-02-15"])
    assert text.exit_code == 0
    assert RECONSTRUCTED("zh") in text.output.replace("\n", "")

    # a ledger with snapshots of other weeks only: reconstructed too
    forecast_on = cli("", "forecast", "-w", str(root), "--period", "2024Q2", "--on",
                      "2024-06-03")
    assert forecast_on.exit_code == 0
    out = json.loads(cli("", "forecast", "-w", str(root), "--accuracy", "2024Q1", "--on",
                         "2024-06-03", "--json").stdout)
    assert out["reconstructed"] is True

    review = json.loads(cli("", "review", "-w", str(root), "--month", "2024-03", "--on",
                            "2024-06-03", "--json").stdout)["forecast_accuracy"]
    assert review["source"] == "reconstructed" and review["note"] == RECONSTRUCTED_SHORT("zh")
    block = accuracy_block(root / "review_2024-03.xlsx")
    assert block["note"] == RECONSTRUCTED_SHORT("zh")
    recent = A.recent_accuracy(A.reconstruct_snapshots(
        opps, history, settings(), [D(2024, 1, 1), D(2024, 2, 1), D(2024, 3, 1)]),
        opps, settings(), "2024-03")
    assert block["accuracy"] == pytest.approx(recent.accuracy) == review["accuracy"]


def test_accuracy_needs_a_period_and_speaks_english(tmp_path: Path) -> None:
    root = workspace(tmp_path / "team")
    result = runner.invoke(app, ["--no-ledger", "forecast", "-w", str(root), "--json"])
    assert result.exit_code == 2
    assert "--accuracy" in json.loads(result.stdout)["error"]
    result = runner.invoke(app, ["--no-ledger", "forecast", "-w", str(root), "--accuracy",
                                 "2024Q9"])
    assert result.exit_code == 2
    en = runner.invoke(app, ["--no-ledger", "forecast", "-w", str(root), "--accuracy",
                             "2024Q1", "--on", "2024-04-10", "--lang", "en"])
    assert en.exit_code == 0, en.output
    assert "Forecast accuracy 2024Q1" in en.output and "rebuilt from the stage history" in \
        en.output.replace("\n", " ")
