"""The team workspace: a folder of workbooks, and how to create and read it."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xlsales import tables as T
from xlsales.i18n import Label, Lang
from xlsales.macros import BOOK_BUTTONS, BUTTONS, XLWINGS_CONF, module_sources, xlwings_module
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
from xlsales.workbook import book_plan


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
    BookLayout("daily", "daily_report.xlsx", Label("销售日报", "Daily report"),
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
}
_NUMERIC_OPTIONS = {"spotcheck_share", "completion_threshold", "target_margin_low",
                    "target_margin_high", "meeting_max_minutes", "commit_min", "best_case_min",
                    "conversion_target"}
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


def settings_from_records(data: dict[str, list[dict[str, Any]]]) -> Settings:
    """Rebuild :class:`Settings` from the settings workbook's rows."""
    general: dict[str, Any] = {}
    for row in data.get("options", []):
        if row.get("key") and row.get("value") is not None:
            general[str(row["key"])] = row["value"]
    if isinstance(general.get("report_deadline"), str):
        general["report_deadline"] = dt.time.fromisoformat(general["report_deadline"])
    for key in ("meeting_max_minutes",):
        if key in general:
            general[key] = int(float(general[key]))
    lists = [ListItem(**{k: r.get(k) or ("" if k != "order" else 0) for k in
                         ("list", "zh", "en", "order")}) for r in data.get("lists", [])]
    working = {lab: w for w, label in CALENDAR_KINDS.items() for lab in label.all()}
    vocab = Settings(lists=lists)
    roster = []
    for r in data.get("roster", []):
        row = _clean(r)
        for key, name in (("region", "regions"), ("product_line", "product_lines")):
            if isinstance(row.get(key), str):
                row[key] = vocab.canonical(name, row[key]) or row[key]
        roster.append(RosterEntry(**row))
    return Settings(
        general=General(**general),
        roster=roster,
        lists=lists,
        stages=[Stage(**_clean(r)) for r in data.get("stages", [])],
        tiers=[Tier(**_clean(r)) for r in data.get("tiers", [])],
        followup_rules=[FollowUpRule(**{**_clean(r), "working_days": r.get("working_days") == "是",
                                        "enabled": r.get("enabled") != "否"})
                        for r in data.get("followup_rules", [])] or list(DEFAULT_FOLLOWUP_RULES),
        agenda=[AgendaItem(**_clean(r)) for r in data.get("agenda_template", [])],
        calendar=[CalendarOverride(date=r["date"], working=working.get(str(r["kind"]), False),
                                   note=r.get("note")) for r in data.get("calendar", [])],
    )


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
                    macros: bool = False) -> list[Path]:
    """Write the workspace's workbooks (all, or ``books``) into ``root``.

    With ``macros`` the workbooks that carry buttons are written as ``.xlsm`` with
    their VBA project built from ``macros/*.bas`` and the xlwings module.
    """
    from xlsales.io.xlsx_writer import write_book

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
            plan.vba_modules = {**module_sources(), "xlwings": xlwings_module()}
            plan.buttons = [(BUTTONS[b].caption(lang), BUTTONS[b].macro)
                            for b in BOOK_BUTTONS[book.key]]
            plan.xlwings_conf = XLWINGS_CONF
            path = path.with_suffix(".xlsm")
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


def workspace_lang(at: str | os.PathLike[str]) -> Lang | None:
    """The language of the workspace ``at`` is (or is in): its settings' language; None
    when there is no settings workbook there, or it cannot be read."""
    from xlsales.errors import XlsalesError

    folder = Path(at)
    if not folder.is_dir():
        folder = folder.parent
    if not (folder / BOOK_BY_KEY["settings"].filename).is_file():
        return None
    try:
        return read_settings(folder).general.language
    except (XlsalesError, OSError):
        return None


def _read_settings(path: Path) -> Settings:
    from pydantic import ValidationError

    from xlsales.errors import WorkbookError, XlsalesError
    from xlsales.io.read import WorkbookReader, first_error

    defaults = Settings.default()
    data = {}
    tables = {}
    with WorkbookReader(path) as wb:
        for spec in BOOK_BY_KEY["settings"].specs:
            table = wb.table(spec, defaults)
            first_error(table)
            data[spec.key] = table.records(with_row=True)
            tables[spec.key] = table
    where: dict[str, int] = {}
    for rows in data.values():
        for row in rows:
            excel_row = row.pop("_row")
            if isinstance(row.get("key"), str):
                where.setdefault(row["key"], excel_row)
    for row in data.get("options", []):  # option values keep their cell type
        if isinstance(row.get("value"), str) and row.get("key") in _NUMERIC_OPTIONS:
            try:
                row["value"] = float(row["value"])
            except ValueError:
                raise WorkbookError(Label(f"设置项 {row['key']} 必须是数字",
                                          f"setting {row['key']} must be a number"),
                                    file=str(path), value=row["value"]) from None
    try:
        return settings_from_records(data)
    except ValidationError as exc:  # one plain message naming the setting and its cell
        err = exc.errors()[0]
        key = str(err["loc"][-1]) if err.get("loc") else ""
        cause = (err.get("ctx") or {}).get("error")
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
        message = cause.label if isinstance(cause, XlsalesError) else Label(
            f"取值无效（{msg}）", msg)
        key = key or "?"
        options = tables.get("options")
        cell = options.cell("value", where[key]) if options is not None and key in where \
            else None
        raise WorkbookError(Label(f"设置项 {key}：{message.zh}", f"setting {key}: {message.en}"),
                            file=str(path),
                            sheet=options.sheet if cell and options else None, cell=cell,
                            value=err.get("input")) from None


def read_table(root: str | os.PathLike[str], key: str,
               settings: Settings | None = None) -> list[dict[str, Any]]:
    """Canonical records of one business table of a workspace."""
    from xlsales.io.read import read_records

    settings = settings or read_settings(root)
    spec = T.get(key)
    path = book_path(root, BOOK_OF_TABLE[key].key)
    return read_records(path, spec, settings)
