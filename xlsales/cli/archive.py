"""``xlsales archive --before 2024-01-01``: old daily rows out of the daily report into a
read-only ``archive_<year>.xlsx`` (:func:`xlsales.jobs.archive.archive_dailies`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from xlsales.cli import (
    JsonOpt,
    MessageLangOpt,
    WorkspaceOpt,
    _emit,
    _failing,
    _message_lang,
    _parse_date,
    app,
    console,
)
from xlsales.i18n import Label

_L: dict[str, Label] = {
    "none": Label("{before} 之前没有要归档的日报行(日报中有 {kept} 行)",
                  "no daily rows before {before} to archive ({kept} rows in the daily report)"),
    "done": Label("已把 {before} 之前的 {n} 行日报移入归档,日报中还剩 {kept} 行",
                  "moved {n} daily rows dated before {before} into the archive; {kept} rows "
                  "remain in the daily report"),
    "archive": Label("归档(只读):{path}", "archive (read-only): {path}"),
    "removed": Label("已从 {path} 删除 {n} 行", "removed {n} rows from {path}"),
    "ledger": Label("台账 {url} 核对无误:{n} 行已标记为归档(不算删除)",
                    "checked against the ledger {url}: {n} rows marked archived (not "
                    "deleted)"),
}


@app.command()
def archive(
    before: Annotated[str, typer.Option("--before", help="Archive the daily rows dated "
                                        "before this day, YYYY-MM-DD.")],
    workspace: WorkspaceOpt = Path("."),
    lang: MessageLangOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Move old daily rows into a read-only archive_<year>.xlsx (checked before any row
    is removed from the daily report: against the archive, and the team ledger unless
    --no-ledger, which then marks them archived)."""
    from xlsales.jobs.archive import archive_dailies, ledger_verifier

    day = _parse_date(before)
    assert day is not None
    with _failing(as_json, at=workspace):
        check = ledger_verifier(workspace)  # None: --no-ledger, the archive is checked
        result = archive_dailies(workspace, day, verify=check)
    held = check is not None and check.archived > 0
    if as_json:
        from xlsales.ledger.store import shown_url

        _emit({"ok": True, **result.as_dict(),
               "ledger": {"url": shown_url(check.url), "archived": check.archived,
                          "recorded": check.recorded} if held and check else None})
        return
    words = _message_lang(workspace, lang)
    if not result.archived:
        console.print(escape(_L["none"](words).format(before=day, kept=result.kept)))
        return
    console.print(escape(_L["done"](words).format(before=day, n=result.archived,
                                                  kept=result.kept)))
    for path in result.archives:
        console.print(escape(_L["archive"](words).format(path=path)))
    for path, n in result.removed.items():
        console.print(escape(_L["removed"](words).format(path=path, n=n)))
    if held and check:
        from xlsales.ledger.store import shown_url

        console.print(escape(_L["ledger"](words).format(url=shown_url(check.url),
                                                        n=check.archived)))
