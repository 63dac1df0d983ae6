"""Many teams on one company PostgreSQL (xlsales.ledger.company): row-level security per
team role and for the director, incremental and concurrent pushes, and completion by team
across teams — against the real PostgreSQL server of tests/pg_server.py (the ``postgres``
fixture fails instead of skipping when CI is set)."""

from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from xlsales.cli import app
from xlsales.ledger import hook
from xlsales.ledger.company import (
    SETTINGS_TABLE,
    company_completion,
    push,
    push_workspace,
    read_company,
    setup_company,
)
from xlsales.ledger.store import Ledger, LedgerError

runner = CliRunner()
PERIOD = "2024Q1"
MONTH = "2024-03"
TAG = f"x{os.getpid()}"
TEAM_A, TEAM_B = "华东一部", "North team"
ROLES = {TEAM_A: f"{TAG}_east", TEAM_B: f"{TAG}_north"}
DIRECTOR = f"{TAG}_director"
PASSWORDS = {r: f"pw-{r}" for r in [*ROLES.values(), DIRECTOR]}
TABLES = ("ledger_versions", "ledger_rows", "ledger_sources", "ledger_snapshot_weeks",
          "ledger_snapshots")


@dataclass
class Team:
    """A team's workspace, its own ledger and its completion computed from its workbooks."""

    name: str
    root: Path
    local: str
    own: Any  # Completion by team
    review: Any  # its own review of MONTH


def as_role(admin: str, role: str) -> str:
    """The company database's URL for a role (its password set by setup_company)."""
    return (sa.engine.make_url(admin).set(username=role, password=PASSWORDS[role])
            .render_as_string(hide_password=False))


def engine(url: str) -> sa.Engine:
    return sa.create_engine(url)


def counts_by_team(url: str, table: str) -> dict[str, int]:
    with engine(url).connect() as conn:
        return dict(conn.execute(sa.text(f"SELECT team, count(*) FROM {table} GROUP BY team"))
                    .all())


def local_counts(team: Team) -> dict[str, int]:
    ledger = Ledger.open(team.local)
    try:
        return ledger.counts(team.name)
    finally:
        ledger.close()


def new_company(postgres: Any) -> str:
    admin = postgres.database()
    setup_company(admin, ROLES, DIRECTOR, passwords=PASSWORDS)
    return admin


@pytest.fixture(scope="module")
def teams(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Team]:
    """Two sample workspaces (other seeds, other team names), each read by ``completion
    --by team`` and the review with the ledger on: its rows recorded in its own SQLite."""
    from xlsales.calendar import parse_period
    from xlsales.jobs import run_completion
    from xlsales.jobs.review import review_data
    from xlsales.review import build_review
    from xlsales.sample import generate
    from xlsales.workspace import write_workspace

    out = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("XLSALES_LEDGER", raising=False)
        for name, seed in ((TEAM_A, 2024), (TEAM_B, 11)):
            sample = generate(seed)
            sample.settings.general.team_name = name
            root = tmp_path_factory.mktemp("company") / f"team{seed}"
            write_workspace(root, sample.settings, sample.data, lang="zh")  # type: ignore[arg-type]
            hook.activate()
            try:
                own = run_completion(root, PERIOD, by="team")
                data, _ = review_data(root)
            finally:
                hook.deactivate()
            review = build_review(data, *parse_period(MONTH)[:2], MONTH, lang="zh")
            out[name] = Team(name, root, f"sqlite:///{hook.default_path(root)}", own, review)
    return out


@pytest.fixture(scope="module")
def company(postgres: Any, teams: dict[str, Team]) -> str:
    """A company ledger both teams pushed into, each with its own role; its admin URL."""
    from xlsales.jobs.sources import workspace_settings

    admin = new_company(postgres)
    for team in teams.values():
        push(team.local, as_role(admin, ROLES[team.name]), team.name,
             settings=workspace_settings(team.root))
    return admin


@pytest.fixture(autouse=True)
def _ledger_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("XLSALES_LEDGER", raising=False)
    yield
    hook.deactivate()


# -- setting up ------------------------------------------------------------------------------


