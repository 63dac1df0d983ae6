"""The ``xlsales`` command line: a thin layer over the library."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from xlsales import __version__
from xlsales.errors import InputError, WorkbookError, XlsalesError, from_os_error
from xlsales.i18n import LANGS, Label, Lang, check_lang, system_lang

app = typer.Typer(help="Excel-native sales-team management.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
templates_app = typer.Typer(help="The template workbooks shipped with xlsales.",
                            no_args_is_help=True)
app.add_typer(templates_app, name="templates")
settings_app = typer.Typer(help="The team's settings (settings.xlsx).", no_args_is_help=True)
app.add_typer(settings_app, name="settings")
console = Console()
err_console = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
LangOpt = Annotated[str, typer.Option("--lang", help="Sheet names, headers and lists: zh or en.")]


def _emit(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, default=str) + "\n")


def _message_lang(at: Path | None, lang: str | None) -> Lang:
    """The language of a message: the command's own ``--lang``, else the language of the
    workspace ``at`` is in, else the system's."""
    if lang in LANGS:
        return lang  # type: ignore[return-value]
    if at is not None:
        from xlsales.workspace import workspace_lang

        found = workspace_lang(at)
        if found is not None:
            return found
    return system_lang()


def _fail(exc: XlsalesError, as_json: bool, lang: Lang) -> NoReturn:
    text = exc.text(lang)
    if as_json:
        where = exc.where() if isinstance(exc, WorkbookError) else {}
        _emit({"ok": False, "error": text, **({"where": where} if where else {})})
    else:
        err_console.print(f"[red]{'错误' if lang == 'zh' else 'error'}:[/red] {escape(text)}")
    raise typer.Exit(2)


@contextmanager
def _failing(as_json: bool, at: Path | None = None, lang: str | None = None,
             settings_note: bool = True) -> Iterator[None]:
    """A library error inside the block becomes the exit-2 message (JSON or text), in the
    language of the workspace ``at`` (or ``lang``). A file the system could not open or
    write is such an error too; anything else is a bug (see :func:`main`)."""
    try:
        yield
    except XlsalesError as exc:
        _fail(exc, as_json, _message_lang(at, lang))
    except OSError as exc:
        _fail(from_os_error(exc), as_json, _message_lang(at, lang))
    if at is not None and not as_json and settings_note:
        _note_settings_problems(at)


def _note_settings_problems(at: Path) -> None:
    """One line on stderr when the workspace's settings have problems (the command went
    on with the valid rest)."""
    from xlsales.workspace import BOOK_BY_KEY, settings_problems, workspace_lang

    problems = settings_problems(at)
    if not problems:
        return
    folder = at if at.is_dir() else at.parent
    path = folder / BOOK_BY_KEY["settings"].filename
    first = problems[0]
    where = f"{first.sheet}!{first.cell} " if first.sheet and first.cell else ""
    if (workspace_lang(at) or "zh") == "zh":
        text = (f"注意:{path} 有 {len(problems)} 处问题,已用其余有效设置(如 {where}"
                f"{first.message});运行 xlsales validate {path} 查看全部")
    else:
        text = (f"note: {path} has {len(problems)} problem(s); the valid rest was used (e.g. "
                f"{where}{first.message}); run xlsales validate {path} to see them all")
    err_console.print(f"[yellow]{escape(text)}[/yellow]")


BY_HELP = Label("--by 只能是 rep、region、product 或 team，而不是 {!r}",
                "--by must be rep, region, product or team, not {!r}")
FIRST_YEAR, LAST_YEAR = 1900, 9000  # dates xlsales computes from (follow-ups run ahead)


