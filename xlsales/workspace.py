"""The team workspace: a folder of workbooks, and how to create and read it."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from xlsales import tables as T
from xlsales.errors import XlsalesError
from xlsales.findings import Finding, Rule
from xlsales.frames import Table
from xlsales.i18n import Label, Lang
from xlsales.settings import (
    DEFAULT_FOLLOWUP_RULES,
    AgendaItem,
    CalendarOverride,
    FollowUpRule,
    General,
    ListItem,
    RosterEntry,
    Settings,
    Stage,
    Tier,
)
from xlsales.tables.base import TableSpec
from xlsales.tables.daily import DAILY_FILE
from xlsales.tables.settings_tables import R_NO_TABLE, R_OPTION, R_ROW_LEFT_OUT, R_UNASSIGNED


@dataclass(frozen=True)
class BookLayout:
    """One workbook of the workspace: its file name and tables (a sheet each)."""

    key: str
    filename: str
    title: Label
    specs: tuple[TableSpec, ...]


BOOKS: tuple[BookLayout, ...] = (
    BookLayout("settings", "settings.xlsx", Label("团队设置", "Team settings"),
               (T.get("options"), T.get("roster"), T.get("lists"), T.get("stages"),
                T.get("tiers"), T.get("followup_rules"), T.get("agenda_template"),
                T.get("calendar"))),
    BookLayout("targets", "targets.xlsx", Label("销售目标分解表", "Target breakdown"),
               (T.get("targets"), T.get("team_targets"))),
    BookLayout("daily", DAILY_FILE, Label("销售日报", "Daily report"),
               (T.get("daily"),)),
    BookLayout("agenda", "meeting_agenda.xlsx", Label("周度销售会议", "Weekly meeting"),
               (T.get("agenda"), T.get("actions"), T.get("minutes"))),
    BookLayout("review", "monthly_review.xlsx", Label("月度业绩复盘", "Monthly review"),
               (T.get("review"),)),
    BookLayout("customers", "customers.xlsx", Label("客户与商机", "Customers and pipeline"),
               (T.get("customers"), T.get("follow_ups"), T.get("leads"),
                T.get("opportunities"), T.get("stage_history"))),
)
BOOK_BY_KEY = {b.key: b for b in BOOKS}
BOOK_OF_TABLE = {spec.key: b for b in BOOKS for spec in b.specs}

OPTION_LABELS: dict[str, tuple[Label, Label]] = {
    "team_name": (Label("团队名称", "Team name"), Label("显示在报表标题中", "Shown in titles")),
    "language": (Label("语言", "Language"), Label("zh 中文 / en 英文", "zh or en")),
    "calendar": (Label("工作日历", "Calendar"),
                 Label("CN 中国法定节假日(含调休)", "CN: Chinese statutory holidays")),
    "report_deadline": (Label("日报截止时间", "Daily report deadline"),
                        Label("晚于此时间提交记为逾期", "Later submissions are late")),
    "spotcheck_share": (Label("日报抽查比例", "Spot-check share"),
                        Label("每日抽查的日报比例", "Share of daily reports checked")),
    "completion_threshold": (Label("完成率预警线", "Completion threshold"),
                             Label("低于此完成率的代表被标出", "Reps below it are flagged")),
    "completion_ceiling": (Label("完成率合理上限", "Plausible completion limit"),
                           Label("高于此完成率(以所在月份目标计)视为可疑并提示,不参与排名",
                                 "Completion above it (against the month's target) is "
                                 "flagged as implausible and left out of rankings")),
    "reconcile_tolerance": (Label("成交金额核对容差", "Signed-amount tolerance"),
                            Label("日报成交金额与赢单商机金额相差超过此比例时在复盘中提示",
                                  "The review warns when the dailies' signed amount and the "
                                  "won opportunities differ by more than this share")),
    "meeting_max_minutes": (Label("周会时长上限(分钟)", "Meeting limit (minutes)"),
                            Label("议程合计不得超过", "The agenda may not exceed it")),
    "target_margin_low": (Label("目标弹性下限", "Target margin low"),
                          Label("个人目标之和高出团队目标的最低比例",
                                "Owners' sum above the team total, at least")),
    "target_margin_high": (Label("目标弹性上限", "Target margin high"),
                           Label("个人目标之和高出团队目标的最高比例",
                                 "Owners' sum above the team total, at most")),
    "conversion_target": (Label("转化率目标", "Conversion target"),
                          Label("意向客户→成交客户转化率目标(月度复盘)",
                                "Intent → won conversion target (monthly review)")),
    "meeting_topic": (Label("周会主题", "Meeting topic"), Label("议程表标题", "Agenda title")),
    "meeting_time": (Label("周会时间", "Meeting time"),
                     Label("如 周一 9:00-10:30", "e.g. Monday 9:00-10:30")),
    "review_file": (Label("复盘文件名", "Review file name"),
                    Label("{period} 替换为月份或季度", "{period} becomes the month or quarter")),
    "commit_min": (Label("承诺类最低概率", "Commit from"),
                   Label("赢单概率不低于此值的商机计入“承诺”",
                         "Opportunities at or above this probability are 'commit'")),
    "best_case_min": (Label("最佳情况最低概率", "Best case from"),
                      Label("赢单概率不低于此值(且低于承诺线)计入“最佳情况”",
                            "At or above this (below commit) is 'best case'")),
    "week_label": (Label("周标签", "Week label"),
                   Label("iso: 2024-W10;monday: 以周一日期命名 2024-03-04",
                         "iso: 2024-W10; monday: named after the Monday, 2024-03-04")),
    "deadline_off_day": (Label("跟进时限遇休息日", "Follow-up deadline on a day off"),
                         Label("next: 顺延到下一个工作日(若因此超过规定天数的工作日,则提前到"
                               "前一个工作日);previous: 提前到前一个工作日",
                               "next: the next working day (the last one before when that "
                               "gives more working days than the rule's days); previous: "
                               "the last working day before")),
    "catch_up_after_days": (Label("补跟进阈值(天)", "Catch-up after (days overdue)"),
                            Label("首次为客户安排跟进时,逾期超过此天数的跟进分摊到之后的工作日",
                                  "When xlsales first plans a customer, follow-ups overdue "
                                  "by more than this are spread over the next working days")),
    "catch_up_per_day": (Label("每人每天补跟进上限", "Catch-up per rep per day"),
                         Label("补跟进计划中每位代表每个工作日最多安排的客户数",
                               "Customers at most per rep and working day in the catch-up "
                               "plan")),
    "webhook_url": (Label("群机器人地址", "Group robot webhook"),
                    Label("钉钉、企业微信或 Teams 群机器人的 Webhook 地址,xlsales summary --post "
                          "把摘要发到这里;留空则不发送",
                          "The webhook address of a DingTalk, WeCom or Teams group robot; "
                          "xlsales summary --post sends the digest there (blank: none)")),
    "webhook_kind": (Label("群机器人类型", "Group robot kind"),
                     Label("auto 按地址判断;dingtalk 钉钉;wecom 企业微信;teams",
                           "auto (told by the address), dingtalk, wecom or teams")),
    "webhook_secret": (Label("钉钉加签密钥", "DingTalk signing secret"),
                       Label("钉钉机器人安全设置选“加签”时的 SEC 开头的密钥;留空则不签名",
                             "The SEC… secret when the DingTalk robot's security setting is "
                             "\"sign\"; blank: no signature")),
    "currency": (Label("货币", "Currency"),
                 Label("金额的货币代码:CNY(默认)、USD、EUR、GBP、JPY、HKD …;单位见“金额单位”",
                       "The currency code of amounts: CNY (default), USD, EUR, GBP, JPY, "
                       "HKD …; in the amount unit below")),
    "amount_unit": (Label("金额单位", "Amount unit"),
                    Label("10000(或 万):金额以万为单位(默认,如 12.5 万元);1(或 元):金额以元"
                          "(货币的整数单位)填写,如 125000",
                          "10000: amounts in ten thousands (the default, 12.5 for 125,000); "
                          "1 (or unit): amounts in whole units of the currency, 125000")),
    "ledger_url": (Label("台账数据库", "Ledger database"),
                   Label("留空:工作区里的 .xlsales/ledger.sqlite;公司数据库填 postgresql:// "
                         "地址;off 不记录",
                         "Blank: .xlsales/ledger.sqlite in the workspace; a company database "
                         "as a postgresql:// address; off records nothing")),
}
_NUMERIC_OPTIONS = {"spotcheck_share", "completion_threshold", "completion_ceiling",
                    "reconcile_tolerance",
                    "target_margin_low", "target_margin_high", "meeting_max_minutes",
                    "commit_min", "best_case_min", "conversion_target",
                    "catch_up_after_days", "catch_up_per_day"}
_INT_OPTIONS = {"meeting_max_minutes", "catch_up_after_days", "catch_up_per_day"}
YES_NO = {True: Label("是", "Yes"), False: Label("否", "No")}
CALENDAR_KINDS = {True: Label("工作日", "Working day"), False: Label("休息日", "Day off")}


def settings_records(settings: Settings, lang: Lang) -> dict[str, list[dict[str, Any]]]:
    """The settings as rows of the settings workbook's tables."""
    options = []
    for key, value in settings.general.model_dump().items():
        label, desc = OPTION_LABELS[key]
        if isinstance(value, dt.time):
            value = value.strftime("%H:%M")
        options.append({"key": key, "label": label(lang), "value": value,
                        "description": desc(lang)})
    return {
        "options": options,
        "roster": [r.model_dump() for r in settings.roster],
        "lists": [i.model_dump() for i in settings.lists],
        "stages": [s.model_dump() for s in settings.stages],
        "tiers": [t.model_dump() for t in settings.tiers],
        "followup_rules": [{**r.model_dump(), "working_days": YES_NO[r.working_days].zh,
                            "enabled": YES_NO[r.enabled].zh} for r in settings.followup_rules],
        "agenda_template": [a.model_dump() for a in settings.agenda],
        "calendar": [{"date": c.date, "kind": CALENDAR_KINDS[c.working](lang), "note": c.note}
                     for c in settings.calendar],
    }


