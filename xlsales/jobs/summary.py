"""The digest for the team's group chat (DingTalk, WeCom, Teams): a day's, a week's or a
month's figures in a few lines, in the workspace's language.

Every figure is the one the other commands give, computed by the same library functions
on the same tables (each workbook read once):

* daily reports — :func:`xlsales.discipline.discipline` over the day, week or month up to
  the day (``xlsales compliance``): for a day, who has not submitted and who was late;
  for a week or a month, the missing and late reports per rep;
* team completion — :func:`xlsales.performance.completion` by team, whose target is
  :func:`xlsales.performance.team_quota` (``xlsales completion --by team``), over the
  week or month up to the day; a day's digest shows the month to date;
* TOP3 and the reps under the threshold — the ranking of ``xlsales completion``
  (:mod:`xlsales.ranking`);
* overdue follow-ups — :func:`xlsales.jobs.followups.plan_followups`, overdue bucket
  (``xlsales followups``), per rep;
* stalled deals — :func:`xlsales.pipeline.stage_alerts` (``xlsales alerts``), counted per
  opportunity as the meeting pack does, the largest amounts first.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from xlsales.calendar import month_range, week_days, week_label
from xlsales.discipline import RepDiscipline, discipline
from xlsales.errors import InputError
from xlsales.i18n import Label, Lang
from xlsales.jobs.sources import load_customers, load_daily, load_targets, workspace_settings
from xlsales.performance import QUOTA_BASIS, Completion, completion
from xlsales.settings import Settings
from xlsales.words import (
    COLON,
    MONTHS_EN,
    SEMI,
    SEP,
    UNASSIGNED,
    is_whole,
    money_text,
    to_unit,
    weekday,
)
from xlsales.workspace import book_path, workspace_lang

Kind = Literal["day", "week", "month"]
KINDS: tuple[Kind, ...] = ("day", "week", "month")
FORMATS = ("markdown", "text")
NAMES_SHOWN = 8  # names listed on a line before "… and N more"
REPS_SHOWN = 5  # reps listed with their counts (overdue follow-ups, missing dailies)
DEALS_SHOWN = 3  # stalled deals listed, largest first
WARNINGS_SHOWN = 2

TITLES = {"day": Label("日报摘要", "Daily digest"), "week": Label("周报摘要", "Weekly digest"),
          "month": Label("月报摘要", "Monthly digest")}
UNIT = Label("万元", "10k CNY")
BAD_FORMAT = Label("--format 只能是 markdown 或 text,而不是 {!r}",
                   "--format must be markdown or text, not {!r}")
BAD_KIND = Label("摘要只能按天、周或月(--day、--week、--month),而不是 {!r}",
                 "a digest is of a day, a week or a month (--day, --week, --month), not {!r}")

# The words of the digest (labels and phrases), in both languages.
W = {
    "reports": Label("日报", "Daily reports"),
    "not_due": Label("今天不是工作日,无需提交", "none due (not a working day)"),
    "none_due": Label("这段时间无需提交", "none due in this period"),
    "all_in": Label("应交 {expected} 份,全部按时提交", "all {expected} in on time"),
    "day_in": Label("应交 {expected} 份,已交 {reported} 份", "{reported} of {expected} in"),
    "missing_names": Label("未交({n} 人):{names}", "missing ({n}): {names}"),
    "late_names": Label("逾期({n} 人):{names}", "late ({n}): {names}"),
    "missing_counts": Label("缺报 {n} 份({names})", "missing {n} ({names})"),
    "late_counts": Label("逾期 {n} 份({names})", "late {n} ({names})"),
    "completion": Label("团队完成率", "Team completion"),
    "rate_line": Label("{rate},成交 {actual} / 目标 {target} 万元({basis})",
                       "{rate}, signed {actual} of {target} (10k CNY, {basis})"),
    "no_target": Label("无目标,成交 {actual} 万元", "no target; signed {actual} (10k CNY)"),
    "below": Label("低于 {threshold}", "Under {threshold}"),
    "below_n": Label("低于 {threshold}({n} 人)", "Under {threshold} ({n})"),
    "nobody": Label("无", "none"),
    "followups": Label("逾期跟进", "Overdue follow-ups"),
    "followups_value": Label("{n} 条 — {names}", "{n} — {names}"),
    "stalled": Label("停滞商机", "Stalled deals"),
    "stalled_value": Label("{n} 个,合计 {amount} 万元;金额最大:",
                           "{n}, {amount} (10k CNY) in all; largest:"),
    "deal": Label("{opp} {customer}({owner},{stage} {age} 天,{amount} 万元)",
                  "{opp} {customer} ({owner}, {stage} {age} days, {amount})"),
    "more_names": Label("等 {total} 人", "and {more} more"),
    "more_deals": Label("另有 {n} 个", "{n} more"),
    "text_title": Label("【{title}】", "{title}"),
    "sep": SEP,
    "semi": SEMI,
    "colon": COLON,
    "open": Label("(", " ("),
    "close": Label(")", ")"),
}


def period_of(kind: Kind, on: dt.date) -> tuple[dt.date, dt.date, str]:
    """The day, ISO week or month ``on`` falls in: (first, last, label)."""
    if kind == "day":
        return on, on, on.isoformat()
    if kind == "week":
        label = week_label(on)
        first, last = week_days(label)
        return first, last, label
    if kind == "month":
        first, last = month_range(on.year, on.month)
        return first, last, f"{on:%Y-%m}"
    raise InputError(BAD_KIND.format(kind))


@dataclass
class Line:
    """One line of the digest: a label, its value, and sub-items (stalled deals)."""

    label: str
    value: str
    sub: list[str] = field(default_factory=list)


@dataclass
class Summary:
    """The digest's figures (:meth:`as_dict`) and its renderings (:meth:`markdown`,
    :meth:`text`)."""

    kind: Kind
    on: dt.date
    period: str
    first: dt.date
    last: dt.date
    through: dt.date
    lang: Lang
    team: str
    reports: list[RepDiscipline]
    team_completion: Completion
    rep_completion: Completion
    overdue: dict[str, int] | None = None  # per rep, most first (None: no customers book)
    stalled: list[dict[str, Any]] | None = None  # one per opportunity, largest first
    settings: Settings | None = field(default=None, repr=False)  # the robot's address …

    # -- figures -------------------------------------------------------------------------

    @property
    def team_row(self) -> Any:
        return self.team_completion.rows[0] if self.team_completion.rows else None

    def reports_dict(self) -> dict[str, Any]:
        reps = [r for r in self.reports if r.missing or r.late]
        return {"first": self.first.isoformat(), "through": self.through.isoformat(),
                "expected": sum(r.expected for r in self.reports),
                "reported": sum(r.reported for r in self.reports),
                "missing": sum(r.missing for r in self.reports),
                "late": sum(r.late for r in self.reports),
                "reps": [{"rep": r.rep, "missing": r.missing, "late": r.late,
                          "missing_days": [d.isoformat() for d in r.missing_days],
                          "late_days": [d.isoformat() for d in r.late_days]} for r in reps]}

    def completion_dict(self) -> dict[str, Any]:
        row, reps = self.team_row, self.rep_completion
        return {"first": self.team_completion.first.isoformat(),
                "through": self.team_completion.through.isoformat(),
                "team": row.key if row else self.team,
                "actual": row.actual if row else 0.0,
                "target": row.target if row else None,
                "rate": row.rate if row else None,
                "quota_basis": row.quota_basis if row else None,
                "threshold": reps.threshold, "top_label": reps.top_label,
                "top": [{"rep": r.key, "rate": r.rate} for r in reps.top],
                "below": [{"rep": r.key, "rate": r.rate} for r in reps.below],
                "warnings": self.team_completion.warnings(self.lang)
                + reps.warnings(self.lang)}

    def as_dict(self) -> dict[str, Any]:
        stalled = None
        if self.stalled is not None:
            stalled = {"count": len(self.stalled),
                       "amount": round(sum(a["amount"] or 0.0 for a in self.stalled), 6),
                       "top": self.stalled[:DEALS_SHOWN]}
        followups = None
        if self.overdue is not None:
            followups = {"overdue": sum(self.overdue.values()), "per_rep": self.overdue}
        return {"kind": self.kind, "on": self.on.isoformat(), "period": self.period,
                "first": self.first.isoformat(), "last": self.last.isoformat(),
                "through": self.through.isoformat(), "lang": self.lang, "team": self.team,
                "title": self.title(), "reports": self.reports_dict(),
                "completion": self.completion_dict(), "followups": followups,
                "stalled": stalled}

    # -- words ---------------------------------------------------------------------------

    def _w(self, key: str, **fields: Any) -> str:
        text = W[key](self.lang)
        if self.settings is not None:  # amounts in the team's currency and unit
            text = money_text(text, self.settings.general.currency,
                              self.settings.general.amount_unit)
        return text.format(**fields) if fields else text

    def _amount(self, x: float | None) -> str:
        """An amount (in 万) as the digest shows it, in the team's amount unit."""
        return _amount(x, None if self.settings is None else self.settings.general.amount_unit)

    def title(self) -> str:
        """``华东销售部 · 日报摘要 2024-03-29(周五)``."""
        zh = self.lang == "zh"
        what = TITLES[self.kind](self.lang)
        if self.kind == "day":
            day = weekday(self.on.weekday(), self.lang)
            when = f"{self.on.isoformat()}({day})" if zh else f"{day} {self.on.isoformat()}"
        elif self.kind == "week":
            when = f"{self.period}{self._w('open')}{_span(self.first, self.through, self.lang)}" \
                   f"{self._w('close')}"
        else:
            month = f"{self.on.year}年{self.on.month}月" if zh else \
                f"{MONTHS_EN[self.on.month - 1]} {self.on.year}"
            upto = (f"截至{self.through.month}月{self.through.day}日" if zh else
                    f"through {_day(self.through, 'en')}")
            when = f"{month}{self._w('open')}{upto}{self._w('close')}"
        return f"{self.team} · {what} {when}" if zh else f"{self.team} · {what}, {when}"

    def lines(self) -> list[Line]:
        """The digest's lines, in order."""
        out = [self._reports_line(), self._completion_line()]
        reps = self.rep_completion
        top = self._w("sep").join(f"{r.key} {_pct(r.rate)}" for r in reps.top)
        out.append(Line(reps.top_label, top or self._w("nobody")))
        below, threshold = reps.below, _pct(reps.threshold)
        if below:
            out.append(Line(self._w("below_n", threshold=threshold, n=len(below)),
                            self._names([f"{r.key} {_pct(r.rate)}" for r in below])))
        else:
            out.append(Line(self._w("below", threshold=threshold), self._w("nobody")))
        if self.overdue is not None:
            n = sum(self.overdue.values())
            out.append(Line(self._w("followups"), self._w(
                "followups_value", n=n, names=self._counts(self.overdue))
                if n else self._w("nobody")))
        if self.stalled is not None:
            out.append(self._stalled_line())
        return out

    def warnings(self) -> list[str]:
        return self.completion_dict()["warnings"][:WARNINGS_SHOWN]

    def _reports_line(self) -> Line:
        label = self._w("reports")
        expected = sum(r.expected for r in self.reports)
        reported = sum(r.reported for r in self.reports)
        missing = [r for r in self.reports if r.missing]
        late = [r for r in self.reports if r.late]
        if not expected:
            return Line(label, self._w("not_due" if self.kind == "day" else "none_due"))
        if not missing and not late:
            return Line(label, self._w("all_in", expected=expected))
        parts = [self._w("day_in", expected=expected, reported=reported)]
        if self.kind == "day":
            for key, reps in (("missing_names", missing), ("late_names", late)):
                if reps:
                    parts.append(self._w(key, n=len(reps),
                                         names=self._names([r.rep for r in reps])))
        else:
            for key, attr in (("missing_counts", "missing"), ("late_counts", "late")):
                counts = {r.rep: getattr(r, attr) for r in self.reports if getattr(r, attr)}
                if counts:
                    parts.append(self._w(key, n=sum(counts.values()),
                                         names=self._counts(_most_first(counts))))
        return Line(label, self._w("semi").join(parts))

    def _completion_line(self) -> Line:
        comp = self.team_completion
        span = _span(comp.first, comp.through, self.lang)
        label = f"{self._w('completion')}{self._w('open')}{span}{self._w('close')}"
        row = self.team_row
        actual = self._amount(row.actual if row else 0.0)
        if row is None or row.rate is None:
            return Line(label, self._w("no_target", actual=actual))
        return Line(label, self._w("rate_line", rate=_pct(row.rate, 1), actual=actual,
                                   target=self._amount(row.target),
                                   basis=QUOTA_BASIS[row.quota_basis](self.lang)))

    def _stalled_line(self) -> Line:
        deals = self.stalled or []
        if not deals:
            return Line(self._w("stalled"), self._w("nobody"))
        total = self._amount(sum(a["amount"] or 0.0 for a in deals))
        value = self._w("stalled_value", n=len(deals), amount=total)
        sub = [self._w("deal", opp=a["opp_id"], customer=a["customer"],
                       owner=a["owner"] or UNASSIGNED(self.lang), stage=a["stage_label"],
                       age=a["age"], amount=self._amount(a["amount"]))
               for a in deals[:DEALS_SHOWN]]
        if len(deals) > DEALS_SHOWN:
            sub.append(self._w("more_deals", n=len(deals) - DEALS_SHOWN))
        return Line(self._w("stalled"), value, sub)

    def _names(self, names: list[str], shown: int = NAMES_SHOWN) -> str:
        """``李娜、吴婷 … 等 12 人`` / ``李娜, 吴婷 … and 4 more`` (the first ``shown``)."""
        text = self._w("sep").join(names[:shown])
        if len(names) > shown:
            text += (" " if self.lang == "zh" else ", ") + self._w(
                "more_names", total=len(names), more=len(names) - shown)
        return text

    def _counts(self, counts: dict[str, int]) -> str:
        """``张伟 6、杨帆 6 … 等 12 人`` (the first few reps, most first)."""
        return self._names([f"{rep or UNASSIGNED(self.lang)} {n}"
                            for rep, n in counts.items()], REPS_SHOWN)

    # -- renderings ----------------------------------------------------------------------

    def markdown(self) -> str:
        """Markdown for a robot (DingTalk, WeCom, Teams) or a chat that reads it."""
        colon = self._w("colon")
        out = [f"### {self.title()}", ""]
        for ln in self.lines():
            out.append(f"- **{ln.label}**{colon}{ln.value}")
            out += [f"  - {s}" for s in ln.sub]
        out += [f"- ⚠ {w}" for w in self.warnings()]
        return "\n".join(out) + "\n"

    def text(self) -> str:
        """Plain text to paste into any chat."""
        colon = self._w("colon")
        out = [self._w("text_title", title=self.title())]
        for ln in self.lines():
            out.append(f"{ln.label}{colon}{ln.value}")
            out += [f"  · {s}" for s in ln.sub]
        out += [f"⚠ {w}" for w in self.warnings()]
        return "\n".join(out) + "\n"

    def render(self, fmt: str = "markdown") -> str:
        if fmt not in FORMATS:
            raise InputError(BAD_FORMAT.format(fmt))
        return self.markdown() if fmt == "markdown" else self.text()