def test_setup_company_is_idempotent(postgres: Any) -> None:
    admin = postgres.database()
    first = setup_company(admin, {TEAM_A: f"{TAG}_fresh"}, f"{TAG}_boss")
    assert sorted(first.created) == sorted([f"{TAG}_fresh", f"{TAG}_boss"])
    assert all(len(p) >= 16 for p in first.created.values())
    again = setup_company(admin, {TEAM_A: f"{TAG}_fresh", TEAM_B: f"{TAG}_fresh2"},
                          f"{TAG}_boss")
    assert sorted(again.created) == [f"{TAG}_fresh2"]  # existing roles keep their password
    with engine(admin).connect() as conn:
        mapping = dict(conn.execute(sa.text("SELECT role, team FROM ledger_team_roles")).all())
        forced = dict(conn.execute(sa.text(
            "SELECT relname, relforcerowsecurity AND relrowsecurity FROM pg_class "
            "WHERE relname LIKE 'ledger_%' AND relkind = 'r'")).all())
        policies = conn.execute(sa.text(
            "SELECT tablename, policyname FROM pg_policies WHERE tablename = 'ledger_rows' "
            "ORDER BY policyname")).all()
    assert mapping == {f"{TAG}_fresh": TEAM_A, f"{TAG}_fresh2": TEAM_B}
    assert forced == {t: True for t in [*TABLES, "ledger_team_roles"]}
    assert [p for _, p in policies] == [f"xlsales_director_{TAG}_boss", "xlsales_owner",
                                        "xlsales_team"]


def test_a_bad_role_name_or_a_director_team_is_refused(postgres: Any) -> None:
    with pytest.raises(LedgerError, match="role name"):
        setup_company("postgresql://nobody@/x", {TEAM_A: "a; DROP TABLE x"}, "boss")
    with pytest.raises(LedgerError, match="cannot also be"):
        setup_company("postgresql://nobody@/x", {TEAM_A: "same"}, "same")
    with pytest.raises(LedgerError, match="must be PostgreSQL"):
        setup_company("sqlite:////nowhere/company.sqlite", {TEAM_A: "east"}, "boss")
    assert not Path("/nowhere").exists()


# -- row-level security ----------------------------------------------------------------------


def test_a_team_role_reads_only_its_own_rows(company: str) -> None:
    with engine(company).connect() as conn:  # the owner sees both teams
        assert {t for (t,) in conn.execute(sa.text("SELECT DISTINCT team FROM ledger_rows"))
                } == {TEAM_A, TEAM_B}
    for name, role in ROLES.items():
        other = TEAM_B if name == TEAM_A else TEAM_A
        with engine(as_role(company, role)).connect() as conn:
            for table in ("ledger_versions", "ledger_rows"):
                seen = {t for (t,) in conn.execute(sa.text(f"SELECT DISTINCT team FROM {table}"))}
                assert seen == {name}
                assert conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE team = :t"),
                                    {"t": other}).scalar() == 0
            mapping = conn.execute(sa.text("SELECT role, team FROM ledger_team_roles")).all()
            assert mapping == [(role, name)]


def test_a_team_role_cannot_change_another_teams_rows(company: str) -> None:
    before = {t: counts_by_team(company, t) for t in TABLES[:2]}
    east = engine(as_role(company, ROLES[TEAM_A]))
    with east.connect() as conn:  # the other team's rows: invisible, so nothing changes
        assert conn.execute(sa.text("UPDATE ledger_rows SET hash = 0 WHERE team = :t"),
                            {"t": TEAM_B}).rowcount == 0
        conn.commit()
    writes = [
        "INSERT INTO ledger_rows (team, tbl, key, hash, version, first_seen, changed_at, "
        "deleted) VALUES (:t, 'daily', 'x 2024-01-02', 1, 1, now(), now(), false)",
        "INSERT INTO ledger_versions (team, tbl, key, version, hash, seen_at, deleted) "
        "VALUES (:t, 'daily', 'x 2024-01-02', 1, 1, now(), false)",
        "INSERT INTO ledger_sources (team, tbl, source, digest, rows, recorded_at) "
        "VALUES (:t, 'daily', 'x.xlsx', 'd', 1, now())",
        # moving an own row into the other team
        "UPDATE ledger_rows SET team = :t WHERE tbl = 'daily'",
    ]
    for statement in writes:
        with east.connect() as conn, pytest.raises(sa.exc.ProgrammingError,
                                                   match="row-level security"):
            conn.execute(sa.text(statement), {"t": TEAM_B})
    assert {t: counts_by_team(company, t) for t in TABLES[:2]} == before


