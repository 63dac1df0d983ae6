"""The weekly meeting pack and the action items across weeks."""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from xlsales import tables as T
from xlsales.calendar import WorkCalendar, week_label
from xlsales.discipline import discipline
from xlsales.errors import InputError
from xlsales.frames import Table
from xlsales.i18n import Label, Lang
from xlsales.jobs.sources import (
    Workspace,
    load_customers,
    load_daily,
    load_targets,
    workspace_settings,
)
from xlsales.performance import Targets, completion
from xlsales.settings import Settings
from xlsales.words import SEP, is_whole, money_text, to_unit
from xlsales.workspace import book_path, read_settings

AGENDA_SHEET = Label("议程 {week}", "Agenda {week}")
DONE = {"已完成", "已取消"}
ACTION_STATE = {"open": Label("进行中", "open"), "overdue": Label("已逾期", "overdue"),
                "done": Label("已完成", "done")}
STALLED_SHOWN = 5  # stalled deals named in the pack; the count is of all of them
MORE = Label(";另有 {n} 个", "; {n} more")
STALLED_DEAL = Label("{opp} {customer}({stage} {age}天)", "{opp} {customer} ({stage} {age}d)")


@dataclass
class ActionItem:
    """An action item found in the meeting workbook."""

    week: str | None
    item: str
    owner: str | None
    due: dt.date | None
    status: str | None
    deliverable: str | None
    sheet: str
    cell: str | None

    def state(self, today: dt.date) -> str:
        if self.status in DONE:
            return "done"
        return "overdue" if self.due and self.due < today else "open"

    @property
    def actionable(self) -> bool:
        from xlsales.tables.agenda import is_specific

        return bool(self.owner) and self.due is not None and is_specific(
            self.item, self.deliverable, self.due)

    def as_dict(self, today: dt.date) -> dict[str, Any]:
        return {"week": self.week, "item": self.item, "owner": self.owner,
                "due": self.due.isoformat() if self.due else None, "status": self.status,
                "state": self.state(today), "actionable": self.actionable,
                "days_overdue": max(0, (today - self.due).days) if self.due and
                self.state(today) == "overdue" else 0, "sheet": self.sheet, "cell": self.cell}


ACTION_SCAN_ROWS = 300  # a week's sheet has its action items under the pack's other blocks


def read_actions(path: Path, settings: Settings) -> list[ActionItem]:
    """Action items of the master sheet and of every week's agenda sheet."""
    from xlsales.io.read import read_tables_per_sheet

    return actions_from_tables(read_tables_per_sheet(
        path, T.get("actions"), settings, scan_rows=ACTION_SCAN_ROWS, stop_at_blank=True))


def actions_from_tables(tables: list[Table]) -> list[ActionItem]:
    """Action items of action tables (one per sheet, each read up to its first blank row)."""
    import re

    out: list[ActionItem] = []
    for table in tables:
        sheet_week = re.search(r"\d{4}-W\d{2}", table.sheet)
        for r in table.records(with_row=True):
            if r.get("item"):
                week = r.get("week") or (sheet_week.group(0) if sheet_week else None)
                out.append(ActionItem(week, r.get("item"), r.get("owner"), r.get("due"),
                                      r.get("status"), r.get("deliverable"), table.sheet,
                                      table.cell("item", r["_row"])))
    return out


def run_actions(root: str | os.PathLike[str], *, today: dt.date) -> list[ActionItem]:
    """Every action item across weeks."""
    path = Path(root)
    path = book_path(path, "agenda") if path.is_dir() else path
    settings = workspace_settings(path.parent)
    del today
    return read_actions(path, settings)


@dataclass
class AgendaResult:
    """The meeting pack written for a week."""

    week: str
    meeting_at: dt.datetime
    minutes_due: dt.datetime
    total_minutes: int
    data: list[dict[str, Any]]
    carried: list[dict[str, Any]]
    written: Path
    sheet: str

    def as_dict(self) -> dict[str, Any]:
        return {"week": self.week, "meeting_at": self.meeting_at.isoformat(),
                "minutes_due": self.minutes_due.isoformat(),
                "total_minutes": self.total_minutes, "data": self.data,
                "carried": self.carried, "written": str(self.written), "sheet": self.sheet}


