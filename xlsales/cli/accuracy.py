"""``xlsales forecast --accuracy PERIOD``: the output of :mod:`xlsales.jobs.accuracy`
(the option is declared on ``forecast`` in :mod:`xlsales.cli`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from rich.markup import escape

from xlsales import display as show
from xlsales.cli import _QUIET, _emit, _failing, _message_lang, _table, console, err_console
from xlsales.errors import InputError
from xlsales.i18n import Label, Lang

WORDS: dict[str, Label] = {
    "title": Label("预测准确度 {period}({first} 至 {last})",
                   "Forecast accuracy {period} ({first} to {last})"),
    "snapshot": Label("快照日期", "Snapshot"),
    "level": Label("层级", "Level"),
    "name": Label("名称", "Name"),
    "forecast": Label("预测", "Forecast"),
    "commit_forecast": Label("承诺预测", "Commit forecast"),
    "actual": Label("实际赢单", "Won"),
    "ratio": Label("预测÷赢单", "Forecast ÷ won"),
    "error": Label("误差", "Error"),
    "commit_error": Label("承诺误差", "Commit error"),
    "none": Label("这段时间没有可比较的快照", "no snapshot to compare for this period"),
    "source": Label("快照来源:台账({n} 个快照)", "Snapshots: the ledger ({n})"),
    "no_period": Label("请给出 --period 2024-03 或 --accuracy 2024Q1 其中之一",
                       "give one of --period 2024-03 or --accuracy 2024Q1"),
}


def _w(lang: Lang, key: str, /, **fields: object) -> str:
    text = WORDS[key](lang)
    return text.format(**fields) if fields else text


def forecast_accuracy(period: str | None, workspace: Path, today: dt.date,
                      lang: str | None, as_json: bool) -> None:
    """Print (or emit as JSON) each snapshot's forecast of ``period`` against what was
    won; say so when the snapshots were rebuilt from the stage history."""
    from xlsales.jobs.accuracy import NOT_OVER, run_forecast_accuracy

    with _failing(as_json, at=workspace, lang=lang):
        if period is None:
            raise InputError(WORDS["no_period"])
        result = run_forecast_accuracy(workspace, period, today=today)
    words = _message_lang(workspace, lang)
    if as_json:
        _emit({"ok": True, **result.as_dict(), "note": result.note(words)})
        return
    if result.reconstructed:
        err_console.print(f"[yellow]{escape(result.note(words) or '')}[/yellow]")
    elif not _QUIET["on"]:
        err_console.print(f"[dim]{escape(_w(words, 'source', n=len(result.snapshot_dates)))}"
                          "[/dim]")
    if not result.over and not _QUIET["on"]:
        err_console.print(f"[yellow]{escape(NOT_OVER(words))}[/yellow]")
    if not len(result.rows):
        console.print(_w(words, "none"))
        return
    table = _table(*(_w(words, k) for k in (
        "snapshot", "level", "name", "forecast", "commit_forecast", "actual", "ratio",
        "error", "commit_error")), title=_w(words, "title", period=result.period,
                                            first=result.first, last=result.last))
    for r in result.rows.itertuples(index=False):
        table.add_row(r.snapshot_date.date().isoformat(), escape(show.text(r.level_label)),
                      escape(show.text(r.name)), show.amount(r.forecast),
                      show.amount(r.commit_forecast), show.amount(r.actual),
                      show.pct(_num(r.ratio)), show.pct(_num(r.error)),
                      show.pct(_num(r.commit_error)))
    console.print(table)


def _num(value: object) -> float | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    return float(value)  # type: ignore[arg-type]
