"""The jobs behind the commands and buttons: read the workspace, compute, write back.

Each job is one library function returning a result object; the CLI and the Excel
buttons only parse arguments and show results.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xlsales import tables as T
from xlsales.calendar import WorkCalendar, display_week, parse_period, week_label
from xlsales.discipline import RepDiscipline, dedupe, discipline
from xlsales.errors import XlsalesError
from xlsales.findings import Finding
from xlsales.i18n import Label, Lang
from xlsales.performance import Completion, GroupBy, Targets, completion
from xlsales.rollup import WeekRow, weekly_rollup, weeks_between
from xlsales.rows import Context, TableRead
from xlsales.settings import RosterEntry, Settings
from xlsales.spotcheck import Pick, spot_check
from xlsales.workspace import BOOK_BY_KEY, book_path, read_settings

WEEKLY_FILE = "weekly_report.xlsx"


@dataclass
class DailySource:
    """The daily reports of a team: the shared workbook, or per-rep workbooks merged."""

    root: Path
    files: list[Path]
    settings: Settings
    tables: list[TableRead]
    findings: list[Finding]
    rows: list[dict[str, Any]]
    dropped: list[dict[str, Any]]
    lang: Lang

    @property
    def errors_by_row(self) -> dict[tuple[Any, Any], int]:
        out: dict[tuple[Any, Any], int] = {}
        index = {(t.file, r.row): r for t in self.tables for r in t.rows}
        for f in self.findings:
            row = index.get((f.file, f.row)) if f.severity == "error" else None
            if row is not None:
                key = (row.get("rep"), row.get("date"))
                out[key] = out.get(key, 0) + 1
        return out


def load_daily(source: str | os.PathLike[str], *, today: dt.date | None = None) -> DailySource:
    """Read and validate the daily reports at ``source`` (workspace folder, a daily
    workbook, or a folder of per-rep daily workbooks)."""
    from xlsales.io.reader import read_table_rows
    from xlsales.validate import check_table

    path = Path(source)
    if path.is_dir():
        root = path
        shared = book_path(path, "daily")
        files = [shared] if shared.exists() else sorted(
            p for p in path.glob("*.xls[xm]")
            if not p.name.startswith(("~$", ".")) and p.name != WEEKLY_FILE)
    else:
        root, files = path.parent, [path]
    settings = (read_settings(root) if (root / BOOK_BY_KEY["settings"].filename).exists()
                else Settings.default())
    spec = T.get("daily")
    tables: list[TableRead] = []
    for f in files:
        if f.name == BOOK_BY_KEY["settings"].filename:
            continue
        try:
            tables.append(read_table_rows(f, spec, settings))
        except XlsalesError:
            if len(files) == 1:
                raise
    if not tables:
        raise XlsalesError(f"no daily report found in {path}")
    if not settings.roster:  # no settings: the reps who reported are the roster
        reps = sorted({r.get("rep") for t in tables for r in t.rows if r.get("rep")})
        settings = settings.model_copy(update={"roster": [
            RosterEntry(rep=rep, region="", product_line="") for rep in reps]})
    ctx = Context.make(settings, today)
    findings: list[Finding] = []
    for t in tables:
        findings += check_table(t, ctx)
    records = [r.values for t in tables for r in t.rows]
    rows, dropped = dedupe(records)
    return DailySource(root, files, settings, tables, findings, rows, dropped, tables[0].lang)


def load_targets(root: Path) -> Targets:
    """The target breakdown of a workspace (empty when it has none)."""
    from xlsales.workspace import read_table

    if not book_path(root, "targets").exists():
        return Targets()
    settings = read_settings(root) if (root / BOOK_BY_KEY["settings"].filename).exists() \
        else Settings.default()
    return Targets.from_records(read_table(root, "targets", settings),
                                read_table(root, "team_targets", settings))


# -- rollup ------------------------------------------------------------------------

WEEK_SHEET = Label("周报 {week}", "Weekly {week}")


@dataclass
class RollupResult:
    """What the weekly rollup read and wrote."""

    weeks: list[str]
    rows: list[WeekRow]
    findings: list[Finding]
    dropped: int
    written: Path | None = None
    sheets: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity == "error")

    def as_dict(self) -> dict[str, Any]:
        return {"weeks": self.weeks, "rows": [r.as_dict() for r in self.rows],
                "errors": self.errors,
                "warnings": sum(1 for f in self.findings if f.severity == "warning"),
                "duplicates_dropped": self.dropped,
                "findings": [f.model_dump(mode="json") for f in self.findings
                             if f.severity == "error"],
                "written": str(self.written) if self.written else None, "sheets": self.sheets}


def select_weeks(rows: list[dict[str, Any]], *, week: str | None = None,
                 month: str | None = None, all_weeks: bool = False,
                 today: dt.date | None = None) -> list[str]:
    """The weeks a rollup covers (default: the week of ``today``)."""
    if week:
        parse_period(week)
        return [week.upper()]
    if month:
        first, last, _ = parse_period(month)
        return weeks_between(first, last)
    days = [r["date"] for r in rows if isinstance(r.get("date"), dt.date)]
    if all_weeks:
        return weeks_between(min(days), max(days)) if days else []
    return [week_label(today or dt.date.today())]


def run_rollup(source: str | os.PathLike[str], *, week: str | None = None,
               month: str | None = None, all_weeks: bool = False,
               out: str | os.PathLike[str] | None = None, today: dt.date | None = None,
               write: bool = True) -> RollupResult:
    """Roll the dailies up into weekly reports and write one sheet per week."""
    daily = load_daily(source, today=today)
    weeks = select_weeks(daily.rows, week=week, month=month, all_weeks=all_weeks, today=today)
    targets = load_targets(daily.root)
    cal = WorkCalendar(daily.settings.general.calendar, tuple(daily.settings.calendar))
    rows = weekly_rollup(daily.rows, targets, daily.settings, weeks, today=today, cal=cal,
                         errors_by_row=daily.errors_by_row)
    result = RollupResult(weeks, rows, daily.findings, len(daily.dropped))
    if write:
        if out:
            target = Path(out)
        elif len(daily.files) == 1:
            target = daily.files[0]
        else:  # per-rep workbooks: the weekly sheets go into a workbook of their own
            target = daily.root / WEEKLY_FILE
        result.written, result.sheets = _write_weeks(daily, rows, weeks, target)
    return result


def _write_weeks(daily: DailySource, rows: list[WeekRow], weeks: list[str],
                 target: Path) -> tuple[Path, list[str]]:
    from xlsales.io.xlsx_editor import edit_workbook, read_existing, replace_table_sheet
    from xlsales.tables.weekly import LEVELS, WEEKLY

    lang = daily.lang
    if target.exists():
        src = target
    elif len(daily.files) == 1:
        src = daily.files[0]
    else:
        src = None
    sheets = []
    with edit_workbook(src, out=target) as wb:
        for week in weeks:
            name = WEEK_SHEET(lang).format(
                week=display_week(week, daily.settings.general.week_label))
            kept: dict[tuple[str, str], Any] = {}
            if name in wb.sheetnames:
                for old in read_existing(wb[name], WEEKLY, lang):
                    if old.get("comment"):
                        kept[(str(old.get("level")), str(old.get("name")))] = old["comment"]
            records = []
            for r in (x for x in rows if x.week == week):
                rec = r.as_dict()
                rec["level"] = LEVELS[r.level](lang)
                rec["week_end"] = r.week_end
                rec["comment"] = kept.get((rec["level"], r.name))
                records.append(rec)
            replace_table_sheet(wb, WEEKLY, records, lang=lang, sheet_name=name,
                                name=f"Weekly_{week.replace('-', '_')}",
                                title=f"{WEEKLY.title(lang)} {week}",
                                options=daily.settings.general.model_dump())
            sheets.append(name)
    return target, sheets


# -- completion and compliance -------------------------------------------------------

def run_completion(source: str | os.PathLike[str], period: str, *, by: GroupBy = "rep",
                   today: dt.date | None = None) -> Completion:
    """Completion rates for a week, month, quarter or year."""
    daily = load_daily(source, today=today)
    first, last, _ = parse_period(period)
    return completion(daily.rows, load_targets(daily.root), daily.settings, first, last,
                      by=by, today=today)


def run_compliance(source: str | os.PathLike[str], period: str, *,
                   today: dt.date | None = None,
                   write: bool = False) -> tuple[list[RepDiscipline], Path | None]:
    """Late and missing dailies per rep over a period; ``write`` adds a sheet for it."""
    daily = load_daily(source, today=today)
    first, last, _ = parse_period(period)
    reps = discipline(daily.rows, daily.settings, first, last, today=today)
    written = None
    if write:
        from xlsales.io.xlsx_editor import edit_workbook, replace_table_sheet
        from xlsales.tables.weekly import COMPLIANCE

        lang = daily.lang
        records = [{**r.as_dict(), "period": period,
                    "late_days": ", ".join(d.isoformat() for d in r.late_days),
                    "missing_days": ", ".join(d.isoformat() for d in r.missing_days)}
                   for r in reps]
        with edit_workbook(daily.files[0]) as wb:
            replace_table_sheet(wb, COMPLIANCE, records, lang=lang,
                                sheet_name=COMPLIANCE.sheet(lang), name=COMPLIANCE.name,
                                title=f"{COMPLIANCE.title(lang)} {period}",
                                options=daily.settings.general.model_dump())
        written = daily.files[0]
    return reps, written


# -- spot-check ----------------------------------------------------------------------

SPOT_MARK = Label("待抽查", "to check")


@dataclass
class SpotCheckResult:
    """Today's picks and where they were marked."""

    date: dt.date
    reports: int
    picks: list[Pick]
    marked: Path | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"date": self.date.isoformat(), "reports": self.reports,
                "picked": len(self.picks), "picks": [p.as_dict() for p in self.picks],
                "marked": str(self.marked) if self.marked else None}