def _parse_date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"not a date (YYYY-MM-DD): {text!r}") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise typer.BadParameter(f"a date between {FIRST_YEAR} and {LAST_YEAR}, not {text!r}")
    return day


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
    macros: Annotated[bool, typer.Option("--macros", help="Macro-enabled .xlsm workbooks with "
                                         "buttons and the xlwings module.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Create a team workspace: settings, targets, daily report, agenda, review, customers."""
    from xlsales.settings import Settings
    from xlsales.workspace import BOOKS, write_workspace

    with _failing(as_json, at=directory, lang=lang):
        language = check_lang(lang)
        existing = [p for b in BOOKS for p in (directory / b.filename,
                                               (directory / b.filename).with_suffix(".xlsm"))
                    if p.exists()]
        if existing and not force:
            names = ", ".join(str(p) for p in existing)
            raise InputError(Label(f"工作簿已经存在（要覆盖请加 --force）：{names}",
                                   f"workbooks already exist (use --force to overwrite): "
                                   f"{names}"))
        written = write_workspace(directory, Settings.default(), lang=language, macros=macros)
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

    with _failing(as_json):
        written = build_templates(out)
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

    with _failing(as_json, at=out, lang=lang):
        team = generate(seed)
        written = write_workspace(out, team.settings, team.data, lang=check_lang(lang))
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

    with _failing(as_json, at=out, lang=lang):
        result = run_demo(out, lang=check_lang(lang), on=_parse_date(on) or SAMPLE_TODAY)
    if as_json:
        _emit({"ok": True, **result.as_dict()})
        return
    console.print(f"[bold]xlsales demo[/bold] — sample team, today = {result.on}")
    table = Table("table", "rows read", title="Read back from the workspace")
    for key, n in result.rows.items():
        table.add_row(key, str(n))
    console.print(table)
    checks = Table("workbook", "errors", "warnings", title="Validation (marked in the files)")
    for name, counts in result.validation.items():
        checks.add_row(name, str(counts["errors"]), str(counts["warnings"]))
    console.print(checks)
    comp = result.completion
    console.print(f"Completion {comp['first']} – {comp['through']}: {comp['top_label']} "
                  f"{', '.join(comp['top3'])}; under {comp['threshold']:.0%}: "
                  f"{', '.join(comp['below']) or '—'}")
    late = sum(r["late"] for r in result.compliance)
    missing = sum(r["missing"] for r in result.compliance)
    console.print(f"Daily-report discipline this quarter: {late} late, {missing} missing")
    spot = result.spotcheck
    console.print(f"Spot-check {spot['date']}: {spot['picked']} of {spot['reports']} reports "
                  f"({', '.join(p['rep'] for p in spot['picks'])})")
    console.print(f"Weekly reports: {', '.join(result.weeks)}")
    fu = result.followups
    console.print(f"Follow-ups: {fu.get('overdue', 0)} overdue, {fu.get('today', 0)} due today, "
                  f"{fu.get('this_week', 0)} later this week (written into the archive)")
    console.print(f"Stage alerts: {result.alerts}; duplicate groups: "
                  f"{result.duplicates.get('groups', 0)} ({result.duplicates.get('conflicts', 0)}"
                  " claimed by two reps)")
    fc = result.forecast
    if fc:
        console.print(f"Forecast {result.on:%Y-%m}: won {fc['won']:.1f} + weighted "
                      f"{fc['weighted']:.1f} vs quota {fc['quota'] or 0:.1f} → coverage "
                      f"{_pct(fc['coverage'])}")
    console.print(f"Monthly review: {result.review}; this week's agenda: sheet {result.agenda} "
                  "of meeting_agenda.xlsx")
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

    with _failing(as_json, at=file, settings_note=False):
        result = validate_file(file, table=table, today=_parse_date(on))
        if annotate_ or out:
            from xlsales.io.annotate import annotate

            lang = next(iter(result.tables.values())).lang if result.tables else "zh"
            written = annotate(file, result.findings, lang=lang, out=out,
                               settings=result.settings)
        else:
            written = None
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
    tables = ", ".join(f"{k} ({len(t)} rows, sheet {t.sheet})"
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


WorkspaceOpt = Annotated[Path, typer.Option(
    "--workspace", "-w", help="Team workspace folder (or a daily-report workbook).")]
OnOpt = Annotated[str | None, typer.Option("--on", help="Today, YYYY-MM-DD (default: today).")]


def _today(on: str | None) -> dt.date:
    return _parse_date(on) or dt.date.today()


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.0%}"


ROLLUP_ROWS_SHOWN = 60  # a bigger week is summed up by region; its sheet has every rep


def _print_weeks(weeks: list[str], rows: list[Any]) -> None:
    """One table per week (reps, regions, team) for a small team; for several weeks or a
    big team the team's line per week, or the regions' lines of the one week."""
    head = ("days", "late", "missing", "visits", "effective", "signed", "target", "completion")

    def cells(r: Any) -> list[str]:
        return [f"{r.reported}/{r.expected}", str(r.late), str(r.missing), str(r.visits),
                str(r.effective), f"{r.amount_signed:g}",
                "—" if r.target is None else f"{r.target:.1f}", _pct(r.completion)]

    if len(weeks) > 1:
        table = Table("week", *head, title="Team, week by week (every rep in the sheets)")
        for r in rows:
            if r.level == "team":
                table.add_row(r.week, *cells(r))
        console.print(table)
        return
    for week_ in weeks:
        shown = [x for x in rows if x.week == week_]
        title = f"Week {week_}"
        if len(shown) > ROLLUP_ROWS_SHOWN:
            reps = sum(x.level == "rep" for x in shown)
            shown = [x for x in shown if x.level != "rep"]
            title += f" ({reps} reps: every rep in the sheet)"
        table = Table("", "rep / region", *head, title=title)
        for r in shown:
            table.add_row(r.level, r.name, *cells(r), style="bold" if r.level != "rep" else "")
        console.print(table)


@app.command()
def rollup(
    source: Annotated[Path | None, typer.Argument(
        help="A daily-report workbook or a folder (workspace or per-rep workbooks).")] = None,
    workspace: Annotated[Path | None, typer.Option(
        "--workspace", "-w", help="Team workspace folder.")] = None,
    week: Annotated[str | None, typer.Option(help="ISO week, e.g. 2024-W10.")] = None,
    month: Annotated[str | None, typer.Option(help="Every week of a month, e.g. 2024-03.")
                     ] = None,
    all_weeks: Annotated[bool, typer.Option("--all", help="Every week in the data.")] = False,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Write the weekly sheets into this workbook instead.")] = None,
    on: OnOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Roll the daily reports up into weekly reports (one sheet per week)."""
    from xlsales.jobs import run_rollup

    with _failing(as_json, at=source or workspace or Path(".")):
        src = source or workspace or Path(".")
        result = run_rollup(src, week=week, month=month, all_weeks=all_weeks, out=out,
                            today=_today(on))
    if as_json:
        _emit({"ok": True, **result.as_dict()})
        return
    _print_weeks(result.weeks, result.rows)
    for f in [f for f in result.findings if f.severity == "error"][:10]:
        console.print(f"  [red]{f.sheet}!{f.cell}[/red] {f.rule}: {f.message}")
    for text in result.implausible[:10]:
        console.print(f"  [yellow]{escape(text)}[/yellow]")
    console.print(f"{result.errors} data errors in the dailies (rows kept, errors counted); "
                  f"{result.dropped} duplicate rows dropped (latest submission kept).")
    sheets = ", ".join(result.sheets) if len(result.sheets) <= 3 else \
        f"{len(result.sheets)} weekly sheets ({result.sheets[0]} … {result.sheets[-1]})"
    console.print(f"Wrote {sheets} into {result.written}")


@app.command("completion")
def completion_cmd(
    period: Annotated[str, typer.Option(help="2024-W10, 2024-03, 2024Q1 or 2024.")],
    workspace: WorkspaceOpt = Path("."),
    by: Annotated[str, typer.Option(help="rep, region, product or team.")] = "rep",
    on: OnOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Target completion rates with the TOP3 and the reps under the threshold."""
    from xlsales.jobs import run_completion

    with _failing(as_json, at=workspace):
        if by not in ("rep", "region", "product", "team"):
            raise InputError(BY_HELP.format(by))
        result = run_completion(workspace, period, by=by, today=_today(on))  # type: ignore[arg-type]
    if as_json:
        _emit({"ok": True, **result.as_dict()})
        return
    table = Table("rank", by, "signed", "target", "completion",
                  title=f"Completion {result.first} – {result.through}")
    for r in result.rows:
        flag = " [red]▼[/red]" if r.below_threshold else (
            " [yellow]⚠[/yellow]" if r.implausible else "")
        table.add_row(str(r.rank or "—"), r.key, f"{r.actual:g}",
                      "no target" if r.target is None else f"{r.target:.1f}",
                      _pct(r.rate) + flag)
    console.print(table)
    _print_quota_basis([r.quota_basis for r in result.rows], result.lang)
    console.print(f"{result.top_label}: {', '.join(r.key for r in result.top) or '—'}; under "
                  f"{result.threshold:.0%}: {', '.join(r.key for r in result.below) or '—'}")
    for text in result.warnings():
        console.print(f"[yellow]{escape(text)}[/yellow]")


@app.command()
def compliance(
    period: Annotated[str, typer.Option(help="2024-W10, 2024-03, 2024Q1 or 2024.")],
    workspace: WorkspaceOpt = Path("."),
    write: Annotated[bool, typer.Option("--write", help="Add the table as a sheet of the "
                                        "daily-report workbook.")] = False,
    on: OnOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Late and missing daily reports per rep, with rates."""
    from xlsales.jobs import run_compliance

    with _failing(as_json, at=workspace):
        result, written = run_compliance(workspace, period, today=_today(on), write=write)
    if as_json:
        _emit({"ok": True, "period": period, "reps": [r.as_dict() for r in result],
               "written": str(written) if written else None})
        return
    table = Table("rep", "expected", "reported", "late", "late rate", "missing",
                  "missing rate", "missing days", title=f"Daily-report discipline {period}")
    for r in result:
        table.add_row(r.rep, str(r.expected), str(r.reported), str(r.late), _pct(r.late_rate),
                      str(r.missing), _pct(r.missing_rate),
                      ", ".join(d.isoformat() for d in r.missing_days[:5])
                      + (" …" if r.missing > 5 else ""))
    console.print(table)
    if written:
        console.print(f"Wrote the table into {written}")


@app.command()
def spotcheck(
    date: Annotated[str | None, typer.Option("--date", help="Day to check (default: today).")
                    ] = None,
    workspace: WorkspaceOpt = Path("."),
    share: Annotated[float | None, typer.Option(help="Share of the day's reports "
                                                "(default: the settings, 0.3).")] = None,
    seed: Annotated[int, typer.Option(help="Same date and seed, same pick.")] = 0,
    mark: Annotated[bool, typer.Option("--mark", help="Date the picked rows in the workbook.")
                    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Pick today's spot-check (30% of the dailies), spread over the week's reps."""
    from xlsales.jobs import run_spotcheck

    with _failing(as_json, at=workspace):
        result = run_spotcheck(workspace, _today(date), share=share, seed=seed, mark=mark)
    if as_json:
        _emit({"ok": True, **result.as_dict()})
        return
    console.print(f"Spot-check {result.date}: {len(result.picks)} of {result.reports} reports")
    for p in result.picks:
        console.print(f"  {p.rep}" + (f"  [yellow]{'; '.join(p.hints)}[/yellow]"
                                       if p.hints else ""))
    if result.marked:
        console.print(f"Marked in {result.marked}")


@app.command()
def followups(
    workspace: WorkspaceOpt = Path("."),
    on: OnOpt = None,
    rep: Annotated[str | None, typer.Option("--rep", help="Only this rep's follow-ups.")
                   ] = None,
    write: Annotated[bool, typer.Option("--write", help="Fill 下次跟进时间 and the reason in "
                                        "the archive (empty cells and dates xlsales wrote; "
                                        "typed dates are kept) and write a due-list sheet.")
                     ] = False,
    force: Annotated[bool, typer.Option("--force", help="With --write: overwrite typed "
                                        "dates too (the rows are listed).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Next follow-up of every customer; what is due today, this week and overdue."""
    from xlsales.jobs import BUCKETS, run_followups

    with _failing(as_json, at=workspace):
        result = run_followups(workspace, today=_today(on), rep=rep, write=write, force=force)
    if as_json:
        _emit({"ok": True, **result.as_dict()})
        return
    report = result.report
    today, lang = report.today, report.lang
    for key, dues in report.buckets(rep).items():
        table = Table("owner", "customer", "due", "overdue", "kind", "reason",
                      title=f"{BUCKETS[key].en} ({len(dues)})")
        for d in dues[:40]:
            table.add_row(d.owner, d.customer, d.date.isoformat(),
                          str(d.overdue_days(today) or ""), d.kind, d.reason)
        console.print(table)
        if len(dues) > 40:
            console.print(f"… {len(dues) - 40} more (use --json)")
    colours = {"plan": "cyan", "flag": "yellow", "info": "default"}
    for kind, text in result.notes(lang, limit=20):
        console.print(f"[{colours[kind]}]{escape(text)}[/]")
    if result.written:
        console.print(f"Wrote next follow-ups and the due list into {result.written}")


@app.command()
def alerts(
    workspace: WorkspaceOpt = Path("."),
    on: OnOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Opportunities older than their stage allows, and proposals without feedback."""
    from xlsales.jobs import run_alerts

    with _failing(as_json, at=workspace):
        result = run_alerts(workspace, today=_today(on))
    if as_json:
        _emit({"ok": True, "alerts": [a.as_dict() for a in result]})
        return
    table = Table("opportunity", "customer", "owner", "stage", "since", "days", "limit",
                  "rule", title=f"Stage alerts ({len(result)})")
    for a in result:
        table.add_row(a.opp_id, a.customer, a.owner, a.stage, a.entered.isoformat(),
                      str(a.age), str(a.limit), a.rule)
    console.print(table)


@app.command("duplicates")
def duplicates_cmd(
    workspace: WorkspaceOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Customers and leads that are the same company (撞单 when owners differ)."""
    from xlsales.jobs import run_duplicates

    with _failing(as_json, at=workspace):
        result = run_duplicates(workspace)
    if as_json:
        _emit({"ok": True, **result.as_dict()})
        return
    for g in result.groups:
        colour = "red" if g.conflict else "yellow"
        console.print(f"[{colour}]{'撞单 ' if g.conflict else ''}{' / '.join(g.owners)}[/]")
        for r in g.records:
            console.print(f"  {r.source} {r.ref}: {r.name} ({r.owner or '—'})")
        console.print("  matched on: " + ", ".join(f"{e['key']}={e['value']}"
                                                   for e in g.evidence))
    for t in result.too_common:
        console.print(f"[dim]ignored {t['key']} {t['value']}: shared by {t['records']} "
                      "records[/dim]")
    for o in result.opportunities:
        console.print(f"[red]撞单 (opportunities) {escape(' / '.join(o.customers))}: "
                      f"{' / '.join(o.owners)}[/]")
        for r in o.opportunities:
            console.print(f"  {r['opp_id']} {escape(str(r['name']))} ({r['owner']}): "
                          f"{r['stage']}, {r['amount']} 万元, created {r['created_on'] or '—'}")
    if not result.groups and not result.opportunities:
        console.print("[green]No duplicates.[/green]")


@app.command("forecast")
def forecast_cmd(
    period: Annotated[str, typer.Option(help="2024-03, 2024Q1, 2024-W10 or 2024.")],
    workspace: WorkspaceOpt = Path("."),
    by: Annotated[str, typer.Option(help="rep, region, product or team.")] = "rep",
    write: Annotated[bool, typer.Option("--write", help="Write pipeline_<period>.xlsx "
                                        "(forecast, funnel, charts) into the workspace.")
                     ] = False,
    on: OnOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Weighted forecast (Σ amount × probability) against the quota: coverage, shortage."""
    from xlsales.jobs import run_forecast, write_pipeline

    with _failing(as_json, at=workspace):
        if by not in ("rep", "region", "product", "team"):
            raise InputError(BY_HELP.format(by))
        result = run_forecast(workspace, period, by=by)  # type: ignore[arg-type]
        written = write_pipeline(workspace, period, today=_today(on)) if write else None
    if as_json:
        _emit({"ok": True, **result.as_dict(), "written": str(written) if written else None})
        return
    table = Table(by, "quota", "won", "weighted", "commit", "best case", "pipeline",
                  "coverage", "shortage", title=f"Forecast {result.first} – {result.last}")
    for r in result.rows:
        table.add_row(r.key, "—" if r.quota is None else f"{r.quota:.1f}", f"{r.won:g}",
                      f"{r.weighted:.1f}", f"{r.commit:.1f}", f"{r.best_case:.1f}",
                      f"{r.pipeline:.1f}", _pct(r.coverage),
                      "—" if r.shortage is None else f"{r.shortage:.1f}")
    console.print(table)
    _print_quota_basis([r.quota_basis for r in result.rows], _message_lang(workspace, None))
    _print_left_out(result.left_out, _message_lang(workspace, None))
    if written:
        console.print(f"Wrote {written}")


def _print_quota_basis(bases: list[str], lang: Lang) -> None:
    """Which targets the table's "target"/"quota" column is (performance.Quota)."""
    from xlsales.performance import QUOTA_BASIS

    if not bases:
        return
    names = "、".join(QUOTA_BASIS[b](lang) for b in dict.fromkeys(bases))
    console.print(f"[dim]{'目标口径' if lang == 'zh' else 'Targets'}: {names}[/dim]")


def _print_left_out(left_out: dict[str, list[Any]], lang: Lang) -> None:
    """The open deals no forecast counts, by why, with a few of their ids."""
    from xlsales.pipeline import LEFT_OUT

    for why, deals in left_out.items():
        amount = sum(d.amount for d in deals)
        ids = [d.opp_id for d in deals[:5]]
        more = " …" if len(deals) > len(ids) else ""
        if lang == "zh":
            text = (f"有 {len(deals)} 个商机未计入预测({LEFT_OUT[why](lang)}),金额合计 "
                    f"{amount:,.1f}:{'、'.join(ids)}{more}")
        else:
            text = (f"{len(deals)} deals left out of the forecast ({LEFT_OUT[why](lang)}), "
                    f"{amount:,.1f} in all: {', '.join(ids)}{more}")
        err_console.print(f"[yellow]{escape(text)}[/yellow]")


@app.command("funnel")
def funnel_cmd(
    period: Annotated[str, typer.Option(help="2024-03, 2024Q1, 2024-W10 or 2024.")],
    workspace: WorkspaceOpt = Path("."),
    write: Annotated[bool, typer.Option("--write", help="Write pipeline_<period>.xlsx "
                                        "(forecast, funnel, charts) into the workspace.")
                     ] = False,
    on: OnOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The funnel: stages, conversions against the ideal, and the reverse calculation."""
    from xlsales.jobs import run_funnel, write_pipeline

    with _failing(as_json, at=workspace):
        result = run_funnel(workspace, period, today=_today(on))
        written = write_pipeline(workspace, period, today=_today(on)) if write else None
    if as_json:
        _emit({"ok": True, **result.as_dict(), "written": str(written) if written else None})
        return
    table = Table("stage", "open", "open amount", "entered", "advanced", "conversion",
                  "ideal", "needed", title=f"Funnel {result.first} – {result.last}")
    for f in result.stages:
        table.add_row(f.stage.canonical, str(f.open_count), f"{f.open_amount:.1f}",
                      str(f.entered), str(f.advanced), _pct(f.conversion), _pct(f.ideal),
                      "—" if f.needed is None else f"{f.needed:.0f}")
    console.print(table)
    if result.deals_needed is not None:
        console.print(f"Quota {result.quota:.1f} ÷ average deal {result.average_deal:.1f} = "
                      f"{result.deals_needed:.1f} deals needed")
    if written:
        console.print(f"Wrote {written}")


@app.command()
def review(
    workspace: WorkspaceOpt = Path("."),
    month: Annotated[str | None, typer.Option(help="Month, e.g. 2024-03.")] = None,
    quarter: Annotated[str | None, typer.Option(help="Quarter, e.g. 2024Q1.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Output workbook (default "
                                             "review_<period>.xlsx in the workspace).")
                   ] = None,
    on: OnOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One-click monthly (or quarterly) review; keeps the manager's notes on regeneration."""
    from xlsales.jobs import run_review

    with _failing(as_json, at=workspace):
        result = run_review(workspace, month=month, quarter=quarter, out=out,
                            today=_today(on))
    if as_json:
        _emit({"ok": True, **result.as_dict()})
        return
    table = Table("dimension", "metric", "target", "actual", "completion", "hint",
                  title=f"Review {result.review.label}")
    for m in result.review.metrics:
        fmt = (lambda x: "—" if x is None else f"{x:.1%}") if m.kind == "percent" else (
            lambda x: "—" if x is None else f"{x:,.1f}")
        table.add_row(m.dimension, m.metric, fmt(m.target), fmt(m.actual),
                      _pct(m.completion), m.hint or "")
    console.print(table)
    rec = result.review.reconciliation
    if rec:
        zh = _message_lang(workspace, None) == "zh"
        console.print(f"销售额取自{rec['source_label']}:日报合计 {rec['dailies']:,.1f},"
                      f"赢单商机合计 {rec['opportunities_won']:,.1f}" if zh else
                      f"Sales from {rec['source_label']}: dailies {rec['dailies']:,.1f}, won "
                      f"opportunities {rec['opportunities_won']:,.1f}")
    if result.review.falling:
        console.print(f"[red]Fell three months in a row:[/red] {', '.join(result.review.falling)}")
    for text in result.review.warnings:
        console.print(f"[yellow]{escape(text)}[/yellow]")
    console.print(f"Wrote {result.written} (kept the manager's notes on {result.kept} rows)")


@app.command()
def agenda(
    week: Annotated[str, typer.Option(help="ISO week of the meeting, e.g. 2024-W11.")],
    workspace: WorkspaceOpt = Path("."),
    out: Annotated[Path | None, typer.Option("--out", help="Write into this workbook "
                                             "instead of meeting_agenda.xlsx.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the week's meeting pack into meeting_agenda.xlsx (a new sheet per week)."""
    from xlsales.jobs import run_agenda

    with _failing(as_json, at=workspace):
        result = run_agenda(workspace, week, out=out)
    if as_json:
        _emit({"ok": True, **result.as_dict()})
        return
    console.print(f"[bold]{result.sheet}[/bold] — {result.meeting_at:%Y-%m-%d %H:%M}, "
                  f"{result.total_minutes} minutes; minutes due "
                  f"{result.minutes_due:%Y-%m-%d %H:%M}")
    for d in result.data:
        console.print(f"  {d['metric']}: {d['value']}  [dim]{d['note']}[/dim]")
    console.print(f"Carried over: {len(result.carried)} open action items")
    console.print(f"Wrote {result.written}")


@settings_app.command("sync")
def settings_sync(
    workspace: Annotated[Path, typer.Option("--workspace", "-w",
                                            help="Team workspace folder.")] = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Copy the roster and lists of settings.xlsx into every workbook's dropdowns."""
    from xlsales.jobs.lists import run_sync

    with _failing(as_json, at=workspace):
        written = run_sync(workspace)
    if as_json:
        _emit({"ok": True, "written": [str(p) for p in written]})
        return
    if not written:
        console.print("The dropdowns of every workbook already match settings.xlsx.")
    for p in written:
        console.print(f"Updated the dropdowns of {p}")


@app.command()
def actions(
    workspace: WorkspaceOpt = Path("."),
    on: OnOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Action items across weeks: open, overdue, done, and the ones not actionable."""
    from xlsales.jobs import run_actions

    with _failing(as_json, at=workspace):
        today = _today(on)
        items = run_actions(workspace, today=today)
    if as_json:
        rows = [a.as_dict(today) for a in items]
        _emit({"ok": True, "items": rows,
               "counts": dict(Counter(r["state"] for r in rows)),
               "not_actionable": sum(not r["actionable"] for r in rows)})
        return
    table = Table("week", "item", "owner", "due", "state", "actionable", title="Action items")
    for a in items:
        state = a.state(today)
        colour = {"overdue": "red", "done": "green"}.get(state, "")
        table.add_row(a.week or "", a.item, a.owner or "—",
                      a.due.isoformat() if a.due else "—",
                      f"[{colour}]{state}[/{colour}]" if colour else state,
                      "yes" if a.actionable else "[yellow]no[/yellow]")
    console.print(table)



_IMPORT_TEXT = {
    "zh": {"read": "读取 {file}:{rows} 行(表头在第 {header} 行{enc})→ 表 {table}(映射 {key})",
           "mapping": "列的对应", "column": "文件列", "to": "对应到", "left_out": "未导入的列",
           "counts": "{table}:新增 {new},更新 {updated},不变 {unchanged},拒绝 {rejected},"
                     "疑似撞单 {clashes}",
           "unknown": "没有对应的{what}(相关行未导入;在 {map} 中填写后再导入一次):",
           "off_list": "不在团队列表中的{what}(已按原样导入):",
           "clashes": "疑似撞单(未导入,请主管确认):", "rejected": "被拒绝的行:",
           "more": "… 还有 {n} 行(用 --json 查看全部)", "dry": "试运行:没有写入任何内容",
           "wrote": "已写入 {path};映射保存在 {map}",
           "nothing": "没有需要写入的变化;映射保存在 {map}",
           "confirm": "按上面的对应导入吗?", "new_map": "这是一个新的映射:先用 --dry-run 查看,"
           "再加 --yes 运行(或在终端里确认)", "line": "第 {line} 行"},
    "en": {"read": "Read {file}: {rows} rows (header on row {header}{enc}) → table {table} "
                   "(mapping {key})",
           "mapping": "Column mapping", "column": "file column", "to": "maps to",
           "left_out": "Columns left out", "counts": "{table}: {new} new, {updated} updated, "
           "{unchanged} unchanged, {rejected} rejected, {clashes} possible 撞单",
           "unknown": "{what} without a mapping (those rows stay out; fill them in in {map} "
                      "and import again):",
           "off_list": "{what} not in the team's lists (imported as they are):",
           "clashes": "Possible 撞单 (not imported; for the manager to decide):",
           "rejected": "Rejected rows:", "more": "… {n} more (use --json)",
           "dry": "Dry run: nothing was written",
           "wrote": "Wrote {path}; the mapping is kept in {map}",
           "nothing": "Nothing to change; the mapping is kept in {map}",
           "confirm": "Import with the mapping above?",
           "new_map": "this is a new mapping: review it with --dry-run, then run with --yes "
                      "(or confirm it in a terminal)", "line": "line {line}"},
}


@app.command("import")
def import_cmd(
    file: Annotated[Path, typer.Argument(help="The export or spreadsheet: .csv (UTF-8, "
                                         "UTF-8 with BOM, GBK), .xlsx or .xls.")],
    workspace: WorkspaceOpt = Path("."),
    table: Annotated[str | None, typer.Option(
        "--table", help="customers, leads, opportunities, stage_history, follow_ups, "
        "targets or daily (default: told by the headers).")] = None,
    profile: Annotated[str | None, typer.Option(
        "--profile", help="The source's mapping profile (default: told by the headers): "
        "salesforce, hubspot, zoho, pipedrive, fxiaoke, dingtalk, plain_zh …")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would change; write "
                                          "nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Accept a new mapping without "
                                      "asking.")] = False,
    on: OnOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Bring a CRM export or a spreadsheet into the team's workbooks (idempotent)."""
    from xlsales.jobs.importing import run_import

    lang = _message_lang(workspace, None)
    words = _IMPORT_TEXT[lang]
    interactive = not as_json and sys.stdin.isatty() and sys.stdout.isatty()

    def confirm(mapping: Any) -> bool:
        if yes:
            return True
        if not interactive:
            raise InputError(Label(_IMPORT_TEXT["zh"]["new_map"], _IMPORT_TEXT["en"]["new_map"]))
        _show_mapping(mapping, words, lang)
        return typer.confirm(words["confirm"], default=True)

    with _failing(as_json, at=workspace), _row_progress(as_json) as progress:
        result = run_import(file, workspace, table=table, profile=profile, dry_run=dry_run,
                            today=_today(on), progress=progress, confirm=confirm)
    if as_json:
        _emit({"ok": True, **result.as_dict()})
        return
    _show_import(result, words, lang)


@contextmanager
def _row_progress(as_json: bool) -> Iterator[Any]:
    """A callback that shows the rows read so far (on a terminal only)."""
    if as_json or not err_console.is_terminal:
        yield None
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=err_console,
                  transient=True) as bar:
        task = bar.add_task("…", total=None)
        yield lambda n: bar.update(task, description=f"{n:,}")


def _show_mapping(mapping: Any, words: dict[str, str], lang: Lang) -> None:
    spec = mapping.spec
    table = Table(words["column"], words["to"], title=words["mapping"])
    for header, key in mapping.mapped().items():
        target = key if key == "stage_override" else spec.column(key).header(lang)
        table.add_row(escape(header), escape(target))
    console.print(table)
    if mapping.left_out():
        console.print(f"{words['left_out']}: {escape(', '.join(mapping.left_out()))}")


def _show_import(result: Any, words: dict[str, str], lang: Lang) -> None:
    from xlsales.tables import get as table_spec

    d = result.as_dict()
    enc = f", {d['encoding']}" if d["encoding"] else ""
    console.print(escape(words["read"].format(file=d["file"], rows=d["rows"],
                                              header=d["header_row"], enc=enc,
                                              table=d["table"], key=d["mapping"])))
    _show_mapping(result.plan.mapping, words, lang)
    for key, counts in d["counts"].items():
        console.print(escape(words["counts"].format(table=table_spec(key).sheet(lang),
                                                    **counts)))
    spec = result.plan.mapping.spec
    map_file = d["map_file"] or "import_map.toml"
    for kind in ("unknown", "off_list"):
        for key, values in d[kind].items():
            what = spec.column(key).header(lang)
            colour = "red" if kind == "unknown" else "yellow"
            console.print(f"[{colour}]{escape(words[kind].format(what=what, map=map_file))}[/]")
            for value, n in list(values.items())[:20]:
                console.print(f"  {escape(str(value))} × {n}")
    for kind, items in (("clashes", d["clashes"]), ("rejected", d["rejected"])):
        if not items:
            continue
        console.print(f"[yellow]{words[kind]}[/yellow]")
        for item in items[:20]:
            where = words["line"].format(line=item["line"])
            text = item["evidence"] if kind == "clashes" else item["reason"]
            console.print(f"  {where}: {escape(str(text))}")
        if len(items) > 20:
            console.print(words["more"].format(n=len(items) - 20))
    if result.dry_run:
        console.print(f"[cyan]{words['dry']}[/cyan]")
    elif d["written"]:
        console.print(f"[green]{escape(words['wrote'].format(path=d['written'], map=map_file))}[/]")
    else:
        console.print(escape(words["nothing"].format(map=map_file)))

def main() -> None:
    """Entry point of the ``xlsales`` script. SIGTERM (a stop from a terminal, a job
    runner or a shutdown) ends the command as Ctrl+C does, so its temporary files go."""
    import signal

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    with contextlib.suppress(ValueError, OSError):  # not the main thread, or no SIGTERM
        signal.signal(signal.SIGTERM, stop)
    from xlsales.io import guard

    try:
        with guard.command():
            app()
    except (SystemExit, KeyboardInterrupt, GeneratorExit):
        raise
    except BaseException as exc:  # a bug (also a Rust panic): exit 3, traceback in a log
        _report_bug(exc)


BUG_EXIT = 3


def _report_bug(exc: BaseException) -> None:
    """Tell the user xlsales hit a bug (exit 3): a short message, and the traceback in a
    log file to send with a report."""
    from xlsales import bugs

    log = bugs.write_log(exc, " ".join(sys.argv))
    message = bugs.message(exc, log, system_lang())
    if "--json" in sys.argv[1:]:
        print(json.dumps({"ok": False, "error": message, "bug": True}, ensure_ascii=False))
    else:
        err_console.print(f"[red]{escape(message)}[/red]")
    raise SystemExit(BUG_EXIT)
