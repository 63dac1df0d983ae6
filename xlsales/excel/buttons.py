"""Button entry points: ``RunPython "import xlsales.excel.buttons as b; b.<name>()"``.

Each button takes the workbook (``book=None`` means ``xw.Book.caller()``), reads and
writes it through the small part of the xlwings API listed in :class:`BookLike`, and
reuses the library for the work, with the team's settings found as the worksheet
functions find them (:mod:`xlsales.excel.team`). Progress goes to Excel's status bar and a message
cell on the first sheet; errors become a message box text, never a traceback.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from xlsales.errors import READ, WorkbookError, XlsalesError, cannot, from_os_error
from xlsales.i18n import Label, Lang
from xlsales.io import guard
from xlsales.words import SEP, to_unit

MESSAGE_CELL = "E2"
SKIP_SHEETS = ("_lists", "xlwings.conf", "_followups")
BAD = (255, 199, 206)
WARN = (255, 235, 156)
TITLE = "xlsales"


class RangeLike(Protocol):
    """The part of ``xlwings.Range`` the buttons use."""

    value: Any
    color: Any
    row: int
    column: int

    def options(self, **kw: Any) -> RangeLike: ...


class SheetLike(Protocol):
    """The part of ``xlwings.Sheet`` the buttons use."""

    name: str

    def range(self, address: str) -> RangeLike: ...

    @property
    def used_range(self) -> RangeLike: ...

    def clear(self) -> None: ...


class SheetsLike(Protocol):
    def __getitem__(self, key: str | int) -> SheetLike: ...

    def __iter__(self) -> Any: ...

    def add(self, name: str | None = None, before: Any = None,
            after: Any = None) -> SheetLike: ...


class AppLike(Protocol):
    status_bar: Any

    def alert(self, prompt: str, title: str = "", **kw: Any) -> Any: ...


class BookLike(Protocol):
    """The part of ``xlwings.Book`` the buttons use."""

    fullname: str
    sheets: SheetsLike
    app: AppLike

    def save(self, path: str | None = None) -> None: ...


def _caller(book: BookLike | None) -> BookLike:
    if book is not None:
        return book
    import xlwings as xw

    return xw.Book.caller()  # type: ignore[return-value]


def _names(book: BookLike) -> list[str]:
    return [s.name for s in book.sheets]


def _grid(sheet: SheetLike) -> list[list[Any]]:
    """The sheet's values as a grid whose [0][0] is A1."""
    used = sheet.used_range
    values = used.options(ndim=2).value or []
    top, left = used.row - 1, used.column - 1
    width = left + max((len(r) for r in values), default=0)
    grid = [[None] * width for _ in range(top)]
    grid += [[None] * left + list(r) for r in values]
    return grid


def _sheet(book: BookLike, name: str) -> SheetLike:
    """The sheet ``name``, emptied, or a new one at the end."""
    if name in _names(book):
        sheet = book.sheets[name]
        sheet.clear()
        return sheet
    last = list(book.sheets)[-1]
    return book.sheets.add(name, after=last)


def _message(book: BookLike, text: str) -> None:
    first = next(s for s in book.sheets if s.name not in SKIP_SHEETS)
    first.range(MESSAGE_CELL).value = text


def _lang(book: BookLike) -> Lang:
    names = " ".join(_names(book))
    return "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in names) else "en"


def _run(book: BookLike | None, label: Label, work: Callable[[BookLike, Lang], str]) -> str:
    """Run ``work``, reporting progress and the result; errors go to a message box."""
    book = _caller(book)
    lang = _lang(book)
    book.app.status_bar = f"xlsales: {label(lang)} …"
    try:
        with guard.command():
            text = work(book, lang)
    except XlsalesError as exc:
        text = f"{label(lang)}: {exc.text(lang)}"
        book.app.alert(text, title=TITLE)
    except OSError as exc:
        text = f"{label(lang)}: {from_os_error(exc).text(lang)}"
        book.app.alert(text, title=TITLE)
    except Exception as exc:  # a bug: a short message, the traceback in a log file
        from xlsales import bugs

        text = f"{label(lang)}: " + bugs.message(exc, bugs.write_log(exc, label("en")), lang)
        book.app.alert(text, title=TITLE)
    finally:
        book.app.status_bar = False
    _message(book, text)
    return text


