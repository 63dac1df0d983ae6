"""The sample team: deterministic, realistic, consistent across tables."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest

from tests.helpers import comparable
from xlsales.calendar import WorkCalendar
from xlsales.sample import SAMPLE_END, SAMPLE_START, SAMPLE_TODAY, generate
from xlsales.workspace import BOOKS, read_settings, read_table, write_workspace


def test_same_seed_same_data() -> None:
    assert generate(7).data == generate(7).data
    assert generate(7).settings == generate(7).settings


def test_other_seed_other_data() -> None:
    assert generate(7).data["daily"] != generate(8).data["daily"]


def test_same_seed_same_workbooks(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    team = generate()
    write_workspace(a, team.settings, team.data)
    write_workspace(b, generate().settings, generate().data)
    settings = read_settings(a)
    for book in BOOKS:
        for spec in book.specs:
            assert read_table(a, spec.key, settings) == read_table(b, spec.key, settings), spec.key


def test_shape_of_the_team() -> None:
    team = generate()
    roster = team.settings.roster
    assert 10 <= len(roster) <= 14
    assert len({r.region for r in roster}) == 3
    assert len({r.product_line for r in roster}) == 2
    assert 130 <= len(team.data["customers"]) <= 170
    assert Counter(c["tier"] for c in team.data["customers"]).keys() == {"A", "B", "C"}
    assert {c["stage"] for c in team.data["customers"]} == {"潜在客户", "意向客户", "成交客户",
                                                            "流失客户"}
    days = [r["date"] for r in team.data["daily"]]
    assert min(days) >= SAMPLE_START and max(days) <= SAMPLE_END
    assert {d.month for d in days} == {10, 11, 12, 1, 2, 3}


def test_dailies_fall_on_working_days_except_the_deliberate_slip() -> None:
    cal = WorkCalendar()
    off = [r for r in generate().data["daily"] if not cal.is_working(r["date"])]
    assert [(r["date"], r["rep"]) for r in off] == [(dt.date(2024, 3, 17), "张伟")]
    # 2024-02-04 and 2024-02-18 were make-up working Sundays: reports exist on them.
    days = {r["date"] for r in generate().data["daily"]}
    assert {dt.date(2024, 2, 4), dt.date(2024, 2, 18)} <= days


def test_real_teams_have_slips() -> None:
    team = generate()
    daily = team.data["daily"]
    assert sum(r["effective"] > r["visits"] for r in daily) == 2
    assert sum(r["next_plan"] is None for r in daily) == 3
    late = [r for r in daily if r["submitted_at"].time() > dt.time(18, 0)]
    assert 0.02 < len(late) / len(daily) < 0.08
    keys = Counter((r["date"], r["rep"]) for r in daily)
    assert sum(n > 1 for n in keys.values()) == 1
    cal = WorkCalendar()
    expected = sum(1 for r in team.settings.roster for d in cal.days(SAMPLE_START, SAMPLE_TODAY)
                   if r.start_date is None or d >= r.start_date)
    missing = expected - len({k for k in keys if cal.is_working(k[0])})
    assert 0 < missing < 0.03 * expected


def test_stage_moves_agree_with_the_opportunities() -> None:
    team = generate()
    history = {(h["date"], h["owner"], f"{h['customer']}:{h['from_stage']}→{h['to_stage']}")
               for h in team.data["stage_history"] if h["from_stage"]}
    for row in team.data["daily"]:
        for move in (row["stage_moves"] or "").split(";"):
            if move:
                assert (row["date"], row["rep"], move) in history
    won = {o["opp_id"]: o for o in team.data["opportunities"] if o["stage"] == "签约成交"}
    signed = sum(r["amount_signed"] for r in team.data["daily"])
    in_period = sum(o["amount"] for o in won.values() if o["closed_on"] >= SAMPLE_START)
    assert signed == pytest.approx(in_period, abs=0.5)


def test_targets_leave_the_seed_margin() -> None:
    team = generate()
    for t in team.data["team_targets"]:
        owners = sum(r["quarterly_target"] for r in team.data["targets"]
                     if r["quarter"] == t["quarter"])
        assert 0.10 <= owners / t["team_target"] - 1 <= 0.15


def test_written_sample_reads_back_as_generated(tmp_path: Path) -> None:
    team = generate()
    write_workspace(tmp_path, team.settings, team.data)
    settings = read_settings(tmp_path)
    assert settings == team.settings.model_copy(
        update={"general": team.settings.general.model_copy(update={"language": "zh"})})
    for key, rows in team.data.items():
        back = read_table(tmp_path, key, settings)
        assert [comparable(key, r) for r in back] == [comparable(key, r) for r in rows], key


def test_committed_sample_is_fresh() -> None:
    """samples/sample_team matches a fresh generation (regenerate with `xlsales sample`)."""
    root = Path(__file__).parent.parent / "samples" / "sample_team"
    team = generate(2024)
    settings = read_settings(root)
    assert settings.roster == team.settings.roster
    for key, rows in team.data.items():
        back = read_table(root, key, settings)
        assert [comparable(key, r) for r in back] == [comparable(key, r) for r in rows], (
            f"{key}: samples/sample_team is stale; run "
            "`xlsales sample samples/sample_team --seed 2024`")


def test_the_english_sample_tells_the_same_story_in_english() -> None:
    """``xlsales sample --lang en``: every number, date and list value of the Chinese
    sample, row by row; English names and texts, no Chinese outside the list values (which
    an English workbook shows by their English names)."""
    import re

    zh, en = generate(2024), generate(2024, "en")
    cjk = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
    listed = {"industry", "source", "stage", "tier", "contact_kind", "kind", "product_line",
              "from_stage", "to_stage", "urgency", "budget_fit", "decision_clarity",
              "assessment", "priority", "region", "status"}  # a lead's status is free text
    assert zh.data.keys() == en.data.keys()
    for key, rows in zh.data.items():
        assert len(rows) == len(en.data[key]), key
        for a, b in zip(rows, en.data[key], strict=True):
            assert a.keys() == b.keys(), key
            for field, value in a.items():
                other = b[field]
                if isinstance(value, str) and (field not in listed
                                               or (key, field) == ("leads", "status")):
                    assert not cjk.search(other), (key, field, other)
                    assert (value == other) == (not cjk.search(value)), (key, field, other)
                else:
                    assert other == value, (key, field)
    names = {r.rep for r in en.settings.roster}
    assert len(names) == len(zh.settings.roster) and all(n.isascii() for n in names)
    assert en.settings.general.team_name.isascii()
    assert not cjk.search(en.settings.general.meeting_time + en.settings.general.meeting_topic)
    assert all(not cjk.search(a.item) for a in en.settings.agenda)
    assert en.settings.stages == zh.settings.stages  # stages are list values: shown in English