def test_a_team_role_cannot_change_the_role_mapping(company: str) -> None:
    statements = [
        "INSERT INTO ledger_team_roles (role, team) VALUES (:r, :t)",
        "UPDATE ledger_team_roles SET team = :t WHERE role = :r",
        "DELETE FROM ledger_team_roles WHERE role = :r",
    ]
    for statement in statements:
        with engine(as_role(company, ROLES[TEAM_A])).connect() as conn, \
                pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text(statement), {"r": ROLES[TEAM_A], "t": TEAM_B})
    with engine(company).connect() as conn:
        assert dict(conn.execute(sa.text("SELECT role, team FROM ledger_team_roles")).all()) \
            == {r: t for t, r in ROLES.items()}


def test_the_director_reads_every_team_and_writes_none(company: str) -> None:
    boss = as_role(company, DIRECTOR)
    for table in TABLES[:2]:
        assert counts_by_team(boss, table) == counts_by_team(company, table)
        assert set(counts_by_team(boss, table)) == {TEAM_A, TEAM_B}
    statements = [
        "UPDATE ledger_rows SET hash = 0",
        "DELETE FROM ledger_versions",
        "INSERT INTO ledger_rows (team, tbl, key, hash, version, first_seen, changed_at, "
        "deleted) VALUES (:t, 'daily', 'x 2024-01-02', 1, 1, now(), now(), false)",
        "UPDATE ledger_team_roles SET team = :t",
    ]
    for statement in statements:
        with engine(boss).connect() as conn, \
                pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            conn.execute(sa.text(statement), {"t": TEAM_A})


def with_password(admin: str, role: str, password: str) -> str:
    return (sa.engine.make_url(admin).set(username=role, password=password)
            .render_as_string(hide_password=False))


def denied(url: str, statement: str, **params: Any) -> None:
    """``statement`` run as the role of ``url`` is refused by a grant."""
    with engine(url).connect() as conn, pytest.raises(sa.exc.ProgrammingError,
                                                      match="permission denied"):
        conn.execute(sa.text(statement), params)


def test_a_team_cannot_rewrite_its_history(company: str) -> None:
    east = as_role(company, ROLES[TEAM_A])
    before = counts_by_team(company, "ledger_versions")
    for statement in ["UPDATE ledger_versions SET data = NULL WHERE team = :t",
                      "DELETE FROM ledger_versions WHERE team = :t",
                      "DELETE FROM ledger_rows WHERE team = :t",
                      "UPDATE ledger_snapshots SET amount = 0 WHERE team = :t",
                      "DELETE FROM ledger_snapshot_weeks WHERE team = :t"]:
        denied(east, statement, t=TEAM_A)
    assert counts_by_team(company, "ledger_versions") == before
    with engine(east).connect() as conn:  # what push needs: its own rows still read
        assert conn.execute(sa.text("SELECT count(*) FROM ledger_versions")).scalar() == \
            before[TEAM_A]


def test_the_snapshot_tables_are_the_teams_own(postgres: Any) -> None:
    from xlsales import accuracy as A
    from xlsales.settings import Settings

    admin = new_company(postgres)
    ledger = Ledger.open(admin)
    try:
        for i, team in enumerate(ROLES):
            snap = A.snapshot(pd.DataFrame({
                "opp_id": [f"O{i}"], "customer": ["c"], "owner": ["o"], "stage": ["方案提交"],
                "amount": [10.0 + i], "expected_close": [pd.Timestamp("2024-03-01")],
                "closed_on": [pd.NaT]}), Settings.default(), dt.date(2024, 2, 1))
            assert ledger.record_snapshot(team, snap, dt.date(2024, 2, 1))
    finally:
        ledger.close()
    for table in ("ledger_snapshot_weeks", "ledger_snapshots"):
        assert counts_by_team(admin, table) == {TEAM_A: 1, TEAM_B: 1}
        assert counts_by_team(as_role(admin, DIRECTOR), table) == {TEAM_A: 1, TEAM_B: 1}
        for team, role in ROLES.items():
            assert counts_by_team(as_role(admin, role), table) == {team: 1}
    with engine(as_role(admin, ROLES[TEAM_A])).connect() as conn, pytest.raises(
            sa.exc.ProgrammingError, match="row-level security"):
        conn.execute(sa.text(
            "INSERT INTO ledger_snapshot_weeks (team, week, taken_on, rows, recorded_at) "
            "VALUES (:t, '2024-W06', '2024-02-05', 0, now())"), {"t": TEAM_B})
    denied(as_role(admin, DIRECTOR), "DELETE FROM ledger_snapshots")