def run_spotcheck(source: str | os.PathLike[str], day: dt.date, *, share: float | None = None,
                  seed: int = 0, mark: bool = False) -> SpotCheckResult:
    """Pick ``share`` of ``day``'s dailies; with ``mark``, date them in the workbook."""
    daily = load_daily(source, today=day)
    share = share if share is not None else daily.settings.general.spotcheck_share
    picks = spot_check(daily.rows, day, share=share, seed=seed, settings=daily.settings,
                       lang=daily.lang)
    reports = sum(1 for r in daily.rows if r.get("date") == day)
    result = SpotCheckResult(day, reports, picks)
    if mark and picks:
        result.marked = _mark_picks(daily, picks, day)
    return result


def _mark_picks(daily: DailySource, picks: list[Pick], day: dt.date) -> Path:
    from xlsales.io.xlsx_editor import edit_workbook

    spec = T.get("daily")
    wanted = {(p.rep, p.date) for p in picks}
    marked = None
    for table in daily.tables:
        cells: dict[str, dict[str, Any]] = {}
        for row in table.rows:
            if (row.get("rep"), row.get("date")) in wanted and "spot_check" in row.cells:
                if row.get("spot_check") is None:
                    cells[row.cells["spot_check"]] = {"value": day}
                hint_cell = row.cells.get("check_result")
                pick = next(p for p in picks if (p.rep, p.date) == (row.get("rep"),
                                                                   row.get("date")))
                if hint_cell and pick.hints and not row.get("check_result"):
                    cells[hint_cell] = {"value": SPOT_MARK(table.lang) + ":"
                                        + ";".join(pick.hints)}
        if not cells:
            continue
        if "spot_check" not in table.headers:
            raise XlsalesError(f"{table.file}: the daily report has no "
                               f"{spec.column('spot_check').header(table.lang)} column")
        with edit_workbook(table.file) as wb:
            ws = wb[table.sheet]
            for ref, item in cells.items():
                ws[ref].value = item["value"]
                if isinstance(item["value"], dt.date):
                    ws[ref].number_format = "yyyy-mm-dd"
                else:
                    ws[ref].data_type = "s"
        marked = Path(table.file)
    return marked or daily.files[0]


