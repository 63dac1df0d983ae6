"""Validation end to end: the committed sample finds exactly its deliberate slips, every
rule is known, bilingual and exercised, and messages speak the workbook's language."""

from __future__ import annotations

import datetime as dt
import importlib
import re
import string
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.quirks.make_quirks import CASES, TODAY, make_all
from xlsales.calendar import WorkCalendar
from xlsales.findings import Finding, Rule
from xlsales.sample import SAMPLE_TODAY, generate
from xlsales.settings import DEFAULT_STAGES
from xlsales.validate import ValidationResult, all_rules, validate_file
from xlsales.workspace import write_workspace

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "sample_team"
BOOKS = ("daily_report", "targets", "customers", "meeting_agenda", "monthly_review")
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef]")


def validate_books(folder: Path) -> dict[str, ValidationResult]:
    return {b: validate_file(folder / f"{b}.xlsx", today=TODAY) for b in BOOKS}


@pytest.fixture(scope="module")
def sample() -> dict[str, ValidationResult]:
    """The committed sample workspace (Chinese), validated on its "today"."""
    assert SAMPLE_TODAY == TODAY
    return validate_books(SAMPLE)


@pytest.fixture(scope="module")
def english(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ValidationResult]:
    """The same team written as an English workspace, validated the same way."""
    team = generate()
    folder = tmp_path_factory.mktemp("english")
    write_workspace(folder, team.settings, team.data, lang="en",
                    books=["settings", "daily", "targets", "agenda", "review", "customers"])
    return validate_books(folder)


def rules_of(results: dict[str, ValidationResult], book: str,
             column: str | None = None) -> Counter[str]:
    return Counter(f.rule for f in results[book].findings
                   if column is None or f.column == column)


# -- the sample's deliberate slips, counted independently from the generator's data ----------------

def expected_slips() -> dict[str, Counter[str]]:
    """Per workbook, how many findings of each rule the sample's data must produce."""
    data = generate().data
    cal = WorkCalendar()
    deadline = dt.time(18, 0)
    daily = data["daily"]
    open_stages = [s.zh for s in DEFAULT_STAGES if s.kind == "open"]

    def skipped(move: str) -> bool:
        frm, to = move.split(":", 1)[1].split("→")
        if to == "签约成交":
            return frm in open_stages and frm != open_stages[-1]
        return (frm in open_stages and to in open_stages
                and open_stages.index(to) - open_stages.index(frm) > 1)

    pairs = Counter((r["date"], r["rep"]) for r in daily)
    targets = data["targets"]
    started = {q for q in {t["quarter"] for t in targets}
               if dt.date(int(q[:4]), (int(q[-1]) - 1) * 3 + 1, 1) <= TODAY}
    return {
        "daily_report": Counter({
            "T2.effective_gt_visits": sum(r["effective"] > r["visits"] for r in daily),
            "cell.required": sum(not r["next_plan"] for r in daily),
            "T2.duplicate_row": sum(n - 1 for n in pairs.values()),
            "T2.non_working_day": sum(not cal.is_working(r["date"]) for r in daily),
            "T2.late": sum(r["submitted_at"] > dt.datetime.combine(r["date"], deadline)
                           for r in daily),
            "T2.stage_skipped": sum(skipped(m) for r in daily
                                    for m in (r["stage_moves"] or "").split(";") if m),
        }),
        "targets": Counter({
            "T1.split_mismatch": sum(
                abs(t["month1"] + t["month2"] + t["month3"] - t["quarterly_target"]) > 0.005
                for t in targets),
            "T1.unsigned": sum(t["quarter"] in started
                               and not (t["owner_signed"] and t["manager_signed"])
                               for t in targets),
        }),
        "customers": Counter({
            "T5.claimed_by_two": 1,  # the one 撞单 the generator plants (a rewritten twin)
            "T5.lost_without_reason": sum(c["stage"] == "流失客户" and not c.get("lost_reason")
                                          for c in data["customers"]),
            "T6.high_priority_unassigned": sum(
                lead["priority"] == "高" and not lead["assignee"]
                and dt.datetime.combine(TODAY, dt.time(23, 59)) - lead["created_at"]
                > dt.timedelta(hours=24) for lead in data["leads"]),
            "T7.expected_close_past": sum(
                o["stage"] in open_stages and o["expected_close"] < TODAY
                for o in data["opportunities"]),
        }),
        "meeting_agenda": Counter({
            "T3.action_vague": 1,  # "跟进客户C"
            "cell.required": sum(a["due"] is None for a in data["actions"]),
        }),
        "monthly_review": Counter(),
    }