def test_setup_again_drops_the_old_director_and_a_teams_old_role(postgres: Any) -> None:
    admin = postgres.database()
    old, new, first, second = (f"{TAG}_{n}" for n in ("d_old", "d_new", "r_old", "r_new"))
    words = {r: f"pw-{r}" for r in (old, new, first, second)}
    setup_company(admin, {TEAM_A: first}, old, passwords=words)
    ledger = Ledger.open(admin)
    try:
        ledger.record(TEAM_A, "customers", pd.DataFrame({"customer_id": ["C1"]}), "c.xlsx")
    finally:
        ledger.close()
    assert counts_by_team(with_password(admin, old, words[old]), "ledger_rows") == {TEAM_A: 1}
    assert counts_by_team(with_password(admin, first, words[first]),
                          "ledger_rows") == {TEAM_A: 1}
    setup_company(admin, {TEAM_A: second}, new, passwords=words)
    with engine(admin).connect() as conn:
        mapping = dict(conn.execute(sa.text("SELECT role, team FROM ledger_team_roles")).all())
        policies = set(conn.execute(sa.text(
            "SELECT policyname FROM pg_policies WHERE policyname LIKE 'xlsales_director%'")
        ).scalars())
    assert mapping == {second: TEAM_A}  # the team's old role maps to nothing
    assert policies == {f"xlsales_director_{new}"}
    assert counts_by_team(with_password(admin, new, words[new]), "ledger_rows") == {TEAM_A: 1}
    assert counts_by_team(with_password(admin, second, words[second]),
                          "ledger_rows") == {TEAM_A: 1}
    for role in (old, first):  # neither reads nor writes the team's rows any more
        url = with_password(admin, role, words[role])
        denied(url, "SELECT count(*) FROM ledger_rows")
        denied(url, "INSERT INTO ledger_versions (team, tbl, key, version, hash, seen_at, "
               "deleted) VALUES (:t, 'customers', 'C9', 1, 1, now(), false)", t=TEAM_A)
    setup_company(admin, {TEAM_A: second}, new, passwords=words)  # again: the same
    assert counts_by_team(with_password(admin, new, words[new]), "ledger_rows") == {TEAM_A: 1}


def test_a_bad_password_option_is_not_echoed() -> None:
    for given in ("a:S3cretPw", "=S3cretPw", "S3cretPw"):
        got = runner.invoke(app, ["ledger", "setup-company", "postgresql://x@/y", "--team",
                                  "A=a", "--director", "boss", "--password", given,
                                  "--json"])
        assert got.exit_code == 2, got.output
        assert "S3cretPw" not in got.output and "ROLE=PASSWORD" in got.output
    plain = runner.invoke(app, ["ledger", "setup-company", "postgresql://x@/y", "--team",
                                "A=a", "--director", "boss", "--password", "a:S3cretPw"])
    assert plain.exit_code == 2 and "S3cretPw" not in plain.output


# -- pushing ---------------------------------------------------------------------------------


