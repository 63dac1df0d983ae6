"""The team ledger: schema migrations, incremental recording, the audit findings of dailies
edited or deleted after submission, ``xlsales history`` and backups — against SQLite and a
real PostgreSQL server (tests/pg_server.py)."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from xlsales.cli import app
from xlsales.ledger import hook
from xlsales.ledger.audit import R_DELETED, R_EDITED, RULES, local_time
from xlsales.ledger.store import HEAD, Ledger, migrate, revision
from xlsales.settings import Settings
from xlsales.workspace import write_workspace

pytestmark = pytest.mark.usefixtures("ledger_on")  # these tests record

runner = CliRunner()
CJK = re.compile(r"[\u4e00-\u9fff]")




# -- helpers -----------------------------------------------------------------------------


def daily_rows(root: Path) -> pd.DataFrame:
    from xlsales.io.read import read_table
    from xlsales.jobs.sources import workspace_settings
    from xlsales.tables import get

    table = read_table(root / "daily_report.xlsx", get("daily"), workspace_settings(root))
    df = table.df.assign(_cell=[table.cell("visits", r) for r in table.df.index])
    return df.assign(_sheet=table.sheet)


def a_daily(root: Path, nth: int = 0) -> dict[str, Any]:
    """The nth daily row with visits, a rep and a date (its cells and values)."""
    df = daily_rows(root)
    df = df[df["visits"].notna() & df["rep"].notna() & df["date"].notna()]
    row = df.iloc[nth]
    return {"rep": row["rep"], "day": row["date"].date(), "visits": int(row["visits"]),
            "cell": row["_cell"], "sheet": row["_sheet"], "row": int(df.index[nth])}


def edit_cells(path: Path, sheet: str, cells: dict[str, Any], by: str | None = None) -> None:
    """Type values into cells in place (xlsales's own editor); ``by`` as the workbook's
    lastModifiedBy, as Excel writes it when someone saves."""
    from xlsales.io.edit.book import WorkbookEdit
    from xlsales.io.edit.cells import Cell

    with WorkbookEdit(path) as wb:
        for ref, value in cells.items():
            wb.set_cell(sheet, ref, Cell(value))
        if by is not None:
            core = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                    '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/'
                    '2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"'
                    '><dc:creator>xlsales</dc:creator>'
                    f'<cp:lastModifiedBy>{by}</cp:lastModifiedBy></cp:coreProperties>')
            wb.replace_part("docProps/core.xml", core.encode())
        wb.save()


def row_cells(root: Path, row: int) -> tuple[str, list[str]]:
    from xlsales.io.read import read_table
    from xlsales.jobs.sources import workspace_settings
    from xlsales.tables import get

    table = read_table(root / "daily_report.xlsx", get("daily"), workspace_settings(root))
    return table.sheet, [table.cell(c, row) for c in table.cols]


def cli(*args: str, url: str | None = None) -> Any:
    pre = ["--ledger", url] if url and url.startswith("postgresql") else []
    return runner.invoke(app, [*pre, *args])


def ledger_of(root: Path, url: str) -> str:
    """The URL the CLI records into for this engine (sqlite: the workspace's own file)."""
    return url if url.startswith("postgresql") else f"sqlite:///{hook.default_path(root)}"


def counts(url: str) -> dict[str, int]:
    ledger = Ledger.open(url)
    try:
        return ledger.counts()
    finally:
        ledger.close()


# -- packaging and import ------------------------------------------------------------------


def test_importing_xlsales_loads_no_database_code() -> None:
    code = ("import sys, xlsales, xlsales.cli, xlsales.jobs.sources, xlsales.validate; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('sqlalchemy', 'alembic', 'psycopg')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_the_rules_speak_both_languages() -> None:
    fields = re.compile(r"{(\w+)}")
    for rule in RULES:
        assert re.fullmatch(r"T2\.[a-z_]+", rule.id)
        assert CJK.search(rule.zh) and not CJK.search(rule.en)
        assert set(fields.findall(rule.zh)) == set(fields.findall(rule.en))


# -- migrations ----------------------------------------------------------------------------


def tables_of(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_migrations_from_empty_twice_down_and_up(url: str) -> None:
    from alembic.script import ScriptDirectory

    from xlsales.ledger.store import MIGRATIONS

    assert ScriptDirectory(str(MIGRATIONS)).get_current_head() == HEAD
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        assert revision(conn) is None
        migrate(conn)
    assert tables_of(engine) >= {"ledger_versions", "ledger_rows", "ledger_sources"}
    with engine.begin() as conn:
        assert revision(conn) == HEAD
        migrate(conn)  # again: nothing to do
        assert revision(conn) == HEAD
    with engine.begin() as conn:
        migrate(conn, "0002")
    assert "fingerprint" not in {c["name"] for c in sa.inspect(engine).get_columns(
        "ledger_sources")}
    with engine.begin() as conn:
        migrate(conn, "0001")
    assert "ledger_sources" not in tables_of(engine) and "ledger_rows" in tables_of(engine)
    with engine.begin() as conn:
        assert revision(conn) == "0001"
        migrate(conn, "base")
    assert not tables_of(engine) & {"ledger_versions", "ledger_rows", "ledger_sources"}
    with engine.begin() as conn:
        migrate(conn)
        assert revision(conn) == HEAD
    engine.dispose()


@pytest.mark.parametrize("start", ["0001", "0002"])
def test_a_ledger_of_a_previous_revision_is_upgraded_keeping_its_rows(url: str,
                                                                      start: str) -> None:
    engine = sa.create_engine(url)
    now = dt.datetime(2024, 3, 5, 9, 0)
    with engine.begin() as conn:
        migrate(conn, start)
        conn.execute(sa.text(
            "INSERT INTO ledger_rows (team, tbl, key, hash, version, first_seen, changed_at, "
            "source, deleted) VALUES ('t', 'daily', '张三 2024-03-04', 7, 1, :n, :n, "
            "'daily_report.xlsx', false)"), {"n": now})
        if start == "0002":
            conn.execute(sa.text(
                "INSERT INTO ledger_sources (team, tbl, source, digest, rows, recorded_at) "
                "VALUES ('t', 'daily', 'daily_report.xlsx', 'abc', 1, :n)"), {"n": now})
    engine.dispose()
    ledger = Ledger.open(url)  # opening upgrades
    try:
        with ledger.engine.connect() as conn:
            assert revision(conn) == HEAD
            kept = conn.execute(sa.text("SELECT digest, fingerprint FROM ledger_sources")).all()
        assert ledger.keys_like("t", "daily", "张三") == [("daily", "张三 2024-03-04")]
        assert [tuple(r) for r in kept] == ([("abc", None)] if start == "0002" else [])
    finally:
        ledger.close()


def test_an_unchanged_fingerprint_skips_the_rows(url: str,
                                                 sample_team: Callable[[str], Path]) -> None:
    frame = daily_rows(sample_team("zh")).drop(columns=["_cell", "_sheet"])
    ledger = Ledger.open(url)
    try:
        first = ledger.record("t", "daily", frame, "d.xlsx", {}, fingerprints={"d.xlsx": "a"})
        assert first.new == len(frame)
        changed = frame.assign(visits=frame["visits"] + 1)
        same = ledger.record("t", "daily", changed, "d.xlsx", {}, fingerprints={"d.xlsx": "a"})
        assert same.written == 0  # the bytes read are the same: not even hashed
        other = ledger.record("t", "daily", changed, "d.xlsx", {}, fingerprints={"d.xlsx": "b"})
        assert other.changed == len(frame.dropna(subset=["visits"]))
        assert ledger.record("t", "daily", frame, "d.xlsx", {}).changed == other.changed
    finally:
        ledger.close()


# -- recording ----------------------------------------------------------------------------


def test_recording_is_incremental(url: str, sample_team: Callable[[str], Path]) -> None:
    frame = daily_rows(sample_team("zh")).drop(columns=["_cell", "_sheet"])
    ledger = Ledger.open(url)
    try:
        first = ledger.record("team", "daily", frame, "daily_report.xlsx", {})
        assert (first.new, first.changed, first.deleted) == (len(frame), 0, 0)
        before = ledger.counts()
        again = ledger.record("team", "daily", frame, "daily_report.xlsx", {})
        assert (again.written, again.unchanged) == (0, len(frame))
        assert ledger.counts() == before

        edited = frame.copy()
        row = edited.index[3]
        edited.loc[row, "visits"] = edited.loc[row, "visits"] + 5
        edited = edited.drop(index=edited.index[7])
        done = ledger.record("team", "daily", edited, "daily_report.xlsx", {"x": "y"})
        assert (done.new, done.changed, done.deleted) == (0, 1, 1)
        assert ledger.counts()["ledger_versions"] == before["ledger_versions"] + 2
        # another team's rows are apart
        other = ledger.record("other", "daily", frame, "daily_report.xlsx", {})
        assert other.new == len(frame)
    finally:
        ledger.close()


def test_readers_agree_so_a_steady_workspace_writes_nothing(
        url: str, sample_copy: Callable[[str], Path]) -> None:
    root = sample_copy("zh")
    assert cli("validate", str(root / "daily_report.xlsx"), url=url).exit_code in (0, 1)
    assert cli("rollup", "-w", str(root), "--week", "2024-W10", url=url).exit_code == 0
    assert cli("followups", "-w", str(root), "--on", "2024-03-29", url=url).exit_code == 0
    assert counts(ledger_of(root, url))["ledger_versions"] > 1000
    rounds = []
    for _ in range(2):
        for args in (("validate", str(root / "daily_report.xlsx")),
                     ("validate", str(root / "customers.xlsx")),
                     ("rollup", "-w", str(root), "--week", "2024-W11"),
                     ("followups", "-w", str(root), "--on", "2024-03-29")):
            assert cli(*args, url=url).exit_code in (0, 1)
        rounds.append(counts(ledger_of(root, url)))
    # every row has one version whichever command read it, and a second round adds nothing
    assert rounds[0]["ledger_versions"] == rounds[0]["ledger_rows"]
    assert rounds[1] == rounds[0]


# -- audit findings ---------------------------------------------------------------------------


def validate_json(root: Path, url: str) -> dict[str, Any]:
    result = cli("validate", str(root / "daily_report.xlsx"), "--json", url=url)
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def test_a_daily_edited_after_submission_is_reported(
        url: str, sample_copy: Callable[[str], Path]) -> None:
    root = sample_copy("zh")
    before = validate_json(root, url)
    assert not [f for f in before["findings"] if f["rule"].endswith("_after_submission")]
    target = a_daily(root, 5)
    edit_cells(root / "daily_report.xlsx", target["sheet"],
               {target["cell"]: target["visits"] + 5}, by="王小明")
    after = validate_json(root, url)
    found = [f for f in after["findings"] if f["rule"].endswith("_after_submission")]
    assert len(found) == 1
    key = f"{target['rep']} {target['day'].isoformat()}"
    ledger = Ledger.open(ledger_of(root, url))
    try:
        versions = ledger.versions("华东华南华北销售部", "daily", key)
    finally:
        ledger.close()
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[1]["modified_by"] == "王小明"
    message = R_EDITED.message(
        "zh", rep=target["rep"], day=target["day"].isoformat(),
        changes=f"拜访客户数 {target['visits']}→{target['visits'] + 5}",
        seen=local_time(versions[1]["seen_at"]), by=",最后保存者 王小明")
    assert found[0] == {
        "rule": "T2.edited_after_submission", "severity": "warning", "message": message,
        "file": str(root / "daily_report.xlsx"), "sheet": target["sheet"],
        "cell": target["cell"], "column": "拜访客户数", "value": target["visits"] + 5,
        "row": target["row"]}
    # reported again on the next run (the row still differs from what was submitted) …
    again = validate_json(root, url)
    assert [f for f in again["findings"] if f["rule"] == R_EDITED.id] == found
    # … and no longer once the rep puts it back
    edit_cells(root / "daily_report.xlsx", target["sheet"], {target["cell"]: target["visits"]})
    back = validate_json(root, url)
    assert not [f for f in back["findings"] if f["rule"].endswith("_after_submission")]


def test_a_daily_deleted_after_submission_is_reported(
        url: str, sample_copy: Callable[[str], Path]) -> None:
    root = sample_copy("zh")
    validate_json(root, url)
    target = a_daily(root, 2)
    sheet, cells = row_cells(root, target["row"])
    edit_cells(root / "daily_report.xlsx", sheet, dict.fromkeys(cells), by="李雷")
    found = [f for f in validate_json(root, url)["findings"]
             if f["rule"].endswith("_after_submission")]
    key = f"{target['rep']} {target['day'].isoformat()}"
    ledger = Ledger.open(ledger_of(root, url))
    try:
        gone = ledger.versions("华东华南华北销售部", "daily", key)[-1]
    finally:
        ledger.close()
    assert gone["deleted"] and gone["modified_by"] == "李雷"
    assert found == [{
        "rule": "T2.deleted_after_submission", "severity": "warning",
        "message": R_DELETED.message("zh", rep=target["rep"], day=target["day"].isoformat(),
                                     seen=local_time(gone["seen_at"]), by=",最后保存者 李雷"),
        "file": str(root / "daily_report.xlsx"), "sheet": sheet, "cell": None,
        "column": None, "value": key, "row": None}]


def test_an_edit_on_the_day_of_submission_is_no_finding(url: str) -> None:
    from xlsales.ledger.audit import audit

    day = dt.date(2024, 3, 5)
    frame = pd.DataFrame({
        "date": pd.to_datetime([day, day]).astype("datetime64[ms]"),
        "rep": ["张三", "李四"], "visits": pd.array([3, 4], dtype="Int64"),
        "effective": pd.array([2, 2], dtype="Int64"),
        "next_plan": ["拜访", "拜访"],
        "submitted_at": pd.to_datetime(["2024-03-05 17:30", "2024-03-05 17:40"]
                                       ).astype("datetime64[ms]")})

    def at(local: str) -> dt.datetime:  # a local time as the ledger stores it (naive UTC)
        return dt.datetime.fromisoformat(local).astimezone(dt.UTC).replace(tzinfo=None)

    ledger = Ledger.open(url)
    try:
        ledger.record("t", "daily", frame, "d.xlsx", {}, now=at("2024-03-05 18:00"))
        fixed = frame.assign(visits=pd.array([5, 4], dtype="Int64"))
        ledger.record("t", "daily", fixed, "d.xlsx", {}, now=at("2024-03-05 21:00"))
        assert audit(ledger.edited("t", "daily")) == []  # the same day: a correction
        later = fixed.assign(visits=pd.array([8, 4], dtype="Int64"),
                             spot_check=pd.to_datetime([day, day]).astype("datetime64[ms]"))
        ledger.record("t", "daily", later, "d.xlsx", {"d.xlsx": "张三"},
                      now=at("2024-03-11 08:00"))
        edits = audit(ledger.edited("t", "daily"))
    finally:
        ledger.close()
    assert [(e.key, e.changes, e.by, e.seen) for e in edits] == [
        ("张三 2024-03-05", [("visits", 5, 8)], "张三", at("2024-03-11 08:00"))]


def test_the_spot_check_hints_name_edited_dailies(url: str,
                                                  sample_copy: Callable[[str], Path]) -> None:
    from xlsales.jobs.spotcheck import run_spotcheck

    root = sample_copy("zh")
    hook.activate(url if url.startswith("postgresql") else None)
    run_spotcheck(root, dt.date(2024, 3, 29), share=1.0)
    target = a_daily(root, 0)
    edit_cells(root / "daily_report.xlsx", target["sheet"],
               {target["cell"]: target["visits"] + 2})
    day = max(daily_rows(root).query("rep == @target['rep']")["date"]).date()
    result = run_spotcheck(root, day, share=1.0)
    pick = next(p for p in result.picks if p.rep == target["rep"])
    assert pick.hints[-1] == (f"1 份日报提交后被修改或删除(如 {target['day']}:拜访客户数 "
                              f"{target['visits']}→{target['visits'] + 2})")
    assert all("提交后" not in h for p in result.picks if p.rep != target["rep"]
               for h in p.hints)


# -- the CLI ------------------------------------------------------------------------------------


def test_history_shows_a_rows_versions(url: str, sample_copy: Callable[[str], Path]) -> None:
    root = sample_copy("zh")
    validate_json(root, url)
    target = a_daily(root, 1)
    edit_cells(root / "daily_report.xlsx", target["sheet"],
               {target["cell"]: target["visits"] + 1}, by="王小明")
    validate_json(root, url)
    key = [target["rep"], target["day"].isoformat()]
    result = cli("history", *key, "-w", str(root), "--json", url=url)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert (payload["table"], payload["key"]) == ("daily", " ".join(key))
    assert [v["version"] for v in payload["versions"]] == [1, 2]
    assert payload["versions"][1]["changes"] == [
        {"column": "visits", "from": target["visits"], "to": target["visits"] + 1}]
    assert payload["versions"][1]["modified_by"] == "王小明"
    text = cli("history", " ".join(key), "-w", str(root), url=url)
    assert text.exit_code == 0
    assert f"拜访客户数: {target['visits']}→{target['visits'] + 1}" in text.stdout
    assert "王小明" in text.stdout
    missing = cli("history", target["rep"], "2000-01-01", "-w", str(root), url=url)
    assert missing.exit_code == 1 and "台账里没有" in missing.stdout
    prefix = cli("history", target["rep"], "-w", str(root), url=url)
    assert prefix.exit_code == 1 and f"{target['rep']} {target['day'].isoformat()}" in \
        prefix.stdout


def test_no_ledger_and_where_the_default_ledger_goes(sample_copy: Callable[[str], Path],
                                                     tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    root = sample_copy("zh")
    assert runner.invoke(app, ["--no-ledger", "validate", str(root / "targets.xlsx")]
                         ).exit_code in (0, 1)
    assert not (root / ".xlsales").exists()
    monkeypatch.setenv("XLSALES_LEDGER", "off")
    assert runner.invoke(app, ["validate", str(root / "targets.xlsx")]).exit_code in (0, 1)
    assert not (root / ".xlsales").exists()
    monkeypatch.delenv("XLSALES_LEDGER")
    # a workbook outside a workspace (no settings beside it) starts no ledger
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "targets.xlsx").write_bytes((root / "targets.xlsx").read_bytes())
    assert runner.invoke(app, ["validate", str(alone / "targets.xlsx")]).exit_code in (0, 1)
    assert not (alone / ".xlsales").exists()
    # a workspace does
    assert runner.invoke(app, ["validate", str(root / "targets.xlsx")]).exit_code in (0, 1)
    assert hook.default_path(root).is_file()
    assert counts(f"sqlite:///{hook.default_path(root)}")["ledger_rows"] > 0


def test_an_unreachable_ledger_is_a_clear_error(sample_copy: Callable[[str], Path]) -> None:
    root = sample_copy("en")
    url = "postgresql://sales:s3cret@127.0.0.1:9/ledger"
    result = runner.invoke(app, ["--ledger", url, "validate", str(root / "targets.xlsx"),
                                 "--json"])
    assert result.exit_code == 2
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    assert payload["error"].startswith(
        "cannot open the ledger database postgresql+psycopg://sales:***@127.0.0.1:9/ledger:")
    assert "s3cret" not in result.output
    text = runner.invoke(app, ["--ledger", url, "rollup", "-w", str(root), "--week", "2024-W10"])
    assert text.exit_code == 2 and "Traceback" not in text.output
    assert "s3cret" not in text.output and "127.0.0.1:9/ledger" in text.output


def test_the_settings_name_the_ledger(postgres: Any, sample_copy: Callable[[str], Path]) -> None:
    from tests.test_summary import set_options

    root = sample_copy("zh")
    url = postgres.database()
    assert runner.invoke(app, ["settings", "sync", "-w", str(root)]).exit_code == 0
    try:
        set_options(root, ledger_url=url)
    except KeyError:  # a workspace written before the option: add it with the settings
        pytest.skip("the sample's settings have no ledger_url row")
    assert runner.invoke(app, ["validate", str(root / "targets.xlsx")]).exit_code in (0, 1)
    assert not (root / ".xlsales").exists()
    assert counts(url)["ledger_rows"] > 0


def test_export_and_import_round_trip(url: str, sample_copy: Callable[[str], Path],
                                      tmp_path: Path) -> None:
    root = sample_copy("zh")
    validate_json(root, url)
    target = a_daily(root, 4)
    edit_cells(root / "daily_report.xlsx", target["sheet"], {target["cell"]: 0})
    validate_json(root, url)
    # a reader of the opportunities table, today: the week's pipeline snapshot
    assert cli("forecast", "-w", str(root), "--period", "2024-03", url=url).exit_code in (0, 1)
    team = "华东华南华北销售部"
    snaps = snapshots_of(ledger_of(root, url), team)
    assert len(snaps) > 10 and snaps["expected_close"].notna().any()
    backup = tmp_path / "ledger.jsonl.gz"
    out = cli("ledger", "export", str(backup), "-w", str(root), "--json", url=url)
    assert out.exit_code == 0, out.output
    exported = json.loads(out.stdout)["records"]
    assert exported == {k: v for k, v in counts(ledger_of(root, url)).items() if v}
    assert exported["ledger_snapshot_weeks"] == 1
    assert exported["ledger_snapshots"] == len(snaps)

    other = tmp_path / "restored"
    other.mkdir()
    for name in ("settings.xlsx",):
        (other / name).write_bytes((root / name).read_bytes())
    restored_url = f"sqlite:///{hook.default_path(other)}"
    got = runner.invoke(app, ["ledger", "import", str(backup), "-w", str(other), "--json"])
    assert got.exit_code == 0, got.output
    assert json.loads(got.stdout)["records"] == {
        k: exported.get(k, 0) for k in ("ledger_versions", "ledger_rows", "ledger_sources",
                                        "ledger_snapshot_weeks", "ledger_snapshots")}
    assert counts(restored_url) == counts(ledger_of(root, url))
    pd.testing.assert_frame_equal(snapshots_of(restored_url, team), snaps)
    key = [target["rep"], target["day"].isoformat()]
    a = json.loads(cli("history", *key, "-w", str(root), "--json", url=url).stdout)
    b = json.loads(runner.invoke(app, ["history", *key, "-w", str(other), "--json"]).stdout)
    assert a["versions"] == b["versions"] and len(a["versions"]) == 2
    again = runner.invoke(app, ["ledger", "import", str(backup), "-w", str(other)])
    assert again.exit_code == 2 and "--replace" in again.output
    assert runner.invoke(app, ["ledger", "import", str(backup), "-w", str(other),
                               "--replace"]).exit_code == 0
    assert counts(restored_url) == counts(ledger_of(root, url))
    pd.testing.assert_frame_equal(snapshots_of(restored_url, team), snaps)


def snapshots_of(url: str, team: str) -> pd.DataFrame:
    ledger = Ledger.open(url)
    try:
        return ledger.snapshots(team)
    finally:
        ledger.close()


def write_backup(path: Path, items: list[dict[str, Any]]) -> None:
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False)
                              for x in [{"xlsales_ledger": 1, "team": "t"}, *items]) + "\n",
                    encoding="utf-8")


def test_a_bad_backup_is_a_clear_error_naming_its_line(url: str, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    write_workspace(root, Settings.default(), {}, lang="en", books=("settings",))
    row = {"team": "t", "tbl": "daily", "key": "张三 2024-03-04", "hash": 7, "version": 1,
           "first_seen": "2024-03-05T09:00:00", "changed_at": "2024-03-05T09:00:00",
           "source": "daily_report.xlsx", "deleted": False}
    week = {"team": "t", "week": "2024-W10", "taken_on": "2024-03-05", "rows": 0,
            "source": None, "recorded_at": "2024-03-05T09:00:00"}
    lacking = {k: v for k, v in row.items() if k not in ("hash", "version")}
    cases = [  # (items, the line named, words of the message)
        ([{"table": "ledger_rows", "row": row}, {"table": "ledger_rows", "row": lacking}],
         3, "hash, version"),
        ([{"table": "ledger_snapshot_weeks", "row": {**week, "taken_on": "05/03/2024"}}],
         2, "taken_on"),
        ([{"table": "ledger_rows", "row": row}, {"table": "ledger_rows", "row": row}],
         2, "cannot be loaded")]  # the same key twice: the database refuses the batch
    if url.startswith("postgresql"):  # SQLite stores any text in an integer column
        cases.append(([{"table": "ledger_rows", "row": {**row, "hash": "abc"}}], 2,
                      "cannot be loaded"))
    for items, line, words in cases:
        backup = tmp_path / "bad.jsonl"
        write_backup(backup, items)
        got = cli("ledger", "import", str(backup), "-w", str(root), "--json", url=url)
        assert got.exit_code == 2, got.output
        error = json.loads(got.stdout)["error"]
        assert str(backup) in error and f"line {line}" in error and words in error, error
        assert "Traceback" not in got.output
        assert counts(ledger_of(root, url))["ledger_rows"] == 0  # all or nothing
    write_backup(tmp_path / "good.jsonl", [{"table": "ledger_rows", "row": row},
                                           {"table": "ledger_snapshot_weeks", "row": week}])
    got = cli("ledger", "import", str(tmp_path / "good.jsonl"), "-w", str(root), "--json",
              url=url)
    assert got.exit_code == 0, got.output
    assert counts(ledger_of(root, url))["ledger_rows"] == 1
    ledger = Ledger.open(ledger_of(root, url))
    try:  # the date column read back as a date
        assert ledger.has_snapshot("t", dt.date(2024, 3, 10))
    finally:
        ledger.close()


def test_a_ledger_of_a_newer_xlsales_is_a_clear_error(url: str,
                                                      sample_copy: Callable[[str], Path]
                                                      ) -> None:
    Ledger.open(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    root = sample_copy("en")
    pre = ["--ledger", url]
    got = runner.invoke(app, [*pre, "validate", str(root / "targets.xlsx"), "--json"])
    assert got.exit_code == 2, got.output
    error = json.loads(got.stdout)["error"]
    assert "0099" in error and "upgrade xlsales, or run with --no-ledger" in error
    text = runner.invoke(app, [*pre, "rollup", "-w", str(root), "--week", "2024-W10"])
    assert text.exit_code == 2 and "Traceback" not in text.output
    assert "or run with --no-ledger" in " ".join(text.output.split())
    assert runner.invoke(app, ["--no-ledger", "validate", str(root / "targets.xlsx")]
                         ).exit_code in (0, 1)
    engine = sa.create_engine(url)
    with engine.connect() as conn:  # left as it was
        assert revision(conn) == "0099"
    engine.dispose()


def test_keys_like_ignores_case_on_both_engines(url: str) -> None:
    ledger = Ledger.open(url)
    try:
        ledger.record("t", "customers", pd.DataFrame({
            "customer_id": ["ACME-1", "acme-2", "Bolt-3"], "name": ["a", "b", "c"]}),
            "customers.xlsx")
        keys = [k for _, k in ledger.keys_like("t", None, "acme")]
        assert len(keys) == 2 and {k.lower()[:5] for k in keys} == {"acme-"}
        assert ledger.keys_like("t", None, "ACME") == ledger.keys_like("t", None, "acme")
        assert ledger.keys_like("t", None, "bolt") != []
        assert ledger.keys_like("t", None, "a%") == []  # LIKE's wildcards are escaped
    finally:
        ledger.close()


def test_two_processes_recording_at_once_lose_nothing(url: str,
                                                      sample_copy: Callable[[str], Path]) -> None:
    root = sample_copy("zh")
    pre = ["--ledger", url] if url.startswith("postgresql") else []
    procs = [subprocess.Popen([sys.executable, "-m", "xlsales", *pre, "validate",
                               str(root / book), "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for book in ("daily_report.xlsx", "daily_report.xlsx", "customers.xlsx")]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode in (0, 1) for p in procs), outs
    assert all(json.loads(out)["tables"] for out, _ in outs)
    got = counts(ledger_of(root, url))
    assert got["ledger_versions"] == got["ledger_rows"] > 1000  # each row once
    rows = len(daily_rows(root).dropna(subset=["rep", "date"], how="all"))
    ledger = Ledger.open(ledger_of(root, url))
    try:
        assert len(ledger.keys_like("华东华南华北销售部", "daily", "", limit=10**6)) <= rows
        assert ledger.counts("华东华南华北销售部")["ledger_sources"] >= 2
    finally:
        ledger.close()


def test_a_copy_of_a_workbook_in_the_workspace_is_not_recorded(
        url: str, sample_copy: Callable[[str], Path]) -> None:
    root = sample_copy("zh")
    validate_json(root, url)
    before = counts(ledger_of(root, url))
    copy = root / "daily_backup.xlsx"
    copy.write_bytes((root / "daily_report.xlsx").read_bytes())
    target = a_daily(root, 6)
    edit_cells(copy, target["sheet"], {target["cell"]: target["visits"] + 3})
    got = cli("validate", str(copy), "--json", url=url)
    assert got.exit_code == 1
    assert counts(ledger_of(root, url)) == before
    assert not [f for f in validate_json(root, url)["findings"]
                if f["rule"].endswith("_after_submission")]


def test_a_folder_of_per_rep_dailies_is_recorded_file_by_file(url: str,
                                                              tmp_path: Path) -> None:
    from xlsales.jobs.sources import load_daily
    from xlsales.sample import generate
    from xlsales.workspace import write_workspace

    sample = generate()
    folder = tmp_path / "per_rep"
    write_workspace(folder, sample.settings, books=["settings"])
    reps = sample.settings.reps()[:3]
    for rep in reps:
        mine = [r for r in sample.data["daily"] if r["rep"] == rep]
        write_workspace(tmp_path / "tmp", sample.settings, {"daily": mine}, books=["daily"])
        (tmp_path / "tmp" / "daily_report.xlsx").rename(folder / f"daily_{rep}.xlsx")
    hook.activate(url if url.startswith("postgresql") else None)
    daily = load_daily(folder)
    where = ledger_of(folder, url)
    ledger = Ledger.open(where)
    try:
        team = sample.settings.general.team_name
        assert ledger.counts(team)["ledger_rows"] == len(daily.frame)
        assert ledger.counts(team)["ledger_sources"] == 3
        first = reps[0]
        path = folder / f"daily_{first}.xlsx"
        target = a_daily_of(path, first)
        edit_cells(path, target["sheet"], {target["cell"]: target["visits"] + 1}, by=first)
        load_daily(folder)
        changed = [k for _, k in ledger.keys_like(team, "daily", "", limit=10**6)
                   if len(ledger.versions(team, "daily", k)) > 1]
        assert changed == [f"{first} {target['day'].isoformat()}"]
        # one rep's file validated alone: the other reps' rows are not deleted
        assert cli("validate", str(folder / f"daily_{reps[1]}.xlsx"), url=url
                   ).exit_code in (0, 1)
        assert ledger.counts(team)["ledger_versions"] == len(daily.frame) + 1
    finally:
        ledger.close()


def a_daily_of(path: Path, rep: str) -> dict[str, Any]:
    from xlsales.io.read import read_table
    from xlsales.tables import get
    from xlsales.workspace import read_settings

    table = read_table(path, get("daily"), read_settings(path.parent))
    df = table.df[table.df["visits"].notna() & (table.df["rep"] == rep)]
    row = int(df.index[0])
    return {"sheet": table.sheet, "cell": table.cell("visits", row),
            "visits": int(df.at[row, "visits"]), "day": df.at[row, "date"].date()}