# -- follow-ups --------------------------------------------------------------------

BUCKETS = {"overdue": Label("逾期", "Overdue"), "today": Label("今天", "Today"),
           "this_week": Label("本周", "This week")}
SLEEPING = Label("流失客户:不再安排跟进", "lost: no follow-ups")


@dataclass
class FollowUpResult:
    """Follow-ups planned as of a day, and where they were written."""

    report: Any
    rep: str | None
    written: Path | None = None

    def as_dict(self) -> dict[str, Any]:
        today = self.report.today
        buckets = self.report.buckets(self.rep)
        return {"on": today.isoformat(), "rep": self.rep,
                "due": {k: [d.as_dict(today) for d in v] for k, v in buckets.items()},
                "counts": {k: len(v) for k, v in buckets.items()},
                "per_rep": self.report.per_rep(),
                "next": [d.as_dict(today) for d in self.report.next_dues(self.rep)],
                "written": str(self.written) if self.written else None}


def run_followups(root: str | os.PathLike[str], *, today: dt.date, rep: str | None = None,
                  write: bool = False) -> FollowUpResult:
    """Every customer's next follow-up; ``write`` fills the archive and a due list sheet."""
    from xlsales.followups import follow_up_report
    from xlsales.io.reader import read_table_rows

    root = Path(root)
    path = book_path(root, "customers") if root.is_dir() else root
    root = path.parent
    settings = (read_settings(root) if (root / BOOK_BY_KEY["settings"].filename).exists()
                else Settings.default())
    tables = {k: read_table_rows(path, T.get(k), settings)
              for k in ("customers", "follow_ups", "opportunities")}
    lang = tables["customers"].lang
    report = follow_up_report(tables["customers"].records(), tables["follow_ups"].records(),
                              tables["opportunities"].records(), settings, today, lang=lang)
    result = FollowUpResult(report, rep)
    if write:
        result.written = _write_followups(path, tables["customers"], report, settings, lang)
    return result


