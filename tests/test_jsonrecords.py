"""Records encoded column by column (:mod:`xlsales.jsonrecords`) are the text ``json.dumps``
writes for each record, for every kind of value a command hands to ``--json``; and a
rollup's ``--json`` is the same text either way."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import without_pyarrow
from xlsales.jobs import run_rollup
from xlsales.jsonrecords import json_columns, json_records
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


_TEXT = st.text(alphabet=st.sampled_from(list('ab中"\\\n\t\x01 é😀')), max_size=5)


@st.composite
def _arrays(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """Columns as arrays (numpy integers and floats, pandas' Arrow-backed text, lists),
    and the same columns as lists of the values json.dumps is given (NaN and missing
    text as None)."""
    import numpy as np
    import pandas as pd

    n = draw(st.integers(0, 12))
    arrays: dict[str, Any] = {}
    lists: dict[str, list[Any]] = {}
    for i in range(draw(st.integers(1, 5))):
        key = f'k{i}"'
        kind = draw(st.sampled_from(["int", "float", "text", "dates"]))
        if kind == "int":
            values = draw(st.lists(st.integers(-2**62, 2**62), min_size=n, max_size=n))
            arrays[key], lists[key] = np.array(values, dtype=np.int64), values
        elif kind == "float":
            values = draw(st.lists(st.floats(), min_size=n, max_size=n))
            arrays[key] = np.array(values, dtype=np.float64)
            lists[key] = [None if v != v else v for v in values]
        elif kind == "text":
            values = draw(st.lists(st.one_of(_TEXT, st.none()) if draw(st.booleans())
                                   else _TEXT, min_size=n, max_size=n))
            arrays[key], lists[key] = pd.array(values, dtype="str"), values
        else:
            values = draw(st.lists(st.one_of(st.dates().map(dt.date.isoformat), st.none()),
                                   min_size=n, max_size=n))
            arrays[key] = lists[key] = values
    return arrays, lists


@settings(max_examples=300, deadline=None)
@given(_arrays())
def test_columns_as_arrays_are_what_json_dumps_writes(
        given_: tuple[dict[str, Any], dict[str, list[Any]]]) -> None:
    """json_columns (Arrow's string kernels) writes each record as json.dumps does: text
    with quotes, backslashes and control characters, blanks, NaN as a blank, infinities,
    the largest integers."""
    arrays, lists = given_
    assert json_columns(arrays) == _dumped(lists)


def test_columns_as_arrays_without_pyarrow_are_the_same_text(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Without pyarrow (xlwings Lite's Pyodide) the same text comes value by value."""
    import numpy as np
    import pandas as pd

    columns = {"n": np.array([1, -2], dtype=np.int64), "x": np.array([0.1, float("nan")]),
               "t": pd.array(['a"b', None], dtype="str")}
    with_arrow = json_columns(columns)
    without_pyarrow(monkeypatch)
    assert json_columns(columns) == with_arrow == [
        '{"n": 1, "x": 0.1, "t": "a\\"b"}', '{"n": -2, "x": null, "t": null}']


def test_whole_column_rates_are_the_rates_one_by_one() -> None:
    """completion_rates and effective_rates (numpy, for --json) give what completion_rate
    and effective_rate give value by value (None as NaN)."""
    import numpy as np

    from xlsales.figures import (
        completion_rate,
        completion_rates,
        effective_rate,
        effective_rates,
    )

    rng = np.random.default_rng(4)
    actual = rng.choice([0.0, 1.5, 1e-7, 3.0, 1234567.891, float("nan")], 500)
    target = rng.choice([0.0, 2.0, 0.3, float("nan"), 7e9, -1.0], 500)
    got = completion_rates(actual, target)
    for a, t, g in zip(actual.tolist(), target.tolist(), got.tolist(), strict=True):
        want = completion_rate(None if a != a else a, None if t != t else t)
        assert (g != g and want is None) or g == want
    visits = rng.integers(0, 9, 500)
    effective = rng.integers(0, 9, 500)
    got = effective_rates(effective, visits)
    for e, v, g in zip(effective.tolist(), visits.tolist(), got.tolist(), strict=True):
        want = effective_rate(e, v)
        assert (g != g and want is None) or g == want