def build_summary(root: str | os.PathLike[str], kind: Kind, *, on: dt.date) -> Summary:
    """The digest of the day, ISO week or month ``on`` falls in, up to ``on``, of the
    workspace at ``root``."""
    root = Path(root)
    if not root.is_dir():
        root = root.parent
    first, last, label = period_of(kind, on)
    c_first, c_last = (month_range(on.year, on.month) if kind == "day" else (first, last))
    settings = workspace_settings(root)
    daily = load_daily(root, today=on, settings=settings, validate=False,
                       since=min(first, c_first), until=max(last, c_last))
    settings = daily.settings  # a stand-in roster when the workspace has no settings
    lang = workspace_lang(root) or daily.lang
    targets = load_targets(root, settings)
    team = completion(daily.frame, targets, settings, c_first, c_last, by="team", today=on)
    reps = completion(daily.frame, targets, settings, c_first, c_last, by="rep", today=on)
    team.lang = reps.lang = lang
    reports = discipline(daily.frame, settings, first, last, today=on)
    overdue, stalled = _pipeline(root, settings, on, lang)
    return Summary(kind, on, label, first, last, min(last, on), lang,
                   settings.general.team_name, reports, team, reps, overdue, stalled,
                   settings)


def post_summary(summary: Summary, *, timeout: float | None = None) -> Any:
    """Send the digest (markdown) to the group robot of the team's settings
    (``webhook_url``, ``webhook_kind``, ``webhook_secret``); what the robot answered
    (:class:`xlsales.io.webhook.Posted`)."""
    from xlsales.io import webhook

    general = (summary.settings or Settings.default()).general
    return webhook.post(general.webhook_url, summary.title(), summary.markdown(),
                        kind=general.webhook_kind, secret=general.webhook_secret,
                        timeout=timeout or webhook.DEFAULT_TIMEOUT)


