"""Every breakdown adds up to the team: for random teams (reps without a region or product
line, deals and dailies of people not on the roster, deals without an owner), the rep,
region and product-line groups of completion and of the forecast — with "unassigned" —
sum to the team's figures, and the review's team sales and won amount are those totals."""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlsales.discipline import daily_frame, dedupe
from xlsales.figures import UNASSIGNED
from xlsales.performance import Targets, completion
from xlsales.pipeline import forecast
from xlsales.review import ReviewData
from xlsales.review import figures as review_figures
from xlsales.sample import generate
from xlsales.settings import Settings

PERIODS = [(dt.date(2024, 3, 1), dt.date(2024, 3, 31)), (dt.date(2024, 1, 1),
           dt.date(2024, 3, 31)), (dt.date(2024, 3, 18), dt.date(2024, 3, 24)),
           (dt.date(2024, 4, 1), dt.date(2024, 6, 30))]
STRANGERS = ["小王", "外包小李", ""]


@functools.cache
def _sample() -> Any:
    return generate(2024)


@st.composite
def teams(draw: st.DrawFn) -> tuple[Settings, dict[str, list[dict[str, Any]]]]:
    sample = _sample()
    roster = [r.model_copy() for r in sample.settings.roster]
    for r in roster:
        if draw(st.integers(0, 4)) == 0:
            r.region = ""
        if draw(st.integers(0, 4)) == 0:
            r.product_line = ""
    keep = draw(st.integers(1, len(roster)))
    team = sample.settings.model_copy(update={"roster": roster[:keep]})
    names = [r.rep for r in sample.settings.roster] + STRANGERS
    data = {}
    for key, who in (("daily", "rep"), ("opportunities", "owner")):
        rows = [dict(r) for r in sample.data[key]]
        for r in rows[:: draw(st.integers(3, 40))]:
            r[who] = draw(st.sampled_from(names)) or None
        data[key] = rows
    return team, data


@settings(max_examples=30, deadline=None)
@given(team=teams(), period=st.sampled_from(PERIODS))
def test_every_breakdown_adds_up_to_the_team(
        team: tuple[Settings, dict[str, list[dict[str, Any]]]],
        period: tuple[dt.date, dt.date]) -> None:
    settings_, data = team
    sample = _sample()
    targets = Targets.from_records(sample.data["targets"], sample.data["team_targets"])
    first, last = period
    whole = completion(data["daily"], targets, settings_, first, last, by="team")
    assert len(whole.rows) == 1
    for by in ("rep", "region", "product"):
        parts = completion(data["daily"], targets, settings_, first, last, by=by)
        assert sum(r.actual for r in parts.rows) == pytest.approx(whole.rows[0].actual), by
        if by != "rep":
            reps = [rep for r in parts.rows for rep in r.reps]
            assert sorted(reps) == sorted(settings_.reps())  # each rep in one group

    team_fc = forecast(data["opportunities"], targets, settings_, first, last, by="team")
    for by in ("rep", "region", "product"):
        parts_fc = forecast(data["opportunities"], targets, settings_, first, last, by=by)
        for figure in ("won", "weighted", "pipeline_amount", "commit", "best_case",
                       "pipeline"):
            assert sum(getattr(r, figure) for r in parts_fc.rows) == pytest.approx(
                sum(getattr(r, figure) for r in team_fc.rows)), (by, figure)

    # the review's team figures count the same rows: strangers' and ownerless ones too
    # (one daily per rep and day, the latest, as every command reads them)
    kept, _ = dedupe(daily_frame(data["daily"]))
    signed = completion(kept, targets, settings_, first, last, by="team").rows[0].actual
    data_ = ReviewData(settings_, targets, data["daily"], data["opportunities"],
                       sample.data["stage_history"])
    review = review_figures(data_, first, last)
    assert review.dailies_signed == pytest.approx(signed)
    assert review.values["sales"] == pytest.approx(signed)
    assert review.opportunities_won == pytest.approx(sum(r.won for r in team_fc.rows))


def test_the_unassigned_group_is_named_in_the_team_language() -> None:
    sample = _sample()
    roster = [r.model_copy(update={"region": ""}) if i == 0 else r
              for i, r in enumerate(sample.settings.roster)]
    for lang in ("zh", "en"):
        general = sample.settings.general.model_copy(update={"language": lang})
        team = sample.settings.model_copy(update={"roster": roster, "general": general})
        targets = Targets.from_records(sample.data["targets"], sample.data["team_targets"])
        parts = completion(sample.data["daily"], targets, team, *PERIODS[0], by="region")
        assert UNASSIGNED(lang) in {r.key for r in parts.rows}
