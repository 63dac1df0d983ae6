"""Helpers shared by the tests."""

from __future__ import annotations

import datetime as dt
from typing import Any

from xlsales.tables import get
from xlsales.tables.base import TableSpec


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


def read_block(rows: list[list[Any]], spec: TableSpec, lang: str = "zh"
               ) -> tuple[int, dict[str, int], list[dict[str, Any]]]:
    """A table found by its header texts: (0-based header row, key → 0-based column, rows)."""
    headers = {c.key: c.header(lang) for c in spec.columns}  # type: ignore[arg-type]
    i = next((n for n, row in enumerate(rows) if all(h in row for h in headers.values())),
             None)
    assert i is not None, f"no header of {spec.key} found"
    cols = {k: rows[i].index(h) for k, h in headers.items()}
    out = []
    for row in rows[i + 1:]:
        values = {k: (row[c] if c < len(row) else None) for k, c in cols.items()}
        if all(v in (None, "") for v in values.values()):
            break
        out.append(values)
    return i, cols, out


def without_pyarrow(monkeypatch: Any) -> None:
    """From now on in this test, importing pyarrow fails, as in a Pyodide without it
    (xlwings Lite): the code paths that do without."""
    import builtins

    real = builtins.__import__

    def no_arrow(name: str, *args: Any, **kw: Any) -> Any:
        if name.startswith("pyarrow"):
            raise ImportError(name)
        return real(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", no_arrow)
