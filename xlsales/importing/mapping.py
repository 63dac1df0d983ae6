"""How a file's columns and values map onto a table, and the workspace's import map.

A mapping is proposed from the best-fitting profile (:mod:`xlsales.importing.profiles`)
and the table's own headers; once confirmed it is kept in the workspace's
``import_map.toml`` under the profile entry's key (``salesforce/opportunities``), so the
next import of that source is one command. Users edit that file to map a column the
profile does not know, a stage or an owner: an empty value means "not mapped yet".
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xlsales.errors import InputError
from xlsales.i18n import Label
from xlsales.importing.profiles import DATE_ORDERS, IMPORTABLE, ProfileTable, detect, header_key
from xlsales.normalize import MONEY_UNITS
from xlsales.tables import get as table_spec
from xlsales.tables.base import Kind, TableSpec

MAP_FILE = "import_map.toml"
LEFT_OUT = ""  # a column or value mapped to nothing
# Columns of a file that are not a table's but tell something about its row: won/lost
# apart from the stage, a contact's first and last names, the amount's currency.
PSEUDO = ("stage_override", "first_name", "last_name", "currency")
_HEADER = ("# xlsales import map: how files from each source map onto the team's tables.\n"
           "# Edit and run `xlsales import` again. An empty value (\"\") is not mapped:\n"
           "# columns → leave out; stages/owners → rows stay out until you fill it in.\n")


@dataclass
class Mapping:
    """The columns and values of one kind of file mapped onto one table."""

    key: str
    table: str
    columns: dict[str, str]  # the file's header → the table's column key (or LEFT_OUT)
    values: dict[str, dict[str, str]] = field(default_factory=dict)  # column → value map
    amount_unit: str = "万元"
    date_order: str = "YMD"
    currency_rate: float = 1.0
    units: dict[str, str] = field(default_factory=dict)  # amount column → its own unit
    fill: dict[str, tuple[str, ...]] = field(default_factory=dict)  # blank ← other columns
    defaults: dict[str, str] = field(default_factory=dict)  # blank → this value
    preferred: tuple[str, ...] = ()  # folded headers in the profile's order of preference
    saved: bool = False  # read from the workspace's import map (confirmed before)

    @property
    def spec(self) -> TableSpec:
        return table_spec(self.table)

    def mapped(self) -> dict[str, str]:
        """The file's header → column key, for the mapped columns."""
        return {h: k for h, k in self.columns.items() if k != LEFT_OUT}

    def headers_of(self) -> dict[str, list[str]]:
        """Column key → the file's headers mapped onto it, the preferred first (a row
        takes the first of them that is not blank)."""
        rank = {h: i for i, h in enumerate(self.preferred)}
        out: dict[str, list[str]] = {}
        for h, k in self.mapped().items():
            out.setdefault(k, []).append(h)
        for k, hs in out.items():
            out[k] = sorted(hs, key=lambda h: rank.get(header_key(h), len(rank)))
        return out

    def left_out(self) -> list[str]:
        """The file's headers not mapped onto any column."""
        return [h for h, k in self.columns.items() if k == LEFT_OUT]

    def as_toml(self) -> dict[str, Any]:
        return {"table": self.table, "amount_unit": self.amount_unit,
                "date_order": self.date_order, "currency_rate": self.currency_rate,
                "columns": dict(self.columns), "units": dict(self.units),
                "fill": {k: list(v) for k, v in self.fill.items()},
                "defaults": dict(self.defaults),
                "values": {k: dict(v) for k, v in self.values.items() if v}}


_UNIT = re.compile(r"^(.*?)\s*[(（\[]\s*(元|万元|千元|万|亿元|¥|￥|RMB|CNY|USD|\$|US\$)\s*"
                   r"[)）\]]\s*$", re.I)
_UNIT_OF = {"万": "万元", "¥": "元", "￥": "元", "rmb": "元", "cny": "元", "usd": "元", "$": "元",
            "us$": "元"}


