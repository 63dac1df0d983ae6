"""Mapping profiles: how a CRM's or spreadsheet's export maps onto xlsales's tables.

A profile is a TOML data file in ``xlsales/importing/profiles/`` (one per source)::

    name = "salesforce"
    title = { zh = "Salesforce 报表导出", en = "Salesforce report export" }

    [[tables]]                      # one entry per kind of export the source makes
    table = "opportunities"         # the xlsales table: customers, leads, opportunities,
                                    # stage_history, follow_ups, targets, daily
    required = ["Opportunity Name", "Stage"]   # headers that identify this export
    amount_unit = "元"              # unit of plain amounts in the file (元/千元/万元/百万)
    date_order = "MDY"              # how 03/04/2024 reads: MDY, DMY or YMD
    [tables.columns]                # the file's header → the table's column key
    "Opportunity ID" = "opp_id"
    [tables.values.stage]           # optional value maps: the file's value → the team's
    "Closed Won" = "签约成交"

Headers match without regard to case, spaces and punctuation. :func:`detect` scores every
profile entry against a file's headers; the best entry whose required headers are all
present wins. The table's own headers (zh, en and their aliases) are the last resort, so a
plain spreadsheet in the template's headers needs no profile.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from xlsales.errors import InputError
from xlsales.i18n import Label

IMPORTABLE = ("customers", "leads", "opportunities", "stage_history", "follow_ups",
              "targets", "daily")
DATE_ORDERS = ("YMD", "MDY", "DMY")
_PUNCT = re.compile(r"[\s_\-./:：()（）\[\]【】#·,，]+")


def header_key(text: Any) -> str:
    """A header for matching: NFKC, case and punctuation folded."""
    s = unicodedata.normalize("NFKC", str(text or "")).casefold()
    return _PUNCT.sub("", s)


@dataclass(frozen=True)
class ProfileTable:
    """One kind of export of a source, mapped onto one xlsales table."""

    profile: str
    table: str
    columns: dict[str, str]
    required: tuple[str, ...] = ()
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    amount_unit: str = "万元"
    date_order: str = "YMD"
    title: Label | None = None
    fill: dict[str, tuple[str, ...]] = field(default_factory=dict)  # blank ← other columns
    defaults: dict[str, str] = field(default_factory=dict)  # blank → this value

    @property
    def key(self) -> str:
        """``profile/table``: how the workspace's import map names this mapping."""
        return f"{self.profile}/{self.table}"

    def score(self, headers: list[str]) -> float:
        """How well ``headers`` fit this export: the share of the columns it maps that the
        file provides, under this export's headers or the table's own (0 when a required
        header is missing)."""
        have = {header_key(h) for h in headers}
        if any(header_key(r) not in have for r in self.required):
            return 0.0
        keys = set(self.columns.values())
        got = {k for h, k in self.columns.items() if header_key(h) in have}
        own = spec_headers_of(self.table)
        got |= {own[h] for h in have if h in own}
        return len(keys & got) / len(keys) if keys else 0.0


@dataclass(frozen=True)
class Profile:
    """A source's mapping profile."""

    name: str
    title: Label
    tables: tuple[ProfileTable, ...]


def _parse(name: str, data: dict[str, Any]) -> Profile:
    title = data.get("title") or {}
    label = Label(str(title.get("zh", name)), str(title.get("en", name)))
    tables = []
    for entry in data.get("tables", []):
        table = entry.get("table")
        if table not in IMPORTABLE:
            raise InputError(Label(f"导入配置 {name}:未知的表 {table!r}",
                                   f"import profile {name}: unknown table {table!r}"))
        order = str(entry.get("date_order", "YMD")).upper()
        if order not in DATE_ORDERS:
            raise InputError(Label(f"导入配置 {name}:日期顺序须为 {DATE_ORDERS}",
                                   f"import profile {name}: date_order must be one of "
                                   f"{DATE_ORDERS}"))
        tables.append(ProfileTable(
            profile=name, table=table,
            columns={str(k): str(v) for k, v in entry.get("columns", {}).items()},
            required=tuple(str(r) for r in entry.get("required", ())),
            values={str(k): {str(a): str(b) for a, b in v.items()}
                    for k, v in entry.get("values", {}).items()},
            amount_unit=str(entry.get("amount_unit", "万元")), date_order=order,
            title=label,
            fill={str(k): (v,) if isinstance(v, str) else tuple(str(x) for x in v)
                  for k, v in entry.get("fill", {}).items()},
            defaults={str(k): str(v) for k, v in entry.get("defaults", {}).items()}))
    return Profile(name, label, tuple(tables))


@cache
def spec_headers_of(table: str) -> dict[str, str]:
    """The table's own headers, folded, → column key (see
    :func:`xlsales.importing.mapping.spec_headers`)."""
    from xlsales.importing.mapping import spec_headers
    from xlsales.tables import get

    return spec_headers(get(table))


@cache
def profiles() -> dict[str, Profile]:
    """Every profile shipped with xlsales, by name."""
    out = {}
    folder = resources.files("xlsales.importing") / "profiles"
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".toml"):
            name = item.name[: -len(".toml")]
            out[name] = _parse(name, tomllib.loads(item.read_text(encoding="utf-8")))
    return out


def profile_table(key: str) -> ProfileTable | None:
    """The profile entry ``profile/table``, if shipped."""
    name, _, table = key.partition("/")
    found = profiles().get(name)
    return next((t for t in found.tables if t.table == table), None) if found else None


def detect(headers: list[str], *, table: str | None = None,
           profile: str | None = None) -> ProfileTable | None:
    """The profile entry that fits ``headers`` best (limited to ``table``/``profile``
    when given); None when none fits."""
    if profile is not None and profile not in profiles():
        raise InputError(Label(f"没有名为 {profile!r} 的导入配置;可用:{', '.join(profiles())}",
                               f"no import profile named {profile!r}; there are: "
                               f"{', '.join(profiles())}"))
    best: tuple[float, int, ProfileTable] | None = None
    for p in profiles().values():
        if profile is not None and p.name != profile:
            continue
        for t in p.tables:
            if table is not None and t.table != table:
                continue
            s = t.score(headers)
            if s >= 0.5 and (best is None or (s, len(t.columns)) > best[:2]):
                best = (s, len(t.columns), t)
    return best[2] if best else None