def _root(book: BookLike) -> Path:
    return Path(book.fullname).parent


TEAM_SETTINGS = Label("团队设置", "the team's settings")


def _settings(book: BookLike) -> Any:
    """The team's settings, found as the worksheet functions find them
    (:func:`xlsales.excel.team.team_of`): the settings the ``XLSALES_SETTINGS`` row of the
    book's ``xlwings.conf`` sheet names, else ``settings.xlsx`` beside the book, else
    the built-in defaults. Settings that are there (or named) but cannot be read are an
    error, said in the message box. Read once per file version, shared with the UDFs;
    the button gets its own copy."""
    from xlsales.excel.team import SettingsUnavailable, team_of

    own = getattr(book, "team_settings", None)  # a book that brings its team (xlsales.lite)
    if own is not None:
        return own.model_copy(deep=True)
    try:
        team = team_of(book)
    except SettingsUnavailable as exc:
        raise WorkbookError(cannot(READ, TEAM_SETTINGS, exc.label)) from None
    return team.settings.model_copy(deep=True)


def _read(book: BookLike, key: str, settings: Any) -> Any:
    """A business table of the open workbook, read through xlwings."""
    from xlsales import tables as T
    from xlsales.frames import no_table_found
    from xlsales.io.read.grid import table_from_grids

    grids = {s.name: _grid(s) for s in book.sheets if s.name not in SKIP_SHEETS}
    spec = T.get(key)
    table = table_from_grids(grids, spec, settings, file=book.fullname)
    if table is None:
        raise no_table_found(grids, [spec], file=book.fullname)
    return table


def _targets(book: BookLike, settings: Any) -> Any:
    """The team's targets: those the book brings (``team_targets``, xlsales.lite), else the
    workspace's ``targets.xlsx``."""
    own = getattr(book, "team_targets", None)
    if own is not None:
        return own(settings)
    from xlsales.jobs import load_targets

    return load_targets(_root(book), settings)


def _today() -> dt.date:
    return dt.date.today()


# -- the buttons -------------------------------------------------------------------------

FINDINGS_SHEET = Label("校验结果", "Validation")


def validate(book: BookLike | None = None, today: dt.date | None = None) -> str:
    """Validate every table of the workbook; colour the bad cells, list the findings."""
    def work(bk: BookLike, lang: Lang) -> str:
        from xlsales import tables as T
        from xlsales.context import Context
        from xlsales.crosscheck import check as cross
        from xlsales.frames import no_table_found
        from xlsales.io.read.grid import table_from_grids
        from xlsales.validate import VALIDATED, check_table

        settings = _settings(bk)
        grids = {s.name: _grid(s) for s in bk.sheets
                 if s.name not in SKIP_SHEETS and s.name not in FINDINGS_SHEET.all()}
        ctx = Context.make(settings, today or _today())
        tables = {}
        for key in VALIDATED:
            table = table_from_grids(grids, T.get(key), settings, file=bk.fullname)
            if table is not None:
                tables[key] = table
        if not tables:  # as `xlsales validate` says it: the closest header row, what it lacks
            raise no_table_found(grids, [T.get(k) for k in VALIDATED], file=bk.fullname)
        ctx.tables = tables
        findings = [f for t in tables.values() for f in check_table(t, ctx)]
        findings += cross(ctx, only=set(tables))
        for f in findings:
            if f.sheet and f.cell:
                bk.sheets[f.sheet].range(f.cell).color = BAD if f.severity == "error" else WARN
        out = _sheet(bk, FINDINGS_SHEET(lang))
        header = ["严重程度", "规则", "工作表", "单元格", "列", "值", "说明"] if lang == "zh" \
            else ["Severity", "Rule", "Sheet", "Cell", "Column", "Value", "Message"]
        out.range("A1").value = [header] + [
            [f.severity, f.rule, f.sheet, f.cell, f.column,
             None if f.value is None else "'" + str(f.value), f.message] for f in findings]
        errors = sum(f.severity == "error" for f in findings)
        return (f"校验完成:{errors} 个错误,{len(findings) - errors} 个警告" if lang == "zh"
                else f"Validated: {errors} errors, {len(findings) - errors} warnings")
    return _run(book, Label("校验", "Validate"), work)