def meeting_start(settings: Settings, week: str, cal: WorkCalendar) -> dt.datetime:
    """The meeting's start: the week's first working day at the settings' time."""
    import re

    from xlsales.calendar import week_days

    monday, sunday = week_days(week)
    day = next(cal.days(monday, sunday), monday)
    m = re.search(r"(\d{1,2})[:：](\d{2})", settings.general.meeting_time)
    start = dt.time(int(m.group(1)), int(m.group(2))) if m else dt.time(9, 0)
    return dt.datetime.combine(day, start)


@dataclass
class AgendaPack:
    """The week's meeting pack as blocks (title, table spec, rows)."""

    week: str
    lang: Lang
    title: str
    subtitle: str
    start: dt.datetime
    minutes_due: dt.datetime
    total: int
    data: list[dict[str, Any]]
    carried: list[dict[str, Any]]
    blocks: list[tuple[str, Any, list[dict[str, Any]]]]
    settings: Settings


def agenda_minutes(settings: Settings) -> tuple[int, int]:
    """(the agenda's minutes, the limit); more than the limit is an InputError."""
    total = sum(a.minutes for a in settings.agenda)
    limit = settings.general.meeting_max_minutes
    if total > limit:
        raise InputError(Label(
            f"议程合计 {total} 分钟，超过 {limit} 分钟的上限（settings.xlsx 的会议议程表）",
            f"the agenda adds up to {total} minutes, more than the {limit}-minute limit "
            "(settings.xlsx, meeting agenda sheet)"))
    return total, limit


def agenda_pack(root: str | os.PathLike[str], week: str) -> AgendaPack:
    """Compute the week's meeting pack from a workspace folder: its settings, dailies,
    targets, customer-side tables (with the follow-up ledger) and action items, read
    here and handed to :func:`pack_from_tables`."""
    from xlsales.jobs.followups import read_ledger

    root = Path(root)
    week = week.upper()
    settings = read_settings(root)
    agenda_minutes(settings)
    today = meeting_start(settings, week, WorkCalendar.of(settings)).date()
    daily = load_daily(root, today=today, settings=settings, validate=False)
    targets = load_targets(root, settings)
    customers = load_customers(root, settings=settings)
    ledger = read_ledger(book_path(root, "customers"))
    actions = read_actions(book_path(root, "agenda"), settings)
    return pack_from_tables(settings, week, daily.frame, daily.lang, targets, customers,
                            ledger, actions)


