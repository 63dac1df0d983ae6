"""Natural keys, content hashes and JSON data of table rows — whole columns at a time
(pandas only; nothing here touches the database)."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from xlsales import tables as T

# The columns naming a row of each recorded table (rep + date for the dailies, the id of a
# customer, lead or opportunity …). A key seen twice in one read gets " #2", " #3" …
KEYS: dict[str, tuple[str, ...]] = {
    "daily": ("rep", "date"),
    "customers": ("customer_id",),
    "follow_ups": ("customer", "date", "owner"),
    "leads": ("lead_id",),
    "opportunities": ("opp_id",),
    "stage_history": ("opp_id", "date", "from_stage", "to_stage"),
    "targets": ("owner", "quarter"),
    "team_targets": ("quarter",),
}
RECORDED = tuple(KEYS)


def columns(key: str, frame: pd.DataFrame) -> list[str]:
    """The table's own columns present in ``frame``, in the table's order."""
    return [c.key for c in T.get(key).columns if c.key in frame.columns]


def content(key: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The recorded part of ``frame``: the table's columns, rows with a key."""
    sub = frame[columns(key, frame)]
    names = [c for c in KEYS[key] if c in sub.columns]
    if not names:
        return sub.iloc[0:0]
    keyed = sub[names].notna().any(axis=1)
    return sub if bool(keyed.all()) else sub[keyed]


def row_hashes(frame: pd.DataFrame) -> np.ndarray:
    """One signed 64-bit content hash per row (dates hashed at millisecond precision, so
    a frame read again hashes the same)."""
    fixed = {c: frame[c].astype("datetime64[ms]") for c in frame.columns
             if pd.api.types.is_datetime64_any_dtype(frame[c])
             and frame[c].dtype != "datetime64[ms]"}
    if fixed:
        frame = frame.assign(**fixed)
    return pd.util.hash_pandas_object(frame, index=False).to_numpy().view("int64")


def digest(hashes: np.ndarray) -> str:
    """One digest of a run of row hashes (their order included)."""
    return hashlib.sha256(np.ascontiguousarray(hashes).tobytes()).hexdigest()


def _part(s: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s):
        text = s.dt.strftime("%Y-%m-%d")
    elif pd.api.types.is_float_dtype(s):
        text = s.map(lambda v: f"{v:g}", na_action="ignore")
    else:
        text = s.astype("string").str.strip()
    return text.fillna("").astype(object)


def row_keys(key: str, frame: pd.DataFrame) -> np.ndarray:
    """The natural key of each row as text ("张三 2024-03-05"); repeats get " #n"."""
    names = [c for c in KEYS[key] if c in frame.columns]
    parts = [_part(frame[c]) for c in names]
    text = parts[0]
    for p in parts[1:]:
        text = text + " " + p
    text = text.str.strip()
    n = text.groupby(text.to_numpy()).cumcount().to_numpy()
    out = np.array(text.to_numpy(dtype=object), dtype=object)
    if n.any():
        dup = n > 0
        out[dup] = out[dup] + " #" + (n[dup] + 1).astype(str).astype(object)
    return out


def key_text(parts: list[str]) -> str:
    """A key typed by a person (``张三 2024-03-05`` or its parts) as the ledger spells it."""
    return " ".join(p.strip() for p in parts if p.strip())


def row_json(frame: pd.DataFrame) -> list[str]:
    """Each row as one JSON object (dates as ISO text)."""
    if frame.empty:
        return []
    text = frame.to_json(orient="records", lines=True, date_format="iso",
                         force_ascii=False)
    return text.rstrip("\n").split("\n")