def test_the_sample_finds_exactly_its_deliberate_slips(sample: dict[str, ValidationResult]
                                                       ) -> None:
    expected = expected_slips()
    for book in BOOKS:
        assert rules_of(sample, book) == +expected[book], book


def test_the_documented_slips(sample: dict[str, ValidationResult]) -> None:
    daily = rules_of(sample, "daily_report")
    assert daily["T2.effective_gt_visits"] == 2
    assert daily["T2.duplicate_row"] == 1
    assert daily["T2.non_working_day"] == 1
    assert rules_of(sample, "daily_report", "次日计划")["cell.required"] == 3
    assert daily["T2.stage_skipped"] >= 1
    late = generate().data["daily"]
    assert daily["T2.late"] == sum(r["submitted_at"].time() > dt.time(18, 0) for r in late) > 0
    customers = rules_of(sample, "customers")
    assert customers["T5.claimed_by_two"] == 1
    assert customers["T5.lost_without_reason"] == 1
    assert customers["T6.high_priority_unassigned"] == 1
    targets = rules_of(sample, "targets")
    assert targets["T1.split_mismatch"] == 1 and targets["T1.unsigned"] == 1
    assert rules_of(sample, "meeting_agenda")["T3.action_vague"] == 1
    sunday = next(f for f in sample["daily_report"].findings if f.rule == "T2.non_working_day")
    assert "2024-03-17" in sunday.message


def test_the_planted_claim_points_at_the_twin(sample: dict[str, ValidationResult]) -> None:
    twin = generate().data["customers"][-1]
    claim = next(f for f in sample["customers"].findings if f.rule == "T5.claimed_by_two")
    assert claim.column == "负责人" and claim.value == twin["owner"]
    last = sample["customers"].tables["customers"].rows[-1]  # the twin is entered last
    assert (claim.row, claim.cell) == (last.row, last.cells["owner"])
    assert last.values["name"] == twin["name"]


def test_sample_findings_are_errors_and_warnings_as_their_rules_say(
        sample: dict[str, ValidationResult]) -> None:
    severity = {r.id: r.severity for r in all_rules()}
    for result in sample.values():
        for f in result.findings:
            assert f.severity == severity[f.rule]
            assert f.sheet and f.file


# -- the rules themselves --------------------------------------------------------------------------

RULE_MODULES = ("xlsales.frames", "xlsales.tables.checks", "xlsales.tables.targets",
                "xlsales.tables.daily", "xlsales.tables.agenda", "xlsales.tables.customers",
                "xlsales.tables.leads", "xlsales.tables.opportunities", "xlsales.crosscheck")


def defined_rules() -> list[Rule]:
    """Every Rule object defined at module level where rules live."""
    out: dict[int, Rule] = {}
    for name in RULE_MODULES:
        for value in vars(importlib.import_module(name)).values():
            if isinstance(value, Rule):
                out[id(value)] = value
    return list(out.values())


def fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}


def test_rule_ids_are_unique_and_every_rule_is_listed() -> None:
    defined = defined_rules()
    ids = [r.id for r in defined]
    assert len(ids) == len(set(ids)), Counter(ids).most_common(3)
    assert sorted(r.id for r in all_rules()) == sorted(ids)