def _write_followups(path: Path, customers: TableRead, report: Any, settings: Settings,
                     lang: Lang) -> Path:
    from xlsales.io.xlsx_editor import edit_workbook, replace_table_sheet
    from xlsales.tables.customers import DUE_LIST

    plans = {id(p.customer): p for p in report.plans}
    records = []
    for bucket, dues in report.buckets().items():
        for d in dues:
            records.append({**d.as_dict(report.today), "date": d.date,
                            "status": BUCKETS[bucket](lang)})
    records.sort(key=lambda r: (r["owner"], r["date"], r["customer"]))
    with edit_workbook(path) as wb:
        ws = wb[customers.sheet]
        for row in customers.rows:
            plan = plans.get(id(row.values))
            date_cell, reason_cell = row.cells.get("next_follow_up"), row.cells.get("next_reason")
            if plan is None or date_cell is None:
                continue
            nxt = plan.next
            ws[date_cell].value = nxt.date if nxt else None
            ws[date_cell].number_format = "yyyy-mm-dd"
            if reason_cell:
                text = (f"{nxt.kind}:{nxt.reason}" if nxt else
                        SLEEPING(lang) if row.get("stage") == "流失客户" else None)
                ws[reason_cell].value = text
                if text:
                    ws[reason_cell].data_type = "s"
        replace_table_sheet(wb, DUE_LIST, records, lang=lang, sheet_name=DUE_LIST.sheet(lang),
                            name=DUE_LIST.name, title=f"{DUE_LIST.title(lang)} {report.today}",
                            options=settings.general.model_dump())
    return path


# -- pipeline: alerts, duplicates, forecast, funnel ----------------------------------------

PIPELINE_FILE = "pipeline_{period}.xlsx"


@dataclass
class Workspace:
    """The customer-side tables of a workspace, read once."""

    root: Path
    settings: Settings
    tables: dict[str, TableRead]
    lang: Lang

    def records(self, key: str) -> list[dict[str, Any]]:
        table = self.tables.get(key)
        return [{**r.values, "_row": r.row} for r in table.rows] if table else []


def load_customers(source: str | os.PathLike[str],
                   keys: tuple[str, ...] = ("customers", "follow_ups", "leads",
                                            "opportunities", "stage_history")) -> Workspace:
    """Read the customers workbook's tables (and the settings) of a workspace."""
    from xlsales.io.reader import read_table_rows

    path = Path(source)
    if path.is_dir():
        path = book_path(path, "customers")
    root = path.parent
    settings = (read_settings(root) if (root / BOOK_BY_KEY["settings"].filename).exists()
                else Settings.default())
    tables = {}
    for key in keys:
        try:
            tables[key] = read_table_rows(path, T.get(key), settings)
        except XlsalesError:
            if key in ("customers", "opportunities"):
                raise
    lang = next(iter(tables.values())).lang
    return Workspace(root, settings, tables, lang)