def settings_from_records(data: dict[str, list[dict[str, Any]]],
                          where: SettingsCells | None = None) -> Settings:
    """Rebuild :class:`Settings` from the settings workbook's rows (each may carry its
    Excel row as ``_row``). Never raises for a bad value: a bad option keeps its
    default, a bad row is left out, and each becomes a problem of ``where`` (kept on
    the settings, see :attr:`Settings.problems`)."""
    where = where or SettingsCells()
    general = _general(data.get("options", []), where)
    lists = where.rows("lists", data, ListItem, lambda r: {
        k: r.get(k) or ("" if k != "order" else 0) for k in ("list", "zh", "en", "order")})
    working = {lab: w for w, label in CALENDAR_KINDS.items() for lab in label.all()}
    vocab = Settings(lists=lists)

    def roster_row(r: dict[str, Any]) -> dict[str, Any]:
        row = _clean(r)
        for key, name in (("region", "regions"), ("product_line", "product_lines")):
            if isinstance(row.get(key), str):
                row[key] = vocab.canonical(name, row[key]) or row[key]
            elif row.get("rep"):
                where.problem(R_UNASSIGNED, "roster", r, key, None, rep=row["rep"])
        return row

    settings = Settings(
        general=general,
        roster=where.rows("roster", data, RosterEntry, roster_row),
        lists=lists,
        stages=where.rows("stages", data, Stage, _clean) or Settings.default().stages,
        tiers=where.rows("tiers", data, Tier, _clean),
        followup_rules=where.rows("followup_rules", data, FollowUpRule, lambda r: {
            **_clean(r), "working_days": r.get("working_days") in YES_NO[True].all(),
            "enabled": r.get("enabled") not in YES_NO[False].all()})
        or list(DEFAULT_FOLLOWUP_RULES),
        agenda=where.rows("agenda_template", data, AgendaItem, _clean),
        calendar=where.rows("calendar", data, CalendarOverride, lambda r: {
            "date": r.get("date"), "working": working.get(str(r.get("kind")), False),
            "note": r.get("note")}),
    )
    settings.problems = where.found
    return settings