def test_push_is_incremental_and_moves_rows_only_forward(
        postgres: Any, teams: dict[str, Team], tmp_path: Path) -> None:
    from xlsales.jobs.sources import load_daily

    team = teams[TEAM_A]
    local = tmp_path / "ledger.sqlite"
    shutil.copyfile(hook.default_path(team.root), local)
    stale = tmp_path / "stale.sqlite"
    shutil.copyfile(local, stale)
    admin = new_company(postgres)
    to = as_role(admin, ROLES[TEAM_A])
    mine = local_counts(team)

    first = push(f"sqlite:///{local}", to, TEAM_A)
    assert (first.versions, first.rows) == (mine["ledger_versions"], mine["ledger_rows"])
    again = push(f"sqlite:///{local}", to, TEAM_A)
    assert (again.versions, again.rows, again.pending) == (0, 0, 0)

    # one daily row changes in the team's ledger: exactly one version goes
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XLSALES_LEDGER", "off")
        daily = load_daily(team.root, validate=False)
    frame = daily.frame.copy()
    at = frame.index[5]
    frame.loc[at, "amount_signed"] = (frame.loc[at, "amount_signed"] or 0) + 7.5
    ledger = Ledger.open(f"sqlite:///{local}")
    try:
        recorded = ledger.record(TEAM_A, "daily", frame, daily.files[0].name)
    finally:
        ledger.close()
    assert (recorded.changed, recorded.new, recorded.deleted) == (1, 0, 0)
    third = push(f"sqlite:///{local}", to, TEAM_A)
    assert (third.versions, third.rows) == (1, 1)

    # a stale copy of the ledger (before the change) moves nothing back
    fourth = push(f"sqlite:///{stale}", to, TEAM_A)
    assert (fourth.versions, fourth.rows) == (0, 0)
    with engine(admin).connect() as conn:
        top = conn.execute(sa.text("SELECT max(version) FROM ledger_rows WHERE tbl = 'daily'")
                           ).scalar()
        n = conn.execute(sa.text("SELECT count(*) FROM ledger_versions")).scalar()
    assert top == 2
    assert n == mine["ledger_versions"] + 1


def _push_at_once(barrier: Any, root: str, to: str, out: Any) -> None:
    os.environ.pop("XLSALES_LEDGER", None)
    barrier.wait(timeout=120)
    done = push_workspace(Path(root), to)
    out.put((done.team, done.versions, done.rows, done.settings))


def test_concurrent_pushes_lose_and_duplicate_nothing(postgres: Any,
                                                      teams: dict[str, Team]) -> None:
    admin = new_company(postgres)
    jobs = [teams[TEAM_A], teams[TEAM_A], teams[TEAM_B], teams[TEAM_B]]
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(len(jobs)), ctx.Queue()
    procs = [ctx.Process(target=_push_at_once,
                         args=(barrier, str(t.root), as_role(admin, ROLES[t.name]), out))
             for t in jobs]
    for p in procs:
        p.start()
    for p in procs:
        p.join(180)
    assert [p.exitcode for p in procs] == [0] * len(jobs)
    results = [out.get(timeout=5) for _ in jobs]
    for name, team in teams.items():
        mine = local_counts(team)
        done = [r for r in results if r[0] == name]
        # every version went exactly once, one of the two pushes sent the settings
        assert sum(r[1] for r in done) == mine["ledger_versions"]
        assert sum(r[3] for r in done) == 1
        assert counts_by_team(admin, "ledger_versions")[name] == mine["ledger_versions"] + 1
        assert counts_by_team(admin, "ledger_rows")[name] == mine["ledger_rows"] + 1
    with engine(admin).connect() as conn:
        dupes = conn.execute(sa.text(
            "SELECT count(*) FROM (SELECT team, tbl, key, version FROM ledger_versions "
            "GROUP BY 1, 2, 3, 4 HAVING count(*) > 1) d")).scalar()
        company_rows = pd.DataFrame(conn.execute(sa.text(
            "SELECT team, tbl, key, version, hash FROM ledger_rows WHERE tbl <> :s"),
            {"s": SETTINGS_TABLE}).all(), columns=["team", "tbl", "key", "version", "hash"])
    assert dupes == 0
    for name, team in teams.items():
        with engine(team.local).connect() as conn:
            local_rows = pd.DataFrame(conn.execute(sa.text(
                "SELECT team, tbl, key, version, hash FROM ledger_rows")).all(),
                columns=["team", "tbl", "key", "version", "hash"])
        theirs = company_rows[company_rows["team"] == name]
        key = ["tbl", "key"]
        pd.testing.assert_frame_equal(
            theirs.sort_values(key).reset_index(drop=True),
            local_rows.sort_values(key).reset_index(drop=True), check_dtype=False)