@pytest.mark.parametrize("rule", all_rules(), ids=lambda r: r.id)
def test_every_rule_speaks_both_languages(rule: Rule) -> None:
    assert rule.zh.strip() and rule.en.strip()
    literal = "".join(lit for lit, _, _, _ in string.Formatter().parse(rule.zh))
    assert CJK.search(literal) or not literal.strip(" :："), "the zh message is not Chinese"
    assert not CJK.search(rule.en), "the en message has Chinese in it"
    assert fields(rule.zh) == fields(rule.en)
    assert re.fullmatch(r"(cell|sheet|T[1-7]|X)\.[a-z0-9_]+", rule.id)


def quirk_rules(folder: Path) -> set[str]:
    seen: set[str] = set()
    for name in make_all(folder, libreoffice=False):
        case = CASES[name]
        seen |= {f.rule for f in validate_file(folder / name, today=case.today,
                                               settings=case.settings()).findings}
    return seen


def test_every_rule_is_exercised(sample: dict[str, ValidationResult], tmp_path: Path) -> None:
    seen = quirk_rules(tmp_path) | {f.rule for r in sample.values() for f in r.findings}
    assert {r.id for r in all_rules()} - seen == set()
    assert seen <= {r.id for r in all_rules()}


# -- languages -------------------------------------------------------------------------------------

def template_regex(template: str) -> re.Pattern[str]:
    parts = []
    for literal, field, _, _ in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if field is not None:
            parts.append("(.*?)")
    return re.compile("".join(parts), re.DOTALL)


def speaks(finding: Finding, lang: str) -> bool:
    rule = {r.id: r for r in all_rules()}[finding.rule]
    return template_regex(getattr(rule, lang)).fullmatch(finding.message) is not None


def test_a_chinese_workbook_gets_chinese_messages(sample: dict[str, ValidationResult]) -> None:
    findings = [f for r in sample.values() for f in r.findings]
    assert findings
    for f in findings:
        assert speaks(f, "zh") and not speaks(f, "en"), f.message


def test_an_english_workspace_gets_english_messages_and_the_same_findings(
        sample: dict[str, ValidationResult], english: dict[str, ValidationResult]) -> None:
    for book in BOOKS:
        assert {t.lang for t in english[book].tables.values()} <= {"en"}, book
        assert rules_of(english, book) == rules_of(sample, book), book
        for f in english[book].findings:
            assert speaks(f, "en") and not speaks(f, "zh"), f.message
    zh = {(f.rule, f.cell) for r in sample.values() for f in r.findings}
    en = {(f.rule, f.cell) for r in english.values() for f in r.findings}
    assert zh == en


def test_an_english_quirk_says_so_in_english(tmp_path: Path) -> None:
    from tests.quirks.make_quirks import english_headers, team_settings

    path = tmp_path / "english.xlsx"
    english_headers(path)
    result = validate_file(path, today=TODAY, settings=team_settings())
    assert result.findings and all(speaks(f, "en") for f in result.findings)


def test_type_errors_are_explained_in_the_workbooks_language(tmp_path: Path) -> None:
    from tests.quirks.make_quirks import nan_text_in_number_column, team_settings

    path = tmp_path / "nan.xlsx"
    nan_text_in_number_column(path)
    result = validate_file(path, today=TODAY, settings=team_settings())
    details: list[Any] = [f.message.split(":", 1)[1] for f in result.findings
                          if f.rule == "cell.type"]
    assert details
    assert not [d for d in details if re.search(r"[A-Za-z]{3,}", d.replace("NaN", "")
                                                 .replace("nan", "").replace("inf", "")
                                                 .replace("True", "").replace("False", ""))]


def test_a_trusted_finding_is_the_constructed_one() -> None:
    """Findings made in bulk skip pydantic's per-field work and are the same objects."""
    from xlsales.findings import Finding

    fields = {"rule": "T2.late", "severity": "warning", "message": "m", "file": "f.xlsx",
              "sheet": "s", "cell": "K4", "column": "提交时间", "value": 3.5, "row": 4}
    fast, slow = Finding.trusted(**fields), Finding.model_construct(**fields)
    assert fast == slow and repr(fast) == repr(slow)
    assert fast.model_fields_set == slow.model_fields_set
    assert fast.model_dump(mode="json") == slow.model_dump(mode="json")
    assert fast.model_copy(update={"row": 5}).row == 5
