"""Duplicate claims (撞单): the same customer entered twice or claimed by two owners.

Customers and leads are matched on normalised keys: the company name without legal
forms, brackets, city or province prefixes, full-width characters, case and spaces;
the phone number without country code, separators and extension; the unified social
credit code. A key value shared by more than ``max_share`` records (a switchboard
number, a placeholder) stops counting and is reported as too common.

At opportunity level (:func:`opportunity_conflicts`), one account (the
:func:`~xlsales.normalize.company_key` of the opportunities' customer) with open
opportunities owned by different reps is a 撞单 too, reported with the opportunities.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import pandas as pd

from xlsales.normalize import company_key, name_key, phone_key

if TYPE_CHECKING:
    from xlsales.settings import Settings

PROVINCES = ("北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏",
             "浙江", "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南",
             "四川", "贵州", "云南", "陕西", "甘肃", "青海", "台湾", "内蒙古", "广西", "西藏",
             "宁夏", "新疆", "香港", "澳门")
CITIES = ("杭州", "苏州", "南京", "宁波", "无锡", "常州", "南通", "合肥", "广州", "深圳",
          "东莞", "佛山", "珠海", "厦门", "福州", "泉州", "石家庄", "济南", "青岛", "烟台",
          "太原", "郑州", "武汉", "长沙", "成都", "西安", "沈阳", "大连", "长春", "哈尔滨",
          "昆明", "南宁", "南昌", "贵阳", "兰州", "温州", "绍兴", "嘉兴", "金华", "台州",
          "扬州", "徐州", "中山", "惠州", "保定", "唐山", "廊坊")
_PLACES = sorted(PROVINCES + CITIES, key=len, reverse=True)
_PLACE_RE = re.compile("^(?:" + "|".join(_PLACES) + r")(?:省|市|自治区)?")
MAX_SHARE = 5
CREDIT_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def name_core(value: Any) -> str | None:
    """The company name for matching: :func:`company_key` without a leading place name."""
    return name_parts(value)[0]


def name_parts(value: Any) -> tuple[str | None, str | None]:
    """(core name, place): ``恒瑞精密机械(上海)有限公司`` → (恒瑞精密机械, 上海)."""
    return _name_parts(value) if isinstance(value, str) else _name_parts_of(value)


@lru_cache(maxsize=1 << 16)
def _name_parts(value: str) -> tuple[str | None, str | None]:
    return _name_parts_of(value)


def _name_parts_of(value: Any) -> tuple[str | None, str | None]:
    key = company_key(value)
    if not key:
        return None, None
    place = None
    m = _PLACE_RE.match(key)
    if m:
        place = re.sub(r"(省|市|自治区)$", "", m.group(0))
    else:
        for inner in re.findall(r"[(（]([^()（）]*)[)）]", str(value)):
            m2 = _PLACE_RE.match(name_key(inner))  # spaces and full-width as in the name
            if m2:
                place = re.sub(r"(省|市|自治区)$", "", m2.group(0))
                break
    core = _PLACE_RE.sub("", key)
    return (core if len(core) >= 2 else key), place


def place_key(value: Any) -> str | None:
    """A city column for matching: ``上海市``, `` 上海 `` and ``上海`` are one place."""
    key = name_key(value)
    if not key:
        return None
    m = _PLACE_RE.match(key)
    return re.sub(r"(省|市|自治区)$", "", m.group(0) if m else key) or key


def credit_key(value: Any) -> str | None:
    """A unified social credit code, upper-cased, when it has the right shape."""
    if not value:
        return None
    code = re.sub(r"\s", "", str(value)).upper()
    return code if CREDIT_RE.match(code) else None


@dataclass
class Record:
    """A customer or a lead as the matcher sees it."""

    source: str
    ref: str
    name: str
    owner: str | None
    keys: dict[str, str | None]
    row: int | None = None
    place: str | None = None


@dataclass
class Group:
    """Records that are one customer, with why they matched."""

    records: list[Record]
    evidence: list[dict[str, str]] = field(default_factory=list)

    @property
    def owners(self) -> list[str]:
        return sorted({r.owner for r in self.records if r.owner})

    @property
    def conflict(self) -> bool:
        return len(self.owners) > 1

    def as_dict(self) -> dict[str, Any]:
        return {"owners": self.owners, "conflict": self.conflict,
                "records": [{"source": r.source, "ref": r.ref, "name": r.name,
                             "owner": r.owner, "row": r.row} for r in self.records],
                "evidence": self.evidence}


@dataclass
class OpportunityConflict:
    """One account with open opportunities of different owners (撞单 at opportunity
    level); ``opportunities`` are the evidence, in the table's order."""

    account: str  # the company key
    opportunities: list[dict[str, Any]]

    @property
    def owners(self) -> list[str]:
        return sorted({o["owner"] for o in self.opportunities if o["owner"]})

    @property
    def customers(self) -> list[str]:
        return list(dict.fromkeys(o["customer"] for o in self.opportunities))

    def as_dict(self) -> dict[str, Any]:
        return {"account": self.account, "owners": self.owners, "customers": self.customers,
                "opportunities": self.opportunities}


@dataclass
class DuplicateReport:
    """Groups found, the key values ignored as too common, and the accounts whose open
    opportunities different reps own."""

    groups: list[Group]
    too_common: list[dict[str, Any]]
    opportunities: list[OpportunityConflict] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"groups": [g.as_dict() for g in self.groups],
                "conflicts": sum(g.conflict for g in self.groups),
                "too_common": self.too_common,
                "opportunity_conflicts": [o.as_dict() for o in self.opportunities]}


