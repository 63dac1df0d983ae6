"""The ``xlsales`` command line: a thin layer over the library."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from xlsales import __version__
from xlsales.errors import XlsalesError
from xlsales.i18n import check_lang

app = typer.Typer(help="Excel-native sales-team management.", no_args_is_help=True,
                  add_completion=False)
templates_app = typer.Typer(help="The template workbooks shipped with xlsales.",
                            no_args_is_help=True)
app.add_typer(templates_app, name="templates")
console = Console()
err_console = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
LangOpt = Annotated[str, typer.Option("--lang", help="Sheet names, headers and lists: zh or en.")]


def _emit(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")


def _fail(exc: Exception, as_json: bool) -> None:
    if as_json:
        _emit({"ok": False, "error": str(exc)})
    else:
        err_console.print(f"[red]error:[/red] {exc}")
    raise typer.Exit(2)


def _parse_date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"not a date (YYYY-MM-DD): {text!r}") from None


def _version(value: bool) -> None:
    if value:
        console.print(f"xlsales {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """Excel-native sales-team management."""


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder of the new team workspace.")],
    lang: LangOpt = "zh",
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing workbooks.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a team workspace: settings, targets, daily report, agenda, review, customers."""
    from xlsales.settings import Settings
    from xlsales.workspace import BOOKS, write_workspace

    try:
        language = check_lang(lang)
        existing = [directory / b.filename for b in BOOKS if (directory / b.filename).exists()]
        if existing and not force:
            raise XlsalesError("workbooks already exist (use --force to overwrite): "
                               + ", ".join(str(p) for p in existing))
        written = write_workspace(directory, Settings.default(), lang=language)
    except (XlsalesError, ValueError, OSError) as exc:
        _fail(exc, as_json)
        return
    if as_json:
        _emit({"ok": True, "written": [str(p) for p in written]})
        return
    console.print(f"[green]Created workspace[/green] {directory} ({language}):")
    for p in written:
        console.print(f"  {p}")
    console.print("Next: fill the roster in settings.xlsx, then targets.xlsx.")


@templates_app.command("build")
def templates_build(
    out: Annotated[Path, typer.Argument(help="Output folder.")] = Path("workbook_templates"),
    as_json: JsonOpt = False,
) -> None:
    """Build the empty template workbooks (zh/ and en/) into OUT."""
    from xlsales.templates import build_templates

    try:
        written = build_templates(out)
    except (XlsalesError, OSError) as exc:
        _fail(exc, as_json)
        return
    if as_json:
        _emit({"ok": True, "written": [str(p) for p in written]})
    else:
        console.print(f"[green]Built {len(written)} templates[/green] in {out}")


@app.command()
def sample(
    out: Annotated[Path, typer.Argument(help="Folder to write the sample workspace into.")],
    lang: LangOpt = "zh",
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same data.")] = 2024,
    as_json: JsonOpt = False,
) -> None:
    """Write the built-in sample team's workspace (12 reps, Oct 2023 - Mar 2024)."""
    from xlsales.sample import generate
    from xlsales.workspace import write_workspace

    try:
        team = generate(seed)
        written = write_workspace(out, team.settings, team.data, lang=check_lang(lang))
    except (XlsalesError, ValueError, OSError) as exc:
        _fail(exc, as_json)
        return
    if as_json:
        _emit({"ok": True, "written": [str(p) for p in written],
               "rows": {k: len(v) for k, v in team.data.items()}})
    else:
        console.print(f"[green]Sample workspace[/green] written to {out}")


@app.command()
def demo(
    out: Annotated[Path, typer.Argument(help="Folder for the demo workspace.")] = Path(
        "xlsales-demo"),
    lang: LangOpt = "zh",
    on: Annotated[str | None, typer.Option("--on", help="Today, YYYY-MM-DD "
                                           "(default: the sample's last working day).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run every capability on the built-in sample team and write the results into OUT."""
    from xlsales.demo import run_demo
    from xlsales.sample import SAMPLE_TODAY

    try:
        result = run_demo(out, lang=check_lang(lang), on=_parse_date(on) or SAMPLE_TODAY)
    except (XlsalesError, ValueError, OSError) as exc:
        _fail(exc, as_json)
        return
    if as_json:
        _emit({"ok": True, **result.as_dict()})
        return
    console.print(f"[bold]xlsales demo[/bold] — sample team, today = {result.on}")
    table = Table("table", "rows read", title="Read back from the workspace")
    for key, n in result.rows.items():
        table.add_row(key, str(n))
    console.print(table)
    for q, m in result.target_margins.items():
        text = "n/a" if m is None else f"{m:.1%}"
        console.print(f"Owners' targets vs team total {q}: {text} above")
    for s in result.split_mismatches:
        console.print(f"[yellow]Monthly split ≠ quarterly target[/yellow]: {s['owner']} "
                      f"{s['quarter']} (gap {s['gap']:g})")
    console.print("Wrote:")
    for p in result.written:
        console.print(f"  {p}")


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="Workbook to check (.xlsx/.xlsm).")],
    table: Annotated[str | None, typer.Option(
        "--table", help="Only this table (daily, targets, customers, …).")] = None,
    annotate_: Annotated[bool, typer.Option(
        "--annotate", help="Mark the findings in the workbook (fill, comment, list sheet).")
    ] = False,
    out: Annotated[Path | None, typer.Option(
        "--out", help="With --annotate: write an annotated copy here instead.")] = None,
    on: Annotated[str | None, typer.Option("--on", help="Today, YYYY-MM-DD.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a workbook against every rule; exit 1 when it has errors."""
    from xlsales.validate import validate_file

    try:
        result = validate_file(file, table=table, today=_parse_date(on))
        if annotate_ or out:
            from xlsales.io.annotate import annotate

            lang = next(iter(result.tables.values())).lang if result.tables else "zh"
            written = annotate(file, result.findings, lang=lang, out=out)
        else:
            written = None
    except (XlsalesError, KeyError, ValueError, OSError) as exc:
        _fail(exc, as_json)
        return
    if as_json:
        _emit({"ok": result.errors == 0, **result.as_dict(),
               "annotated": str(written) if written else None})
    else:
        _print_findings(result)
        if written:
            console.print(f"Annotated: {written}")
    if result.errors:
        raise typer.Exit(1)


def _print_findings(result: Any, limit: int = 200) -> None:
    tables = ", ".join(f"{k} ({len(t.rows)} rows, sheet {t.sheet})"
                       for k, t in result.tables.items()) or "none"
    console.print(f"[bold]{result.file}[/bold]: tables {tables}")
    if not result.findings:
        console.print("[green]No problems found.[/green]")
        return
    table = Table("severity", "cell", "column", "rule", "message", show_lines=False)
    for f in result.findings[:limit]:
        colour = "red" if f.severity == "error" else "yellow"
        table.add_row(f"[{colour}]{f.severity}[/{colour}]", f"{f.sheet}!{f.cell or ''}",
                      f.column or "", f.rule, f.message)
    console.print(table)
    if len(result.findings) > limit:
        console.print(f"… and {len(result.findings) - limit} more (use --json for all)")
    console.print(f"{result.errors} errors, {result.warnings} warnings")


def main() -> None:
    """Entry point of the ``xlsales`` script."""
    app()
