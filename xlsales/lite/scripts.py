"""The xlwings Lite scripts: the VBA buttons' jobs, run by the add-in on the open workbook.

Each ``xlsales_*`` function is a script (``@script``, one ``xw.Book`` parameter, a sheet
button on the ``xlsales`` panel sheet: :mod:`xlsales.lite.layout`); each calls the
function of the same job without the decorator, which takes ``today`` (tests and the
CLI comparison use it). The jobs are the buttons' (:mod:`xlsales.excel.buttons`) on a
:class:`~xlsales.lite.book.LiteBook`, so they read tables with the same reader and compute
with the same library functions as the CLI; the monthly review is computed here from the
tables the open workbook holds (a Lite script can read no other file). Outside xlwings
Lite and xlwings Server the decorator does nothing: these are plain functions then.
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
        sheet.range("A1").value = [header] + [
            [m.dimension, m.metric, m.target, m.actual, m.completion, m.hint]
            for m in review.metrics]
        return (f"已生成 {label} 复盘({len(review.metrics)} 项指标)" if lang == "zh"
                else f"Review {label}: {len(review.metrics)} metrics")

    def job(bk: LiteBook, day: dt.date | None) -> str:
        return buttons._run(bk, Label("月度复盘", "Monthly review"), work)
    return _job(book, job, today)


AGENDA_NEEDS = Label("生成本周议程需要整个工作区（日报、目标、客户）："
                     "xlwings Lite 只能读取打开的工作簿，"
                     "请在装有 Python 的电脑上运行 xlsales agenda 或使用 VBA 按钮",
                     "the weekly agenda reads the whole workspace (dailies, targets, "
                     "customers): xlwings Lite reads the open workbook only; run xlsales "
                     "agenda or the VBA button where Python is installed")


def meeting_pack(book: Any, today: dt.date | None = None) -> str:
    """The weekly meeting pack: not in xlwings Lite (it reads the whole workspace); says so."""
    def work(bk: LiteBook, lang: Lang) -> str:
        from xlsales.errors import InputError

        raise InputError(AGENDA_NEEDS)

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
    """The weekly meeting pack (needs the workspace: says so in xlwings Lite)."""
    meeting_pack(book)


@script(**_options("team"))
def xlsales_load_team(book: xw.Book) -> None:
    """Read the team's settings from the open workbook for the XS_ functions."""
    load_team(book)


SCRIPTS = {"validate": xlsales_validate, "rollup": xlsales_rollup_week,
           "spotcheck": xlsales_spot_check, "followups": xlsales_refresh_followups,
           "review": xlsales_monthly_review, "agenda": xlsales_meeting_pack,
           "team": xlsales_load_team}