def run_alerts(source: str | os.PathLike[str], *, today: dt.date) -> list[Any]:
    """Opportunities stuck in a stage, and proposals without feedback."""
    from xlsales.pipeline import stage_alerts

    ws = load_customers(source, ("opportunities", "stage_history", "follow_ups"))
    return stage_alerts(ws.records("opportunities"), ws.records("stage_history"),
                        ws.records("follow_ups"), ws.settings, today)


def run_duplicates(source: str | os.PathLike[str]) -> Any:
    """Customers and leads that are one company (撞单 when owners differ)."""
    from xlsales.duplicates import find_duplicates, records_from

    ws = load_customers(source, ("customers", "leads"))
    return find_duplicates(records_from(ws.records("customers"), ws.records("leads")))


def run_forecast(source: str | os.PathLike[str], period: str, *, by: GroupBy = "rep") -> Any:
    """The weighted forecast of a period against its quota."""
    from xlsales.pipeline import forecast

    ws = load_customers(source, ("opportunities",))
    first, last, _ = parse_period(period)
    return forecast(ws.records("opportunities"), load_targets(ws.root), ws.settings, first,
                    last, by=by)


def run_funnel(source: str | os.PathLike[str], period: str, *,
               today: dt.date | None = None) -> Any:
    """The funnel of a period: stages, conversions, the reverse calculation."""
    from xlsales.pipeline import funnel

    ws = load_customers(source, ("opportunities", "stage_history"))
    first, last, _ = parse_period(period)
    return funnel(ws.records("opportunities"), ws.records("stage_history"),
                  load_targets(ws.root), ws.settings, first, last, today=today)


def write_pipeline(source: str | os.PathLike[str], period: str, *,
                   today: dt.date | None = None,
                   out: str | os.PathLike[str] | None = None) -> Path:
    """Write ``pipeline_<period>.xlsx``: forecast by every level, lines, funnel, charts."""
    from xlsales.io.report_writer import write_pipeline_report
    from xlsales.pipeline import forecast, funnel
    from xlsales.tables.pipeline import CATEGORIES, LEVELS

    ws = load_customers(source, ("opportunities", "stage_history"))
    lang, settings = ws.lang, ws.settings
    first, last, _ = parse_period(period)
    targets = load_targets(ws.root)
    opps = ws.records("opportunities")
    rows: list[dict[str, Any]] = []
    lines: list[Any] = []
    for level in ("rep", "region", "product", "team"):
        fc = forecast(opps, targets, settings, first, last, by=level)  # type: ignore[arg-type]
        lines = fc.lines
        order = sorted(fc.rows, key=lambda r: r.key) if level == "rep" else fc.rows
        for r in order:
            rows.append({**r.as_dict(), "level": LEVELS[level](lang), "level_code": level,
                         "key": settings.display(_LEVEL_LIST.get(level, ""), r.key, lang)})
    line_rows = []
    for ln in lines:
        entry = settings.rep(ln.owner)
        line_rows.append({**ln.__dict__, "stage": settings.display("stages", ln.stage, lang),
                          "category": CATEGORIES[ln.category](lang),
                          "region": settings.display("regions", entry.region, lang)
                          if entry else "",
                          "product_line": settings.display("product_lines", entry.product_line,
                                                           lang) if entry else ""})
    fu = funnel(opps, ws.records("stage_history"), targets, settings, first, last, today=today)
    funnel_rows = [{**s.as_dict(), "stage": s.stage.label(lang)} for s in fu.stages]
    summary = {"quota": fu.quota, "won_count": fu.won_count, "won_amount": fu.won_amount,
               "average_deal": fu.average_deal}
    target = Path(out) if out else ws.root / PIPELINE_FILE.format(period=period)
    title = {"zh": f"销售预测与漏斗 {period}", "en": f"Forecast and funnel {period}"}[lang]
    return write_pipeline_report(target, lang=lang, title=title, forecast_rows=rows,
                                 forecast_lines=line_rows, funnel_rows=funnel_rows,
                                 funnel_summary=summary,
                                 options=settings.general.model_dump())


_LEVEL_LIST = {"region": "regions", "product": "product_lines"}


# -- monthly review ---------------------------------------------------------------------