def pack_from_tables(settings: Settings, week: str, daily: pd.DataFrame, lang: Lang,
                     targets: Targets, customers: Workspace, ledger: dict[str, Any] | None,
                     actions: list[ActionItem]) -> AgendaPack:
    """Compute the week's meeting pack from the tables it reads, as values: the
    deduplicated daily rows (``daily``, in ``lang``), the targets, the customer-side tables
    (``customers``), the follow-up ledger (None: none yet) and every action item.
    Data first, agenda, carried items, actions, minutes."""
    from xlsales.calendar import week_days
    from xlsales.followups import follow_up_report
    from xlsales.pipeline import stage_alerts
    from xlsales.tables.agenda import ACTIONS, AGENDA, CARRIED, MEETING_DATA, MINUTES

    week = week.upper()
    total, limit = agenda_minutes(settings)
    cal = WorkCalendar.of(settings)
    start = meeting_start(settings, week, cal)
    today = start.date()
    monday, _ = week_days(week)
    last_week = week_label(monday - dt.timedelta(days=7))
    lw_first, lw_last = week_days(last_week)
    team = completion(daily, targets, settings, lw_first, lw_last, by="team")
    reps = completion(daily, targets, settings, lw_first, lw_last, by="rep")
    report = follow_up_report(customers.frame("customers"), customers.frame("follow_ups"),
                              customers.frame("opportunities"), customers.settings, today,
                              lang=customers.lang, ledger=ledger, onboard=True)
    overdue = [d for d in report.all_dues() if d.date < today]
    alerts = stage_alerts(customers.records("opportunities"),
                          customers.records("stage_history"),
                          customers.records("follow_ups"), settings, today)
    disc = discipline(daily, settings, lw_first, lw_last, today=today)
    zh = lang == "zh"

    def pct(x: float | None) -> str:
        return "—" if x is None else f"{x:.0%}"

    by_owner = Counter(d.owner for d in overdue)
    stalled = list({a.opp_id: a for a in reversed(alerts)}.values())[::-1]  # one per deal
    stalled_text = "; ".join(
        STALLED_DEAL(lang).format(opp=a.opp_id, customer=a.customer, age=a.age,
                                  stage=settings.display("stages", a.stage, lang))
        for a in stalled[:STALLED_SHOWN])
    if len(stalled) > STALLED_SHOWN:
        stalled_text += MORE(lang).format(n=len(stalled) - STALLED_SHOWN)
    head = team.rows[0] if team.rows else None
    unit = settings.general.amount_unit
    if head is None:
        signed = target = ""
    elif is_whole(unit):  # whole units: 1,250,000
        signed, target = f"{to_unit(head.actual, unit):,.0f}", \
            f"{to_unit(head.target or 0, unit):,.0f}"
    else:
        signed, target = f"{head.actual:g}", f"{head.target or 0:.1f}"
    data = [
        {"metric": "上周团队完成率" if zh else "Team completion last week",
         "value": pct(head.rate if head else None),
         "note": ((f"{last_week}:成交 {signed} 万元 / 目标 {target} 万元"
                   if zh else f"{last_week}: signed {signed} / target {target}")
                  if head else "")
         + "".join(f"; {w}" for w in team.warnings(lang))},
        {"metric": f"个人{reps.top_label}" if zh else f"Individual {reps.top_label}",
         "value": SEP(lang).join(r.key for r in reps.top),
         "note": "; ".join([*(f"{r.key} {pct(r.rate)}" for r in reps.top),
                            *reps.warnings(lang)])},
        {"metric": (f"完成率低于{reps.threshold:.0%}" if zh
                    else f"Under {reps.threshold:.0%} of target"),
         "value": len(reps.below),
         "note": "; ".join(f"{r.key} {pct(r.rate)}" for r in reps.below)},
        {"metric": "逾期跟进" if zh else "Overdue follow-ups", "value": len(overdue),
         "note": "; ".join(f"{o} {n}" for o, n in by_owner.most_common())},
        {"metric": "停滞商机" if zh else "Stalled opportunities",
         "value": len(stalled), "note": stalled_text},
        {"metric": "上周日报逾期/缺报" if zh else "Late / missing dailies last week",
         "value": f"{sum(d.late for d in disc)} / {sum(d.missing for d in disc)}",
         "note": "; ".join(f"{d.rep} {d.late}/{d.missing}" for d in disc
                           if d.late or d.missing)},
    ]
    data = [{**r, "note": money_text(r["note"], settings.general.currency, unit)}
            for r in data]
    items = [a for a in actions if (a.week or "") < week and a.state(today) != "done"]
    carried = [{"from_week": a.week, "item": a.item, "owner": a.owner, "due": a.due,
                "status": settings.display("action_status", a.status or "", lang) or None,
                "days_overdue": max(0, (today - a.due).days) if a.due else None,
                "actionable": ("" if a.actionable else
                               ("不可执行:缺负责人/日期/具体交付物" if zh
                                else "not actionable: owner/date/deliverable missing"))}
               for a in items]
    agenda_rows = [{"topic": settings.general.meeting_topic,
                    "time": settings.general.meeting_time, **a.model_dump()}
                   for a in settings.agenda]
    minutes_due = start + dt.timedelta(hours=24)
    blocks = [
        (MEETING_DATA.title(lang), MEETING_DATA, data),
        ("二、会议议程" if zh else "2. Agenda", AGENDA, agenda_rows),
        (CARRIED.title(lang), CARRIED, carried),
        ("四、本周行动项(负责人、完成时间、具体交付物)" if zh
         else "4. This week's action items (owner, date, deliverable)", ACTIONS, []),
        ("五、会议纪要(24小时内发出)" if zh else "5. Minutes (out within 24 hours)", MINUTES,
         [{"meeting_at": start}]),
    ]
    subtitle = (f"时间:{start:%Y-%m-%d %H:%M}({settings.general.meeting_time});合计 {total} "
                f"分钟(上限 {limit});会议纪要 {minutes_due:%Y-%m-%d %H:%M} 前发出" if zh else
                f"When: {start:%Y-%m-%d %H:%M} ({settings.general.meeting_time}); {total} "
                f"minutes (limit {limit}); minutes due by {minutes_due:%Y-%m-%d %H:%M}")
    return AgendaPack(week, lang, f"{settings.general.meeting_topic} {week}", subtitle, start,
                      minutes_due, total, data, carried, blocks, settings)


