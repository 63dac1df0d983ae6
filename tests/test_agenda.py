"""The weekly meeting pack, T3 周度销售会议议程表 (spec §2 T3), and the action items.

The data block's figures are computed again here, independently, with pandas from
the sample's canonical records (``generate().data``; only the working-day calendar
is shared with xlsales). The sheets are read back by header.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import shutil
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter
from typer.testing import CliRunner

from xlsales.calendar import WorkCalendar, month_range, quarter_months, week_days, week_label
from xlsales.cli import app
from xlsales.errors import XlsalesError
from xlsales.jobs import ActionItem, run_agenda
from xlsales.sample import SAMPLE_TODAY, generate
from xlsales.tables.agenda import ACTIONS, AGENDA, CARRIED, MEETING_DATA, MINUTES, is_specific
from xlsales.tables.base import TableSpec
from xlsales.workspace import BOOKS

D = dt.date.fromisoformat
SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "sample_team"
TEAM = generate()
SETTINGS = TEAM.settings
CAL = WorkCalendar()
REPS = [r.rep for r in SETTINGS.roster]
DONE = {"已完成", "已取消"}
WEEKS = ("2024-W13", "2024-W11")
BLOCKS = (MEETING_DATA, AGENDA, CARRIED, ACTIONS, MINUTES)


# -- the independent computation ------------------------------------------------------------

TARGET_ROWS = pd.DataFrame(TEAM.data["targets"])
TEAM_TARGETS = {t["quarter"]: float(t["team_target"]) for t in TEAM.data["team_targets"]}


def _deduped() -> pd.DataFrame:
    d = pd.DataFrame(TEAM.data["daily"])
    d = d[d["rep"].isin(REPS)].reset_index(drop=True)
    d["_n"] = range(len(d))
    d = d.sort_values(["submitted_at", "_n"], kind="stable")
    return d.drop_duplicates(["rep", "date"], keep="last")


DAILY = _deduped()


def owner_target(owner: str, first: dt.date, last: dt.date) -> float | None:
    """The owner's monthly targets, each spread evenly over its month's working days."""
    total, found = 0.0, False
    for r in TARGET_ROWS[TARGET_ROWS["owner"] == owner].itertuples():
        year, months = quarter_months(r.quarter)
        for i, month in enumerate(months):
            m_first, m_last = month_range(year, month)
            lo, hi = max(first, m_first), min(last, m_last)
            if lo > hi:
                continue
            found = True
            total += getattr(r, f"month{i + 1}") * CAL.count(lo, hi) / CAL.count(m_first,
                                                                                 m_last)
    return total if found else None


def team_target(first: dt.date, last: dt.date) -> float:
    """The team's quarterly total pro-rated like the owners' working-day shares."""
    total = 0.0
    for quarter, team_total in TEAM_TARGETS.items():
        year, months = quarter_months(quarter)
        q_first, q_last = dt.date(year, months[0], 1), month_range(year, months[2])[1]
        lo, hi = max(first, q_first), min(last, q_last)
        if lo <= hi:
            total += team_total * sum(owner_target(o, lo, hi) or 0 for o in REPS) / sum(
                owner_target(o, q_first, q_last) or 0 for o in REPS)
    return total


def last_week(week: str) -> dict[str, Any]:
    """Last week's team completion, every rep's rate, TOP3 and the reps under the line."""
    first, last = week_days(week_label(week_days(week)[0] - dt.timedelta(days=7)))
    days = pd.to_datetime(DAILY["date"])
    mine = DAILY[(days >= pd.Timestamp(first)) & (days <= pd.Timestamp(last))]
    sales = mine.groupby("rep")["amount_signed"].sum()
    rates = {rep: float(sales.get(rep, 0.0)) / owner_target(rep, first, last)  # type: ignore[operator]
             for rep in REPS}
    ranked = sorted(rates, key=lambda r: (-rates[r], r))
    actual, target = float(mine["amount_signed"].sum()), team_target(first, last)
    threshold = SETTINGS.general.completion_threshold
    return {"week": week_label(first), "actual": actual, "target": target, "rate": actual / target,
            "top3": [r for r in ranked[:3] if rates[r] >= threshold],
            "below": [r for r in ranked if rates[r] < threshold],
            "rates": rates}


def open_items_before(week: str) -> list[dict[str, Any]]:
    return [a for a in TEAM.data["actions"] if a["week"] < week and a["status"] not in DONE]


# -- reading the sheets ---------------------------------------------------------------------

def sheet_rows(path: Path, *, data_only: bool = False) -> dict[str, list[list[Any]]]:
    wb = openpyxl.load_workbook(path, data_only=data_only, read_only=True)
    try:
        return {ws.title: [list(r) for r in ws.iter_rows(values_only=True)]
                for ws in wb.worksheets}
    finally:
        wb.close()


def header_row(rows: list[list[Any]], spec: TableSpec) -> int | None:
    headers = [c.header("zh") for c in spec.columns]
    return next((n for n, row in enumerate(rows)
                 if list(row[:len(headers)]) == headers), None)


def read_block(rows: list[list[Any]], spec: TableSpec) -> tuple[int, list[dict[str, Any]]]:
    """(0-based header row, the rows up to the first blank one) of ``spec``."""
    i = header_row(rows, spec)
    assert i is not None, f"no header of {spec.key}"
    out = []
    for row in rows[i + 1:]:
        values = {c.key: (row[n] if n < len(row) else None) for n, c in enumerate(spec.columns)}
        if all(v in (None, "") for v in values.values()):
            break
        out.append(values)
    return i, out


def pct(x: float) -> str:
    return f"{x:.0%}"


# -- the sample's meeting packs ---------------------------------------------------------------

def copy_sample(root: Path) -> Path:
    """A copy of the sample workspace's books (nothing else that may lie beside them)."""
    root.mkdir(parents=True)
    for book in BOOKS:
        shutil.copyfile(SAMPLE / book.filename, root / book.filename)
    return root


