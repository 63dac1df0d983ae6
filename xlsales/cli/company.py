"""Many teams on one company PostgreSQL (:mod:`xlsales.ledger.company`):
``xlsales ledger setup-company``, ``xlsales ledger push``, ``xlsales company completion``
(also ``xlsales completion --by team --company URL``) and ``xlsales company review``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from xlsales import display as show
from xlsales.cli import (
    JsonOpt,
    MessageLangOpt,
    OnOpt,
    _emit,
    _failing,
    _message_lang,
    _table,
    _today,
    _w,
    app,
    console,
    print_completion,
)
from xlsales.cli.ledger import WsOpt, ledger_app
from xlsales.errors import InputError
from xlsales.i18n import Label, Lang, system_lang
from xlsales.words import SEP

company_app = typer.Typer(help="Every team of a company ledger together (PostgreSQL).",
                          no_args_is_help=True)
app.add_typer(company_app, name="company")

CompanyOpt = Annotated[str | None, typer.Option(
    "--company", metavar="URL", help="The company ledger (default: XLSALES_COMPANY_URL); "
                                     "the role in it decides which teams are seen.")]

_L: dict[str, Label] = {
    "pushed": Label("团队 {team}:向公司台账 {to} 发送了 {versions} 个行版本,{rows} 行的当前状态前移"
                    "{settings}",
                    "team {team}: sent {versions} row versions to the company ledger {to}, "
                    "{rows} rows moved forward{settings}"),
    "with_settings": Label(",并更新了团队设置", ", and the team's settings"),
    "nothing": Label("团队 {team}:公司台账 {to} 已是最新,没有要发送的", "team {team}: the company "
                     "ledger {to} is up to date, nothing to send"),
    "set_up": Label("公司台账 {url} 已设置:{n} 个团队,主管角色 {director}",
                    "company ledger {url} set up: {n} teams, director role {director}"),
    "team_role": Label("  团队 {team} → 角色 {role}", "  team {team} → role {role}"),
    "created": Label("  新建角色 {role},密码 {password}(只显示这一次,请妥善交给使用者)",
                     "  created role {role}, password {password} (shown this once: hand it "
                     "over safely)"),
    "bad_pair": Label("{option} 要写成 {form}:{value!r}", "{option} must be {form}: {value!r}"),
    "bad_secret": Label("{option} 要写成 {form}(给的值含密码,不显示)",
                        "{option} must be {form} (the value given may hold a password: not "
                        "shown)"),
    "no_teams": Label("公司台账 {url} 里没有这个角色能看到的团队",
                      "the company ledger {url} holds no team this role may see"),
    "review": Label("公司复盘 {label}(各团队)", "Company review {label} (by team)"),
    "by_team": Label("--company 只能与 --by team 一起用:公司台账按团队比较",
                     "--company goes with --by team: the company ledger compares teams"),
    "no_pdf": Label("--pdf 不能与 --company 一起用", "--pdf does not go with --company"),
    "wrote": Label("已写入 {path}", "Wrote {path}"),
    "no_settings": Label("团队 {teams} 没有推送过设置:按默认设置(名单取目标表的负责人)计算",
                         "teams {teams} never pushed their settings: computed with the "
                         "default settings (the roster from the targets' owners)"),
}


def _pairs(values: list[str], option: str, form: str, *,
           secret: bool = False) -> dict[str, str]:
    """NAME=VALUE pairs; an error shows the value given unless it is ``secret``."""
    out: dict[str, str] = {}
    for value in values:
        name, sep, role = value.partition("=")
        if not sep or not name.strip() or not role.strip():
            text = _L["bad_secret" if secret else "bad_pair"]
            raise InputError(Label(text.zh.format(option=option, form=form, value=value),
                                   text.en.format(option=option, form=form, value=value)))
        out[name.strip()] = role.strip()
    return out


@ledger_app.command("push")
def push(
    to: Annotated[str | None, typer.Option(
        "--to", metavar="URL", help="The company ledger, postgresql://ROLE@HOST/DB (default: "
                                    "the environment variable XLSALES_COMPANY_URL).")] = None,
    workspace: WsOpt = Path("."),
    as_json: JsonOpt = False,
) -> None:
    """Send the team's ledger rows the company ledger does not hold yet (with the team's
    own database role)."""
    from xlsales.ledger.company import company_url, push_workspace
    from xlsales.ledger.store import shown_url

    lang = _message_lang(workspace, None)
    with _failing(as_json, at=workspace):
        where = shown_url(company_url(to))
        done = push_workspace(workspace, to)
    if as_json:
        _emit({"ok": True, **done.as_dict()})
        return
    if not done.versions and not done.rows and not done.settings:
        console.print(escape(_L["nothing"](lang).format(team=done.team, to=where)))
        return
    console.print(escape(_L["pushed"](lang).format(
        team=done.team, to=where, versions=show.count(done.versions),
        rows=show.count(done.rows),
        settings=_L["with_settings"](lang) if done.settings else "")))


@ledger_app.command("setup-company")
def setup_company(
    admin_url: Annotated[str, typer.Argument(help="The company database as its owner, "
                                             "postgresql://OWNER@HOST/DB.")],
    team: Annotated[list[str], typer.Option("--team", help="TEAM=ROLE: the team's name (its "
                                            "settings' team name) and its database role; "
                                            "repeat for each team.")],
    director: Annotated[str, typer.Option("--director", help="The role that reads every "
                                          "team and writes none.")],
    password: Annotated[list[str] | None, typer.Option(
        "--password", help="ROLE=PASSWORD for a role (default: generated for new roles).")
                        ] = None,
    lang: MessageLangOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Set up (again: idempotent) a company ledger: roles, grants, row-level security."""
    from xlsales.ledger.company import setup_company as run
    from xlsales.ledger.store import shown_url

    words: Lang = lang or system_lang()  # type: ignore[assignment]
    with _failing(as_json, lang=words):
        teams = _pairs(team, "--team", "NAME=ROLE")
        done = run(admin_url, teams, director,
                   passwords=_pairs(password or [], "--password", "ROLE=PASSWORD",
                                    secret=True))
    if as_json:
        _emit({"ok": True, **done.as_dict(), "passwords": done.created})
        return
    console.print(escape(_L["set_up"](words).format(url=shown_url(admin_url), n=len(teams),
                                                    director=director)))
    for role, name in done.teams.items():
        console.print(escape(_L["team_role"](words).format(team=name, role=role)))
    for role, secret in done.created.items():
        console.print(escape(_L["created"](words).format(role=role, password=secret)))


