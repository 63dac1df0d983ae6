"""Helpers shared by the tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from xlsales.tables import get


def comparable(table: str, record: dict[str, Any]) -> dict[str, Any]:
    """A record's input values, normalised for comparison (blank = None)."""
    spec = get(table)
    out: dict[str, Any] = {}
    for col in spec.input_columns:
        value = record.get(col.key)
        if value == "":
            value = None
        if isinstance(value, dt.datetime):
            value = value.replace(second=0, microsecond=0) + dt.timedelta(
                minutes=round(value.second / 60))
        if isinstance(value, float) and value.is_integer() and col.kind.value == "text":
            value = str(int(value))
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = round(float(value), 6)
        out[col.key] = value
    return out