@pytest.fixture(scope="module")
def packs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = copy_sample(tmp_path_factory.mktemp("agenda") / "team")
    out: dict[str, Any] = {"root": root}
    for week in WEEKS:
        out[week] = run_agenda(root, week)
    out["path"] = out[WEEKS[0]].written
    return out


def test_one_sheet_per_week_written_into_the_agenda_workbook(packs: dict[str, Any]) -> None:
    path = packs["root"] / "meeting_agenda.xlsx"
    names = openpyxl.load_workbook(path, read_only=True).sheetnames
    for week in WEEKS:
        assert packs[week].written == path
        assert packs[week].sheet == f"议程 {week}" and names.count(f"议程 {week}") == 1
    # the workbook's own tables are still there
    assert {"会议议程", "行动项", "会议纪要"} <= set(names)


@pytest.mark.parametrize("week", WEEKS)
def test_data_block_comes_first_and_matches_an_independent_computation(
        packs: dict[str, Any], week: str) -> None:
    rows = sheet_rows(packs["path"])[f"议程 {week}"]
    assert rows[0][0] == f"{SETTINGS.general.meeting_topic} {week}"
    heads = {spec.key: header_row(rows, spec) for spec in BLOCKS}
    assert None not in heads.values()
    assert heads["meeting_data"] == min(heads.values())  # data first, then the agenda …
    assert sorted(heads, key=heads.__getitem__) == [s.key for s in BLOCKS]
    _, data = read_block(rows, MEETING_DATA)
    by_metric = {r["metric"]: r for r in data}
    want = last_week(week)

    team = by_metric["上周团队完成率"]
    assert team["value"] == pct(want["rate"])
    assert team["note"] == (f"{want['week']}:成交 {want['actual']:g} 万元 / "
                            f"目标 {want['target']:.1f} 万元")
    assert data[0] is team

    top3 = by_metric["个人TOP3"]
    assert top3["value"] == "、".join(want["top3"])
    assert top3["note"] == "; ".join(f"{r} {pct(want['rates'][r])}" for r in want["top3"])

    below = by_metric[f"完成率低于{SETTINGS.general.completion_threshold:.0%}"]
    assert below["value"] == len(want["below"])  # a number, not text
    assert below["note"] == "; ".join(f"{r} {pct(want['rates'][r])}" for r in want["below"])
    assert packs[week].data == [{k: "" if r[k] is None else r[k]
                                 for k in ("metric", "value", "note")} for r in data]


