"""The xlwings Lite scripts: the VBA buttons' jobs, run by the add-in on the open workbook.

Each ``xlsales_*`` function is a script (``@script``, one ``xw.Book`` parameter, a sheet
button on the ``xlsales`` panel sheet: :mod:`xlsales.lite.layout`); each calls the
function of the same job without the decorator, which takes ``today`` (tests and the
CLI comparison use it). The jobs are the buttons' (:mod:`xlsales.excel.buttons`) on a
:class:`~xlsales.lite.book.LiteBook`, so they read tables with the same reader and compute
with the same library functions as the CLI; the monthly review and the meeting pack are
computed here from the tables the open workbook holds (a Lite script can read no other
file), and say which table is missing. Errors (:class:`xlsales.errors.XlsalesError`) become
a dialog and the message cell in the workbook's language (``buttons._run``), never a
traceback. Outside xlwings Lite and xlwings Server the decorator does nothing: these are
plain functions then.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import xlwings as xw
from xlwings import script

from xlsales.excel import buttons
from xlsales.excel.team import Team, default_team
from xlsales.i18n import Label, Lang
from xlsales.lite.book import LiteBook
from xlsales.lite.layout import BUTTONS

# The team the last script read from its workbook: what the XS_ functions answer with (a
# custom function of xlwings Lite gets no workbook to read it from).
_TEAM: list[Team] = []


def current_team() -> Team:
    """The team of the last script run in this session; the built-in defaults before."""
    return _TEAM[-1] if _TEAM else default_team()


def _keep_team(lite: LiteBook) -> None:
    settings = lite.__dict__.get("team_settings")  # read by the job (never read twice)
    if settings is not None:
        _TEAM[:] = [Team(settings)]


def _job(book: Any, job: Any, today: dt.date | None) -> str:
    lite = book if isinstance(book, LiteBook) else LiteBook(book)
    try:
        return job(lite, today)
    finally:
        _keep_team(lite)


# -- the jobs ---------------------------------------------------------------------------------

def validate(book: Any, today: dt.date | None = None) -> str:
    """Check every table of the open workbook; colour the bad cells, list the findings."""
    return _job(book, buttons.validate, today)


def rollup_week(book: Any, today: dt.date | None = None) -> str:
    """This week's weekly sheet from the daily reports (targets: those the workbook holds)."""
    return _job(book, buttons.rollup_week, today)


def spot_check(book: Any, today: dt.date | None = None) -> str:
    """Pick today's spot-check and date the picked rows."""
    return _job(book, buttons.spot_check, today)


def refresh_followups(book: Any, today: dt.date | None = None) -> str:
    """Fill next follow-ups and reasons (typed dates kept), list what is due."""
    return _job(book, buttons.refresh_followups, today)


REVIEW_SHEET = Label("复盘 {period}", "Review {period}")
NEEDS = Label("工作簿中没有{table}表：xlwings Lite 只能读取打开的工作簿，"
              "请把该表的工作表复制进来，或在装有 Python 的电脑上运行 xlsales review",
              "this workbook holds no {table} table: xlwings Lite reads the open workbook "
              "only; copy that sheet in, or run xlsales review where Python is installed")


def monthly_review(book: Any, today: dt.date | None = None) -> str:
    """This month's review (the T4 metrics: target, actual, completion, cause hints) as a
    sheet of the open workbook, from the daily reports, opportunities, stage history and
    targets it holds."""
    def work(bk: LiteBook, lang: Lang) -> str:
        from xlsales import tables as T
        from xlsales.errors import InputError
        from xlsales.io.read.grid import table_from_grids
        from xlsales.review import ReviewData, build_review

        day = today or buttons._today()
        settings = buttons._settings(bk)
        found = {}
        for key in ("daily", "opportunities", "stage_history"):
            table = table_from_grids(bk.grids, T.get(key), settings, file=bk.fullname)
            if table is None and key != "stage_history":
                raise InputError(NEEDS.format(table=T.get(key).title(lang)))
            found[key] = table
        targets = bk.team_targets(settings)
        history = found["stage_history"]
        data = ReviewData(settings, targets, found["daily"].df, found["opportunities"].df,
                          history.df if history is not None else [], targets.rows)
        label = f"{day:%Y-%m}"
        first = day.replace(day=1)
        last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
        review = build_review(data, first, last, label, lang=lang, today=day)
        sheet = buttons._sheet(bk, REVIEW_SHEET(lang).format(period=label))
        header = (["维度", "指标", "目标", "实际", "完成率", "原因"] if lang == "zh"
                  else ["Dimension", "Metric", "Target", "Actual", "Completion", "Cause"])
        sheet.range("A1").value = buttons.as_text_grid([header] + [
            [m.dimension, m.metric, m.target, m.actual, m.completion, m.hint]
            for m in review.metrics])
        text = (f"已生成 {label} 复盘({len(review.metrics)} 项指标)" if lang == "zh"
                else f"Review {label}: {len(review.metrics)} metrics")
        return "; ".join([text, *_defaults_note(bk, lang)])

    def job(bk: LiteBook, day: dt.date | None) -> str:
        return buttons._run(bk, Label("月度复盘", "Monthly review"), work)
    return _job(book, job, today)