def rollup_week(book: BookLike | None = None, today: dt.date | None = None) -> str:
    """Roll this week's dailies up into a weekly sheet of this workbook."""
    def work(bk: BookLike, lang: Lang) -> str:
        from xlsales.calendar import week_label
        from xlsales.jobs.rollup import WEEK_SHEET
        from xlsales.rollup import weekly_rollup
        from xlsales.tables.weekly import LEVELS, WEEKLY

        day = today or _today()
        settings = _settings(bk)
        daily = _read(bk, "daily", settings)
        week = week_label(day)
        out = weekly_rollup(daily.df, _targets(bk, settings), settings, [week],
                            today=day)
        sheet = _sheet(bk, WEEK_SHEET(lang).format(week=week))
        keys = [c.key for c in WEEKLY.columns]
        options = settings.general.model_dump()  # amounts in the team's unit
        scaled = {c.key for c in WEEKLY.columns if c.scaled(options) != 1.0}
        grid: list[list[Any]] = [[c.header(lang, options) for c in WEEKLY.columns]]
        for r in out:
            rec = {**r.as_dict(), "level": LEVELS[r.level](lang), "week_end": r.week_end}
            grid.append([None if isinstance(v := rec.get(k), list) else
                         to_unit(v, options) if isinstance(v, float) and k in scaled else v
                         for k in keys])
        sheet.range("A1").value = as_text_grid(grid)
        return (f"已生成 {week} 周报({len(out)} 行)" if lang == "zh"
                else f"Weekly report {week}: {len(out)} rows")
    return _run(book, Label("周报汇总", "Weekly rollup"), work)


def spot_check(book: BookLike | None = None, today: dt.date | None = None) -> str:
    """Pick today's spot-check and date the picked rows."""
    def work(bk: BookLike, lang: Lang) -> str:
        import pandas as pd

        from xlsales.spotcheck import spot_check as pick

        day = today or _today()
        settings = _settings(bk)
        daily = _read(bk, "daily", settings)
        picks = pick(daily.df, day, share=settings.general.spotcheck_share,
                     settings=settings, lang=lang)
        df = daily.df
        hit = (df["date"] == pd.Timestamp(day)) & df["rep"].isin([p.rep for p in picks]) \
            & df["spot_check"].isna()
        for row in df.index[hit]:
            cell = daily.cell("spot_check", row)
            if cell:
                bk.sheets[daily.sheet].range(cell).value = day
        names = SEP(lang).join(p.rep for p in picks)
        return (f"今日抽查 {len(picks)} 份:{names}" if lang == "zh"
                else f"Spot-check {len(picks)} reports: {names}")
    return _run(book, Label("日报抽查", "Spot-check"), work)


def refresh_followups(book: BookLike | None = None, today: dt.date | None = None) -> str:
    """Fill each customer's next follow-up and its reason (empty cells and dates xlsales
    wrote; typed dates are kept); list what is due."""
    def work(bk: BookLike, lang: Lang) -> str:
        from xlsales.followups import (
            follow_up_report,
            ledger_after,
            ledger_from_rows,
            ledger_rows,
        )
        from xlsales.jobs.followups import LEDGER_SHEET

        day = today or _today()
        settings = _settings(bk)
        customers = _read(bk, "customers", settings)
        log = _read(bk, "follow_ups", settings)
        opps = _read(bk, "opportunities", settings)
        ledger = (ledger_from_rows(_grid(bk.sheets[LEDGER_SHEET]))
                  if LEDGER_SHEET in _names(bk) else None)
        report = follow_up_report(customers.df, log.df, opps.df, settings, day, lang=lang,
                                  ledger=ledger, onboard=True)
        sheet = bk.sheets[customers.sheet]
        written: dict[str, dt.date | None] = {}
        for plan in report.plans:
            cell = customers.cell("next_follow_up", plan.customer["_row"])
            if cell is None or plan.keeps_cell:
                continue
            date, text = plan.cell(lang)
            sheet.range(cell).value = date
            written[plan.key] = date
            reason = customers.cell("next_reason", plan.customer["_row"])
            if reason:
                sheet.range(reason).value = text
        buckets = report.buckets()
        due = _sheet(bk, "待跟进" if lang == "zh" else "Due follow-ups")
        header = ["负责人", "客户名称", "状态", "应跟进日期", "跟进类型", "原因"] if lang == "zh" \
            else ["Owner", "Customer", "Status", "Due on", "Kind", "Reason"]
        due.range("A1").value = as_text_grid([header] + [
            [d.owner, d.customer, key, d.date, d.kind, d.reason]
            for key, items in buckets.items() for d in items])
        kept = ledger_after(report.plans, ledger, day, report.catch_up, written)
        book_ledger = _sheet(bk, LEDGER_SHEET)
        book_ledger.range("A1").value = as_text_grid(ledger_rows(kept))
        book_ledger.visible = False  # type: ignore[attr-defined]
        n = {k: len(v) for k, v in buckets.items()}
        text = (f"跟进已刷新:逾期 {n['overdue']},今天 {n['today']},本周 {n['this_week']}"
                if lang == "zh" else f"Follow-ups: {n['overdue']} overdue, {n['today']} today,"
                f" {n['this_week']} this week")
        plan_text = report.catch_up.message(lang) if report.catch_up is not None else ""
        return f"{text}; {plan_text}" if plan_text else text
    return _run(book, Label("刷新跟进", "Follow-ups"), work)