def _general(rows: list[dict[str, Any]], where: SettingsCells) -> General:
    """The options; one that is not valid keeps its default (and is a problem)."""
    values: dict[str, Any] = {}
    at: dict[str, dict[str, Any]] = {}
    for row in rows:
        key, value = row.get("key"), row.get("value")
        if not key or value is None:
            continue
        key = str(key)
        at[key] = row
        try:
            if key in _NUMERIC_OPTIONS and isinstance(value, str):
                value = float(value)
            if key in _INT_OPTIONS:
                value = int(float(value))
            if key == "report_deadline" and isinstance(value, str):
                value = dt.time.fromisoformat(value.strip())
        except (ValueError, OverflowError, TypeError):
            where.problem(R_OPTION, "options", row, "value", row.get("value"),
                          key=key, detail=_NOT_A_NUMBER if key != "report_deadline"
                          else _NOT_A_TIME, default=_default_option(key))
            continue
        values[key] = value
    if values.get("language") == "en":  # a blank name or meeting time: the English default
        from xlsales.words import MEETING_TIME, MEETING_TOPIC, TEAM_NAME

        for key, label in (("team_name", TEAM_NAME), ("meeting_topic", MEETING_TOPIC),
                           ("meeting_time", MEETING_TIME)):
            values.setdefault(key, label.en)
    for _ in range(len(values) + 1):
        try:
            return General(**values)
        except ValidationError as exc:
            for err in exc.errors():
                key = str(err["loc"][0]) if err.get("loc") else ""
                if key not in values:
                    continue
                where.problem(R_OPTION, "options", at[key], "value", values.pop(key),
                              key=key, detail=_detail(err), default=_default_option(key))
    return General()