KIND_FORMATS = {"percent": "0.0%", "amount": "#,##0.00", "count": "0", "number": "0.00"}
KEPT = ("cause", "improvement", "owner", "due")


@dataclass
class ReviewResult:
    """The review written, and what it kept of the manager's words."""

    review: Any
    written: Path
    kept: int

    def as_dict(self) -> dict[str, Any]:
        return {**self.review.as_dict(), "written": str(self.written), "kept_notes": self.kept}


def review_data(root: Path) -> tuple[Any, Lang]:
    """What the review reads from a workspace."""
    from xlsales.review import ReviewData
    from xlsales.workspace import read_table

    settings = read_settings(root)
    daily = load_daily(root)
    ws = load_customers(root, ("opportunities", "stage_history"))
    target_rows = read_table(root, "targets", settings) if book_path(
        root, "targets").exists() else []
    data = ReviewData(settings, load_targets(root), daily.rows, ws.records("opportunities"),
                      ws.records("stage_history"), target_rows)
    return data, daily.lang


def run_review(root: str | os.PathLike[str], *, month: str | None = None,
               quarter: str | None = None, out: str | os.PathLike[str] | None = None,
               today: dt.date | None = None) -> ReviewResult:
    """Generate the monthly (or quarterly) review; regenerating keeps the manager's words."""
    from xlsales.io.review_writer import write_review
    from xlsales.pipeline import funnel
    from xlsales.review import LABELS, build_review

    root = Path(root)
    if bool(month) == bool(quarter):
        raise XlsalesError("give one of --month 2024-03 or --quarter 2024Q1")
    label = (month or quarter or "").upper()
    first, last, _ = parse_period(label)
    data, lang = review_data(root)
    settings = data.settings
    review = build_review(data, first, last, label, lang=lang, today=today)
    target = Path(out) if out else root / settings.general.review_file.format(period=label)
    kept_notes = _kept_notes(target, settings)
    rows, kept = [], 0
    for m in review.metrics:
        notes = kept_notes.get((m.dimension, m.metric)) or kept_notes.get(
            (LABELS[m.key][0].zh, LABELS[m.key][1].zh)) or kept_notes.get(
            (LABELS[m.key][0].en, LABELS[m.key][1].en))
        row = {"dimension": m.dimension, "metric": m.metric, "target": m.target,
               "actual": m.actual, "cause": m.hint,
               "_num_formats": {"target": KIND_FORMATS[m.kind],
                                "actual": KIND_FORMATS[m.kind]}}
        if notes:
            kept += 1
            row.update(notes)
        rows.append(row)
    from xlsales.tables.pipeline import LEVELS

    horizontal = [{**h, "level": LEVELS[h["level_code"]](lang),
                   "name": settings.display(_LEVEL_LIST.get(h["level_code"], ""), h["name"],
                                            lang),
                   "mark": "TOP3" if h["top3"] else ("▼" if h["below"] else ""),
                   "target_line": 1.0} for h in review.horizontal]
    trend = [{"month": month_label, **{k: v[i] for k, v in review.trend.items()}}
             for i, month_label in enumerate(review.trend_months)]
    kinds = {"won": Label("成交", "Won"), "lost": Label("输单", "Lost")}
    cases = [{**c, "kind": kinds[c["kind"]](lang)} for c in review.cases]
    fu = funnel(data.opportunities, data.history, data.targets, settings, first, last,
                today=today)
    funnel_rows = [{**s.as_dict(), "stage": s.stage.label(lang)} for s in fu.stages]
    summary = {"quota": fu.quota, "won_count": fu.won_count, "won_amount": fu.won_amount,
               "average_deal": fu.average_deal}
    title = {"zh": f"月度业绩复盘分析表 {label}", "en": f"Performance review {label}"}[lang]
    written = write_review(target, lang=lang, title=title, t4_rows=rows,
                           horizontal=horizontal, trend=trend, cases=cases,
                           funnel_rows=funnel_rows, funnel_summary=summary,
                           options=settings.general.model_dump(),
                           falling=[LABELS[k][1](lang) for k in review.falling],
                           hints=[(m.dimension, m.metric, m.hint) for m in review.metrics
                                  if m.hint])
    return ReviewResult(review, written, kept)