def _pipeline(root: Path, settings: Settings, on: dt.date,
              lang: Lang) -> tuple[dict[str, int] | None, list[dict[str, Any]] | None]:
    """Overdue follow-ups per rep and the stalled deals (None for a workspace without a
    customers workbook)."""
    from xlsales.jobs.followups import plan_followups
    from xlsales.pipeline import stage_alerts

    path = book_path(root, "customers")
    if not path.exists():
        return None, None
    ws = load_customers(path, ("customers", "follow_ups", "opportunities", "stage_history"),
                        settings=settings)
    report = plan_followups(ws, path, on)
    counts: dict[str, int] = {}
    for due in report.buckets()["overdue"]:
        counts[due.owner] = counts.get(due.owner, 0) + 1
    alerts = stage_alerts(ws.records("opportunities"), ws.records("stage_history"),
                          ws.records("follow_ups"), settings, on)
    deals: dict[str, dict[str, Any]] = {}
    rules: dict[str, list[str]] = {}
    for a in alerts:
        seen = deals.get(a.opp_id)
        if seen is None or a.age > seen["age"]:
            deals[a.opp_id] = {**a.as_dict(),
                               "stage_label": settings.display("stages", a.stage, lang)}
        rules.setdefault(a.opp_id, []).append(a.rule)
    for opp, deal in deals.items():
        deal["rules"] = rules[opp]
    stalled = sorted(deals.values(), key=lambda d: (-(d["amount"] or 0.0), -d["age"],
                                                     d["opp_id"]))
    return _most_first(counts), stalled


def _most_first(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _pct(x: float | None, digits: int = 0) -> str:
    return "—" if x is None else f"{x:,.{digits}%}"


def _amount(x: float | None, unit: object = None) -> str:
    """``1,234.5``: thousands separators, one decimal (万元); in whole units (the
    ``amount_unit`` ``unit``) × 10,000 without decimals: ``12,345,000``."""
    if x is None:
        return "—"
    return f"{to_unit(x, unit):,.0f}" if is_whole(unit) else f"{x:,.1f}"


def _day(day: dt.date, lang: Lang) -> str:
    return f"{day.month}月{day.day}日" if lang == "zh" else \
        f"{MONTHS_EN[day.month - 1][:3]} {day.day}"


def _span(first: dt.date, last: dt.date, lang: Lang) -> str:
    """``3月1日–29日`` / ``Mar 1–29``; one day alone when they are the same."""
    if first == last:
        return _day(first, lang)
    if first.month == last.month and first.year == last.year:
        tail = f"{last.day}日" if lang == "zh" else str(last.day)
        return f"{_day(first, lang)}–{tail}"
    return f"{_day(first, lang)}–{_day(last, lang)}"