@company_app.command("completion")
def company_completion(
    period: Annotated[str, typer.Option(help="2024-W10, 2024-03, 2024Q1 or 2024.")],
    company: CompanyOpt = None,
    on: OnOpt = None,
    lang: MessageLangOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Target completion by team across the company ledger (each team's own figures)."""
    by_team_of_company(period, company, "team", on, lang, as_json)


def by_team_of_company(period: str, company: str | None, by: str, on: str | None,
                       lang: Lang | None, as_json: bool) -> None:
    """``completion --by team --company URL`` and ``company completion``."""
    from xlsales.calendar import parse_period
    from xlsales.ledger.company import company_completion as run
    from xlsales.ledger.company import company_url, read_company

    with _failing(as_json, lang=lang or system_lang()):
        if by != "team":
            raise InputError(_L["by_team"])
        url = company_url(company)
        first, last, _ = parse_period(period)
        data = read_company(url)
        result = run(data, first, last, today=_today(on))
    words: Lang = lang or result.lang
    defaulted = [t for t, d in data.teams.items() if not d.pushed_settings]
    if as_json:
        _emit({"ok": True, "company": data.url, "teams": list(data.teams),
               "default_settings": defaulted, **result.as_dict()})
        return
    if not data.teams:
        console.print(escape(_L["no_teams"](words).format(url=data.url)))
        return
    print_completion(result, "team", words)
    if defaulted:
        note = _L["no_settings"](words).format(teams=SEP(words).join(defaulted))
        console.print(f"[yellow]{escape(note)}[/yellow]")


@company_app.command("review")
def company_review(
    month: Annotated[str | None, typer.Option(help="Month, e.g. 2024-03.")] = None,
    quarter: Annotated[str | None, typer.Option(help="Quarter, e.g. 2024Q1.")] = None,
    company: CompanyOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="Output workbook (default "
                                             "company_review_<period>.xlsx here).")] = None,
    on: OnOpt = None,
    lang: MessageLangOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The company's review: every team's figures side by side, ranked, in a workbook."""
    review_of_company(month, quarter, company, out, on, lang, as_json)


def review_of_company(month: str | None, quarter: str | None, company: str | None,
                      out: Path | None, on: str | None, lang: Lang | None, as_json: bool,
                      *, pdf: bool = False) -> None:
    """``company review`` and ``review --company URL``."""
    from xlsales.calendar import parse_period, period_label
    from xlsales.ledger.company import company_review as run
    from xlsales.ledger.company import company_url, read_company, write_company_review

    words: Lang = lang or system_lang()  # type: ignore[assignment]
    with _failing(as_json, lang=words):
        if bool(month) == bool(quarter):
            raise InputError(Label("请给出 --month 2024-03 或 --quarter 2024Q1 其中之一",
                                   "give one of --month 2024-03 or --quarter 2024Q1"))
        if pdf:
            raise InputError(_L["no_pdf"])
        label = period_label(month or quarter or "")
        first, last, _ = parse_period(label)
        data = read_company(company_url(company))
        if lang is None and data.teams:  # the teams' language, like company completion
            words = next(iter(data.teams.values())).settings.general.language
        result = run(data, first, last, label, lang=words, today=_today(on))
        written = write_company_review(result, out or Path(f"company_review_{label}.xlsx"),
                                       lang=words)
    if as_json:
        _emit({"ok": True, "company": data.url, "written": str(written), **result.as_dict()})
        return
    if not data.teams:
        console.print(escape(_L["no_teams"](words).format(url=data.url)))
    table = _table(_w(words, "rank"), _w(words, "team"), _w(words, "signed"),
                   _w(words, "target"), _w(words, "completion"),
                   title=escape(_L["review"](words).format(label=label)))
    for r in result.rows:
        flag = " [red]▼[/red]" if r["below"] else (
            " [yellow]⚠[/yellow]" if r["implausible"] else "")
        table.add_row(show.text(r["rank"] or None), escape(show.text(r["name"])),
                      show.number(r["sales"]),
                      _w(words, "no_target") if r["quota"] is None else show.amount(r["quota"]),
                      show.pct(r["completion"]) + flag)
    console.print(table)
    console.print(escape(_L["wrote"](words).format(path=written)))