def header_unit(header: str) -> tuple[str, str | None]:
    """A header without its money unit, and the unit (``金额(元)`` → ``金额``, ``元``)."""
    m = _UNIT.match(header.strip())
    if not m:
        return header, None
    unit = m[2]
    return m[1], _UNIT_OF.get(unit.casefold(), unit)


def spec_headers(spec: TableSpec) -> dict[str, str]:
    """The table's own headers (zh, en, aliases), folded, → column key (inputs only); a
    money column also answers to its header without the unit."""
    out: dict[str, str] = {}
    for c in spec.input_columns:
        for h in c.all_headers():
            out.setdefault(header_key(h), c.key)
            base, unit = header_unit(h)
            if unit:
                out.setdefault(header_key(base), c.key)
    return out


def table_fit(headers: list[str], table: str) -> float:
    """How many of ``headers`` the table's own headers name."""
    known = spec_headers(table_spec(table))
    return float(sum(header_key(h) in known for h in headers))


def guess_table(headers: list[str]) -> str | None:
    """The table whose own headers name most of ``headers`` (None: fewer than two)."""
    best = max(IMPORTABLE, key=lambda t: table_fit(headers, t))
    return best if table_fit(headers, best) >= 2 else None


def propose(headers: list[str], *, table: str | None = None, profile: str | None = None,
            saved: dict[str, Any] | None = None) -> Mapping | None:
    """The mapping of a file with ``headers``: the workspace's saved one for the fitting
    profile entry, completed for headers it does not know; None when nothing fits."""
    entry = detect(headers, table=table, profile=profile)
    if entry is None and profile is not None:
        return None
    chosen = entry.table if entry else table or guess_table(headers)
    if chosen is None:
        return None
    key = entry.key if entry else f"headers/{chosen}"
    kept = (saved or {}).get(key)
    m = _from_entry(key, chosen, entry)
    if kept:
        m = _merge_saved(m, kept)
    own = spec_headers(m.spec)
    by_folded = {header_key(h): k for h, k in (entry.columns if entry else {}).items()}
    # What the profile maps wins over the table's own headers; a profile may map several
    # headers onto one column (a row takes the first that is not blank).
    taken = {k for k in m.columns.values() if k}
    taken |= {by_folded[header_key(h)] for h in headers if header_key(h) in by_folded}
    for h in headers:
        if h in m.columns:
            continue
        base, unit = header_unit(h)
        k = by_folded.get(header_key(h))
        if k is None:
            k = own.get(header_key(h)) or (own.get(header_key(base)) if unit else None)
            if k and k in taken:  # a second column for the same key: the first one wins
                k = None
            taken.add(k or LEFT_OUT)
        k = k or LEFT_OUT
        if k and unit and k not in PSEUDO and m.spec.column(k).kind is Kind.AMOUNT \
                and k not in m.units:
            m.units[k] = unit
        m.columns[h] = k
    m.columns = {h: m.columns[h] for h in headers}  # the file's order; stale headers go
    return m


def _from_entry(key: str, table: str, entry: ProfileTable | None) -> Mapping:
    if entry is None:
        return Mapping(key, table, {})
    return Mapping(key, table, {}, {k: dict(v) for k, v in entry.values.items()},
                   entry.amount_unit, entry.date_order, fill=dict(entry.fill),
                   defaults=dict(entry.defaults),
                   preferred=tuple(header_key(h) for h in entry.columns))


