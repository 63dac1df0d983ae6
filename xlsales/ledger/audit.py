"""Dailies edited or deleted after the day they were submitted, from the ledger's row
versions: what changed, from what to what, when the ledger first saw it, and who saved the
workbook last then (its ``lastModifiedBy``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xlsales import tables as T
from xlsales.findings import Finding, Rule
from xlsales.i18n import Label, Lang

if TYPE_CHECKING:
    import pandas as pd

    from xlsales.frames import Table

R_EDITED = Rule(id="T2.edited_after_submission", severity="warning",
                zh="{rep} {day} 的日报在提交后被修改:{changes}(台账 {seen} 首次发现{by})",
                en="the daily of {rep} for {day} was changed after it was submitted: "
                   "{changes} (first seen by the ledger {seen}{by})")
R_DELETED = Rule(id="T2.deleted_after_submission", severity="warning",
                 zh="{rep} {day} 的日报在提交后被删除(台账 {seen} 发现{by})",
                 en="the daily of {rep} for {day} was deleted after it was submitted "
                    "(found by the ledger {seen}{by})")
RULES = (R_EDITED, R_DELETED)

# Columns the manager and xlsales fill in (the spot-check): changing them is no edit.
NOT_AUDITED = frozenset({"spot_check", "check_result"})
BY = Label(",最后保存者 {who}", ", last saved by {who}")
BLANK = Label("(空)", "(blank)")
GONE = Label("已删除", "deleted")
SPOT_HINT = Label("{n} 份日报提交后被修改或删除(如 {day}:{what})",
                  "dailies edited or deleted after submission: {n} (e.g. {day}: {what})")


@dataclass
class Edit:
    """One daily row that differs from what was submitted."""

    key: str
    rep: str | None
    day: dt.date | None
    deleted: bool
    seen: dt.datetime  # naive UTC: when the ledger first saw the change
    by: str | None
    source: str | None
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)  # column, from, to


def _day(value: Any) -> dt.date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def local_day(stamp: dt.datetime) -> dt.date:
    """The local calendar day of a stored (naive UTC) time."""
    return stamp.replace(tzinfo=dt.UTC).astimezone().date()


def local_time(stamp: dt.datetime) -> str:
    return stamp.replace(tzinfo=dt.UTC).astimezone().strftime("%Y-%m-%d %H:%M")


def _audited(data: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (data or {}).items() if k not in NOT_AUDITED}


def audit(history: dict[str, list[dict[str, Any]]]) -> list[Edit]:
    """The rows whose latest version differs (in what a rep writes) from the version
    the ledger held at the end of the day the row was submitted (``submitted_at``, else
    its date; the first version seen when the ledger saw none by then)."""
    out = []
    for key, vs in history.items():
        first = vs[0]["data"] or {}
        submitted = _day(first.get("submitted_at")) or _day(first.get("date"))
        if submitted is None:
            continue
        base = 0
        for i, v in enumerate(vs):
            if not v["deleted"] and local_day(v["seen_at"]) <= submitted:
                base = i
        if base == len(vs) - 1:
            continue
        before = _audited(vs[base]["data"])
        last = vs[-1]
        rep, day = first.get("rep"), _day(first.get("date"))
        if last["deleted"]:
            gone = len(vs) - 1
            while gone > base + 1 and vs[gone - 1]["deleted"]:
                gone -= 1
            out.append(Edit(key, rep, day, True, vs[gone]["seen_at"], vs[gone]["modified_by"],
                            last["source"]))
            continue
        after = _audited(last["data"])
        changes = [(c, before.get(c), after.get(c)) for c in dict.fromkeys([*before, *after])
                   if before.get(c) != after.get(c)]
        if not changes:
            continue
        when = next(v for v in vs[base + 1:] if v["deleted"] or _audited(v["data"]) != before)
        out.append(Edit(key, rep, day, False, when["seen_at"], when["modified_by"],
                        last["source"], changes))
    return out


def shown(value: Any, lang: Lang) -> str:
    """A stored value as a person reads it."""
    if value is None or value == "":
        return BLANK(lang)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str) and len(value) >= 19 and value[10:11] == "T" \
            and _day(value) is not None:
        return value[:10] if value[11:19] == "00:00:00" else f"{value[:10]} {value[11:16]}"
    return str(value)


def describe(edit: Edit, lang: Lang) -> str:
    """The changes of an edit: ``拜访客户数 3→8;…``."""
    spec = T.get("daily")
    return ("; " if lang == "en" else ";").join(
        f"{spec.column(c).header(lang)} {shown(a, lang)}→{shown(b, lang)}"
        for c, a, b in edit.changes)


def message_params(edit: Edit, lang: Lang) -> dict[str, Any]:
    return {"rep": edit.rep or "", "day": edit.day.isoformat() if edit.day else "",
            "changes": describe(edit, lang), "seen": local_time(edit.seen),
            "by": BY(lang).format(who=edit.by) if edit.by else ""}


def findings_of(edits: list[Edit], table: Table, frame: pd.DataFrame) -> list[Finding]:
    """The edits of the rows of ``table`` (deduplicated as ``frame``) as findings: an
    edit at the cell of its first changed column, a deletion at the table."""
    from xlsales.ledger.keys import row_keys

    name = Path(table.file).name
    mine = [e for e in edits if e.source == name]
    if not mine:
        return []
    rows = dict(zip(row_keys("daily", frame), frame.index, strict=True))
    out = []
    for e in mine:
        params = message_params(e, table.lang)
        row = rows.get(e.key)
        if e.deleted or row is None:
            out.append(Finding.trusted(
                R_DELETED.id, R_DELETED.severity, R_DELETED.message(table.lang, **params),
                table.file, table.sheet, None, None, e.key, None))
            continue
        out.append(table.finding(R_EDITED, int(row), e.changes[0][0], **params))
    return out


def rep_hints(edits: list[Edit], rep: str, lang: Lang) -> list[str]:
    """A spot-check hint when ``rep`` has dailies edited or deleted after submission."""
    mine = sorted((e for e in edits if e.rep == rep), key=lambda e: e.seen, reverse=True)
    if not mine:
        return []
    e = mine[0]
    what = GONE(lang) if e.deleted else describe(e, lang)
    return [SPOT_HINT(lang).format(n=len(mine), day=e.day or "", what=what)]
