"""``xlsales history`` and ``xlsales ledger …``: the team ledger's row versions, backup and
restore."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from xlsales.cli import JsonOpt, _emit, _failing, _message_lang, _table, app, console
from xlsales.i18n import Label, Lang

ledger_app = typer.Typer(help="The team ledger: backup and restore.", no_args_is_help=True)
app.add_typer(ledger_app, name="ledger")

WsOpt = Annotated[Path, typer.Option("--workspace", "-w", help="Team workspace folder.")]

_L: dict[str, Label] = {
    "title": Label("{table} {key} 的版本({ledger})", "Versions of {table} {key} ({ledger})"),
    "version": Label("版本", "Version"),
    "seen": Label("首次看到", "First seen"),
    "by": Label("最后保存者", "Last saved by"),
    "file": Label("文件", "File"),
    "what": Label("内容", "What"),
    "new": Label("新行", "new row"),
    "deleted": Label("已删除", "deleted"),
    "same": Label("(内容同前)", "(as before)"),
    "none": Label("台账里没有 {key}", "the ledger has no row {key}"),
    "maybe": Label("以 {key} 开头的行:", "Rows whose key starts with {key}:"),
    "exported": Label("已导出 {n} 行台账记录到 {out}", "Exported {n} ledger records to {out}"),
    "imported": Label("已从 {src} 导入 {n} 行台账记录", "Imported {n} ledger records from {src}"),
}


def _what(change: list[dict[str, object]], lang: Lang) -> str:
    from xlsales import tables as T
    from xlsales.ledger.audit import shown

    parts = []
    for c in change:
        column = str(c["column"])
        try:
            name = T.get("daily").column(column).header(lang)
        except (KeyError, ValueError):
            name = column
        parts.append(f"{name}: {shown(c['from'], lang)}→{shown(c['to'], lang)}")
    return ("; " if lang == "en" else ";").join(parts)


@app.command()
def history(
    key: Annotated[list[str], typer.Argument(help="The row's key: rep and date of a daily "
                                             "(\"张三 2024-03-05\"), a customer, lead or "
                                             "opportunity id …")],
    workspace: WsOpt = Path("."),
    table: Annotated[str | None, typer.Option(
        "--table", help="daily, customers, follow_ups, leads, opportunities, stage_history, "
                        "targets or team_targets (default: the first holding the key).")
                     ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show every version of one row the team ledger recorded."""
    from xlsales.ledger.audit import local_time
    from xlsales.ledger.history import row_history

    lang = _message_lang(workspace, None)
    with _failing(as_json, at=workspace):
        found = row_history(workspace, key, table)
    if as_json:
        _emit({"ok": bool(found.versions), **found.as_dict()})
        if not found.versions:
            raise typer.Exit(1)
        return
    if not found.versions:
        console.print(escape(_L["none"](lang).format(key=found.key)))
        if found.candidates:
            console.print(escape(_L["maybe"](lang).format(key=found.key)))
            for t, k in found.candidates:
                console.print(f"  {escape(t)}  {escape(k)}")
        raise typer.Exit(1)
    out = _table(*(_L[k](lang) for k in ("version", "seen", "by", "file", "what")),
                 title=_L["title"](lang).format(table=found.table, key=found.key,
                                                ledger=found.ledger),
                 wrap=(_L["what"](lang),))
    for i, v in enumerate(found.as_dict()["versions"]):
        if v["deleted"]:
            what = _L["deleted"](lang)
        elif i == 0:
            what = _L["new"](lang)
        else:
            what = _what(v["changes"], lang) or _L["same"](lang)
        out.add_row(str(v["version"]), local_time(found.versions[i]["seen_at"]),
                    escape(v["modified_by"] or "—"), escape(v["source"] or "—"), escape(what))
    console.print(out)


@ledger_app.command("export")
def export(
    out: Annotated[Path, typer.Argument(help="The backup file: JSON lines (.jsonl, or "
                                        ".jsonl.gz compressed).")],
    workspace: WsOpt = Path("."),
    all_teams: Annotated[bool, typer.Option("--all-teams", help="Every team in the ledger, "
                                            "not only the workspace's.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Write the team ledger to a portable backup file."""
    from xlsales.ledger.history import export_ledger

    lang = _message_lang(workspace, None)
    with _failing(as_json, at=workspace):
        counts = export_ledger(workspace, out, all_teams=all_teams)
    if as_json:
        _emit({"ok": True, "file": str(out), "records": counts})
        return
    console.print(escape(_L["exported"](lang).format(n=sum(counts.values()), out=out)))


@ledger_app.command("import")
def import_(
    source: Annotated[Path, typer.Argument(help="A backup written by xlsales ledger export.")],
    workspace: WsOpt = Path("."),
    replace: Annotated[bool, typer.Option("--replace", help="Replace what the ledger holds "
                                          "of the backup's teams.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Restore a ledger backup into the workspace's ledger (or --ledger URL)."""
    from xlsales.ledger.history import import_ledger

    lang = _message_lang(workspace, None)
    with _failing(as_json, at=workspace):
        counts = import_ledger(workspace, source, replace=replace)
    if as_json:
        _emit({"ok": True, "file": str(source), "records": counts})
        return
    console.print(escape(_L["imported"](lang).format(n=sum(counts.values()), src=source)))