AGENDA_NEEDS = Label("工作簿中缺少这些表：{tables}。周会议程要用到它们，xlwings Lite 只能读取打开的"
                     "工作簿：请把这些工作表复制进来，或在装有 Python 的电脑上运行 xlsales agenda",
                     "this workbook lacks these tables: {tables}. The weekly agenda needs "
                     "them and xlwings Lite reads the open workbook only: copy those sheets "
                     "in, or run xlsales agenda where Python is installed")
MISSING_TABLE = Label("{title}（工作表 {sheet}）", "{title} (sheet {sheet})")
NO_SETTINGS = Label("工作簿中没有团队设置（销售团队表）：按内置默认设置计算（复制 settings.xlsx "
                    "的工作表进来，或用 xlsales init --lite 生成的工作簿）",
                    "this workbook holds no team settings (no roster): computed with the "
                    "built-in defaults (copy the sheets of settings.xlsx in, or use a "
                    "workbook xlsales init --lite wrote)")


def _defaults_note(bk: LiteBook, lang: Lang) -> list[str]:
    """What to add to a result computed without the team's settings (no roster found)."""
    return [] if "roster" in bk.settings_tables else [NO_SETTINGS(lang)]


NO_TARGETS = Label("工作簿中没有目标表：完成率按无目标计算",
                   "this workbook holds no targets table: completion is without targets")
# What the pack reads from the open workbook: the tables it cannot do without, and the
# customer-side ones that may be absent (as in a workspace's customers workbook).
AGENDA_TABLES = ("daily", "customers", "opportunities")
CUSTOMER_TABLES = ("customers", "follow_ups", "leads", "opportunities", "stage_history")


def _typed(bk: LiteBook, name: str, pack: Any, actions: list[Any]
           ) -> dict[str, list[dict[str, Any]]]:
    """What was typed into this week's pack sheet ``name`` (its action items, the minutes'
    fields), kept when the pack is written again, as ``xlsales agenda`` keeps them."""
    from xlsales.io.read.grid import table_from_grids
    from xlsales.jobs.meeting import ACTION_SCAN_ROWS
    from xlsales.tables.agenda import MINUTES

    kept: dict[str, list[dict[str, Any]]] = {}
    if name not in bk.grids:
        return kept
    if actions and actions[0].records():
        kept["actions"] = actions[0].records()
    minutes = table_from_grids({name: bk.grids[name]}, MINUTES, pack.settings,
                               file=bk.fullname, scan_rows=ACTION_SCAN_ROWS)
    typed = minutes.records()[:1] if minutes is not None else []
    if typed:
        meeting = next(rows for _, spec, rows in pack.blocks if spec is MINUTES)[0]
        kept["minutes"] = [{**meeting, **{k: v for k, v in typed[0].items()
                                          if v not in (None, "") and k != "meeting_at"}}]
    return kept