def _default_option(key: str) -> Any:
    value = General.model_fields[key].default if key in General.model_fields else None
    return value.strftime("%H:%M") if isinstance(value, dt.time) else value


_NOT_A_NUMBER = Label("不是数字", "not a number")
_NOT_A_TIME = Label("不是时间(如 18:00)", "not a time such as 18:00")


_PYDANTIC = {  # pydantic's error types a settings cell can cause, in both languages
    "missing": Label("必填", "required"),
    "greater_than": Label("须大于 {gt}", "must be greater than {gt}"),
    "greater_than_equal": Label("须不小于 {ge}", "must be at least {ge}"),
    "less_than": Label("须小于 {lt}", "must be less than {lt}"),
    "less_than_equal": Label("须不大于 {le}", "must be at most {le}"),
    "literal_error": Label("须为 {expected} 之一", "must be one of {expected}"),
    "float_parsing": Label("不是数字", "not a number"),
    "float_type": Label("不是数字", "not a number"),
    "int_parsing": Label("不是整数", "not a whole number"),
    "int_from_float": Label("不是整数", "not a whole number"),
    "int_type": Label("不是整数", "not a whole number"),
    "string_type": Label("须为文字", "must be text"),
    "date_type": Label("不是日期", "not a date"),
    "date_from_datetime_inexact": Label("不是日期", "not a date"),
    "date_parsing": Label("不是日期", "not a date"),
    "time_parsing": Label("不是时间", "not a time"),
    "bool_parsing": Label("须为 是/否", "must be yes or no"),
}


def _detail(err: Any) -> Label:
    """A pydantic error's message in both languages (ours as we raised it)."""
    ctx = err.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, XlsalesError):
        return cause.label
    known = _PYDANTIC.get(str(err.get("type")))
    if known is not None:
        try:
            return known.format(**ctx)
        except (KeyError, IndexError, ValueError):
            pass
    msg = str(err.get("msg", "")).removeprefix("Value error, ")
    return Label(msg, msg)