def test_the_sample_weeks_are_not_trivial() -> None:
    for week in WEEKS:
        want = last_week(week)
        assert want["actual"] > 0 and 0 < len(want["below"]) < len(REPS)


@pytest.mark.parametrize("week", WEEKS)
def test_standing_agenda_fits_the_limit(packs: dict[str, Any], week: str) -> None:
    _, agenda = read_block(sheet_rows(packs["path"])[f"议程 {week}"], AGENDA)
    assert [(r["no"], r["item"], r["minutes"]) for r in agenda] == [
        (a.no, a.item, a.minutes) for a in SETTINGS.agenda]
    assert {r["topic"] for r in agenda} == {SETTINGS.general.meeting_topic}
    total = sum(r["minutes"] for r in agenda)
    assert total == packs[week].total_minutes <= SETTINGS.general.meeting_max_minutes == 90
    meeting = packs[week].meeting_at
    assert meeting == dt.datetime.combine(week_days(week)[0], dt.time(9, 0))  # Monday 9:00
    assert packs[week].minutes_due == meeting + dt.timedelta(hours=24)


def test_an_agenda_over_the_limit_is_refused(tmp_path: Path) -> None:
    root = copy_sample(tmp_path / "team")
    wb = openpyxl.load_workbook(root / "settings.xlsx")
    ws = wb["周会议程模板"]
    head = next(r for r in ws.iter_rows() if [c.value for c in r[:4]] == [
        "序号", "议程内容", "负责人", "时长(分钟)"])
    col = [c.value for c in head].index("时长(分钟)")
    ws.cell(row=head[0].row + 2, column=col + 1).value = 31  # 20 + 31 + 25 + 15 = 91
    wb.save(root / "settings.xlsx")
    before = (root / "meeting_agenda.xlsx").read_bytes()
    with pytest.raises(XlsalesError, match=r"91 minutes.*90"):
        run_agenda(root, "2024-W13")
    result = CliRunner().invoke(app, ["agenda", "--week", "2024-W13", "-w", str(root),
                                      "--json"])
    assert result.exit_code == 2, result.output
    payload = json.loads(result.stdout)
    assert payload["ok"] is False and "90" in payload["error"]
    assert (root / "meeting_agenda.xlsx").read_bytes() == before


def test_carried_items_are_the_earlier_weeks_open_ones(tmp_path: Path) -> None:
    root = copy_sample(tmp_path / "team")
    # W11: no earlier week has an item
    assert run_agenda(root, "2024-W11").carried == []
    # W12's meeting agrees on new items, typed into that week's action table
    w12 = run_agenda(root, "2024-W12")
    assert [c["item"] for c in w12.carried] == []  # W11's only item is done
    # the first names its deliverable in the text and its date in the due column
    typed = [("提交客户D报价单", "王强", dt.date(2024, 3, 27), "进行中", None),
             ("3月20日前完成华北区拜访计划", "周杰", dt.date(2024, 3, 20), "已完成", "拜访计划"),
             ("整理展会线索", "孙丽", dt.date(2024, 3, 21), "已取消", None)]
    for i, values in enumerate(typed):
        type_action(w12.written, w12.sheet, i, dict(zip(
            ("item", "owner", "due", "status", "deliverable"), values, strict=True)))

    w13 = run_agenda(root, "2024-W13")
    want = [(a["week"], a["item"], a["owner"], a["due"]) for a in open_items_before(
        "2024-W13")] + [("2024-W12", typed[0][0], typed[0][1], typed[0][2])]
    got = [(c["from_week"], c["item"], c["owner"], c["due"]) for c in w13.carried]
    assert sorted(got, key=str) == sorted(
        [(w, i, o, d.isoformat() if d else None) for w, i, o, d in want], key=str)
    _, block = read_block(sheet_rows(w13.written)[w13.sheet], CARRIED)
    assert sorted((r["from_week"], r["item"]) for r in block) == sorted(
        (w, i) for w, i, _, _ in want)
    by_item = {r["item"]: r for r in block}
    assert by_item["3月22日前整理华南区竞品报价对比"]["days_overdue"] == 3  # due 03-22, met 03-25
    assert by_item["跟进客户C"]["actionable"].startswith("不可执行")
    assert by_item[typed[0][0]]["actionable"] in (None, "")
    assert by_item[typed[0][0]]["days_overdue"] == 0