def opportunity_conflicts(opportunities: Iterable[dict[str, Any]] | pd.DataFrame,
                          settings: Settings | None = None) -> list[OpportunityConflict]:
    """Accounts (company keys of the customer column) with open opportunities — not closed,
    in a stage that is neither won nor lost — owned by more than one rep, by group-bys
    over the table; each with its open opportunities (id, name, customer, owner, stage,
    amount, created and stage-entered days, Excel row)."""
    from xlsales import tables as T
    from xlsales.frames import frame
    from xlsales.settings import Settings
    from xlsales.tables.customers import keyed

    settings = settings or Settings.default()
    df = frame(opportunities, T.get("opportunities"))
    if df.empty:
        return []
    codes, stages = df["stage"].factorize()
    closed_kind = [(st := settings.stage(str(v))) is not None and st.kind != "open"
                   for v in stages]
    closed = pd.Series([*closed_kind, False], dtype=bool).to_numpy()[codes]
    owner = df["owner"].where(df["owner"].notna() & df["owner"].ne(""))
    key = keyed(df["customer"], company_key)
    open_ = ~closed & df["closed_on"].isna().to_numpy() & key.notna().to_numpy() \
        & owner.notna().to_numpy()
    live = df[open_].assign(_key=key[open_], _owner=owner[open_])
    if live.empty:
        return []
    owners = live.groupby("_key", sort=False)["_owner"].nunique()
    clashing = owners[owners > 1].index
    out = []
    for account, rows in live[live["_key"].isin(clashing)].groupby("_key", sort=False):
        out.append(OpportunityConflict(str(account), [
            {"opp_id": r["opp_id"], "name": r["name"], "customer": r["customer"],
             "owner": r["owner"], "stage": r["stage"], "amount": r["amount"],
             "created_on": _iso(r["created_on"]), "stage_entered": _iso(r["stage_entered"]),
             "row": r["_row"]}
            for r in records_of(rows)]))
    return out


def records_of(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of an opportunities frame as records with their Excel row."""
    from xlsales import tables as T
    from xlsales.frames import records

    return records(df, T.get("opportunities"), with_row=True)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def records_from(customers: Iterable[dict[str, Any]] | pd.DataFrame,
                 leads: Iterable[dict[str, Any]] | pd.DataFrame = ()) -> list[Record]:
    """Matcher records from customer and lead rows (canonical dicts, or the tables'
    frames: their index is the Excel row). The keys of a value are worked out once."""
    from xlsales import tables as T
    from xlsales.frames import records

    if isinstance(customers, pd.DataFrame):
        customers = records(customers, T.get("customers"), with_row=True)
    if isinstance(leads, pd.DataFrame):
        leads = records(leads, T.get("leads"), with_row=True)
    out = []
    for c in customers:
        if c.get("name"):
            core, place = name_parts(c["name"])
            out.append(Record("customer", str(c.get("customer_id") or c["name"]), c["name"],
                              c.get("owner"), {"name": core,
                                               "phone": phone_key(c.get("phone")),
                                               "credit_code": credit_key(c.get("credit_code"))},
                              c.get("_row"), place or place_key(c.get("city"))))
    for lead in leads:
        if lead.get("company"):
            core, place = name_parts(lead["company"])
            out.append(Record("lead", str(lead.get("lead_id") or lead["company"]),
                              lead["company"], lead.get("assignee"),
                              {"name": core, "phone": phone_key(lead.get("phone")),
                               "credit_code": None}, lead.get("_row"), place))
    return out


def _name_links(members: list[int], records: list[Record]) -> list[tuple[int, int]]:
    """Pairs among records sharing a core name whose places do not contradict."""
    by_place: dict[str | None, list[int]] = defaultdict(list)
    for i in members:
        by_place[records[i].place].append(i)
    places = [p for p in by_place if p is not None]
    pairs = [(g[0], j) for p, g in by_place.items() if p is not None for j in g[1:]]
    unplaced = by_place.get(None, [])
    if len(places) <= 1:
        anchor = by_place[places[0]][0] if places else (unplaced[0] if unplaced else None)
        pairs += [(anchor, j) for j in unplaced if anchor is not None and j != anchor]
    return pairs


def find_duplicates(records: list[Record], *, max_share: int = MAX_SHARE) -> DuplicateReport:
    """Group records that share a key value (union-find)."""
    parent = list(range(len(records)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    index: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        for kind, value in r.keys.items():
            if value:
                index[(kind, value)].append(i)
    too_common = []
    links: list[tuple[int, int, str, str]] = []
    for (kind, value), members in index.items():
        if len(members) < 2:
            continue
        if len(members) > max_share:
            too_common.append({"key": kind, "value": value, "records": len(members)})
            continue
        pairs = (_name_links(members, records) if kind == "name"
                 else [(members[0], other) for other in members[1:]])
        for first, other in pairs:
            links.append((first, other, kind, value))
            a, b = find(first), find(other)
            if a != b:
                parent[b] = a
    grouped: dict[int, list[int]] = defaultdict(list)
    for i in range(len(records)):
        grouped[find(i)].append(i)
    evidence: dict[int, list[dict[str, str]]] = defaultdict(list)
    for a, b, kind, value in links:
        evidence[find(a)].append({"key": kind, "value": value, "a": records[a].ref,
                                  "b": records[b].ref})
    groups = []
    for root, members in grouped.items():
        if len(members) < 2:
            continue
        groups.append(Group([records[i] for i in members], evidence[root]))
    groups.sort(key=lambda g: (not g.conflict, g.records[0].ref))
    return DuplicateReport(groups, sorted(too_common, key=lambda t: -t["records"]))