def _merge_saved(m: Mapping, kept: dict[str, Any]) -> Mapping:
    unit = str(kept.get("amount_unit", m.amount_unit))
    order = str(kept.get("date_order", m.date_order)).upper()
    if unit not in MONEY_UNITS:
        raise InputError(Label(f"{MAP_FILE}:[{m.key}] amount_unit 须为 {list(MONEY_UNITS)}",
                               f"{MAP_FILE}: [{m.key}] amount_unit must be one of "
                               f"{list(MONEY_UNITS)}"))
    if order not in DATE_ORDERS:
        raise InputError(Label(f"{MAP_FILE}:[{m.key}] date_order 须为 {DATE_ORDERS}",
                               f"{MAP_FILE}: [{m.key}] date_order must be one of "
                               f"{DATE_ORDERS}"))
    try:
        rate = float(kept.get("currency_rate", 1.0))
    except (TypeError, ValueError):
        rate = float("nan")
    if not rate > 0:
        raise InputError(Label(f"{MAP_FILE}:[{m.key}] currency_rate 须为正数",
                               f"{MAP_FILE}: [{m.key}] currency_rate must be a positive "
                               f"number"))
    keys = {c.key for c in m.spec.input_columns} | set(PSEUDO)
    columns = {}
    for h, k in dict(kept.get("columns", {})).items():
        k = str(k)
        if k and k not in keys:
            raise InputError(Label(
                f"{MAP_FILE}:[{m.key}] 列 {h!r} 映射到未知的列 {k!r};可用:{sorted(keys)}",
                f"{MAP_FILE}: [{m.key}] column {h!r} maps to an unknown column {k!r}; "
                f"there are: {sorted(keys)}"))
        columns[str(h)] = k
    values = {k: dict(v) for k, v in m.values.items()}
    for col, mapping in dict(kept.get("values", {})).items():
        values.setdefault(str(col), {}).update({str(a): str(b) for a, b in
                                                dict(mapping).items()})
    units = {str(k): str(v) for k, v in dict(kept.get("units", {})).items()
             if str(v) in MONEY_UNITS}
    fill = dict(m.fill)
    for k, v in dict(kept.get("fill", {})).items():
        fill[str(k)] = (v,) if isinstance(v, str) else tuple(str(x) for x in v)
    defaults = {**m.defaults, **{str(k): str(v) for k, v in
                                 dict(kept.get("defaults", {})).items()}}
    for k in [*fill, *(x for v in fill.values() for x in v), *defaults]:
        if k not in keys:
            raise InputError(Label(f"{MAP_FILE}:[{m.key}] 未知的列 {k!r}",
                                   f"{MAP_FILE}: [{m.key}] unknown column {k!r}"))
    return Mapping(m.key, m.table, columns, values, unit, order, rate, units, fill, defaults,
                   m.preferred, saved=True)


# -- the workspace's map file -------------------------------------------------------------

def load_map(root: str | os.PathLike[str]) -> dict[str, Any]:
    """The workspace's saved mappings by key (empty when there is no map file)."""
    from xlsales.io import guard

    path = Path(root) / MAP_FILE
    if not path.exists():
        return {}
    guard.remember(path)  # the save at the end must find it as read here
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(Label(f"{path} 不是有效的 TOML:{exc}",
                               f"{path} is not valid TOML: {exc}")) from None
    sources = data.get("sources", {})
    return {str(k): v for k, v in sources.items() if isinstance(v, dict)}


def save_map(root: str | os.PathLike[str], mapping: Mapping) -> Path:
    """Keep ``mapping`` in the workspace's map file (other sources' entries unchanged)."""
    from xlsales.io.atomic import atomic_path

    path = Path(root) / MAP_FILE
    data = load_map(root)
    data[mapping.key] = mapping.as_toml()
    text = _HEADER + "".join(_section(f"sources.{_key(k)}", v) for k, v in data.items())
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def _key(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def _section(name: str, table: dict[str, Any]) -> str:
    """A TOML table and its sub-tables (strings, numbers, booleans and lists of them)."""
    lines = [f"\n[{name}]"]
    subs = []
    for k, v in table.items():
        if isinstance(v, dict):
            subs.append((k, v))
        elif isinstance(v, list | tuple):
            lines.append(f"{_key(k)} = [{', '.join(_scalar(x) for x in v)}]")
        else:
            lines.append(f"{_key(k)} = {_scalar(v)}")
    out = "\n".join(lines) + "\n"
    for k, v in subs:
        out += _section(f"{name}.{_key(k)}", v)
    return out