class SettingsCells:
    """Where the settings were read from, and the problems found in them."""

    def __init__(self, file: str | None = None, tables: dict[str, Table] | None = None,
                 lang: Lang = "zh") -> None:
        self.file, self.tables, self.lang = file, tables or {}, lang
        self.found: list[Finding] = []

    def problem(self, rule: Rule, table: str, row: dict[str, Any], column: str | None,
                value: Any, **params: Any) -> None:
        """Note a problem at ``column`` of a settings row (its cell when known)."""
        t = self.tables.get(table)
        excel_row = row.get("_row")
        cell = t.cell(column, excel_row) if t is not None and column and excel_row else None
        lang = t.lang if t is not None else self.lang
        header = (t.headers.get(column, column) if column else t.spec.title(lang)) \
            if t is not None else (column or table)
        text = {k: v(lang) if isinstance(v, Label) else v for k, v in params.items()}
        self.found.append(Finding(
            rule=rule.id, severity=rule.severity,
            message=rule.message(lang, column=header or "", value=value, **text),
            file=self.file, sheet=t.sheet if t is not None else None, cell=cell,
            column=header, value=value, row=excel_row))

    def rows(self, table: str, data: dict[str, list[dict[str, Any]]], model: Any,
             prepare: Any) -> list[Any]:
        """Every valid row of ``table`` as ``model``; a row that is not valid is left out
        (a problem naming the cell of the first field at fault)."""
        out = []
        for row in data.get(table, []):
            try:
                out.append(model(**prepare(row)))
            except (ValidationError, ValueError, TypeError) as exc:
                err = exc.errors()[0] if isinstance(exc, ValidationError) else {
                    "msg": str(exc)}
                loc = err.get("loc") or ()
                t = self.tables.get(table)
                keys = {c.key for c in t.spec.columns} if t is not None else set(row)
                column = str(loc[0]) if loc and str(loc[0]) in keys else None
                self.problem(R_ROW_LEFT_OUT, table, row, column,
                             row.get(column) if column else None, detail=_detail(err))
        return out


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if v is not None}


def book_path(root: str | os.PathLike[str], key: str) -> Path:
    """The workbook ``key`` of a workspace: its .xlsm flavour when that exists."""
    path = Path(root) / BOOK_BY_KEY[key].filename
    xlsm = path.with_suffix(".xlsm")
    return xlsm if xlsm.exists() and not path.exists() else path


def write_workspace(root: str | os.PathLike[str], settings: Settings,
                    data: dict[str, list[dict[str, Any]]] | None = None, *,
                    lang: Lang | None = None, books: Iterable[str] | None = None,
                    macros: bool = False, lite: bool = False) -> list[Path]:
    """Write the workspace's workbooks (all, or ``books``) into ``root``.

    With ``macros`` the workbooks that carry buttons are written as ``.xlsm`` with
    their VBA project built from ``macros/`` and the xlwings module (:mod:`xlsales.vba`).
    With ``lite`` they are written for the xlwings Lite add-in (:mod:`xlsales.io.lite`).
    """
    from xlsales.io.xlsx_writer import write_book
    from xlsales.vba.macros import BOOK_BUTTONS, BUTTONS, XLWINGS_CONF, vba_sources
    from xlsales.workbook import book_plan

    lang = lang or settings.general.language
    settings = settings.model_copy(update={
        "general": settings.general.model_copy(update={"language": lang})})
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    all_data = {**settings_records(settings, lang), **(data or {})}
    written = []
    for book in BOOKS:
        if books is not None and book.key not in books:
            continue
        plan = book_plan(book.specs, all_data, settings, lang)
        plan.title = book.title(lang)
        path = root / book.filename
        if macros and book.key in BOOK_BUTTONS:
            plan.vba_modules = vba_sources()
            plan.buttons = [(BUTTONS[b].caption(lang), BUTTONS[b].macro)
                            for b in BOOK_BUTTONS[book.key]]
            plan.xlwings_conf = XLWINGS_CONF
            path = path.with_suffix(".xlsm")
        if lite:
            from xlsales.io.lite import write_lite_book
            from xlsales.lite.layout import BOOK_BUTTONS as LITE_BUTTONS

            copies = None if book.key == "settings" else book_plan(
                BOOK_BY_KEY["settings"].specs, all_data, settings, lang)
            write_lite_book(plan, path, buttons=LITE_BUTTONS[book.key], settings_plan=copies)
        else:
            write_book(plan, path)
        written.append(path)
    return written


_SETTINGS_CACHE: dict[tuple[Any, ...], Settings] = {}


def read_settings(root: str | os.PathLike[str]) -> Settings:
    """Read ``settings.xlsx`` of a workspace (the workbook is opened once). A file read
    before and unchanged since (same inode, size and modification time) is not read
    again in this process: its settings are copied from the first read."""
    path = Path(root) / BOOK_BY_KEY["settings"].filename
    try:
        st = path.stat()
        stamp: tuple[Any, ...] | None = (str(path.resolve()), st.st_ino, st.st_size,
                                         st.st_mtime_ns)
    except OSError:
        stamp = None
    if stamp is not None and stamp in _SETTINGS_CACHE:
        return _SETTINGS_CACHE[stamp].model_copy(deep=True)
    settings = _read_settings(path)
    if stamp is not None:
        if len(_SETTINGS_CACHE) > 16:
            _SETTINGS_CACHE.clear()
        _SETTINGS_CACHE[stamp] = settings.model_copy(deep=True)
    return settings


