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
from typing import Annotated, Any, Literal, NoReturn

import typer
import typer.core
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from xlsales import __version__
from xlsales import display as show
from xlsales.errors import InputError, WorkbookError, XlsalesError, from_os_error
from xlsales.i18n import LANGS, Label, Lang, check_lang, system_lang
from xlsales.jsonrecords import JsonRecords
from xlsales.words import SEP, money_text

# click's UsageError, as typer raises it (typer may carry its own copy of click)
_USAGE_ERROR: type[Exception] = next(c for c in typer.BadParameter.__mro__
                                     if c.__name__ == "UsageError")


class _Root(typer.core.TyperGroup):
    """The root command: a wrong argument (a choice not in the list, a missing option) is
    exit 2 as click says it, and under ``--json`` the usual ``{"ok": false, "error": …}``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        ctx.meta["xlsales_json"] = "--json" in args
        return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except _USAGE_ERROR as exc:
            if not ctx.meta.get("xlsales_json"):
                raise
            _emit({"ok": False, "error": exc.format_message()})
            raise typer.Exit(2) from None


app = typer.Typer(help="Excel-native sales-team management.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False, cls=_Root)
templates_app = typer.Typer(help="The template workbooks shipped with xlsales.",
                            no_args_is_help=True)
app.add_typer(templates_app, name="templates")
settings_app = typer.Typer(help="The team's settings (settings.xlsx).", no_args_is_help=True)
app.add_typer(settings_app, name="settings")
console = Console()
err_console = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
LangOpt = Annotated[Literal["zh", "en"], typer.Option(
    "--lang", help="Sheet names, headers and lists: zh or en.")]
MessageLangOpt = Annotated[Literal["zh", "en"] | None, typer.Option(
    "--lang", help="The language of the output (default: the workspace's).")]
ByChoice = Literal["rep", "region", "product", "team"]
AllOpt = Annotated[bool, typer.Option("--all", help="Show every row (long lists show the "
                                      "first 30).")]
_QUIET = {"on": False}


# records encoded and written at a time (a few MB of text): bigger slices encode faster
# column by column (xlsales.jsonrecords.json_columns: Arrow's kernels per slice)
_EMIT_CHUNK = 8192


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _emit(payload: dict[str, Any]) -> None:
    """One JSON object on stdout, written a piece at a time: a long list (a 100k-row
    rollup's weeks) is never held as one string (the bytes are ``json.dumps``'s)."""
    out = sys.stdout
    if not all(isinstance(k, str) for k in payload):
        out.write(_json(payload) + "\n")
        return
    out.write("{")
    for i, (key, value) in enumerate(payload.items()):
        out.write((", " if i else "") + _json(key) + ": ")
        if isinstance(value, JsonRecords):  # encoded as it is written
            out.write("[")
            for j, text in enumerate(value.chunks(_EMIT_CHUNK)):
                out.write((", " if j else "") + text)
            out.write("]")
        elif isinstance(value, list) and len(value) > _EMIT_CHUNK:
            out.write("[")
            for j in range(0, len(value), _EMIT_CHUNK):
                out.write((", " if j else "") + _json(value[j:j + _EMIT_CHUNK])[1:-1])
            out.write("]")
        else:
            out.write(_json(value))
    out.write("}\n")


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
    if at is not None and not as_json:
        from xlsales.workspace import workspace_amount_unit

        show.use_unit(workspace_amount_unit(at))  # the tables after the block
        if settings_note:
            _note_settings_problems(at)


def _note_settings_problems(at: Path) -> None:
    """One line on stderr when the workspace's settings have problems (the command went
    on with the valid rest)."""
    from xlsales.workspace import BOOK_BY_KEY, settings_problems, workspace_lang

    if _QUIET["on"]:
        return
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
    ctx: typer.Context,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress and no notes on "
                                        "stderr; results and errors only.")] = False,
    no_ledger: Annotated[bool, typer.Option("--no-ledger", help="Record nothing in the team "
                                            "ledger (also XLSALES_LEDGER=off).")] = False,
    ledger: Annotated[str | None, typer.Option("--ledger", metavar="URL", help="The ledger "
                                               "database (default: the workspace's "
                                               ".xlsales/ledger.sqlite).")] = None,
) -> None:
    """Excel-native sales-team management."""
    _QUIET["on"] = quiet
    show.use_unit(None)  # amounts in 万 until a command's workspace says otherwise
    from xlsales.ledger import hook

    hook.deactivate()
    if not no_ledger:
        hook.activate(ledger)
        ctx.call_on_close(hook.deactivate)


@contextmanager
def _status(text: str, as_json: bool = False) -> Iterator[Any]:
    """A status line on stderr while something slow runs (a terminal only, never under
    --json or --quiet); yields a function that changes its text."""
    if as_json or _QUIET["on"] or not err_console.is_terminal:
        yield lambda _text: None
        return
    with err_console.status(escape(text)) as status:
        yield lambda new: status.update(escape(new))


def _table(*columns: str, title: str | None = None, wrap: tuple[str, ...] = ()) -> Table:
    """A rich table whose long text columns (``wrap``) fold instead of being cut with …"""
    table = Table(title=title)
    for name in columns:
        if name in wrap:
            table.add_column(name, overflow="fold", no_wrap=False)
        else:
            table.add_column(name, overflow="fold")
    return table


def _rows_note(left_out: int, lang: Lang) -> None:
    if left_out:
        console.print(show.more(left_out, lang))


# The CLI's own words (table titles, column headers, counts, summaries), in zh and en.
_W: dict[str, Label] = {k: Label(*v) for k, v in {
    "created": ("已创建工作区 {dir}({lang}):", "Created workspace {dir} ({lang}):"),
    "next": ("下一步:在 settings.xlsx 中填写人员名单,再填 targets.xlsx。",
             "Next: fill the roster in settings.xlsx, then targets.xlsx."),
    "built": ("已生成 {n} 个模板,位于 {out}", "Built {n} templates in {out}"),
    "sample": ("示例工作区已写入 {out}", "Sample workspace written to {out}"),
    "demo_head": ("xlsales 演示 — 示例团队,今天 = {on}",
                  "xlsales demo — sample team, today = {on}"),
    "table": ("表", "table"), "rows_read": ("读回行数", "rows read"),
    "read_back": ("从工作区读回", "Read back from the workspace"),
    "workbook": ("工作簿", "workbook"), "errors": ("错误", "errors"),
    "warnings": ("警告", "warnings"),
    "validation": ("校验(已标注在文件中)", "Validation (marked in the files)"),
    "demo_completion": ("完成率 {first} – {through}:{top} {names};低于 {threshold}:{below}",
                        "Completion {first} – {through}: {top} {names}; under {threshold}: "
                        "{below}"),
    "demo_discipline": ("本季度日报纪律:迟交 {late},缺交 {missing}",
                        "Daily-report discipline this quarter: {late} late, {missing} missing"),
    "demo_spot": ("抽查 {date}:{reports} 份日报中抽 {picked} 份({names})",
                  "Spot-check {date}: {picked} of {reports} reports ({names})"),
    "demo_weeks": ("周报:{weeks}", "Weekly reports: {weeks}"),
    "demo_followups": ("跟进:逾期 {overdue},今天到期 {today},本周稍后 {week}(已写入客户档案)",
                       "Follow-ups: {overdue} overdue, {today} due today, {week} later this "
                       "week (written into the archive)"),
    "demo_alerts": ("阶段预警:{alerts};重复客户组:{groups}(其中 {conflicts} 组由两位销售认领)",
                    "Stage alerts: {alerts}; duplicate groups: {groups} ({conflicts} claimed "
                    "by two reps)"),
    "demo_forecast": ("预测 {month}:赢单 {won} + 加权 {weighted},目标 {quota} → 覆盖率 {coverage}",
                      "Forecast {month}: won {won} + weighted {weighted} vs quota {quota} → "
                      "coverage {coverage}"),
    "demo_review": ("月度复盘:{review};本周会议议程:meeting_agenda.xlsx 的工作表 {agenda}",
                    "Monthly review: {review}; this week's agenda: sheet {agenda} of "
                    "meeting_agenda.xlsx"),
    "wrote_list": ("已写入:", "Wrote:"),
    "step_write": ("写入示例工作区…", "Writing the sample workspace…"),
    "step_validate": ("校验并标注 {name}…", "Validating and marking {name}…"),
    "step_rollup": ("汇总周报…", "Rolling up the weeks…"),
    "step_completion": ("计算完成率…", "Computing completion…"),
    "step_compliance": ("日报纪律…", "Daily-report discipline…"),
    "step_spotcheck": ("抽查日报…", "Spot-checking the dailies…"),
    "step_followups": ("安排跟进…", "Planning follow-ups…"),
    "step_alerts": ("阶段预警与重复客户…", "Stage alerts and duplicates…"),
    "step_forecast": ("预测与漏斗…", "Forecast and funnel…"),
    "step_review": ("月度复盘…", "Monthly review…"),
    "step_agenda": ("会议议程…", "Meeting agenda…"),
    "reading": ("读取 {file}…", "Reading {file}…"),
    "working": ("处理中…", "Working…"),
    "pdf": ("用 LibreOffice 导出 PDF…", "Exporting the PDF with LibreOffice…"),
    "tables_in": ("表:{tables}", "tables {tables}"),
    "table_desc": ("{sheet}({rows} 行)", "{key} ({rows} rows, sheet {sheet})"),
    "none": ("无", "none"),
    "no_problems": ("没有发现问题。", "No problems found."),
    "severity": ("级别", "severity"), "cell": ("单元格", "cell"), "column": ("列", "column"),
    "rule": ("规则", "rule"), "message": ("说明", "message"),
    "error": ("错误", "error"), "warning": ("警告", "warning"),
    "counts": ("{errors} 个错误,{warnings} 个警告", "{errors} errors, {warnings} warnings"),
    "annotated": ("已标注:{path}", "Annotated: {path}"),
    "rep": ("销售", "rep"), "region": ("区域", "region"), "product": ("产品线", "product"),
    "team": ("团队", "team"), "week": ("周", "week"), "level": ("层级", "level"),
    "rep_region": ("销售 / 区域", "rep / region"), "days": ("天数", "days"),
    "late": ("迟交", "late"), "missing": ("缺交", "missing"), "visits": ("拜访", "visits"),
    "effective": ("有效沟通", "effective"), "signed": ("签约", "signed"),
    "target": ("目标", "target"), "completion": ("完成率", "completion"),
    "team_weeks": ("团队逐周(每位销售都在工作表中)",
                   "Team, week by week (every rep in the sheets)"),
    "week_title": ("第 {week} 周", "Week {week}"),
    "week_big": ("({reps} 位销售:每位都在工作表中)", " ({reps} reps: every rep in the sheet)"),
    "rollup_errors": ("日报中有 {errors} 处数据错误(行已保留,错误已计数);删除了 {dropped} 条"
                      "重复行(保留最新提交)。",
                      "{errors} data errors in the dailies (rows kept, errors counted); "
                      "{dropped} duplicate rows dropped (latest submission kept)."),
    "rollup_edited": ("台账发现 {n} 份日报在提交后被修改或删除,已计入各周的数据问题数。",
                      "the ledger found {n} dailies edited or deleted after submission; "
                      "they are counted in the weeks' data errors."),
    "weekly_sheets": ("{n} 张周报工作表({first} … {last})",
                      "{n} weekly sheets ({first} … {last})"),
    "wrote_into": ("已将 {what} 写入 {path}", "Wrote {what} into {path}"),
    "no_weeks": ("没有要汇总的周(这个月还没有开始),什么也没有写入。",
                 "No weeks to roll up (the month has not begun yet); nothing was written."),
    "wrote": ("已写入 {path}", "Wrote {path}"),
    "rank": ("排名", "rank"), "no_target": ("无目标", "no target"),
    "completion_title": ("完成率 {first} – {through}", "Completion {first} – {through}"),
    "top_below": ("{top}:{names};低于 {threshold}:{below}",
                  "{top}: {names}; under {threshold}: {below}"),
    "expected": ("应交", "expected"), "reported": ("已交", "reported"),
    "late_rate": ("迟交率", "late rate"), "missing_rate": ("缺交率", "missing rate"),
    "missing_days": ("缺交日期", "missing days"),
    "discipline": ("日报纪律 {period}", "Daily-report discipline {period}"),
    "wrote_table": ("已将表写入 {path}", "Wrote the table into {path}"),
    "spot_head": ("抽查 {date}:{reports} 份日报中抽 {picked} 份",
                  "Spot-check {date}: {picked} of {reports} reports"),
    "marked": ("已标记在 {path}", "Marked in {path}"),
    "owner": ("负责人", "owner"), "customer": ("客户", "customer"), "due": ("到期", "due"),
    "overdue": ("逾期天数", "overdue"), "kind": ("方式", "kind"), "reason": ("原因", "reason"),
    "wrote_followups": ("已将下次跟进时间和到期清单写入 {path}",
                        "Wrote next follow-ups and the due list into {path}"),
    "opportunity": ("商机", "opportunity"), "stage": ("阶段", "stage"),
    "since": ("进入日期", "since"), "days_in": ("天数", "days"), "limit": ("上限", "limit"),
    "alerts_title": ("阶段预警({n})", "Stage alerts ({n})"),
    "stage_too_long": ("阶段停留过久", "too long in the stage"),
    "proposal_no_feedback": ("方案无反馈", "proposal without feedback"),
    "matched_on": ("匹配依据:", "matched on: "),
    "ignored": ("已忽略 {key} {value}:{records} 条记录共用",
                "ignored {key} {value}: shared by {records} records"),
    "opp_clash": ("撞单(商机)", "Clash (opportunities)"), "clash": ("撞单 ", "Clash: "),
    "opp_line": ("{stage},{amount} 万元,创建于 {created}",
                 "{stage}, {amount} (10k CNY), created {created}"),
    "no_duplicates": ("没有重复。", "No duplicates."),
    "lead": ("线索", "lead"), "by_name": ("名称", "name"), "by_phone": ("电话", "phone"),
    "by_credit_code": ("信用代码", "credit code"),
    "quota": ("目标", "quota"), "won": ("赢单", "won"), "weighted": ("加权", "weighted"),
    "commit": ("承诺", "commit"), "best_case": ("乐观", "best case"),
    "pipeline": ("管道", "pipeline"), "coverage": ("覆盖率", "coverage"),
    "shortage": ("缺口", "shortage"),
    "forecast_title": ("预测 {first} – {last}", "Forecast {first} – {last}"),
    "open": ("在谈数", "open"), "open_amount": ("在谈金额", "open amount"),
    "entered": ("进入", "entered"), "advanced": ("推进", "advanced"),
    "conversion": ("转化率", "conversion"), "ideal": ("理想", "ideal"),
    "needed": ("所需", "needed"),
    "funnel_title": ("漏斗 {first} – {last}", "Funnel {first} – {last}"),
    "deals_needed": ("目标 {quota} ÷ 平均单额 {average} = 需要 {n} 单",
                     "Quota {quota} ÷ average deal {average} = {n} deals needed"),
    "dimension": ("维度", "dimension"), "metric": ("指标", "metric"),
    "actual": ("实际", "actual"), "hint": ("提示", "hint"),
    "review_title": ("复盘 {label}", "Review {label}"),
    "falling": ("连续三个月下降:", "Fell three months in a row:"),
    "review_wrote": ("已写入 {path}(保留了主管在 {kept} 行的备注)",
                     "Wrote {path} (kept the manager's notes on {kept} rows)"),
    "agenda_head": ("{at},{minutes} 分钟;会议纪要截止 {due}",
                    "{at}, {minutes} minutes; minutes due {due}"),
    "carried": ("结转:{n} 项未完成的行动项", "Carried over: {n} open action items"),
    "lists_same": ("各工作簿的下拉列表已与 settings.xlsx 一致。",
                   "The dropdowns of every workbook already match settings.xlsx."),
    "lists_updated": ("已更新 {path} 的下拉列表", "Updated the dropdowns of {path}"),
    "item": ("事项", "item"), "state": ("状态", "state"), "actionable": ("可执行", "actionable"),
    "actions_title": ("行动项", "Action items"), "yes": ("是", "yes"), "no": ("否", "no"),
    "state_open": ("未完成", "open"), "state_overdue": ("逾期", "overdue"),
    "state_done": ("已完成", "done"),
    # xlsales import
    "import_read": ("读取 {file}:{rows} 行(表头在第 {header} 行{enc})→ 表 {table}(映射 {key})",
                    "Read {file}: {rows} rows (header on row {header}{enc}) → table {table} "
                    "(mapping {key})"),
    "import_mapping": ("列的对应", "Column mapping"),
    "import_column": ("文件列", "file column"), "import_to": ("对应到", "maps to"),
    "import_left_out": ("未导入的列", "Columns left out"),
    "import_counts": ("{table}:新增 {new},更新 {updated},不变 {unchanged},拒绝 {rejected},"
                      "疑似撞单 {clashes}",
                      "{table}: {new} new, {updated} updated, {unchanged} unchanged, "
                      "{rejected} rejected, {clashes} possible clashes"),
    "import_unknown": ("没有对应的{what}(相关行未导入;在 {map} 中填写后再导入一次):",
                       "{what} without a mapping (those rows stay out; fill them in in {map} "
                       "and import again):"),
    "import_off_list": ("不在团队列表中的{what}(已按原样导入):",
                        "{what} not in the team's lists (imported as they are):"),
    "import_clashes": ("疑似撞单(未导入,请主管确认):",
                       "Possible clashes, one customer claimed by two reps (not imported; for "
                       "the manager to decide):"),
    "import_rejected": ("被拒绝的行:", "Rejected rows:"),
    "import_more": ("… 还有 {n} 行(用 --json 查看全部)", "… {n} more (use --json)"),
    "import_dry": ("试运行:没有写入任何内容", "Dry run: nothing was written"),
    "import_wrote": ("已写入 {path};映射保存在 {map}",
                     "Wrote {path}; the mapping is kept in {map}"),
    "import_nothing": ("没有需要写入的变化;映射保存在 {map}",
                       "Nothing to change; the mapping is kept in {map}"),
    "import_confirm": ("按上面的对应导入吗?", "Import with the mapping above?"),
    "import_new_map": ("这是一个新的映射:先用 --dry-run 查看,再加 --yes 运行(或在终端里确认)",
                       "this is a new mapping: review it with --dry-run, then run with --yes "
                       "(or confirm it in a terminal)"),
    "import_line": ("第 {line} 行", "line {line}"),
}.items()}


def _w(lang: Lang, key: str, /, **fields: object) -> str:
    text = _W[key](lang)
    return text.format(**fields) if fields else text


AmountUnitOpt = Annotated[str, typer.Option(
    "--amount-unit", help="Unit of amounts in the workbooks: 10000 (ten thousands, the "
    "default) or 1 (whole units of the currency; also 'unit').")]


def _with_amount_unit(settings: Any, unit: str) -> Any:
    """``settings`` with the ``amount_unit`` option ``unit`` (10000/万, or 1/元/unit)."""
    from xlsales.words import TEN_THOUSANDS, unit_code

    code = unit_code(unit)
    if code is None:
        raise InputError(Label(f"--amount-unit 只能是 10000(万)或 1(元),而不是 {unit!r}",
                               f"--amount-unit must be 10000 (ten thousands) or 1 (whole "
                               f"units), not {unit!r}"))
    if code == TEN_THOUSANDS:
        return settings
    return settings.model_copy(update={"general": settings.general.model_copy(
        update={"amount_unit": code})})


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(help="Folder of the new team workspace.")],
    lang: LangOpt = "zh",
    force: Annotated[bool, typer.Option("--force", help="Overwrite existing workbooks.")] = False,
    macros: Annotated[bool, typer.Option("--macros", help="Macro-enabled .xlsm workbooks with "
                                         "buttons and the xlwings module.")] = False,
    lite: Annotated[bool, typer.Option("--lite", help="Workbooks for the xlwings Lite add-in "
                                       "(Python inside Excel, nothing to install).")] = False,
    amount_unit: AmountUnitOpt = "10000",
    as_json: JsonOpt = False,
) -> None:
    """Create a team workspace: settings, targets, daily report, agenda, review, customers."""
    from xlsales.settings import Settings
    from xlsales.workspace import BOOKS, write_workspace

    with _failing(as_json, at=directory, lang=lang):
        language = check_lang(lang)
        if macros and lite:
            raise InputError(Label("--macros 与 --lite 只能选一个", "--macros and --lite: "
                                   "choose one"))
        existing = [p for b in BOOKS for p in (directory / b.filename,
                                               (directory / b.filename).with_suffix(".xlsm"))
                    if p.exists()]
        if existing and not force:
            names = ", ".join(str(p) for p in existing)
            raise InputError(Label(f"工作簿已经存在（要覆盖请加 --force）：{names}",
                                   f"workbooks already exist (use --force to overwrite): "
                                   f"{names}"))
        settings = _with_amount_unit(Settings.default(language), amount_unit)
        written = write_workspace(directory, settings, lang=language,
                                  macros=macros, lite=lite)
    if as_json:
        _emit({"ok": True, "written": [str(p) for p in written]})
        return
    console.print(f"[green]{escape(_w(language, 'created', dir=directory, lang=language))}"
                  "[/green]")
    for p in written:
        console.print(f"  {escape(str(p))}")
    console.print(_w(language, "next"))


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
        console.print(escape(_w(system_lang(), "built", n=len(written), out=out)))


@app.command()
def sample(
    out: Annotated[Path, typer.Argument(help="Folder to write the sample workspace into.")],
    lang: LangOpt = "zh",
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same data.")] = 2024,
    amount_unit: AmountUnitOpt = "10000",
    as_json: JsonOpt = False,
) -> None:
    """Write the built-in sample team's workspace (12 reps, Oct 2023 - Mar 2024)."""
    from xlsales.sample import generate
    from xlsales.workspace import write_workspace

    with _failing(as_json, at=out, lang=lang):
        team = generate(seed, check_lang(lang))
        settings = _with_amount_unit(team.settings, amount_unit)
        written = write_workspace(out, settings, team.data, lang=check_lang(lang))
    if as_json:
        _emit({"ok": True, "written": [str(p) for p in written],
               "rows": {k: len(v) for k, v in team.data.items()}})
    else:
        console.print(escape(_w(check_lang(lang), "sample", out=out)))


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

    words = _message_lang(None, lang)
    with _failing(as_json, at=out, lang=lang), \
            _status(_w(words, "step_write"), as_json) as status:
        def step(key: str, **fields: object) -> None:
            status(_w(words, f"step_{key}", **fields))
        result = run_demo(out, lang=check_lang(lang), on=_parse_date(on) or SAMPLE_TODAY,
                          step=step)
    if as_json:
        _emit({"ok": True, **result.as_dict()})
        return
    sep = SEP(words)
    console.print(f"[bold]{escape(_w(words, 'demo_head', on=result.on))}[/bold]")
    table = _table(_w(words, "table"), _w(words, "rows_read"), title=_w(words, "read_back"))
    from xlsales.tables import get as table_spec

    for key, n in result.rows.items():
        table.add_row(escape(table_spec(key).sheet(words)), show.count(n))
    console.print(table)
    checks = _table(_w(words, "workbook"), _w(words, "errors"), _w(words, "warnings"),
                    title=_w(words, "validation"))
    for name, counts in result.validation.items():
        checks.add_row(name, show.count(counts["errors"]), show.count(counts["warnings"]))
    console.print(checks)
    comp = result.completion
    console.print(escape(_w(words, "demo_completion", first=comp["first"],
                            through=comp["through"], top=comp["top_label"],
                            names=sep.join(comp["top3"]),
                            threshold=show.pct(comp["threshold"]),
                            below=sep.join(comp["below"]) or show.BLANK)))
    late = sum(r["late"] for r in result.compliance)
    missing = sum(r["missing"] for r in result.compliance)
    console.print(_w(words, "demo_discipline", late=show.count(late),
                     missing=show.count(missing)))
    spot = result.spotcheck
    console.print(escape(_w(words, "demo_spot", date=spot["date"], picked=spot["picked"],
                            reports=spot["reports"],
                            names=sep.join(p["rep"] for p in spot["picks"]))))
    console.print(_w(words, "demo_weeks", weeks=sep.join(result.weeks)))
    fu = result.followups
    console.print(_w(words, "demo_followups", overdue=show.count(fu.get("overdue", 0)),
                     today=show.count(fu.get("today", 0)),
                     week=show.count(fu.get("this_week", 0))))
    console.print(_w(words, "demo_alerts", alerts=show.count(result.alerts),
                     groups=show.count(result.duplicates.get("groups", 0)),
                     conflicts=show.count(result.duplicates.get("conflicts", 0))))
    fc = result.forecast
    if fc:
        console.print(_w(words, "demo_forecast", month=f"{result.on:%Y-%m}",
                         won=show.amount(fc["won"]), weighted=show.amount(fc["weighted"]),
                         quota=show.amount(fc["quota"] or 0),
                         coverage=show.pct(fc["coverage"])))
    console.print(escape(_w(words, "demo_review", review=result.review, agenda=result.agenda)))
    console.print(_w(words, "wrote_list"))
    for p in result.written:
        console.print(f"  {escape(str(p))}")


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="Workbook to check (.xlsx/.xlsm).")],
    table: Annotated[str | None, typer.Option(
        "--table", help="Only this table: targets, team_targets, daily, agenda, actions, "
        "minutes, review, customers, follow_ups, leads, opportunities or stage_history.")
    ] = None,
    annotate_: Annotated[bool, typer.Option(
        "--annotate", help="Mark the findings in the workbook (fill, comment, list sheet).")
    ] = False,
    out: Annotated[Path | None, typer.Option(
        "--out", help="With --annotate: write an annotated copy here instead.")] = None,
    on: Annotated[str | None, typer.Option("--on", help="Today, YYYY-MM-DD.")] = None,
    show_all: AllOpt = False,
    lang: MessageLangOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a workbook against every rule; exit 1 when it has errors."""
    with _reading_ahead(file) if table in (None, "daily") else contextlib.nullcontext():
        _validate(file, table, annotate_, out, on, show_all, lang, as_json)


def _validate(file: Path, table: str | None, annotate_: bool, out: Path | None,
              on: str | None, show_all: bool, lang: str | None, as_json: bool) -> None:
    from xlsales.validate import validate_file

    words = _message_lang(file, lang)
    with _failing(as_json, at=file, settings_note=False), \
            _status(_w(words, "reading", file=file.name), as_json):
        result = validate_file(file, table=table, today=_today(on) if on else None)
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
        _print_findings(result, words, show_all)
        if written:
            console.print(escape(_w(words, "annotated", path=written)))
    if result.errors:
        raise typer.Exit(1)


def _print_findings(result: Any, lang: Lang, show_all: bool = False) -> None:
    sep = SEP(lang)
    tables = sep.join(_w(lang, "table_desc", key=k, rows=show.count(len(t)), sheet=t.sheet)
                      for k, t in result.tables.items()) or _w(lang, "none")
    console.print(f"[bold]{escape(str(result.file))}[/bold]: "
                  f"{escape(_w(lang, 'tables_in', tables=tables))}")
    if not result.findings:
        console.print(f"[green]{_w(lang, 'no_problems')}[/green]")
        return
    message = _w(lang, "message")
    table = _table(_w(lang, "severity"), _w(lang, "cell"), _w(lang, "column"),
                   _w(lang, "rule"), message, wrap=(message,))
    shown, left_out = show.first_rows(result.findings, show_all)
    for f in shown:
        colour = "red" if f.severity == "error" else "yellow"
        level = _w(lang, "error" if f.severity == "error" else "warning")
        table.add_row(f"[{colour}]{level}[/{colour}]", escape(f"{f.sheet}!{f.cell or ''}"),
                      escape(show.text(f.column, "")), f.rule, escape(show.text(f.message, "")))
    console.print(table)
    _rows_note(left_out, lang)
    console.print(_w(lang, "counts", errors=show.count(result.errors),
                     warnings=show.count(result.warnings)))


WorkspaceOpt = Annotated[Path, typer.Option(
    "--workspace", "-w", help="Team workspace folder (or a daily-report workbook).")]
OnOpt = Annotated[str | None, typer.Option("--on", help="Today, YYYY-MM-DD (default: today).")]


def _today(on: str | None) -> dt.date:
    from xlsales.ledger import hook

    day = _parse_date(on) or dt.date.today()
    hook.set_today(day)  # the date of the week's pipeline snapshot
    return day


def _pct(x: float | None) -> str:
    return show.pct(x)


ROLLUP_ROWS_SHOWN = 60  # a bigger week is summed up by region; its sheet has every rep


def _print_weeks(weeks: list[str], rows: list[Any], lang: Lang = "en") -> None:
    """One table per week (reps, regions, team) for a small team; for several weeks or a
    big team the team's line per week, or the regions' lines of the one week."""
    head = [_w(lang, k) for k in ("days", "late", "missing", "visits", "effective", "signed",
                                  "target", "completion")]

    def cells(r: Any) -> list[str]:
        return [f"{r.reported}/{r.expected}", show.count(r.late), show.count(r.missing),
                show.count(r.visits), show.count(r.effective), show.money(r.amount_signed),
                show.amount(r.target), show.pct(r.completion)]

    if len(weeks) > 1:
        table = _table(_w(lang, "week"), *head, title=_w(lang, "team_weeks"))
        for r in rows:
            if r.level == "team":
                table.add_row(r.week, *cells(r))
        console.print(table)
        return
    for week_ in weeks:
        shown = [x for x in rows if x.week == week_]
        title = _w(lang, "week_title", week=week_)
        if len(shown) > ROLLUP_ROWS_SHOWN:
            reps = sum(x.level == "rep" for x in shown)
            shown = [x for x in shown if x.level != "rep"]
            title += _w(lang, "week_big", reps=reps)
        table = _table("", _w(lang, "rep_region"), *head, title=title)
        for r in shown:
            level = _w(lang, r.level) if r.level in _W else r.level
            table.add_row(level, escape(show.text(r.name)), *cells(r),
                          style="bold" if r.level != "rep" else "")
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
    with _reading_ahead(source or workspace or Path(".")):
        _rollup(source, workspace, week, month, all_weeks, out, on, as_json)


@contextmanager
def _reading_ahead(at: Path) -> Iterator[None]:
    """The daily report at ``at`` (a workspace's, or the workbook itself) begun reading in
    a second thread before the command imports its libraries
    (:func:`xlsales.io.read.early.head_start`); what the command did not take is dropped
    at its end."""
    from xlsales.io.read import early
    from xlsales.tables.daily import DAILY_FILE

    path = at / DAILY_FILE if at.is_dir() else at  # (the shared one: per-rep folders, none)
    if path.suffix.lower() in (".xlsx", ".xlsm") and path.is_file():
        early.head_start(path)
    try:
        yield
    finally:
        early.forget()


def _rollup(source: Path | None, workspace: Path | None, week: str | None,
            month: str | None, all_weeks: bool, out: Path | None, on: str | None,
            as_json: bool) -> None:
    from xlsales.jobs import run_rollup

    with _failing(as_json, at=source or workspace or Path(".")), \
            _status(_w(_message_lang(source or workspace or Path("."), None), "working"),
                    as_json):
        src = source or workspace or Path(".")
        result = run_rollup(src, week=week, month=month, all_weeks=all_weeks, out=out,
                            today=_today(on))
    if as_json:
        _emit({"ok": True, **result.as_dict(encoded=True)})
        return
    lang = _message_lang(source or workspace or Path("."), None)
    # several weeks show the team's line of each: only those become row objects
    _print_weeks(result.weeks, result.rows if len(result.weeks) <= 1
                 else result.level_rows("team"), lang)
    for f in [f for f in result.findings if f.severity == "error"][:10]:
        console.print(f"  [red]{escape(f'{f.sheet}!{f.cell}')}[/red] {f.rule}: "
                      f"{escape(show.text(f.message, ''))}")
    for text in result.implausible[:10]:
        console.print(f"  [yellow]{escape(text)}[/yellow]")
    console.print(_w(lang, "rollup_errors", errors=show.count(result.errors),
                     dropped=show.count(result.dropped)))
    if result.edited:
        console.print(_w(lang, "rollup_edited", n=show.count(result.edited)))
    if not result.sheets:
        console.print(_w(lang, "no_weeks"))
        return
    sheets = ", ".join(result.sheets) if len(result.sheets) <= 3 else _w(
        lang, "weekly_sheets", n=len(result.sheets), first=result.sheets[0],
        last=result.sheets[-1])
    console.print(escape(_w(lang, "wrote_into", what=sheets, path=result.written)))


@app.command("completion")
def completion_cmd(
    period: Annotated[str, typer.Option(help="2024-W10, 2024-03, 2024Q1 or 2024.")],
    workspace: WorkspaceOpt = Path("."),
    by: Annotated[ByChoice, typer.Option(help="rep, region, product or team.")] = "rep",
    on: OnOpt = None,
    lang: MessageLangOpt = None,
    as_json: JsonOpt = False,
    company: Annotated[str | None, typer.Option(
        "--company", metavar="URL", help="With --by team: every team of a company ledger "
                                         "(xlsales company completion).")] = None,
) -> None:
    """Target completion rates with the TOP3 and the reps under the threshold."""
    if company is not None:
        from xlsales.cli.company import by_team_of_company

        return by_team_of_company(period, company, by, on, lang, as_json)
    with _reading_ahead(workspace), _failing(as_json, at=workspace, lang=lang):
        from xlsales.jobs import run_completion  # (pandas, while the daily report loads)

        result = run_completion(workspace, period, by=by, today=_today(on))
    if as_json:
        _emit({"ok": True, **result.as_dict()})
        return
    words = _message_lang(workspace, lang)
    print_completion(result, by, words)
    for text in result.warnings():
        console.print(f"[yellow]{escape(text)}[/yellow]")


def print_completion(result: Any, by: str, words: Lang) -> None:
    """A completion result as a ranked table (rep, region, product or team) with its
    TOP3 and those under the threshold."""
    sep = SEP(words)
    table = _table(_w(words, "rank"), _w(words, by), _w(words, "signed"), _w(words, "target"),
                   _w(words, "completion"),
                   title=_w(words, "completion_title", first=result.first,
                            through=result.through))
    for r in result.rows:
        flag = " [red]▼[/red]" if r.below_threshold else (
            " [yellow]⚠[/yellow]" if r.implausible else "")
        table.add_row(show.text(r.rank or None), escape(show.text(r.key)),
                      show.money(r.actual),
                      _w(words, "no_target") if r.target is None else show.amount(r.target),
                      show.pct(r.rate) + flag)
    console.print(table)
    _print_quota_basis([r.quota_basis for r in result.rows], words)
    console.print(escape(_w(words, "top_below", top=result.top_label,
                            names=sep.join(r.key for r in result.top) or show.BLANK,
                            threshold=show.pct(result.threshold),
                            below=sep.join(r.key for r in result.below) or show.BLANK)))


@app.command()
def compliance(
    period: Annotated[str, typer.Option(help="2024-W10, 2024-03, 2024Q1 or 2024.")],
    workspace: WorkspaceOpt = Path("."),
    write: Annotated[bool, typer.Option("--write", help="Add the table as a sheet of the "
                                        "daily-report workbook.")] = False,
    on: OnOpt = None,
    lang: MessageLangOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Late and missing daily reports per rep, with rates."""
    with _reading_ahead(workspace), _failing(as_json, at=workspace):
        from xlsales.jobs import run_compliance  # (pandas, while the daily report loads)

        result, written = run_compliance(workspace, period, today=_today(on), write=write)
    if as_json:
        _emit({"ok": True, "period": period, "reps": [r.as_dict() for r in result],
               "written": str(written) if written else None})
        return
    words = _message_lang(workspace, lang)
    table = _table(*(_w(words, k) for k in ("rep", "expected", "reported", "late", "late_rate",
                                            "missing", "missing_rate", "missing_days")),
                   title=_w(words, "discipline", period=period))
    for r in result:
        table.add_row(escape(show.text(r.rep)), show.count(r.expected), show.count(r.reported),
                      show.count(r.late), show.pct(r.late_rate), show.count(r.missing),
                      show.pct(r.missing_rate),
                      ", ".join(d.isoformat() for d in r.missing_days[:5])
                      + (" …" if r.missing > 5 else ""))
    console.print(table)
    if written:
        console.print(escape(_w(words, "wrote_table", path=written)))


@app.command()
def spotcheck(
    on: Annotated[str | None, typer.Option("--on", help="Day to check (default: today).")
                  ] = None,
    date: Annotated[str | None, typer.Option("--date", hidden=True,
                                             help="Deprecated: use --on.")] = None,
    workspace: WorkspaceOpt = Path("."),
    share: Annotated[float | None, typer.Option(help="Share of the day's reports "
                                                "(default: the settings, 0.3).")] = None,
    seed: Annotated[int, typer.Option(help="Same date and seed, same pick.")] = 0,
    mark: Annotated[bool, typer.Option("--mark", help="Date the picked rows in the workbook.")
                    ] = False,
    lang: MessageLangOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Pick today's spot-check (30% of the dailies), spread over the week's reps."""
    with _reading_ahead(workspace), _failing(as_json, at=workspace):
        from xlsales.jobs import run_spotcheck  # (pandas, while the daily report loads)

        result = run_spotcheck(workspace, _today(on or date), share=share, seed=seed,
                               mark=mark)
    if as_json:
        _emit({"ok": True, **result.as_dict()})
        return
    words = _message_lang(workspace, lang)
    console.print(_w(words, "spot_head", date=result.date, picked=len(result.picks),
                     reports=result.reports))
    for p in result.picks:
        console.print(f"  {escape(show.text(p.rep))}"
                      + (f"  [yellow]{escape('; '.join(p.hints))}[/yellow]" if p.hints else ""))
    if result.marked:
        console.print(escape(_w(words, "marked", path=result.marked)))


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
    show_all: AllOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Next follow-up of every customer; what is due today, this week and overdue."""
    from xlsales.jobs import BUCKETS, run_followups

    with _failing(as_json, at=workspace), \
            _status(_w(_message_lang(workspace, None), "working"), as_json):
        result = run_followups(workspace, today=_today(on), rep=rep, write=write, force=force)
    if as_json:
        _emit({"ok": True, **result.as_dict()})
        return
    report = result.report
    today, lang = report.today, report.lang
    reason = _w(lang, "reason")
    for key, dues in report.buckets(rep).items():
        table = _table(*(_w(lang, k) for k in ("owner", "customer", "due", "overdue", "kind")),
                       reason, title=f"{BUCKETS[key](lang)} ({show.count(len(dues))})",
                       wrap=(reason,))
        shown, left_out = show.first_rows(dues, show_all)
        for d in shown:
            table.add_row(escape(show.text(d.owner)), escape(show.text(d.customer)),
                          d.date.isoformat(), show.text(d.overdue_days(today) or None, ""),
                          escape(show.text(d.kind, "")), escape(show.text(d.reason, "")))
        console.print(table)
        _rows_note(left_out, lang)
    colours = {"plan": "cyan", "flag": "yellow", "info": "default"}
    for kind, text in result.notes(lang, limit=20):
        console.print(f"[{colours[kind]}]{escape(text)}[/]")
    if result.written:
        console.print(escape(_w(lang, "wrote_followups", path=result.written)))


@app.command()
def alerts(
    workspace: WorkspaceOpt = Path("."),
    on: OnOpt = None,
    show_all: AllOpt = False,
    lang: MessageLangOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Opportunities older than their stage allows, and proposals without feedback."""
    from xlsales.jobs import run_alerts

    with _failing(as_json, at=workspace):
        result = run_alerts(workspace, today=_today(on))
    if as_json:
        _emit({"ok": True, "alerts": [a.as_dict() for a in result]})
        return
    words = _message_lang(workspace, lang)
    stage = _stage_names(workspace, words)
    table = _table(*(_w(words, k) for k in ("opportunity", "customer", "owner", "stage",
                                            "since", "days_in", "limit", "rule")),
                   title=_w(words, "alerts_title", n=show.count(len(result))))
    shown, left_out = show.first_rows(result, show_all)
    for a in shown:
        table.add_row(escape(show.text(a.opp_id)), escape(show.text(a.customer)),
                      escape(show.text(a.owner)), escape(stage(show.text(a.stage))),
                      a.entered.isoformat(), show.count(a.age), show.count(a.limit),
                      _w(words, a.rule) if a.rule in _W else a.rule)
    console.print(table)
    _rows_note(left_out, words)


def _settings_of(at: Path) -> Any:
    """The settings of the workspace ``at`` is (or whose daily report it is)."""
    from xlsales.jobs.sources import workspace_settings

    return workspace_settings(at if at.is_dir() else at.parent)


def _stage_names(at: Path, lang: Lang) -> Any:
    """Show a stage (its canonical name) in ``lang``, by the workspace's settings."""
    settings = _settings_of(at)
    return lambda name: settings.display("stages", name, lang) if name else name


@app.command("duplicates")
def duplicates_cmd(
    workspace: WorkspaceOpt = Path("."),
    show_all: AllOpt = False,
    lang: MessageLangOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Customers and leads that are the same company (撞单 when owners differ)."""
    from xlsales.jobs import run_duplicates

    with _failing(as_json, at=workspace):
        result = run_duplicates(workspace)
    if as_json:
        _emit({"ok": True, **result.as_dict()})
        return
    words = _message_lang(workspace, lang)
    groups, left_out = show.first_rows(result.groups, show_all)
    for g in groups:
        colour = "red" if g.conflict else "yellow"
        console.print(f"[{colour}]{_w(words, 'clash') if g.conflict else ''}"
                      f"{escape(' / '.join(show.text(o) for o in g.owners))}[/]")
        for r in g.records:
            source = _w(words, r.source) if r.source in _W else r.source
            console.print(f"  {source} {escape(show.text(r.ref))}: "
                          f"{escape(show.text(r.name))} ({escape(show.text(r.owner))})")
        console.print("  " + _w(words, "matched_on") + escape(", ".join(
            f"{_w(words, 'by_' + e['key']) if 'by_' + e['key'] in _W else e['key']}="
            f"{show.text(e['value'])}" for e in g.evidence)))
    _rows_note(left_out, words)
    for t in result.too_common:
        what = _w(words, "by_" + t["key"]) if "by_" + t["key"] in _W else t["key"]
        ignored = _w(words, "ignored", key=what, value=t["value"], records=t["records"])
        console.print(f"[dim]{escape(ignored)}[/dim]")
    settings = _settings_of(workspace) if result.opportunities else None
    for o in result.opportunities:
        console.print(f"[red]{_w(words, 'opp_clash')} {escape(' / '.join(o.customers))}: "
                      f"{escape(' / '.join(show.text(x) for x in o.owners))}[/]")
        for r in o.opportunities:
            line = money_text(_w(words, "opp_line", stage=settings.display(
                "stages", show.text(r["stage"]), words), amount=show.amount(r["amount"]),
                created=show.text(r["created_on"])), settings.general.currency,
                settings.general.amount_unit)
            console.print(f"  {r['opp_id']} {escape(show.text(r['name']))} "
                          f"({escape(show.text(r['owner']))}): {escape(line)}")
    if not result.groups and not result.opportunities:
        console.print(f"[green]{_w(words, 'no_duplicates')}[/green]")


@app.command("forecast")
def forecast_cmd(
    period: Annotated[str | None, typer.Option(help="2024-03, 2024Q1, 2024-W10 or 2024.")
                      ] = None,
    workspace: WorkspaceOpt = Path("."),
    by: Annotated[ByChoice, typer.Option(help="rep, region, product or team.")] = "rep",
    write: Annotated[bool, typer.Option("--write", help="Write pipeline_<period>.xlsx "
                                        "(forecast, funnel, charts) into the workspace.")
                     ] = False,
    on: OnOpt = None,
    lang: MessageLangOpt = None,
    as_json: JsonOpt = False,
    accuracy: Annotated[str | None, typer.Option(
        "--accuracy", metavar="PERIOD", help="Instead: each past pipeline snapshot's "
        "forecast of PERIOD (e.g. 2024Q1) against what was won, per rep and team.")] = None,
) -> None:
    """Weighted forecast (Σ amount × probability) against the quota: coverage, shortage."""
    from xlsales.jobs import run_forecast, write_pipeline

    if accuracy is not None or period is None:
        from xlsales.cli.accuracy import forecast_accuracy

        return forecast_accuracy(accuracy, workspace, _today(on), lang, as_json)
    today = _today(on)  # before reading: the date of the week's pipeline snapshot
    with _failing(as_json, at=workspace, lang=lang):
        result = run_forecast(workspace, period, by=by)
        written = write_pipeline(workspace, period, today=today) if write else None
    if as_json:
        _emit({"ok": True, **result.as_dict(), "written": str(written) if written else None})
        return
    words = _message_lang(workspace, lang)
    table = _table(_w(words, by), *(_w(words, k) for k in (
        "quota", "won", "weighted", "commit", "best_case", "pipeline", "coverage",
        "shortage")), title=_w(words, "forecast_title", first=result.first, last=result.last))
    for r in result.rows:
        table.add_row(escape(show.text(r.key)), show.amount(r.quota), show.money(r.won),
                      show.amount(r.weighted), show.amount(r.commit), show.amount(r.best_case),
                      show.amount(r.pipeline), show.pct(r.coverage), show.amount(r.shortage))
    console.print(table)
    _print_quota_basis([r.quota_basis for r in result.rows], words)
    if not _QUIET["on"]:
        _print_left_out(result.left_out, words)
    if written:
        console.print(escape(_w(words, "wrote", path=written)))


def _print_quota_basis(bases: list[str], lang: Lang) -> None:
    """Which targets the table's "target"/"quota" column is (performance.Quota)."""
    from xlsales.performance import QUOTA_BASIS

    if not bases:
        return
    names = SEP(lang).join(QUOTA_BASIS[b](lang) for b in dict.fromkeys(bases))
    console.print(f"[dim]{'目标口径' if lang == 'zh' else 'Targets'}: {names}[/dim]")


def _print_left_out(left_out: dict[str, list[Any]], lang: Lang, *,
                    funnel: bool = False) -> None:
    """The deals the forecast (or the funnel) cannot count, by why, with a few ids."""
    from xlsales.pipeline import LEFT_OUT

    into = ("漏斗" if lang == "zh" else "funnel") if funnel else (
        "预测" if lang == "zh" else "forecast")
    for why, deals in left_out.items():
        amount = sum(d.amount for d in deals)
        ids = [d.opp_id for d in deals[:5]]
        more = " …" if len(deals) > len(ids) else ""
        if lang == "zh":
            text = (f"有 {len(deals)} 个商机未计入{into}({LEFT_OUT[why](lang)}),金额合计 "
                    f"{show.amount(amount)}:{'、'.join(ids)}{more}")
        else:
            text = (f"{len(deals)} deals left out of the {into} ({LEFT_OUT[why](lang)}), "
                    f"{show.amount(amount)} in all: {', '.join(ids)}{more}")
        err_console.print(f"[yellow]{escape(text)}[/yellow]")


@app.command("funnel")
def funnel_cmd(
    period: Annotated[str, typer.Option(help="2024-03, 2024Q1, 2024-W10 or 2024.")],
    workspace: WorkspaceOpt = Path("."),
    write: Annotated[bool, typer.Option("--write", help="Write pipeline_<period>.xlsx "
                                        "(forecast, funnel, charts) into the workspace.")
                     ] = False,
    on: OnOpt = None,
    lang: MessageLangOpt = None,
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
    words = _message_lang(workspace, lang)
    table = _table(*(_w(words, k) for k in ("stage", "open", "open_amount", "entered",
                                            "advanced", "conversion", "ideal", "needed")),
                   title=_w(words, "funnel_title", first=result.first, last=result.last))
    for f in result.stages:
        table.add_row(escape(f.stage.label(words)),
                      show.count(f.open_count), show.amount(f.open_amount),
                      show.count(f.entered), show.count(f.advanced), show.pct(f.conversion),
                      show.pct(f.ideal), show.amount(f.needed, decimals=0, money=False))
    console.print(table)
    if result.deals_needed is not None:
        console.print(_w(words, "deals_needed", quota=show.amount(result.quota),
                         average=show.amount(result.average_deal),
                         n=show.amount(result.deals_needed, money=False)))
    if not _QUIET["on"]:
        _print_left_out(result.left_out, words, funnel=True)
    if written:
        console.print(escape(_w(words, "wrote", path=written)))


@app.command()
def review(
    workspace: WorkspaceOpt = Path("."),
    month: Annotated[str | None, typer.Option(help="Month, e.g. 2024-03.")] = None,
    quarter: Annotated[str | None, typer.Option(help="Quarter, e.g. 2024Q1.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Output workbook (default "
                                             "review_<period>.xlsx in the workspace).")
                   ] = None,
    pdf: Annotated[bool, typer.Option("--pdf", help="Also export the review to PDF beside "
                                      "it (needs LibreOffice).")] = False,
    on: OnOpt = None,
    as_json: JsonOpt = False,
    company: Annotated[str | None, typer.Option(
        "--company", metavar="URL", help="Every team of a company ledger instead (xlsales "
                                         "company review).")] = None,
) -> None:
    """One-click monthly (or quarterly) review; keeps the manager's notes on regeneration."""
    if company is not None:
        from xlsales.cli.company import review_of_company

        return review_of_company(month, quarter, company, out, on, None, as_json, pdf=pdf)
    with _reading_ahead(workspace):
        words = _message_lang(workspace, None)  # (pandas, while the daily report loads)
        with _failing(as_json, at=workspace), \
                _status(_w(words, "pdf" if pdf else "working"), as_json):
            from xlsales.jobs import run_review

            result = run_review(workspace, month=month, quarter=quarter, out=out,
                                today=_today(on), pdf=pdf)
    if as_json:
        _emit({"ok": True, **result.as_dict()})
        return
    hint = _w(words, "hint")
    table = _table(*(_w(words, k) for k in ("dimension", "metric", "target", "actual",
                                            "completion")), hint,
                   title=_w(words, "review_title", label=result.review.label), wrap=(hint,))
    for m in result.review.metrics:
        fmt = (lambda x: show.pct(x, 1)) if m.kind == "percent" else (
            lambda x, money=m.kind == "amount": show.amount(x, money=money))
        table.add_row(escape(show.text(m.dimension)), escape(show.text(m.metric)),
                      fmt(m.target), fmt(m.actual), show.pct(m.completion),
                      escape(show.text(m.hint, "")))
    console.print(table)
    rec = result.review.reconciliation
    if rec:
        console.print(escape(rec["line"]))
    if result.review.falling:
        console.print(f"[red]{_w(words, 'falling')}[/red] "
                      f"{escape(', '.join(result.review.falling))}")
    for text in result.review.warnings:
        console.print(f"[yellow]{escape(text)}[/yellow]")
    console.print(escape(_w(words, "review_wrote", path=result.written, kept=result.kept)))
    if result.pdf:
        console.print(escape(_w(words, "wrote", path=result.pdf)))


@app.command()
def agenda(
    week: Annotated[str, typer.Option(help="ISO week of the meeting, e.g. 2024-W11.")],
    workspace: WorkspaceOpt = Path("."),
    out: Annotated[Path | None, typer.Option("--out", help="Write into this workbook "
                                             "instead of meeting_agenda.xlsx.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the week's meeting pack into meeting_agenda.xlsx (a new sheet per week)."""
    with _reading_ahead(workspace), _failing(as_json, at=workspace):
        from xlsales.jobs import run_agenda  # (pandas, while the daily report loads)

        result = run_agenda(workspace, week, out=out)
    if as_json:
        _emit({"ok": True, **result.as_dict()})
        return
    words = _message_lang(workspace, None)
    console.print(f"[bold]{escape(result.sheet)}[/bold] — " + _w(
        words, "agenda_head", at=f"{result.meeting_at:%Y-%m-%d %H:%M}",
        minutes=result.total_minutes, due=f"{result.minutes_due:%Y-%m-%d %H:%M}"))
    for d in result.data:
        console.print(f"  {escape(show.text(d['metric']))}: {escape(show.text(d['value']))}"
                      f"  [dim]{escape(show.text(d['note'], ''))}[/dim]")
    console.print(_w(words, "carried", n=len(result.carried)))
    console.print(escape(_w(words, "wrote", path=result.written)))


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
    words = _message_lang(workspace, None)
    if not written:
        console.print(_w(words, "lists_same"))
    for p in written:
        console.print(escape(_w(words, "lists_updated", path=p)))


@app.command()
def actions(
    workspace: WorkspaceOpt = Path("."),
    on: OnOpt = None,
    show_all: AllOpt = False,
    lang: MessageLangOpt = None,
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
    words = _message_lang(workspace, lang)
    item = _w(words, "item")
    table = _table(_w(words, "week"), item, *(_w(words, k) for k in ("owner", "due", "state",
                                                                      "actionable")),
                   title=_w(words, "actions_title"), wrap=(item,))
    shown, left_out = show.first_rows(items, show_all)
    for a in shown:
        state = a.state(today)
        colour = {"overdue": "red", "done": "green"}.get(state, "")
        label = _w(words, f"state_{state}") if f"state_{state}" in _W else state
        table.add_row(escape(show.text(a.week, "")), escape(show.text(a.item)),
                      escape(show.text(a.owner)), a.due.isoformat() if a.due else show.BLANK,
                      f"[{colour}]{label}[/{colour}]" if colour else label,
                      _w(words, "yes") if a.actionable else f"[yellow]{_w(words, 'no')}[/yellow]")
    console.print(table)
    _rows_note(left_out, words)


# -- the digest for the group chat (issue 16) ---------------------------------------------

_SUMMARY_ONE_KIND = Label("--day、--week、--month 只能选一个",
                          "give only one of --day, --week and --month")
_SUMMARY_SENT = Label("已发送到{kind}群机器人 {host}", "Sent to the {kind} group robot at {host}")


@app.command("summary")
def summary_cmd(
    day: Annotated[bool, typer.Option("--day", help="The day's digest (the default): who "
                                      "has not submitted, month-to-date completion …")
                   ] = False,
    week: Annotated[bool, typer.Option("--week", help="The week's digest, up to --on.")
                    ] = False,
    month: Annotated[bool, typer.Option("--month", help="The month's digest, up to --on.")
                     ] = False,
    workspace: WorkspaceOpt = Path("."),
    on: OnOpt = None,
    fmt: Annotated[Literal["markdown", "text"], typer.Option(
        "--format", help="markdown (for robots and chats that read it) or text.")
    ] = "markdown",
    post: Annotated[bool, typer.Option("--post", help="Send it to the group robot set in "
                                       "settings.xlsx (webhook_url, webhook_kind, "
                                       "webhook_secret).")] = False,
    as_json: JsonOpt = False,
) -> None:
    """A short digest for the team's group chat (DingTalk, WeCom, Teams): dailies,
    completion, TOP3, under the threshold, overdue follow-ups, stalled deals."""
    with _reading_ahead(workspace):
        _summary(day, week, month, workspace, on, fmt, post, as_json)


def _summary(day: bool, week: bool, month: bool, workspace: Path, on: str | None,
             fmt: Literal["markdown", "text"], post: bool, as_json: bool) -> None:
    from xlsales.io.webhook import KIND_NAMES
    from xlsales.jobs.summary import BAD_FORMAT, FORMATS, build_summary, post_summary

    lang = _message_lang(workspace, None)
    with _failing(as_json, at=workspace):
        kinds = [k for k, chosen in (("day", day), ("week", week), ("month", month)) if chosen]
        if len(kinds) > 1:
            raise InputError(_SUMMARY_ONE_KIND)
        if fmt not in FORMATS:
            raise InputError(BAD_FORMAT.format(fmt))
        summary = build_summary(workspace, kinds[0] if kinds else "day",  # type: ignore[arg-type]
                                on=_today(on))
        message = summary.render(fmt)
    if not as_json:
        typer.echo(message, nl=False)
    posted = None
    if post:
        with _failing(as_json, at=workspace, settings_note=False):
            posted = post_summary(summary)
    if as_json:
        _emit({"ok": True, **summary.as_dict(), "format": fmt, "message": message,
               "posted": posted.as_dict() if posted else None})
    elif posted is not None:
        sent = _SUMMARY_SENT(lang).format(kind=KIND_NAMES[posted.kind](lang), host=posted.host)
        err_console.print(f"[green]{escape(sent)}[/green]")




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
    words = {k.removeprefix("import_"): v(lang) for k, v in _W.items()
             if k.startswith("import_")}
    interactive = not as_json and sys.stdin.isatty() and sys.stdout.isatty()

    def confirm(mapping: Any) -> bool:
        if yes:
            return True
        if not interactive:
            raise InputError(_W["import_new_map"])
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
    if as_json or _QUIET["on"] or not err_console.is_terminal:
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


# -- xlsales excel: the macro-enabled workbooks ------------------------------------------------

excel_app = typer.Typer(help="The macro-enabled workbooks (.xlsm) and their VBA project.",
                        no_args_is_help=True)
app.add_typer(excel_app, name="excel")


@excel_app.command("upgrade")
def excel_upgrade(
    workspace: Annotated[Path, typer.Argument(
        help="Team workspace folder (or one .xlsm workbook).")] = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Rebuild the VBA project of .xlsm workbooks for the installed xlwings and macros.

    Run it after pip install -U xlsales. Only xl/vbaProject.bin is rewritten; a project
    holding code xlsales did not write is left alone (exit 2)."""
    from xlsales.jobs.upgrade import REFUSED, run_upgrade

    lang = _message_lang(workspace, None)
    with _failing(as_json, at=workspace, settings_note=False):
        results = run_upgrade(workspace)
    refused = [r for r in results if r.status == REFUSED]
    if as_json:
        payload: dict[str, Any] = {"ok": not refused,
                                   "workbooks": [r.as_dict(lang) for r in results]}
        if refused:
            payload["error"] = f"{refused[0].path}: {refused[0].message(lang)}"
            payload["where"] = {"file": str(refused[0].path)}
        _emit(payload)
    else:
        if not results:
            console.print(Label(f"{workspace} 里没有启用宏的工作簿（.xlsm）",
                                f"no macro-enabled workbooks (.xlsm) in {workspace}")(lang))
        colours = {"upgraded": "green", "current": "default", "skipped": "yellow",
                   "refused": "red"}
        for r in results:
            console.print(f"[{colours[r.status]}]{escape(r.path.name)}: "
                          f"{escape(r.message(lang))}[/]")
    if refused:
        raise typer.Exit(2)


def main() -> None:
    """Entry point of the ``xlsales`` script. SIGTERM (a stop from a terminal, a job
    runner or a shutdown) ends the command as Ctrl+C does, so its temporary files go."""
    import os
    import signal

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    with contextlib.suppress(ValueError, OSError):  # not the main thread, or no SIGTERM
        signal.signal(signal.SIGTERM, stop)
    # Arrow's own allocator (mimalloc) keeps what a command frees for later use; a command
    # runs once, so the freed columns only swell its peak memory (by ~40 MB reading 100k
    # daily rows). Arrow reads this when it first allocates (pyarrow is not loaded yet);
    # a value the user set wins.
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    one_malloc_arena()
    from xlsales.io import guard

    try:
        try:
            with guard.command(), _collector_for_one_command():
                app()
        except (SystemExit, KeyboardInterrupt, GeneratorExit):
            raise
        except BaseException as exc:  # a bug (also a Rust panic): exit 3, traceback in a log
            _report_bug(exc)
    except SystemExit as done:
        _leave(done.code)


M_ARENA_MAX = -8  # glibc's mallopt parameter: how many malloc arenas at most


def one_malloc_arena() -> bool:
    """One malloc arena for the whole process (glibc only; True when set).

    glibc gives each thread that allocates an arena of its own, and memory freed in one
    thread's arena serves only the allocations of the threads using it. The daily sheet
    is loaded in a second thread (:func:`xlsales.io.read.early.head_start`) and its
    columns are freed later by the main thread, whose new allocations cannot reuse
    that room: the peak grew by ~110 MB at 500k daily rows (805 MB against 695 MB with
    one arena, in the same time). A ``MALLOC_ARENA_MAX`` the user set wins."""
    import os

    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt
    except (ImportError, OSError, AttributeError):  # not glibc (musl has it too: a no-op)
        return False
    return bool(mallopt(M_ARENA_MAX, 1))


def _leave(code: object) -> NoReturn:
    """End the process once its command is over, without the interpreter's teardown.

    Freeing every module and object of pandas, Arrow, pydantic and the rest one by one
    takes ~0.2 s after a command's work is done, written and synced (every save is
    atomic and complete before the command returns). So, as Python's own exit would: the
    exit handlers run, stdout and stderr are flushed, and the exit code is the
    ``SystemExit``'s (None: 0; a text: printed, 1); then the process ends at once. When a
    thread that is not a daemon is still at work (not the idle workers that deflate
    parts), the normal exit waits for it instead."""
    import atexit
    import os
    import threading

    from xlsales.io.edit.package import DEFLATE_THREADS

    busy = [t for t in threading.enumerate() if t is not threading.main_thread()
            and not t.daemon and not t.name.startswith(DEFLATE_THREADS)]
    if busy:
        raise SystemExit(code)
    if code is None:
        code = 0
    elif not isinstance(code, int):
        with contextlib.suppress(Exception):
            print(code, file=sys.stderr)
        code = 1
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a closed pipe (as Python's exit: code 120)
            code = code or 120
    os._exit(code)


# Young objects allocated before the cyclic collector looks at them, and how many young
# and middle collections before it looks at the older generations (defaults: 700, 10, 10).
COMMAND_GC_THRESHOLD = (50_000, 20, 100)


@contextmanager
def _collector_for_one_command() -> Iterator[None]:
    """Python's cyclic garbage collector set for a process that runs one command.

    A command reads a workbook into frames and builds thousands of objects (findings,
    records, cells); with the default thresholds the collector starts every 700
    allocations and now and then walks every object alive — the imported libraries,
    the frames' and records' lists — finding next to nothing: reference counting frees
    what a command drops. About a tenth of ``validate``'s time at 100k daily rows. So
    what the imports made is frozen (never walked again) and the collector runs far less
    often; it still runs, so reference cycles do not pile up. Restored afterwards (for
    callers running commands in their own process)."""
    import gc

    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*COMMAND_GC_THRESHOLD)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


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


# Command groups kept in modules of their own (``xlsales/cli/<group>.py``) register their
# commands on ``app`` when imported here, after everything they share is defined.
from xlsales.cli import archive as _archive  # noqa: E402, F401  (xlsales archive)
from xlsales.cli import company as _company  # noqa: E402, F401  (xlsales ledger push, xlsales company …)
from xlsales.cli import ledger as _ledger  # noqa: E402, F401  (xlsales history, xlsales ledger …)
