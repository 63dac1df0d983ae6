"""Pipeline jobs: stage alerts, duplicates, the forecast, the funnel and the pipeline report."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from xlsales.calendar import parse_period, period_label
from xlsales.jobs.sources import load_customers, load_targets
from xlsales.performance import QUOTA_BASIS, GroupBy

PIPELINE_FILE = "pipeline_{period}.xlsx"


def run_alerts(source: str | os.PathLike[str], *, today: dt.date) -> list[Any]:
    """Opportunities stuck in a stage, and proposals without feedback."""
    from xlsales.pipeline import stage_alerts

    ws = load_customers(source, ("opportunities", "stage_history", "follow_ups"))
    return stage_alerts(ws.records("opportunities"), ws.records("stage_history"),
                        ws.records("follow_ups"), ws.settings, today)


def run_duplicates(source: str | os.PathLike[str]) -> Any:
    """Customers and leads that are one company (撞单 when owners differ), and accounts
    whose open opportunities different reps own."""
    from xlsales.duplicates import find_duplicates, opportunity_conflicts, records_from

    ws = load_customers(source, ("customers", "leads", "opportunities"))
    report = find_duplicates(records_from(ws.frame("customers"), ws.frame("leads")))
    report.opportunities = opportunity_conflicts(ws.frame("opportunities"), ws.settings)
    return report


def run_forecast(source: str | os.PathLike[str], period: str, *, by: GroupBy = "rep") -> Any:
    """The weighted forecast of a period against its quota."""
    from xlsales.pipeline import forecast

    ws = load_customers(source, ("opportunities",))
    first, last, _ = parse_period(period)
    return forecast(ws.records("opportunities"), load_targets(ws.root, ws.settings),
                    ws.settings, first, last, by=by)


def run_funnel(source: str | os.PathLike[str], period: str, *,
               today: dt.date | None = None) -> Any:
    """The funnel of a period: stages, conversions, the reverse calculation."""
    from xlsales.pipeline import funnel

    ws = load_customers(source, ("opportunities", "stage_history"))
    first, last, _ = parse_period(period)
    return funnel(ws.records("opportunities"), ws.records("stage_history"),
                  load_targets(ws.root, ws.settings), ws.settings, first, last, today=today)


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
    period = period_label(period)  # pipeline_2026Q4.xlsx, however it was typed
    targets = load_targets(ws.root, ws.settings)
    opps = ws.records("opportunities")
    rows: list[dict[str, Any]] = []
    lines: list[Any] = []
    for level in ("rep", "region", "product", "team"):
        fc = forecast(opps, targets, settings, first, last, by=level)  # type: ignore[arg-type]
        lines = fc.lines
        order = sorted(fc.rows, key=lambda r: r.key) if level == "rep" else fc.rows
        for r in order:
            rows.append({**r.as_dict(), "level": LEVELS[level](lang), "level_code": level,
                         "key": settings.display(LEVEL_LIST.get(level, ""), r.key, lang)})
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
    summary = {"quota": fu.quota, "quota_basis": QUOTA_BASIS[fu.quota_basis](lang),
               "won_count": fu.won_count, "won_amount": fu.won_amount,
               "average_deal": fu.average_deal}
    target = Path(out) if out else ws.root / PIPELINE_FILE.format(period=period)
    title = {"zh": f"销售预测与漏斗 {period}", "en": f"Forecast and funnel {period}"}[lang]
    return write_pipeline_report(target, lang=lang, title=title, forecast_rows=rows,
                                 forecast_lines=line_rows, funnel_rows=funnel_rows,
                                 funnel_summary=summary,
                                 options=settings.general.model_dump(), period=period)


LEVEL_LIST = {"region": "regions", "product": "product_lines"}