def workspace_settings(at: str | os.PathLike[str]) -> Settings | None:
    """The settings of the workspace ``at`` is (or is in); None when there is no settings
    workbook there, or it cannot be read at all."""
    from xlsales.errors import XlsalesError

    folder = Path(at)
    if not folder.is_dir():
        folder = folder.parent
    if not (folder / BOOK_BY_KEY["settings"].filename).is_file():
        return None
    try:
        return read_settings(folder)
    except (XlsalesError, OSError):
        return None


def settings_problems(at: str | os.PathLike[str]) -> list[Finding]:
    """What is wrong in the settings of the workspace ``at`` is (or is in); [] when there
    is no settings workbook there, or it cannot be read at all."""
    settings = workspace_settings(at)
    return settings.problems if settings is not None else []


def workspace_lang(at: str | os.PathLike[str]) -> Lang | None:
    """The language of the workspace ``at`` is (or is in): its settings' language; None
    when there is no settings workbook there, or it cannot be read."""
    settings = workspace_settings(at)
    return settings.general.language if settings is not None else None


def workspace_amount_unit(at: str | os.PathLike[str]) -> str | None:
    """The ``amount_unit`` of the workspace ``at`` is (or is in); None when there is no
    settings workbook there, or it cannot be read."""
    settings = workspace_settings(at)
    return settings.general.amount_unit if settings is not None else None


def _read_settings(path: Path) -> Settings:
    """The settings of ``path``: whatever is valid, the problems on the side (a workbook
    that cannot be read at all still raises)."""
    from xlsales.errors import TableNotFoundError
    from xlsales.io.read import WorkbookReader

    defaults = Settings.default()
    found: dict[str, Table] = {}
    with WorkbookReader(path) as wb:
        for spec in BOOK_BY_KEY["settings"].specs:
            try:
                found[spec.key] = wb.table(spec, defaults)
            except TableNotFoundError:
                continue
    settings = _settings_from_tables(found, str(path))
    settings.source = path
    return settings


def settings_from_grids(grids: dict[str, list[list[Any]]], file: str) -> Settings:
    """The settings held by the sheets of an open workbook (``grids``: sheet name → values,
    [0][0] is A1), checked as :func:`read_settings` checks ``settings.xlsx``; no file is
    read (the xlwings Lite plugin hands the values Excel gives it)."""
    from xlsales.io.read.grid import table_from_grids

    defaults = Settings.default()
    found = {spec.key: table for spec in BOOK_BY_KEY["settings"].specs
             if (table := table_from_grids(grids, spec, defaults, file=file)) is not None}
    return _settings_from_tables(found, file)


def _settings_from_tables(found: dict[str, Table], file: str) -> Settings:
    """The settings of the settings tables found (the missing ones are findings)."""
    defaults = Settings.default()
    data: dict[str, list[dict[str, Any]]] = {}
    tables: dict[str, Table] = {}
    read_problems: list[Finding] = []
    missing: list[TableSpec] = []
    for spec in BOOK_BY_KEY["settings"].specs:
        table = found.get(spec.key)
        if table is None:
            missing.append(spec)
            continue
        read_problems += [f for f in table.findings if f.severity == "error"]
        data[spec.key] = table.records(with_row=True)
        tables[spec.key] = table
    lang = next(iter(tables.values())).lang if tables else defaults.general.language
    where = SettingsCells(file, tables, lang)
    where.found += read_problems
    for spec in missing:
        where.found.append(Finding(rule=R_NO_TABLE.id, severity=R_NO_TABLE.severity,
                                   message=R_NO_TABLE.message(lang, table=spec.title(lang)),
                                   file=file))
    return settings_from_records(data, where)


def read_table(root: str | os.PathLike[str], key: str,
               settings: Settings | None = None) -> list[dict[str, Any]]:
    """Canonical records of one business table of a workspace."""
    from xlsales.io.read import read_records

    settings = settings or read_settings(root)
    spec = T.get(key)
    path = book_path(root, BOOK_OF_TABLE[key].key)
    return read_records(path, spec, settings)