def meeting_pack(book: Any, today: dt.date | None = None) -> str:
    """This week's meeting pack (as ``xlsales agenda`` computes it) as a sheet of the open
    workbook, from the tables it holds: its action items (the agenda workbook's), the daily
    reports, customers and opportunities (required: copied in from their workbooks), the
    follow-up log, stage history and targets when there. Action items and minutes typed
    into this week's sheet are kept."""
    def work(bk: LiteBook, lang: Lang) -> str:
        from pathlib import Path

        from xlsales import tables as T
        from xlsales.calendar import week_label
        from xlsales.discipline import dedupe
        from xlsales.errors import InputError
        from xlsales.followups import ledger_from_rows
        from xlsales.io.read.grid import table_from_grids
        from xlsales.jobs.followups import LEDGER_SHEET
        from xlsales.jobs.meeting import (
            ACTION_SCAN_ROWS,
            AGENDA_SHEET,
            actions_from_tables,
            pack_from_tables,
        )
        from xlsales.jobs.sources import Workspace
        from xlsales.words import SEP

        day = today or buttons._today()
        week = week_label(day)
        settings = buttons._settings(bk)
        found = {key: table_from_grids(bk.grids, T.get(key), settings, file=bk.fullname)
                 for key in dict.fromkeys((*AGENDA_TABLES, *CUSTOMER_TABLES))}
        missing = [T.get(k) for k in AGENDA_TABLES if found[k] is None]
        if missing:
            raise InputError(Label(*(AGENDA_NEEDS(lg).format(tables=SEP(lg).join(
                MISSING_TABLE(lg).format(title=s.title(lg), sheet=s.sheet(lg))
                for s in missing)) for lg in ("zh", "en"))))
        daily = found["daily"]
        frame, _ = dedupe(daily.df)
        targets = bk.team_targets(settings)
        tables = {k: found[k] for k in CUSTOMER_TABLES if found[k] is not None}
        customers = Workspace(Path(bk.fullname), settings, tables, tables["customers"].lang)
        ledgers = [s for s in bk.sheets if s.name.endswith(LEDGER_SHEET)]
        ledger = ledger_from_rows(buttons._grid(ledgers[0])) if ledgers else None
        action_tables = bk.tables_per_sheet(T.get("actions"), settings,
                                            scan_rows=ACTION_SCAN_ROWS, stop_at_blank=True)
        actions = actions_from_tables(action_tables)
        pack = pack_from_tables(settings, week, frame, daily.lang, targets, customers,
                                ledger, actions)
        name = AGENDA_SHEET(pack.lang).format(week=pack.week)
        kept = _typed(bk, name, pack, [t for t in action_tables if t.sheet == name])
        sheet = buttons._sheet(bk, name)
        sheet.range("A1").value = buttons.pack_grid(pack, pack.lang, kept)
        text = (f"已生成 {pack.week} 周会议程(遗留行动项 {len(pack.carried)} 项)" if lang == "zh"
                else f"Agenda for {pack.week} written ({len(pack.carried)} carried items)")
        notes = [] if targets.rows else [NO_TARGETS(lang)]
        return "; ".join([text, *notes, *_defaults_note(bk, lang)])

    def job(bk: LiteBook, day: dt.date | None) -> str:
        return buttons._run(bk, Label("周会议程", "Weekly agenda"), work)
    return _job(book, job, today)


def load_team(book: Any, today: dt.date | None = None) -> str:
    """Read the team's settings from the open workbook for the XS_ functions."""
    def work(bk: LiteBook, lang: Lang) -> str:
        settings = buttons._settings(bk)
        source = (("本工作簿的设置表" if lang == "zh" else "this workbook's settings tables")
                  if bk.settings_found else ("内置默认设置" if lang == "zh"
                                             else "the built-in defaults"))
        return (f"团队设置:{source}({len(settings.roster)} 名销售,{len(settings.stages)} "
                "个阶段);按 Ctrl+Alt+F9 重新计算 XS_ 函数" if lang == "zh"
                else f"Team settings: {source} ({len(settings.roster)} reps, "
                f"{len(settings.stages)} stages); press Ctrl+Alt+F9 to recalculate the "
                "XS_ functions")

    def job(bk: LiteBook, day: dt.date | None) -> str:
        return buttons._run(bk, Label("团队设置", "Team settings"), work)
    return _job(book, job, today)


# -- the scripts the add-in lists (and the panel's buttons run) ------------------------------

def _options(key: str) -> dict[str, Any]:
    b = BUTTONS[key]
    return {"name": f"xlsales: {b.caption.en}", "button": b.reference, "show_taskpane": True}


@script(**_options("validate"))
def xlsales_validate(book: xw.Book) -> None:
    """Validate the open workbook (highlight the bad cells, list the findings)."""
    validate(book)


@script(**_options("rollup"))
def xlsales_rollup_week(book: xw.Book) -> None:
    """Roll this week's daily reports up into a weekly sheet."""
    rollup_week(book)


@script(**_options("spotcheck"))
def xlsales_spot_check(book: xw.Book) -> None:
    """Pick and date today's spot-check."""
    spot_check(book)


@script(**_options("followups"))
def xlsales_refresh_followups(book: xw.Book) -> None:
    """Refresh the customers' next follow-ups and the due list."""
    refresh_followups(book)


@script(**_options("review"))
def xlsales_monthly_review(book: xw.Book) -> None:
    """This month's review as a sheet."""
    monthly_review(book)


@script(**_options("agenda"))
def xlsales_meeting_pack(book: xw.Book) -> None:
    """This week's meeting pack as a sheet, from the tables the workbook holds."""
    meeting_pack(book)


@script(**_options("team"))
def xlsales_load_team(book: xw.Book) -> None:
    """Read the team's settings from the open workbook for the XS_ functions."""
    load_team(book)


SCRIPTS = {"validate": xlsales_validate, "rollup": xlsales_rollup_week,
           "spotcheck": xlsales_spot_check, "followups": xlsales_refresh_followups,
           "review": xlsales_monthly_review, "agenda": xlsales_meeting_pack,
           "team": xlsales_load_team}