def test_new_action_items_have_list_and_date_validations(packs: dict[str, Any]) -> None:
    wb = openpyxl.load_workbook(packs["path"])
    for week in WEEKS:
        ws = wb[f"议程 {week}"]
        table = ws.tables[f"ActionItems_{week.replace('-', '_')}"]
        top, bottom = re.fullmatch(r"A(\d+):G(\d+)", table.ref).groups()  # type: ignore[union-attr]
        first, last = int(top) + 1, int(bottom)
        assert [ws.cell(row=int(top), column=c + 1).value for c in range(len(ACTIONS.columns))
                ] == [c.header("zh") for c in ACTIONS.columns]
        assert last - first + 1 >= 8  # room to type this week's items
        found = {}
        for dv in ws.data_validations.dataValidation:
            for key in ("owner", "status", "due"):
                letter = get_column_letter(ACTIONS.index(key) + 1)
                if str(dv.sqref) == f"{letter}{first}:{letter}{last}":
                    found[key] = dv
        assert found["owner"].type == "list" and found["owner"].formula1 == "xs_reps"
        assert found["status"].type == "list" and found["status"].formula1 == "xs_action_status"
        assert found["due"].type == "date"
    names = wb.defined_names

    def values(name: str) -> list[Any]:
        sheet, ref = names[name].attr_text.split("!")
        return [c.value for row in wb[sheet.strip("'")][ref.replace("$", "")] for c in row]

    assert values("xs_reps") == REPS
    assert values("xs_action_status") == [i.zh for i in SETTINGS.items("action_status")]


def test_rerunning_a_week_replaces_its_sheet(tmp_path: Path) -> None:
    root = copy_sample(tmp_path / "team")
    first = run_agenda(root, "2024-W13")
    names = openpyxl.load_workbook(first.written, read_only=True).sheetnames
    content = sheet_rows(first.written)[first.sheet]
    wb = openpyxl.load_workbook(first.written)  # someone scribbles over the pack
    wb[first.sheet]["A1"] = "旧版本"
    wb[first.sheet]["J50"] = "草稿"
    wb.save(first.written)
    again = run_agenda(root, "2024-W13")
    assert (again.written, again.sheet) == (first.written, first.sheet)
    after = openpyxl.load_workbook(again.written, read_only=True).sheetnames
    assert after == names and after.count("议程 2024-W13") == 1
    assert [n for n in after if n.startswith("议程")] == ["议程 2024-W13"]
    assert sheet_rows(again.written)[again.sheet] == content


def type_action(path: Path, sheet: str, row: int, values: dict[str, Any]) -> None:
    """Type an action item into the ``row``-th (0-based) row of a sheet's action table."""
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    head = header_row([[c.value for c in r] for r in ws.iter_rows()], ACTIONS)
    assert head is not None
    for key, value in values.items():
        ws.cell(row=head + 2 + row, column=ACTIONS.index(key) + 1).value = value
    wb.save(path)


def test_rerunning_a_week_keeps_the_action_items_typed_into_it(tmp_path: Path) -> None:
    root = copy_sample(tmp_path / "team")
    first = run_agenda(root, "2024-W13")
    item = {"item": "3月29日前提交客户D报价单", "owner": "王强", "due": dt.date(2024, 3, 29),
            "status": "进行中", "deliverable": "报价单"}
    type_action(first.written, first.sheet, 0, item)
    result = CliRunner().invoke(app, ["actions", "-w", str(root), "--on", "2024-03-26",
                                      "--json"])
    assert item["item"] in [i["item"] for i in json.loads(result.stdout)["items"]]
    run_agenda(root, "2024-W13")
    result = CliRunner().invoke(app, ["actions", "-w", str(root), "--on", "2024-03-26",
                                      "--json"])
    assert item["item"] in [i["item"] for i in json.loads(result.stdout)["items"]]


