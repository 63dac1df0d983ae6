"""Records encoded column by column (:mod:`xlsales.jsonrecords`) are the text ``json.dumps``
writes for each record, for every kind of value a command hands to ``--json``; and a
rollup's ``--json`` is the same text either way."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from xlsales.jobs import run_rollup
from xlsales.jsonrecords import json_records
from xlsales.rollup import week_columns, week_dicts
from xlsales.sample.generator import SAMPLE_TODAY

_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(), st.dates())
# a column holds one kind of value, with blanks or not, or anything at all
_COLUMN_OF = [st.text(), st.integers(), st.floats(), st.floats(allow_nan=False,
              allow_infinity=False), st.lists(st.text(), max_size=3), st.dates(), _SCALARS]


@st.composite
def _columns(draw: st.DrawFn) -> dict[str, list[Any]]:
    n = draw(st.integers(0, 12))
    keys = draw(st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=6,
                         unique=True))
    out = {}
    for key in keys:
        kind = draw(st.sampled_from(_COLUMN_OF))
        blanks = draw(st.booleans())
        values = draw(st.lists(st.one_of(kind, st.none()) if blanks else kind,
                               min_size=n, max_size=n))
        out[key] = values
    return out


def _dumped(columns: dict[str, list[Any]]) -> list[str]:
    return [json.dumps(dict(zip(columns, values, strict=True)), ensure_ascii=False,
                       default=str) for values in zip(*columns.values(), strict=True)]


@settings(max_examples=300, deadline=None)
@given(_columns())
def test_each_record_is_what_json_dumps_writes(columns: dict[str, list[Any]]) -> None:
    assert list(json_records(columns)) == _dumped(columns)


def test_equal_numbers_of_other_kinds_keep_their_own_text() -> None:
    columns = {"x": [1, 1.0, True, None, 1, 1.0, float("nan"), float("inf"), "1"],
               "%s key": ["a", "b", "c", "d", "e", "f", "g", "h", "i"]}
    assert list(json_records(columns)) == _dumped(columns)
    assert json_records({}) == []


def test_a_rollups_rows_are_the_same_text(tmp_path: Path) -> None:
    from xlsales.sample import generate
    from xlsales.workspace import write_workspace

    sample = generate()
    write_workspace(tmp_path, sample.settings, sample.data)
    result = run_rollup(tmp_path, all_weeks=True, today=SAMPLE_TODAY, write=False)
    rows = week_dicts(result.frame)
    assert len(rows) > 20
    assert list(json_records(week_columns(result.frame))) == [
        json.dumps(r, ensure_ascii=False, default=str) for r in rows]
    encoded, plain = result.as_dict(encoded=True), result.as_dict()
    assert encoded.keys() == plain.keys()
    assert "[" + ", ".join(encoded["rows"]) + "]" == json.dumps(plain["rows"],
                                                                ensure_ascii=False)