def monthly_review(book: BookLike | None = None, today: dt.date | None = None) -> str:
    """Generate this month's review workbook next to this one."""
    def work(bk: BookLike, lang: Lang) -> str:
        from xlsales.jobs import run_review

        day = today or _today()
        bk.save()
        result = run_review(_root(bk), month=f"{day:%Y-%m}", today=day)
        return (f"已生成月度复盘:{result.written}" if lang == "zh"
                else f"Monthly review written: {result.written}")
    return _run(book, Label("月度复盘", "Monthly review"), work)


def weekly_agenda(book: BookLike | None = None, today: dt.date | None = None) -> str:
    """Build this week's meeting pack as a sheet of this workbook."""
    def work(bk: BookLike, lang: Lang) -> str:
        from xlsales.calendar import week_label
        from xlsales.jobs.meeting import AGENDA_SHEET, agenda_pack

        day = today or _today()
        week = week_label(day)
        pack = agenda_pack(_root(bk), week)
        sheet = _sheet(bk, AGENDA_SHEET(lang).format(week=week))
        sheet.range("A1").value = pack_grid(pack, lang)
        return (f"已生成 {week} 周会议程" if lang == "zh" else f"Agenda for {week} written")
    return _run(book, Label("周会议程", "Weekly agenda"), work)


_AS_TYPED = ("=", "+", "-", "@", "'")  # what Excel reads as a formula (or drops) when typed


def as_text(value: Any) -> Any:
    """A value written through Excel's object model as the text it is: a text Excel would
    take for a formula, a number or a date (``=…``, ``+…``, ``-…``, ``@…``, ``'…``, a
    leading digit) gets the apostrophe that keeps it text; anything else as it is."""
    if isinstance(value, str) and value and (value[0] in _AS_TYPED or value[0].isdigit()):
        return "'" + value
    return value


def as_text_grid(grid: list[list[Any]]) -> list[list[Any]]:
    """:func:`as_text` of every value of a grid: the texts of a sheet xlsales writes come
    from people (problems, customers, action items …) and are never formulas."""
    return [[as_text(v) for v in row] for row in grid]


def pack_grid(pack: Any, lang: Lang,
              kept: dict[str, list[dict[str, Any]]] | None = None) -> list[list[Any]]:
    """A meeting pack (:class:`xlsales.jobs.meeting.AgendaPack`) as the values of its sheet;
    ``kept``: rows to write instead of a block's (by its table's key)."""
    grid: list[list[Any]] = [[pack.title], [pack.subtitle], []]
    for title, spec, rows in pack.blocks:
        grid.append([title])
        grid.append([c.header(lang) for c in spec.columns])
        for r in (kept or {}).get(spec.key) or rows:
            grid.append([None if c.formula else r.get(c.key) for c in spec.columns])
        grid.append([])
    width = max(len(r) for r in grid)
    return as_text_grid([r + [None] * (width - len(r)) for r in grid])


BUTTONS = {"ValidateTable": validate, "RollupThisWeek": rollup_week,
           "MonthlyReview": monthly_review, "WeeklyAgenda": weekly_agenda,
           "RefreshFollowUps": refresh_followups, "SpotCheckToday": spot_check}