def test_new_action_items_are_highlighted_when_overdue(packs: dict[str, Any]) -> None:
    wb = openpyxl.load_workbook(packs["path"])
    ws = wb["议程 2024-W13"]
    top, bottom = re.fullmatch(r"A(\d+):G(\d+)",  # type: ignore[union-attr]
                               ws.tables["ActionItems_2024_W13"].ref).groups()
    covered = set()
    for cf in ws.conditional_formatting:
        for rule in cf.rules:
            covered |= {(str(cf.sqref), f) for f in rule.formula}
    due = get_column_letter(ACTIONS.index("due") + 1)
    owner = get_column_letter(ACTIONS.index("owner") + 1)
    first = int(top) + 1
    assert any(ref == f"{due}{first}:{due}{bottom}" and "TODAY()" in f for ref, f in covered)
    assert any(ref == f"{owner}{first}:{owner}{bottom}" for ref, _ in covered)


# -- action items across weeks ------------------------------------------------------------------

@pytest.mark.parametrize(("item", "deliverable", "due", "specific"), [
    ("3月10日前完成客户C方案", None, None, True),  # the seed's example
    ("完成客户C方案", None, D("2024-03-10"), True),  # the date in its column
    ("跟进客户C", "方案文档", D("2024-03-10"), True),  # the deliverable in its column
    ("跟进客户C", None, None, False),  # the seed's counter-example
    ("跟进客户C", None, D("2024-03-10"), False),  # a date, but no deliverable
    ("跟进客户C", "方案文档", None, False),  # a deliverable, but no date
    ("完成客户C方案", None, None, False),
    ("3月10日前跟进客户C", None, None, False),
    ("Send customer C the proposal by Friday", None, None, True),
    ("follow up customer C", None, D("2024-03-10"), False),
])
def test_is_specific(item: str, deliverable: str | None, due: dt.date | None,
                     specific: bool) -> None:
    assert is_specific(item, deliverable, due) is specific
    action = ActionItem("2024-W12", item, "张伟", due, "进行中", deliverable, "行动项", "B4")
    assert action.actionable is (specific and due is not None)
    assert ActionItem("2024-W12", item, None, due, None, deliverable, "x", None
                      ).actionable is False  # no owner



def expected_state(a: dict[str, Any], on: dt.date) -> str:
    if a["status"] in DONE:
        return "done"
    return "overdue" if a["due"] and a["due"] < on else "open"