def test_push_with_another_teams_role_is_refused(company: str, teams: dict[str, Team]) -> None:
    with pytest.raises(LedgerError, match="push with the team's own role"):
        push(teams[TEAM_A].local, as_role(company, ROLES[TEAM_B]), TEAM_A)
    result = runner.invoke(app, ["ledger", "push", "--to", as_role(company, ROLES[TEAM_B]),
                                 "-w", str(teams[TEAM_A].root), "--json"])
    assert result.exit_code == 2, result.output
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    assert "请用该团队自己的角色" in payload["error"]
    assert PASSWORDS[ROLES[TEAM_B]] not in payload["error"]
    assert counts_by_team(company, "ledger_versions")[TEAM_A] == local_counts(
        teams[TEAM_A])["ledger_versions"] + 1


def test_cli_push_sends_nothing_twice(company: str, teams: dict[str, Team],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XLSALES_COMPANY_URL", as_role(company, ROLES[TEAM_B]))
    result = runner.invoke(app, ["ledger", "push", "-w", str(teams[TEAM_B].root), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"ok": True, "team": TEAM_B, "versions": 0,
                                         "rows": 0, "settings": False, "pending": 0}
    monkeypatch.delenv("XLSALES_COMPANY_URL")
    result = runner.invoke(app, ["ledger", "push", "-w", str(teams[TEAM_B].root), "--json"])
    assert result.exit_code == 2
    assert "XLSALES_COMPANY_URL" in json.loads(result.stdout)["error"]


# -- reading across teams ----------------------------------------------------------------------


def test_the_company_frames_are_the_teams_own(company: str, teams: dict[str, Team]) -> None:
    from xlsales.jobs.sources import load_daily, load_targets, workspace_settings

    data = read_company(as_role(company, DIRECTOR))
    assert list(data.teams) == sorted([TEAM_A, TEAM_B])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XLSALES_LEDGER", "off")
        for name, team in teams.items():
            got = data.teams[name]
            daily = load_daily(team.root, validate=False)
            own = daily.frame.sort_values(["rep", "date"]).reset_index(drop=True)
            theirs = got.daily.sort_values(["rep", "date"]).reset_index(drop=True)
            pd.testing.assert_frame_equal(theirs, own, check_index_type=False)
            assert got.settings == workspace_settings(team.root)
            targets = load_targets(team.root)
            assert got.targets.months == pytest.approx(targets.months)
            assert got.targets.team_quarters == targets.team_quarters


def test_completion_by_team_equals_each_teams_own(company: str, teams: dict[str, Team]) -> None:
    from xlsales.calendar import parse_period

    first, last, _ = parse_period(PERIOD)
    result = company_completion(read_company(as_role(company, DIRECTOR)), first, last)
    assert result.by == "team"
    assert sorted(r.key for r in result.rows) == sorted([TEAM_A, TEAM_B])
    for row in result.rows:
        (own,) = teams[row.key].own.rows
        assert row.actual == own.actual
        assert row.target == pytest.approx(own.target, rel=1e-12)
        assert row.rate == pytest.approx(own.rate, rel=1e-12)
        assert row.quota_basis == own.quota_basis
    ranked = sorted(result.rows, key=lambda r: -r.rate)
    assert [r.rank for r in ranked] == [1, 2]
    # a team's own role sees its own team only
    alone = company_completion(read_company(as_role(company, ROLES[TEAM_B])), first, last)
    assert [r.key for r in alone.rows] == [TEAM_B]
    assert alone.rows[0].actual == teams[TEAM_B].own.rows[0].actual


def test_cli_company_completion_and_setup(company: str, teams: dict[str, Team],
                                          postgres: Any) -> None:
    result = runner.invoke(app, ["company", "completion", "--company",
                                 as_role(company, DIRECTOR), "--period", PERIOD, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert {r["key"]: r["actual"] for r in payload["rows"]} == {
        name: team.own.rows[0].actual for name, team in teams.items()}
    assert PASSWORDS[DIRECTOR] not in payload["company"]
    same = runner.invoke(app, ["completion", "--by", "team", "--company",
                               as_role(company, DIRECTOR), "--period", PERIOD, "--json"])
    assert same.exit_code == 0, same.output
    assert json.loads(same.stdout)["rows"] == payload["rows"]
    by_rep = runner.invoke(app, ["completion", "--company", as_role(company, DIRECTOR),
                                 "--period", PERIOD, "--json"])
    assert by_rep.exit_code == 2
    assert "--by team" in json.loads(by_rep.stdout)["error"]
    text = runner.invoke(app, ["company", "completion", "--company",
                               as_role(company, DIRECTOR), "--period", PERIOD, "--lang", "en"])
    assert text.exit_code == 0, text.output
    assert TEAM_B in text.stdout and TEAM_A in text.stdout

    admin = postgres.database()
    result = runner.invoke(app, ["ledger", "setup-company", admin, "--team",
                                 f"{TEAM_A}={TAG}_cli", "--director", f"{TAG}_cliboss",
                                 "--password", f"{TAG}_cli=secret-1", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["teams"] == {f"{TAG}_cli": TEAM_A}
    assert payload["passwords"][f"{TAG}_cli"] == "secret-1"
    bad = runner.invoke(app, ["ledger", "setup-company", admin, "--team", "nameonly",
                              "--director", "boss", "--json"])
    assert bad.exit_code == 2
    assert "NAME=ROLE" in json.loads(bad.stdout)["error"]


def test_the_company_review_gives_each_teams_own_figures(company: str, teams: dict[str, Team],
                                                          tmp_path: Path) -> None:
    from openpyxl import load_workbook

    from tests.strict import assert_strict
    from xlsales.tables.review import HORIZONTAL

    result = runner.invoke(app, ["company", "review", "--month", MONTH, "--company",
                                 as_role(company, DIRECTOR), "--out",
                                 str(tmp_path / "company.xlsx"), "--lang", "zh", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert sorted(r["name"] for r in payload["teams"]) == sorted(teams)
    for row in payload["teams"]:
        own = {m.key: m for m in teams[row["name"]].review.metrics}
        for key in ("sales", "completion", "new_customers", "visits", "win_rate"):
            assert row[key] == pytest.approx(own[key].actual, rel=1e-12), key
        assert row["quota"] == pytest.approx(own["sales"].target, rel=1e-12)
    assert [r["rank"] for r in sorted(payload["teams"], key=lambda r: -r["completion"])] \
        == [1, 2]
    path = tmp_path / "company.xlsx"
    same = runner.invoke(app, ["review", "--company", as_role(company, DIRECTOR), "--month",
                               MONTH, "--out", str(tmp_path / "same.xlsx"), "--json"])
    assert same.exit_code == 0, same.output
    assert json.loads(same.stdout)["teams"] == payload["teams"]
    assert_strict(path)
    wb = load_workbook(path, read_only=True)
    sheet = wb[HORIZONTAL.sheet("zh")]
    names = {row[1] for row in sheet.iter_rows(min_row=4, values_only=True) if row[1]}
    wb.close()
    assert names == set(teams)


def test_a_company_ledger_behind_xlsales_asks_for_setup_again(
        postgres: Any, teams: dict[str, Team]) -> None:
    from xlsales.ledger.store import HEAD, migrate

    admin = new_company(postgres)
    with engine(admin).begin() as conn:  # as a ledger of the previous revision
        migrate(conn, f"{int(HEAD) - 1:04d}")
    east = as_role(admin, ROLES[TEAM_A])
    with pytest.raises(LedgerError, match="runs xlsales ledger setup-company first"):
        push(teams[TEAM_A].local, east, TEAM_A)
    setup_company(admin, ROLES, DIRECTOR, passwords=PASSWORDS)  # migrates, secures again
    done = push(teams[TEAM_A].local, east, TEAM_A)
    assert done.versions == local_counts(teams[TEAM_A])["ledger_versions"]
    with engine(as_role(admin, ROLES[TEAM_B])).connect() as conn:
        for table in TABLES:
            assert conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() == 0