def _generated_hints(path: Path) -> dict[tuple[str, str], str]:
    """The hints an earlier run wrote into the cause column (its hidden ``_hints`` sheet)."""
    from xlsales.io.reader import hidden_sheet_rows
    from xlsales.io.review_writer import HINTS_SHEET

    rows = hidden_sheet_rows(path, HINTS_SHEET)
    return {(str(r[0]), str(r[1])): str(r[2]) for r in rows if len(r) >= 3}


def _kept_notes(path: Path, settings: Settings) -> dict[tuple[str, str], dict[str, Any]]:
    """The manager's cause/improvement/owner/due of an earlier review, by dimension+metric."""
    from xlsales.io.reader import read_table_rows

    if not path.exists():
        return {}
    table = read_table_rows(path, T.get("review"), settings)
    generated = _generated_hints(path)
    out = {}
    for r in table.rows:
        notes = {k: r.get(k) for k in KEPT if r.get(k) not in (None, "")}
        if notes.get("cause") == generated.get((str(r.get("dimension")), str(r.get("metric")))):
            notes.pop("cause", None)  # xlsales' own hint, not the manager's words
        if notes:
            out[(str(r.get("dimension")), str(r.get("metric")))] = notes
    return out


# -- weekly meeting pack -------------------------------------------------------------------

AGENDA_SHEET = Label("议程 {week}", "Agenda {week}")
DONE = {"已完成", "已取消"}
ACTION_STATE = {"open": Label("进行中", "open"), "overdue": Label("已逾期", "overdue"),
                "done": Label("已完成", "done")}


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


def read_actions(path: Path, settings: Settings) -> list[ActionItem]:
    """Action items of the master sheet and of every week's agenda sheet."""
    import re

    from xlsales.io.reader import read_tables_per_sheet

    out: list[ActionItem] = []
    for table in read_tables_per_sheet(path, T.get("actions"), settings, scan_rows=300,
                                       stop_at_blank=True):
        sheet_week = re.search(r"\d{4}-W\d{2}", table.sheet)
        for r in table.rows:
            if r.get("item"):
                week = r.get("week") or (sheet_week.group(0) if sheet_week else None)
                out.append(ActionItem(week, r.get("item"), r.get("owner"), r.get("due"),
                                      r.get("status"), r.get("deliverable"), table.sheet,
                                      r.cells.get("item")))
    return out


def run_actions(root: str | os.PathLike[str], *, today: dt.date) -> list[ActionItem]:
    """Every action item across weeks."""
    path = Path(root)
    path = book_path(path, "agenda") if path.is_dir() else path
    settings = (read_settings(path.parent)
                if (path.parent / BOOK_BY_KEY["settings"].filename).exists()
                else Settings.default())
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