@pytest.mark.parametrize("on", ["2024-03-29", "2024-03-18", "2024-03-10"])
def test_actions_cli_classifies_and_flags_vague_items(packs: dict[str, Any], on: str) -> None:
    result = CliRunner().invoke(app, ["actions", "-w", str(packs["root"]), "--on", on,
                                      "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["ok"] is True
    got = {i["item"]: i for i in payload["items"]}
    assert sorted(got) == sorted(a["item"] for a in TEAM.data["actions"])
    day = D(on)
    for a in TEAM.data["actions"]:
        item = got[a["item"]]
        assert item["state"] == expected_state(a, day), a["item"]
        assert item["week"] == a["week"] and item["owner"] == a["owner"]
        assert item["days_overdue"] == (
            (day - a["due"]).days if item["state"] == "overdue" else 0)
    assert payload["counts"] == {s: n for s in ("open", "overdue", "done") if (n := sum(
        expected_state(a, day) == s for a in TEAM.data["actions"]))}
    assert [i["item"] for i in payload["items"] if not i["actionable"]] == ["跟进客户C"]
    assert payload["not_actionable"] == 1
    vague = got["跟进客户C"]
    assert vague["due"] is None and vague["state"] == "open"


def test_actions_cli_on_the_sample_day() -> None:
    """2024-03-29: W11 done, W12's comparison overdue by a week, the rest open."""
    states = {a["item"]: expected_state(a, SAMPLE_TODAY) for a in TEAM.data["actions"]}
    assert states == {"3月15日前完成客户C方案并提交": "done",
                      "3月22日前整理华南区竞品报价对比": "overdue",
                      "跟进客户C": "open", "3月29日前约见3家A类客户决策人": "open"}


# -- LibreOffice --------------------------------------------------------------------------------

ERROR = re.compile(r"^(#(NULL!|DIV/0!|VALUE!|REF!|NAME\?|NUM!|N/A)|Err:\d+)")


@pytest.mark.libreoffice
def test_minutes_due_24_hours_after_the_meeting(packs: dict[str, Any], soffice: str,
                                                tmp_path: Path) -> None:
    from xlsales.io.libreoffice import recalculate

    path = recalculate(packs["path"], tmp_path, soffice=soffice)
    sheets = sheet_rows(path, data_only=True)
    errors = [f"{name}: {v}" for name, rows in sheets.items() for row in rows for v in row
              if isinstance(v, str) and ERROR.match(v)]
    assert not errors, errors[:20]
    for week in WEEKS:
        _, minutes = read_block(sheets[f"议程 {week}"], MINUTES)
        assert len(minutes) == 1
        meeting, due = minutes[0]["meeting_at"], minutes[0]["due_at"]
        assert meeting == packs[week].meeting_at
        assert isinstance(due, dt.datetime)
        assert math.isclose((due - meeting).total_seconds(), 24 * 3600, abs_tol=1)
        assert abs(due - packs[week].minutes_due) < dt.timedelta(seconds=1)
    # the master minutes sheet's formula as well
    _, master = read_block(sheets["会议纪要"], MINUTES)
    assert master and all(
        abs(r["due_at"] - r["meeting_at"] - dt.timedelta(hours=24)) < dt.timedelta(seconds=1)
        for r in master)


@pytest.mark.libreoffice
def test_agenda_renders_to_pdf_and_png(packs: dict[str, Any], soffice: str,
                                       tmp_path: Path) -> None:
    from xlsales.io.libreoffice import convert, render_png

    pdf = convert(packs["path"], "pdf", tmp_path, soffice=soffice)
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 10_000
    [page] = render_png(pdf, tmp_path / "agenda", 1, 1)
    data = page.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 1000


@pytest.mark.parametrize("week", WEEKS)
def test_stalled_deals_count_what_the_pack_lists(packs: dict[str, Any], week: str) -> None:
    """The number of stalled deals is the number of deals (one per deal, however many of
    its alerts fire), stored as a number; the detail names the first ones and says how many
    more there are."""
    from xlsales.jobs.meeting import STALLED_SHOWN

    rows = sheet_rows(packs["path"])[f"议程 {week}"]
    _, data = read_block(rows, MEETING_DATA)
    stalled = next(r for r in data if r["metric"] == "停滞商机")
    assert isinstance(stalled["value"], int)
    listed = re.findall(r"\bO\d{4}\b", stalled["note"] or "")
    assert len(set(listed)) == len(listed)
    assert len(listed) == min(stalled["value"], STALLED_SHOWN)
    more = re.search(r"另有 (\d+) 个", stalled["note"] or "")
    assert (int(more.group(1)) if more else 0) == stalled["value"] - len(listed)


def test_an_english_pack_names_stages_in_english(tmp_path: Path) -> None:
    root = tmp_path / "team"
    assert CliRunner().invoke(app, ["sample", str(root), "--lang", "en"]).exit_code == 0
    pack = run_agenda(root, "2024-W13")
    stalled = next(r for r in pack.data if r["metric"] == "Stalled opportunities")
    assert stalled["value"] > 0 and "d)" in stalled["note"]
    stages = {s.en for s in generate().settings.stages}
    named = re.findall(r"\(([A-Za-z -]+?) \d+d\)", stalled["note"])
    assert named and set(named) <= stages
    assert not re.search(r"[\u4e00-\u9fff]", json.dumps(pack.data, ensure_ascii=False))