def run_agenda(root: str | os.PathLike[str], week: str, *,
               out: str | os.PathLike[str] | None = None) -> AgendaResult:
    """Write the week's meeting pack into the agenda workbook (a new sheet per week)."""
    from xlsales.cells import col_letters
    from xlsales.io.edit.book import WorkbookEdit
    from xlsales.io.edit.lists import refresh_lists
    from xlsales.io.edit.newsheet import NewSheet
    from xlsales.io.edit.tables import SUBTITLE, TITLE, Printed, add_block, fit_print, heading
    from xlsales.io.read import sheet_records
    from xlsales.tables.agenda import ACTIONS, AGENDA, MEETING_DATA, MINUTES

    root = Path(root)
    pack = agenda_pack(root, week)
    lang = pack.lang
    settings = pack.settings
    path = book_path(root, "agenda")
    sheet_name = AGENDA_SHEET(lang).format(week=pack.week)
    target = Path(out) if out else path
    options = settings.general.model_dump()
    suffix = pack.week.replace("-", "_")
    with WorkbookEdit(path) as wb:
        kept: dict[str, list[dict[str, Any]]] = {}
        if sheet_name in wb.sheet_names:  # what was typed into this week's sheet stays
            ranges = wb.tables(sheet_name)
            for spec in (ACTIONS, MINUTES):
                rows = ranges.get(f"{spec.name}_{suffix}")
                if rows:
                    kept[spec.key] = sheet_records(path, sheet_name, spec, settings,
                                                   rows=rows, scan_rows=rows[0])
        sheet = NewSheet()
        heading(sheet, 0, pack.title, wb.xf(TITLE))
        heading(sheet, 1, pack.subtitle, None)
        row = 3
        for title, spec, rows in pack.blocks:
            if spec is ACTIONS and kept.get(spec.key):
                rows = kept[spec.key]
            elif spec is MINUTES and kept.get(spec.key):
                rows = [{**rows[0], **{k: v for k, v in kept[spec.key][0].items()
                                       if v not in (None, "") and k != "meeting_at"}}]
            heading(sheet, row, title, wb.xf(SUBTITLE))
            extra = {"blank_rows": 8, "validations": True} if spec is ACTIONS else {}
            last = add_block(wb, sheet, spec, rows, header_row=row + 1,
                             name=f"{spec.name}_{suffix}", lang=lang, options=options,
                             display=lambda name, value: settings.display(name, value, lang),
                             widths=spec is AGENDA, **extra)
            if spec is MEETING_DATA:  # counts and rates written as the text people read
                value = MEETING_DATA.index("value")
                sheet.text_numbers.append(f"{col_letters(value)}{row + 3}:"
                                          f"{col_letters(value)}{last + 1}")
            row = last + 3
        fit_print(wb, sheet, lang=lang, options=options, printed=Printed(pack.week))
        wb.put_sheet(sheet_name, sheet, before=wb.sheet_names[0])
        wb.set_active(sheet_name)  # the agenda workbook opens on this week's pack
        refresh_lists(wb, settings, lang)
        wb.save(target)
    return AgendaResult(pack.week, pack.start, pack.minutes_due, pack.total, pack.data,
                        [{**c, "due": c["due"].isoformat() if c["due"] else None}
                         for c in pack.carried], target, sheet_name)