def agenda_pack(root: str | os.PathLike[str], week: str) -> AgendaPack:
    """Compute the week's meeting pack: data first, agenda, carried items, actions, minutes."""
    from xlsales.calendar import week_days
    from xlsales.followups import follow_up_report
    from xlsales.pipeline import stage_alerts
    from xlsales.tables.agenda import ACTIONS, AGENDA, CARRIED, MEETING_DATA, MINUTES

    root = Path(root)
    week = week.upper()
    settings = read_settings(root)
    total = sum(a.minutes for a in settings.agenda)
    limit = settings.general.meeting_max_minutes
    if total > limit:
        raise XlsalesError(f"the agenda adds up to {total} minutes, more than the "
                           f"{limit}-minute limit (settings.xlsx, meeting agenda sheet)")
    cal = WorkCalendar(settings.general.calendar, tuple(settings.calendar))
    start = meeting_start(settings, week, cal)
    today = start.date()
    monday, _ = week_days(week)
    last_week = week_label(monday - dt.timedelta(days=7))
    lw_first, lw_last = week_days(last_week)
    daily = load_daily(root, today=today)
    lang = daily.lang
    targets = load_targets(root)
    team = completion(daily.rows, targets, settings, lw_first, lw_last, by="team")
    reps = completion(daily.rows, targets, settings, lw_first, lw_last, by="rep")
    customers = load_customers(root)
    report = follow_up_report(customers.records("customers"), customers.records("follow_ups"),
                              customers.records("opportunities"), settings, today, lang=lang)
    overdue = [d for d in report.all_dues() if d.date < today]
    alerts = stage_alerts(customers.records("opportunities"),
                          customers.records("stage_history"),
                          customers.records("follow_ups"), settings, today)
    disc = discipline(daily.rows, settings, lw_first, lw_last, today=today)
    zh = lang == "zh"

    def pct(x: float | None) -> str:
        return "—" if x is None else f"{x:.0%}"

    by_owner = Counter(d.owner for d in overdue)
    stalled_text = "; ".join(f"{a.opp_id} {a.customer}({a.stage} {a.age}{'天' if zh else 'd'})"
                             for a in alerts[:5])
    head = team.rows[0] if team.rows else None
    data = [
        {"metric": "上周团队完成率" if zh else "Team completion last week",
         "value": pct(head.rate if head else None),
         "note": ((f"{last_week}:成交 {head.actual:g} 万元 / 目标 {head.target or 0:.1f} 万元"
                   if zh else f"{last_week}: signed {head.actual:g} / target "
                   f"{head.target or 0:.1f}") if head else "")},
        {"metric": "个人TOP3" if zh else "Individual TOP3",
         "value": "、".join(r.key for r in reps.top3),
         "note": "; ".join(f"{r.key} {pct(r.rate)}" for r in reps.top3)},
        {"metric": (f"完成率低于{reps.threshold:.0%}" if zh
                    else f"Under {reps.threshold:.0%} of target"),
         "value": str(len(reps.below)),
         "note": "; ".join(f"{r.key} {pct(r.rate)}" for r in reps.below)},
        {"metric": "逾期跟进" if zh else "Overdue follow-ups", "value": str(len(overdue)),
         "note": "; ".join(f"{o} {n}" for o, n in by_owner.most_common())},
        {"metric": "停滞商机" if zh else "Stalled opportunities",
         "value": str(len({a.opp_id for a in alerts})), "note": stalled_text},
        {"metric": "上周日报逾期/缺报" if zh else "Late / missing dailies last week",
         "value": f"{sum(d.late for d in disc)} / {sum(d.missing for d in disc)}",
         "note": "; ".join(f"{d.rep} {d.late}/{d.missing}" for d in disc
                           if d.late or d.missing)},
    ]
    items = [a for a in read_actions(book_path(root, "agenda"), settings)
             if (a.week or "") < week and a.state(today) != "done"]
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
    from xlsales.io.xlsx_editor import (
        edit_workbook,
        fresh_sheet,
        heading,
        read_named_table,
        write_block,
    )
    from xlsales.tables.agenda import ACTIONS, AGENDA, MINUTES

    root = Path(root)
    pack = agenda_pack(root, week)
    lang = pack.lang
    path = book_path(root, "agenda")
    sheet_name = AGENDA_SHEET(lang).format(week=pack.week)
    target = Path(out) if out else path
    options = pack.settings.general.model_dump()
    suffix = pack.week.replace("-", "_")
    with edit_workbook(path, out=target) as wb:
        kept: dict[str, list[dict[str, Any]]] = {}
        if sheet_name in wb.sheetnames:  # what was typed into this week's sheet stays
            old = wb[sheet_name]
            kept = {spec.key: read_named_table(old, f"{spec.name}_{suffix}", spec)
                    for spec in (ACTIONS, MINUTES)}
        ws = fresh_sheet(wb, sheet_name, 0)
        heading(ws, 1, pack.title, size=14)
        heading(ws, 2, pack.subtitle, size=None)
        row = 4
        for title, spec, rows in pack.blocks:
            if spec is ACTIONS and kept.get(spec.key):
                rows = kept[spec.key]
            elif spec is MINUTES and kept.get(spec.key):
                rows = [{**rows[0], **{k: v for k, v in kept[spec.key][0].items()
                                       if v not in (None, "") and k != "meeting_at"}}]
            heading(ws, row, title, size=12)
            extra = {"blank_rows": 8, "validations": True} if spec is ACTIONS else {}
            last = write_block(ws, spec, rows, header_row=row + 1,
                               name=f"{spec.name}_{suffix}", lang=lang, options=options,
                               widths=spec is AGENDA, **extra)
            row = last + 3
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True
    return AgendaResult(pack.week, pack.start, pack.minutes_due, pack.total, pack.data,
                        [{**c, "due": c["due"].isoformat() if c["due"] else None}
                         for c in pack.carried], target, sheet_name)
