"""Duplicate claims (撞单): one company written many ways is one group; others are not."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from xlsales.cli import app
from xlsales.duplicates import (
    MAX_SHARE,
    DuplicateReport,
    find_duplicates,
    name_core,
    name_parts,
    records_from,
)
from xlsales.jobs import run_duplicates
from xlsales.normalize import phone_key
from xlsales.sample import generate
from xlsales.workspace import write_workspace

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "sample_team"
CREDIT = "91310000MA1FL2AB3X"


def cust(ref: str, name: str, owner: str = "张伟", *, phone: str | None = None,
         city: str | None = None, credit: str | None = None) -> dict[str, Any]:
    return {"customer_id": ref, "name": name, "owner": owner, "phone": phone, "city": city,
            "credit_code": credit}


def lead(ref: str, company: str, assignee: str | None, phone: str | None = None
         ) -> dict[str, Any]:
    return {"lead_id": ref, "company": company, "assignee": assignee, "phone": phone}


def groups(customers: list[dict[str, Any]], leads: list[dict[str, Any]] = (),  # type: ignore[assignment]
           **kw: Any) -> set[frozenset[str]]:
    return partition(find_duplicates(records_from(customers, leads), **kw))


def partition(report: DuplicateReport) -> set[frozenset[str]]:
    return {frozenset(r.ref for r in g.records) for g in report.groups}


# One company, ten ways: legal forms (有限公司/有限责任公司/股份有限公司/集团), Co., Ltd.,
# full-width characters, spaces, brackets, city prefixes 上海/上海市, the phone with +86,
# 0086, dashes, spaces and an extension, the credit code. No key value is shared by more
# than MAX_SHARE records (more would make it "too common", see below).
TEN_WAYS = [
    cust("C01", "上海恒瑞精密机械有限公司", phone="13800138000"),
    cust("C02", "恒瑞精密机械(上海)有限责任公司", phone="021-62345678"),
    cust("C03", "上海市恒瑞精密机械股份有限公司", credit=CREDIT),
    cust("C04", "上海恒瑞精密机械（集团）ＣＯ．，ＬＴＤ．"),  # full-width brackets, letters
    cust("C05", " 上海　恒瑞 精密机械 有限公司 "),  # ideographic and plain spaces
    cust("C06", "恒瑞精机", phone="+86 138-0013-8000"),  # by phone only: +86 and dashes
    cust("C07", "恒瑞精机(上海)", phone="138 0013 8000 转801"),  # spaces, extension
    cust("C08", "恒瑞机电", phone="0086 13800138000"),
    cust("C09", "沪恒瑞设备", phone="(021) 6234 5678 转801"),  # landline, brackets
    cust("C10", "瑞恒工业", credit=" 91310000ma1fl2ab3x "),  # by credit code only
]


def test_the_normalised_keys() -> None:
    assert {name_core(c["name"]) for c in TEN_WAYS[:5]} == {"恒瑞精密机械"}
    assert {name_core(n) for n in ("恒瑞精密机械集团", "恒瑞精密机械 Co., Ltd.",
                                   "恒瑞精密机械有限公司")} == {"恒瑞精密机械"}
    assert name_parts("恒瑞精密机械(上海)有限公司") == ("恒瑞精密机械", "上海")
    assert name_parts("上海市恒瑞精密机械有限责任公司") == ("恒瑞精密机械", "上海")
    assert name_parts("恒瑞精密机械股份有限公司") == ("恒瑞精密机械", None)
    assert {phone_key(p) for p in ("13800138000", "+86 138-0013-8000", "0086 138 0013 8000",
                                   "138 0013 8000 转801")} == {"13800138000"}
    assert {phone_key(p) for p in ("021-62345678", "(021) 6234 5678 转801",
                                   "021 6234 5678 ext. 12", "021-62345678#3")} == {
        "02162345678"}


def test_true_duplicates_written_ten_ways_are_one_group() -> None:
    report = find_duplicates(records_from(TEN_WAYS))
    assert partition(report) == {frozenset(c["customer_id"] for c in TEN_WAYS)}
    kinds = {e["key"] for e in report.groups[0].evidence}
    assert kinds == {"name", "phone", "credit_code"}
    assert report.too_common == []
    assert not report.groups[0].conflict  # one owner: a duplicate entry, not 撞单


PARTNER = {0: 1, 5: 0, 6: 0, 7: 0, 8: 1, 9: 2}


@pytest.mark.parametrize("i", range(len(TEN_WAYS)))
def test_each_way_pairs_with_its_partner(i: int) -> None:
    """Every variant matches the record it shares a key with, on its own."""
    pair = [TEN_WAYS[PARTNER.get(i, 0)], TEN_WAYS[i]]
    assert groups(pair) == {frozenset({pair[0]["customer_id"], pair[1]["customer_id"]})}


def test_city_column_is_normalised() -> None:
    a = cust("A", "恒瑞精密机械有限公司", city="上海市")
    b = cust("B", "上海恒瑞精密机械有限公司")
    c = cust("C", "恒瑞精密机械有限公司", city=" 上海 ")
    d = cust("D", "恒瑞精密机械有限公司", city="北京市")
    assert groups([a, b, c]) == {frozenset({"A", "B", "C"})}
    assert groups([a, d]) == set()


def test_a_name_shared_by_more_than_max_share_records_is_a_placeholder() -> None:
    """Documented: any key value (names too) on more than MAX_SHARE records stops counting."""
    same = [cust(f"N{i}", "恒瑞精密机械有限公司") for i in range(MAX_SHARE + 1)]
    report = find_duplicates(records_from(same))
    assert report.groups == []
    assert report.too_common == [{"key": "name", "value": "恒瑞精密机械",
                                  "records": MAX_SHARE + 1}]


def test_international_landline_matches_the_domestic_one() -> None:
    assert phone_key("+86 21 6234 5678") == phone_key("021-62345678")
    assert phone_key("0086-21-62345678") == phone_key("021-62345678")


def test_companies_sharing_words_are_not_grouped() -> None:
    customers = [
        cust("A", "华东科技有限公司"), cust("B", "华南科技有限公司"),
        cust("C", "北京海纳物流有限公司"), cust("D", "杭州海纳物流有限公司"),
        cust("E", "海纳物流(北京)有限公司", "李娜"),
        cust("F", "华东科技发展有限公司"),
    ]
    # only the Beijing 海纳物流 written twice is one company
    assert groups(customers) == {frozenset({"C", "E"})}
    # the same core name in two cities, the city given in the city column
    assert groups([cust("G", "海纳物流有限公司", city="北京"),
                   cust("H", "海纳物流有限公司", city="杭州")]) == set()
    # a record without a place between two cities is not glued to either
    assert groups([customers[2], customers[3], cust("I", "海纳物流集团")]) == set()


def test_shared_switchboard_stops_counting() -> None:
    board = "400-800-1234"
    many = [cust(f"S{i}", f"公司{'甲乙丙丁戊己庚'[i]}贸易", phone=board)
            for i in range(MAX_SHARE + 1)]
    report = find_duplicates(records_from(many))
    assert report.groups == []
    assert report.too_common == [{"key": "phone", "value": phone_key(board),
                                  "records": MAX_SHARE + 1}]
    # up to MAX_SHARE records a shared number still counts
    assert groups(many[:MAX_SHARE]) == {frozenset(c["customer_id"] for c in many[:MAX_SHARE])}
    # the name still groups two of them even when the number stops counting
    twins = [*many, cust("S9", "公司甲贸易有限公司", phone=board)]
    report = find_duplicates(records_from(twins))
    assert partition(report) == {frozenset({"S0", "S9"})}
    assert [t["records"] for t in report.too_common] == [MAX_SHARE + 2]
    # max_share is a parameter
    assert groups(many, max_share=MAX_SHARE + 1) == {frozenset(c["customer_id"] for c in many)}


def test_two_owners_are_a_conflict() -> None:
    customers = [cust("A", "上海恒瑞精密机械有限公司", "张伟"),
                 cust("B", "恒瑞精密机械(上海)有限公司", "李娜"),
                 cust("C", "宁波港联物流有限公司", "王强"),
                 cust("D", "宁波港联物流股份有限公司", "王强")]
    leads = [lead("L1", "宁波港联物流集团", None), lead("L2", "杭州鼎盛贸易有限公司", "孙丽"),
             lead("L3", "鼎盛贸易(杭州)有限公司", "孙丽")]
    report = find_duplicates(records_from(customers, leads))
    got = {frozenset(r.ref for r in g.records): (g.conflict, g.owners) for g in report.groups}
    assert got == {frozenset({"A", "B"}): (True, ["张伟", "李娜"]),
                   frozenset({"C", "D", "L1"}): (False, ["王强"]),
                   frozenset({"L2", "L3"}): (False, ["孙丽"])}
    assert report.groups[0].conflict  # conflicts first
    assert report.as_dict()["conflicts"] == 1
    sources = {r.ref: r.source for g in report.groups for r in g.records}
    assert sources["L1"] == "lead" and sources["C"] == "customer"


# -- properties ------------------------------------------------------------------------------

POOL = [
    "上海恒瑞精密机械有限公司", "恒瑞精密机械(上海)有限公司", "上海市恒瑞精密机械有限责任公司",
    "恒瑞精密机械股份有限公司", "恒瑞精密机械 Co., Ltd.", "北京海纳物流有限公司",
    "杭州海纳物流有限公司", "海纳物流(北京)有限公司", "海纳物流(杭州)集团", "海纳物流有限公司",
    "华东科技有限公司", "华南科技股份有限公司", "宁波港联物流有限公司", "港联物流(宁波)有限公司",
]
PHONES = [None, None, None, "13800138000", "+86 138 0013 8000", "021-62345678",
          "(021)6234-5678 转8", "400-800-1234"]
CITIES = [None, None, "上海", "北京", "杭州"]
FULL_WIDTH = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}

record_st = st.tuples(st.sampled_from(POOL), st.sampled_from(["张伟", "李娜", "王强"]),
                      st.sampled_from(PHONES), st.sampled_from(CITIES))


def build(rows: list[tuple[str, str, str | None, str | None]]) -> list[dict[str, Any]]:
    return [cust(f"R{i:02d}", name, owner, phone=phone, city=city)
            for i, (name, owner, phone, city) in enumerate(rows)]


def noisy(name: str, rnd: random.Random) -> str:
    """Full-width ASCII and spaces (plain or ideographic) sprinkled into a name."""
    out = []
    for ch in name:
        if rnd.random() < 0.2:
            out.append(rnd.choice([" ", "\u3000", "  "]))
        out.append(FULL_WIDTH.get(ch, ch) if rnd.random() < 0.5 else ch)
    if rnd.random() < 0.5:
        out.append(rnd.choice([" ", "\u3000"]))
    return "".join(out)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(record_st, min_size=2, max_size=12), seed=st.randoms(use_true_random=False))
def test_grouping_is_invariant_under_record_order(rows: list[Any], seed: random.Random) -> None:
    customers = build(rows)
    shuffled = customers[:]
    seed.shuffle(shuffled)
    a = find_duplicates(records_from(customers))
    b = find_duplicates(records_from(shuffled))
    assert partition(a) == partition(b)
    assert {(g_conflict(g)) for g in a.groups} == {(g_conflict(g)) for g in b.groups}
    assert sorted(map(str, a.too_common)) == sorted(map(str, b.too_common))


def g_conflict(g: Any) -> tuple[frozenset[str], bool]:
    return frozenset(r.ref for r in g.records), g.conflict


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(record_st, min_size=2, max_size=12), seed=st.integers(0, 2**32))
def test_grouping_is_invariant_under_width_and_space_noise(rows: list[Any], seed: int) -> None:
    customers = build(rows)
    rnd = random.Random(seed)
    noised = [{**c, "name": noisy(c["name"], rnd)} for c in customers]
    assert partition(find_duplicates(records_from(noised))) == \
        partition(find_duplicates(records_from(customers)))


@pytest.mark.parametrize("name", ["恒瑞精密机械( 上 海 )有限公司", "恒瑞精密机械（上　海）有限公司",
                                  "恒瑞精密机械(上海 市)有限公司"])
def test_spaces_inside_a_bracketed_place(name: str) -> None:
    assert name_parts(name) == ("恒瑞精密机械", "上海")


# -- the sample ----------------------------------------------------------------------------------

def test_run_duplicates_finds_the_deliberate_claim_in_the_committed_sample() -> None:
    """samples/README.md: one customer entered twice by two reps (撞单)."""
    customers = generate().data["customers"]
    twin = customers[-1]
    original = next(c for c in customers[:-1] if c["contact"] == twin["contact"]
                    and c["city"] == twin["city"] and name_core(c["name"]) == name_core(
                        twin["name"]))
    assert twin["owner"] != original["owner"]
    report = run_duplicates(SAMPLE)
    conflicts = [g for g in report.groups if g.conflict]
    mine = [g for g in conflicts
            if {original["customer_id"], twin["customer_id"]} <= {r.ref for r in g.records}]
    assert len(mine) == 1
    group = mine[0]
    assert group.owners == sorted({original["owner"], twin["owner"]})
    assert {e["key"] for e in group.evidence} >= {"name", "phone"}
    # every conflict has two owners, every group two records
    assert all(len(g.owners) > 1 for g in conflicts)
    assert all(len(g.records) >= 2 for g in report.groups)


def test_cli_duplicates_json(tmp_path: Path) -> None:
    team = generate()
    write_workspace(tmp_path, team.settings, team.data, books=("settings", "customers"))
    result = CliRunner().invoke(app, ["duplicates", "-w", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["ok"] is True
    assert {"groups", "conflicts", "too_common"} <= payload.keys()
    assert payload["conflicts"] >= 1
    assert {"owners", "conflict", "records", "evidence"} <= payload["groups"][0].keys()
    assert {"source", "ref", "name", "owner", "row"} <= payload["groups"][0]["records"][0].keys()


def test_cli_duplicates_missing_workspace_is_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["duplicates", "-w", str(tmp_path / "nowhere"), "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["ok"] is False


# -- 撞单 at opportunity level ------------------------------------------------------------------

def opp(opp_id: str, customer: str, owner: str, stage: str = "需求分析", *,
        amount: float = 20.0, created: str = "2024-03-01", closed: str | None = None,
        row: int | None = None) -> dict[str, Any]:
    import datetime as dt

    d = dt.date.fromisoformat
    rec = {"opp_id": opp_id, "name": f"{customer[:4]}项目{opp_id}", "customer": customer,
           "owner": owner, "stage": stage, "stage_entered": d(created), "amount": amount,
           "created_on": d(created), "closed_on": d(closed) if closed else None}
    if row is not None:
        rec["_row"] = row
    return rec


def test_open_opportunities_of_one_account_owned_by_two_reps() -> None:
    from xlsales.duplicates import opportunity_conflicts

    opps = [
        opp("O1", "恒瑞精密机械有限公司", "张伟", "需求分析", amount=30, created="2024-02-01",
            row=5),
        opp("O2", "恒瑞精密机械 股份有限公司", "李娜", "方案提交", amount=45.5,
            created="2024-03-04", row=6),
        # closed ones do not count: won by 王强, lost by 赵磊
        opp("O3", "恒瑞精密机械有限公司", "王强", "签约成交", closed="2024-01-10", row=7),
        opp("O4", "恒瑞精密机械有限公司", "赵磊", "输单", closed="2024-01-12", row=8),
        # one owner, two open opportunities: no conflict
        opp("O5", "宏达新材料有限公司", "张伟", row=9),
        opp("O6", "宏达新材料有限公司", "张伟", "报价与谈判", row=10),
        # two owners, but one of them closed (输单 recorded only by its closing day)
        opp("O7", "云帆教育科技有限公司", "孙丽", row=11),
        opp("O8", "云帆教育科技有限公司", "吴婷", "初步接触", closed="2024-03-02", row=12),
    ]
    [clash] = opportunity_conflicts(opps)
    assert clash.account == "恒瑞精密机械"
    assert clash.owners == sorted(["张伟", "李娜"])
    assert clash.customers == ["恒瑞精密机械有限公司", "恒瑞精密机械 股份有限公司"]
    assert clash.as_dict()["opportunities"] == [
        {"opp_id": "O1", "name": "恒瑞精密项目O1", "customer": "恒瑞精密机械有限公司",
         "owner": "张伟", "stage": "需求分析", "amount": 30.0, "created_on": "2024-02-01",
         "stage_entered": "2024-02-01", "row": 5},
        {"opp_id": "O2", "name": "恒瑞精密项目O2", "customer": "恒瑞精密机械 股份有限公司",
         "owner": "李娜", "stage": "方案提交", "amount": 45.5, "created_on": "2024-03-04",
         "stage_entered": "2024-03-04", "row": 6}]
    assert opportunity_conflicts([]) == []
    assert opportunity_conflicts(opps[2:6]) == []


def test_cli_duplicates_reports_opportunity_claims_with_evidence(tmp_path: Path) -> None:
    team = generate()
    taken = next(o for o in team.data["opportunities"] if o["closed_on"] is None)
    other = next(r.rep for r in team.settings.roster if r.rep != taken["owner"])
    team.data["opportunities"].append({**taken, "opp_id": "O9999", "name": "抢单项目",
                                       "owner": other, "amount": 88.0})
    write_workspace(tmp_path, team.settings, team.data, books=("settings", "customers"))
    result = CliRunner().invoke(app, ["duplicates", "-w", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    [clash] = json.loads(result.stdout)["opportunity_conflicts"]
    assert clash["owners"] == sorted({taken["owner"], other})
    got = {(o["opp_id"], o["owner"], o["stage"], o["amount"], o["created_on"])
           for o in clash["opportunities"]}
    created = taken["created_on"].isoformat() if taken["created_on"] else None
    assert got == {(taken["opp_id"], taken["owner"], taken["stage"], taken["amount"], created),
                   ("O9999", other, taken["stage"], 88.0, created)}
    assert all(isinstance(o["row"], int) for o in clash["opportunities"])
    text = CliRunner().invoke(app, ["duplicates", "-w", str(tmp_path)])
    assert "撞单(商机)" in text.output and "O9999" in text.output
