"""What an import would do: every row of the file new, updated, unchanged, rejected (with
its reason) or held back as a possible 撞单, a column at a time.

A file row matches a row of the workbook by the table's id column when both have one
(the source's own id is kept there), else by its natural key: the company (normalised
name, :func:`~xlsales.normalize.company_key`) for customers and leads, the company and
the opportunity's name for opportunities, date and rep for daily reports, and so on. A
matched row is updated with the file's non-blank values that differ; what the file leaves
blank keeps the workbook's value. A customer, lead or opportunity that matches another
rep's row by name (or the same name with another phone number) is not imported: it is
reported with the evidence, for the manager to decide.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from xlsales.errors import WorkbookError
from xlsales.frames import Table
from xlsales.i18n import Label, Lang
from xlsales.importing.mapping import LEFT_OUT, MAP_FILE, PSEUDO, Mapping
from xlsales.importing.values import convert
from xlsales.io.read.source import SourceFile
from xlsales.normalize import company_key, name_key, phone_key
from xlsales.settings import Settings
from xlsales.tables.base import Kind
from xlsales.words import SEP

ID_COLUMN = {"customers": "customer_id", "leads": "lead_id", "opportunities": "opp_id"}
ID_PREFIX = {"customers": "C", "leads": "L", "opportunities": "O"}
OWNER_COLUMN = {"customers": "owner", "leads": "assignee", "opportunities": "owner",
                "stage_history": "owner", "follow_ups": "owner", "targets": "owner",
                "daily": "rep"}
# Columns a row cannot do without (the id is made up when the file has none).
NEEDED = {"customers": ("name",), "leads": ("company",), "opportunities": ("customer", "stage"),
          "stage_history": ("to_stage", "date"), "follow_ups": ("date", "customer"),
          "targets": ("quarter", "owner"), "daily": ("date", "rep")}
MUST_MAP = ("reps", "stages")  # lists whose unknown values keep a row out
STAGE_OVERRIDE = "stage_override"  # a pseudo column: won/lost told apart from the stage
IMPORTED = Label("导入", "imported")

_MISSING = Label("缺少{what}", "no {what}")
_UNKNOWN = Label("{what}{value!r}没有对应(在 import_map.toml 中填写)",
                 "{what} {value!r} is not mapped (fill it in in import_map.toml)")
_NO_COLUMN = Label("文件里没有{what}列(在 import_map.toml 中指定对应的列)",
                   "the file has no column for {what} (name one in import_map.toml)")
_CURRENCY = Label("金额的币种是 {code}:请在 {map} 中填写 currency_rate(1 {code} 合多少元)",
                  "the amount is in {code}: set currency_rate (yuan per {code}) in {map}")
_AGAIN = Label("与文件第 {line} 行重复", "the same as line {line} of the file")
_OTHER_OWNER = Label("{owner} 已有同名{what}(第 {row} 行,负责人 {theirs})",
                     "{owner}: {theirs} already has this {what} (row {row})")
_OTHER_PHONE = Label("同名{what}但电话不同(第 {row} 行:{theirs} ≠ {mine})",
                     "a {what} of the same name with another phone (row {row}: {theirs} ≠ "
                     "{mine})")
_WHAT = {"customers": Label("客户", "customer"), "leads": Label("线索", "lead"),
         "opportunities": Label("商机", "opportunity")}


@dataclass
class Rejected:
    """A file row kept out, and why."""

    line: int
    reason: str
    column: str | None = None
    value: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "reason": self.reason, "column": self.column,
                "value": self.value}


@dataclass
class Clash:
    """A file row that looks like another rep's customer, lead or opportunity (撞单)."""

    line: int
    name: str
    owner: str | None
    row: int
    theirs: str | None
    evidence: str

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "name": self.name, "owner": self.owner, "row": self.row,
                "their_owner": self.theirs, "evidence": self.evidence}


@dataclass
class TablePlan:
    """What the import does to one table."""

    table: str
    new: list[dict[str, Any]] = field(default_factory=list)
    new_lines: list[int] = field(default_factory=list)
    updates: dict[int, dict[str, Any]] = field(default_factory=dict)  # Excel row → changes
    update_lines: dict[int, int] = field(default_factory=dict)  # Excel row → file line
    unchanged: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    clashes: list[Clash] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        return bool(self.new or self.updates)

    def counts(self) -> dict[str, int]:
        return {"new": len(self.new), "updated": len(self.updates),
                "unchanged": self.unchanged, "rejected": len(self.rejected),
                "clashes": len(self.clashes)}


@dataclass
class ImportPlan:
    """Everything an import of one file would do."""

    source: SourceFile
    mapping: Mapping
    tables: dict[str, TablePlan]
    unknown: dict[str, Counter[str]] = field(default_factory=dict)  # key → values → rows
    off_list: dict[str, Counter[str]] = field(default_factory=dict)
    blank_needed: dict[str, int] = field(default_factory=dict)  # required key → blank rows

    @property
    def main(self) -> TablePlan:
        return self.tables[self.mapping.table]

    @property
    def changes(self) -> bool:
        return any(t.changes for t in self.tables.values())


def build_plan(source: SourceFile, mapping: Mapping, existing: dict[str, Table | None],
               settings: Settings, *, today: dt.date, lang: Lang) -> ImportPlan:
    """The plan of importing ``source`` through ``mapping`` into the ``existing`` tables
    (``existing[key]`` None: the table is not in the workbook yet)."""
    table = mapping.table
    spec = mapping.spec
    plan = ImportPlan(source, mapping, {table: TablePlan(table)})
    main = plan.main
    n = len(source.frame)
    lines = pd.Series([source.row_number(i) for i in range(n)], dtype="int64")
    rows = pd.DataFrame(index=range(n))
    reasons: dict[int, Rejected] = {}
    raw, headers = _raw_columns(source, mapping)
    for key, column in raw.items():
        if key in PSEUDO:
            rows[key] = column
            continue
        col = spec.column(key)
        done = convert(column, col.kind, unit=mapping.units.get(key, mapping.amount_unit),
                       order=mapping.date_order)
        values = done.values
        if col.canonical is not None and values.notna().any():
            values = col.canonical(values.astype("string")).astype(object)
            values = values.where(values.notna(), None)
        rows[key] = values
        for pos, why in done.bad.items():
            reasons.setdefault(pos, Rejected(int(lines[pos]), why(lang), headers[key],
                                             column[pos]))
    _money(plan, rows, headers, lang, reasons)
    _contact(rows)
    _choices(plan, rows, headers, settings, lang, reasons)
    guessed = _fill(mapping, rows, settings)
    _names(table, rows)
    missing = [k for k in NEEDED[table] if k not in rows]
    if missing:
        what = SEP(lang).join(spec.column(k).header(lang) for k in missing)
        raise WorkbookError(_NO_COLUMN.format(what=what), file=str(source.path))
    for key in NEEDED[table]:
        blank = rows[key].isna()
        plan.blank_needed[key] = int(blank.sum())
        for pos in blank[blank].index:
            what = headers.get(key, spec.column(key).header(lang))
            reasons.setdefault(pos, Rejected(int(lines[pos]), _MISSING.format(what=what)(lang),
                                             headers.get(key)))
    bad = pd.Series(rows.index.isin(list(reasons)), index=rows.index)
    main.rejected = sorted(reasons.values(), key=lambda r: r.line)
    good = rows[~bad]
    _match(plan, good, lines[~bad], existing.get(table), settings, today=today, lang=lang,
           guessed=guessed[~bad])
    if table == "opportunities":
        _history(plan, existing.get(table), existing.get("stage_history"), today, lang)
    return plan


def _raw_columns(source: SourceFile, mapping: Mapping
                 ) -> tuple[dict[str, pd.Series], dict[str, str]]:
    """Each mapped key's text column (several headers on one key: a row takes the first
    that is not blank) and the header it is shown under; the mapping's defaults fill what
    the file leaves blank."""
    position = {h: i for i, h in enumerate(source.headers)}
    out: dict[str, pd.Series] = {}
    shown: dict[str, str] = {}
    for key, names in mapping.headers_of().items():
        present = [h for h in names if h in position]
        if not present:
            continue
        column = source.frame[position[present[0]]]
        for h in present[1:]:
            other = source.frame[position[h]]
            column = column.where(column.notna(), other)
        out[key], shown[key] = column, " / ".join(present)
    n = len(source.frame)
    for key, value in mapping.defaults.items():
        if key in out:
            out[key] = out[key].where(out[key].notna(), value)
        else:
            out[key] = pd.Series([value] * n, index=source.frame.index, dtype=object)
            shown[key] = key
    return out, shown


_DOMESTIC = {"", "CNY", "RMB", "人民币", "¥", "￥", "元"}


def _money(plan: ImportPlan, rows: pd.DataFrame, headers: dict[str, str], lang: Lang,
           reasons: dict[int, Rejected]) -> None:
    """Amounts of another currency converted at the map's ``currency_rate``; without a
    rate, their rows stay out (a dollar is not a yuan)."""
    mapping = plan.mapping
    amounts = [k for k in rows.columns if k not in PSEUDO
               and mapping.spec.column(k).kind is Kind.AMOUNT]
    if "currency" not in rows:
        if mapping.currency_rate != 1.0:
            for k in amounts:
                rows[k] = rows[k].map(lambda v: None if v is None else v * mapping.currency_rate)
        return
    code = rows.pop("currency").map(lambda v: "" if v is None else str(v).strip().upper())
    foreign = ~code.isin(_DOMESTIC)
    if not foreign.any():
        return
    if mapping.currency_rate == 1.0:
        for pos in foreign[foreign].index:
            reasons.setdefault(pos, Rejected(
                plan.source.row_number(int(pos)),
                _CURRENCY.format(code=code[pos], map=MAP_FILE)(lang),
                headers.get("currency"), code[pos]))
        return
    for k in amounts:
        rows[k] = rows[k].where(~foreign, rows[k].map(
            lambda v: None if v is None else v * mapping.currency_rate))


def _contact(rows: pd.DataFrame) -> None:
    """A contact from first and last names: ``Jane Smith``; ``王伟`` when Chinese."""
    first = rows.pop("first_name") if "first_name" in rows else None
    last = rows.pop("last_name") if "last_name" in rows else None
    if first is None and last is None:
        return
    blank = pd.Series([None] * len(rows), index=rows.index, dtype=object)
    first = blank if first is None else first
    last = blank if last is None else last

    def name(a: Any, b: Any) -> str | None:
        a, b = (a or "").strip(), (b or "").strip()
        if not a or not b:
            return a or b or None
        cjk = re.search(r"[\u3400-\u9fff]", a + b) is not None
        return f"{b}{a}" if cjk else f"{a} {b}"

    made = pd.Series([name(a, b) for a, b in zip(first, last, strict=True)], index=rows.index,
                     dtype=object)
    if "contact" in rows:
        rows["contact"] = rows["contact"].where(rows["contact"].notna(), made)
    else:
        rows["contact"] = made


def _fill(mapping: Mapping, rows: pd.DataFrame, settings: Settings) -> pd.Series:
    """Blank cells from other cells of the row, as the profile says (a deal's close date
    only for won and lost deals); the rows whose stage date is only their creation date
    (a guess for a new row: it tells nothing of when a known deal's stage moved)."""
    guessed = pd.Series(False, index=rows.index, dtype=bool)
    if not mapping.fill:
        return guessed
    spec = mapping.spec
    closed = None
    if "stage" in rows:
        lookups = settings.lookups()
        closed = rows["stage"].map(lambda s: s is not None and getattr(
            lookups.stage(s), "kind", None) in ("won", "lost"))
    for key, sources in mapping.fill.items():
        target = rows[key] if key in rows else \
            pd.Series([None] * len(rows), index=rows.index, dtype=object)
        kind = spec.column(key).kind
        for src in sources:
            if src not in rows:
                continue
            other = rows[src]
            if kind is Kind.DATE:
                other = other.map(lambda v: v.date() if isinstance(v, dt.datetime) else v)
            elif kind in (Kind.TEXT, Kind.LONG_TEXT):
                other = other.map(lambda v: None if v is None else str(v))
            if key == "closed_on" and closed is not None:
                other = other.where(closed, None)
            if key == "stage_entered" and src == "created_on":
                guessed |= target.isna() & other.notna()
            target = target.where(target.notna(), other)
        rows[key] = target.astype(object).where(target.notna(), None)
    return guessed


def _choices(plan: ImportPlan, rows: pd.DataFrame, headers: dict[str, str],
             settings: Settings, lang: Lang, reasons: dict[int, Rejected]) -> None:
    """List values in the team's canonical form: the map first, then the settings' lists."""
    spec, mapping = plan.mapping.spec, plan.mapping
    lookups = settings.lookups()
    for key in [k for k in rows.columns if k != STAGE_OVERRIDE]:
        col = spec.column(key)
        if not col.choices:
            continue
        given = mapping.values.get(key, {})
        folded = {name_key(k): v for k, v in given.items()}
        codes, uniques = pd.factorize(rows[key].astype(object), use_na_sentinel=True)
        out: list[Any] = []
        unknown: set[int] = set()
        for i, value in enumerate(uniques):
            text = str(value)
            target = given.get(text, folded.get(name_key(text)))
            if target == LEFT_OUT:
                target = None
            canon = lookups.canonical(col.choices, target if target else text)
            if canon is None and col.choices in MUST_MAP:
                unknown.add(i)
                out.append(None)
            elif canon is None:
                plan.off_list.setdefault(key, Counter())[text] += int((codes == i).sum())
                out.append(target or text)
            else:
                out.append(canon)
        rows[key] = pd.Series([None if c < 0 else out[c] for c in codes], index=rows.index,
                              dtype=object)
        for i in unknown:
            where = (codes == i).nonzero()[0]
            plan.unknown.setdefault(key, Counter())[str(uniques[i])] += len(where)
            what = headers.get(key, col.header(lang))
            for pos in where:
                reasons.setdefault(int(pos), Rejected(
                    plan.source.row_number(int(pos)),
                    _UNKNOWN.format(what=what, value=str(uniques[i]))(lang), what, str(uniques[i])))
    if STAGE_OVERRIDE in rows:  # won/lost told by a status column
        given = mapping.values.get(STAGE_OVERRIDE, {})
        folded = {name_key(k): v for k, v in given.items()}
        over = []
        for v in rows.pop(STAGE_OVERRIDE):
            target = folded.get(name_key(str(v))) if isinstance(v, str) else None
            over.append(lookups.canonical("stages", target) if target else None)
        told = pd.Series(over, index=rows.index, dtype=object)
        if "closed_on" in rows:  # a record won or lost by its status entered that stage
            closed = told.notna() & rows["closed_on"].notna()  # when it closed
            if closed.any():
                entered = rows["stage_entered"] if "stage_entered" in rows else \
                    pd.Series([None] * len(rows), index=rows.index, dtype=object)
                rows["stage_entered"] = entered.where(~closed, rows["closed_on"])
        if "stage" in rows:
            rows["stage"] = told.where(told.notna(), rows["stage"])
        else:
            rows["stage"] = told


def _names(table: str, rows: pd.DataFrame) -> None:
    """An opportunity the file gives no name is named after its customer (the name is
    part of how it is recognised next time)."""
    if table != "opportunities" or "customer" not in rows:
        return
    if "name" not in rows:
        rows["name"] = rows["customer"]
    else:
        rows["name"] = rows["name"].where(rows["name"].notna(), rows["customer"])


def _fill_new(table: str, new: list[dict[str, Any]], settings: Settings) -> None:
    """Cells a new row leaves blank that its other cells tell: an opportunity entered its
    stage when it was created, and a won or lost one closed on its close date."""
    if table != "opportunities":
        return
    lookups = settings.lookups()
    for r in new:
        if r.get("stage_entered") is None and r.get("created_on") is not None:
            r["stage_entered"] = r["created_on"]
        stage = lookups.stage(r["stage"]) if r.get("stage") else None
        if stage is not None and stage.kind in ("won", "lost"):
            if r.get("closed_on") is None and r.get("expected_close") is not None:
                r["closed_on"] = r["expected_close"]
            if r.get("expected_close") is None and r.get("closed_on") is not None:
                r["expected_close"] = r["closed_on"]


# -- matching -----------------------------------------------------------------------------

def natural_key(table: str, df: pd.DataFrame) -> pd.Series:
    """The key a row is recognised by when ids do not tell (None: cannot tell)."""
    def col(key: str) -> pd.Series:
        if key not in df:
            return pd.Series(None, index=df.index, dtype=object)
        return df[key].astype(object).where(df[key].notna(), None)

    def text(s: pd.Series, fn: Any) -> pd.Series:
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        mapped = [fn(u) for u in uniques]
        return pd.Series([None if c < 0 else mapped[c] for c in codes], index=s.index,
                         dtype=object)

    def day(s: pd.Series) -> pd.Series:
        return text(s, lambda v: v.isoformat()[:10] if hasattr(v, "isoformat") else str(v))

    def join(*parts: pd.Series) -> pd.Series:
        frame = pd.concat(parts, axis=1)
        ok = frame.iloc[:, 0].notna()
        out = frame.fillna("").astype(str).agg("|".join, axis=1)
        return out.where(ok, None)

    if table == "customers":
        return text(col("name"), company_key)
    if table == "leads":
        return join(text(col("company"), company_key), text(col("contact"), name_key))
    if table == "opportunities":
        return join(text(col("customer"), company_key), text(col("name"), name_key))
    if table == "follow_ups":
        return join(day(col("date")), text(col("customer"), company_key), col("kind"),
                    text(col("content"), lambda v: name_key(v)[:60]))
    if table == "stage_history":
        who = col("opp_id").where(col("opp_id").notna(), text(col("customer"), company_key))
        return join(who, col("to_stage"), day(col("date")))
    if table == "targets":
        return join(col("quarter").map(lambda v: None if v is None else str(v).upper()),
                    col("owner"), col("region"), col("product_line"))
    return join(day(col("date")), col("rep"))  # daily


def _existing_frame(table: Table | None) -> pd.DataFrame:
    if table is None:
        return pd.DataFrame()
    df = table.df
    return df[df.notna().any(axis=1)] if len(df.columns) else df


def _match(plan: ImportPlan, rows: pd.DataFrame, lines: pd.Series, existing: Table | None,
           settings: Settings, *, today: dt.date, lang: Lang,
           guessed: pd.Series | None = None) -> None:
    table = plan.mapping.table
    main = plan.main
    spec = plan.mapping.spec
    old = _existing_frame(existing)
    idcol = ID_COLUMN.get(table)
    keys = natural_key(table, rows)
    old_keys = natural_key(table, old) if len(old) else pd.Series(dtype=object)
    by_key: dict[str, list[int]] = {}
    for row, k in old_keys.items():
        if k is not None:
            by_key.setdefault(k, []).append(int(row))
    kinds = {k: spec.column(k).kind for k in rows.columns if k in old}
    taken: set[int] = set()
    by_id: dict[str, int] = {}
    if idcol and idcol in old:
        for row, v in old[idcol].items():
            if isinstance(v, str) and v.strip():
                by_id.setdefault(v.strip().casefold(), int(row))
    seen: dict[str, int] = {}
    matched: dict[int, int] = {}  # file position → Excel row
    new_pos: list[int] = []
    owner_key = OWNER_COLUMN[table]
    for pos in rows.index:
        line = int(lines[pos])
        ident = rows.at[pos, idcol] if idcol and idcol in rows else None
        k = keys[pos]
        mark = f"id:{str(ident).strip().casefold()}" if ident else \
            None if k is None else f"key:{k}"
        if mark is not None and mark in seen:
            main.rejected.append(Rejected(line, _AGAIN.format(line=seen[mark])(lang)))
            continue
        if mark is not None:
            seen[mark] = line
        row = by_id.get(str(ident).strip().casefold()) if ident else None
        if row is None and k is not None and k in by_key:
            row = _best(rows.loc[pos], by_key[k], old, kinds, taken)
            if row is not None and table in _WHAT:
                clash = _clash(plan, rows, pos, old, row, owner_key, line, lang)
                if clash is not None:
                    main.clashes.append(clash)
                    continue
        if row is None:
            main.new_lines.append(line)
            new_pos.append(pos)
            continue
        matched[pos] = row
        taken.add(row)
    main.rejected.sort(key=lambda r: r.line)
    main.new = _records(rows.loc[new_pos], spec)
    _fill_new(table, main.new, settings)
    if idcol:
        _number(main.new, old, idcol, ID_PREFIX[table])
    if matched:
        _updates(main, rows, lines, old, matched, spec,
                 today if table == "opportunities" else None, guessed)


def _best(mine: pd.Series, candidates: list[int], old: pd.DataFrame,
          kinds: dict[str, Kind], taken: set[int]) -> int | None:
    """Of the workbook rows with a file row's key, the one most like it (one file row per
    workbook row)."""
    free = [c for c in candidates if c not in taken]
    if len(free) <= 1:
        return free[0] if free else None
    def alike(row: int) -> int:
        return sum(1 for k, kind in kinds.items()
                   if not _blank(mine[k]) and _same(kind, mine[k], old.at[row, k]))
    return max(free, key=alike)


def _clash(plan: ImportPlan, rows: pd.DataFrame, pos: int, old: pd.DataFrame, row: int,
           owner_key: str, line: int, lang: Lang) -> Clash | None:
    """A name match that is not the same thing: another rep's, or another phone."""
    table = plan.mapping.table
    what = _WHAT[table](lang)
    name_col = {"customers": "name", "leads": "company", "opportunities": "customer"}[table]
    mine = rows.at[pos, owner_key] if owner_key in rows else None
    theirs = old.at[row, owner_key] if owner_key in old else None
    theirs = theirs if isinstance(theirs, str) else None
    name = str(rows.at[pos, name_col]) if name_col in rows else ""
    if mine and theirs and mine != theirs:
        return Clash(line, name, mine, row, theirs,
                     _OTHER_OWNER.format(owner=mine, what=what, row=row, theirs=theirs)(lang))
    if "phone" in rows and "phone" in old:
        a, b = phone_key(rows.at[pos, "phone"]), phone_key(old.at[row, "phone"])
        same_code = "credit_code" in rows and "credit_code" in old and \
            _text(rows.at[pos, "credit_code"]) and \
            _text(rows.at[pos, "credit_code"]) == _text(old.at[row, "credit_code"])
        if a and b and a != b and not same_code:
            return Clash(line, name, mine, row, theirs,
                         _OTHER_PHONE.format(what=what, row=row, theirs=old.at[row, "phone"],
                                      mine=rows.at[pos, "phone"])(lang))
    return None


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else str(value).strip().upper()


def _blank(value: Any) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _records(df: pd.DataFrame, spec: Any) -> list[dict[str, Any]]:
    keys = [c.key for c in spec.input_columns if c.key in df]
    return [{k: v for k, v in zip(keys, values, strict=True) if not _blank(v)}
            for values in df[keys].itertuples(index=False, name=None)]


def _number(new: list[dict[str, Any]], old: pd.DataFrame, idcol: str, prefix: str) -> None:
    """Ids for new rows the file gave none: the prefix and the next free number."""
    pattern = re.compile(rf"^{prefix}(\d+)$")
    found = [m[1] for v in old.get(idcol, [])
             if isinstance(v, str) and (m := pattern.match(v.strip()))]
    used = [int(x) for x in found]
    width = max([len(x) for x in found] or [4])
    taken = {str(r.get(idcol)).casefold() for r in new if r.get(idcol)}
    nxt = max(used, default=0) + 1
    for r in new:
        if r.get(idcol):
            continue
        while f"{prefix}{nxt:0{width}d}".casefold() in taken:
            nxt += 1
        r[idcol] = f"{prefix}{nxt:0{width}d}"
        nxt += 1


def _same(kind: Kind, a: Any, b: Any) -> bool:
    """Whether a file value equals the workbook's (dates by day, numbers closely)."""
    if b is None or (isinstance(b, float) and math.isnan(b)) or b is pd.NaT:
        return False
    if kind in (Kind.DATE, Kind.DATETIME):
        b = pd.Timestamp(b).to_pydatetime()
        if kind is Kind.DATE:
            return a == b.date()
        return a == b
    if kind in (Kind.AMOUNT, Kind.NUMBER, Kind.PERCENT, Kind.INT):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
        except (TypeError, ValueError):
            return False
    return str(a).strip() == str(b).strip()


def _updates(main: TablePlan, rows: pd.DataFrame, lines: pd.Series, old: pd.DataFrame,
             matched: dict[int, int], spec: Any, moved_on: dt.date | None,
             guessed: pd.Series | None = None) -> None:
    """The changes of matched rows; a stage the file moves without saying since when (a
    blank stage date, or only the creation date a fill put there) moved on ``moved_on``."""
    keys = [c.key for c in spec.input_columns if c.key in rows]
    kinds = {k: spec.column(k).kind for k in keys}
    positions = list(matched)
    mine = rows.loc[positions, keys]
    for pos, values in zip(positions, mine.itertuples(index=False, name=None), strict=True):
        row = matched[pos]
        guess = guessed is not None and bool(guessed.get(pos, False))
        change = {}
        told = False  # the file says since when the row is in its stage
        for k, v in zip(keys, values, strict=True):
            if _blank(v) or (guess and k == "stage_entered"):
                continue
            told = told or k == "stage_entered"
            current = old.at[row, k] if k in old else None
            if not _same(kinds[k], v, current):
                change[k] = v
        if "stage" in change and not told and moved_on is not None:
            change["stage_entered"] = moved_on  # the file says the stage, not since when
        if change:
            main.updates[row] = change
            main.update_lines[row] = int(lines[pos])
        else:
            main.unchanged += 1


def _history(plan: ImportPlan, opportunities: Table | None, history: Table | None,
             today: dt.date, lang: Lang) -> None:
    """A stage-history row for every opportunity whose stage the import moves."""
    hist = TablePlan("stage_history")
    plan.tables["stage_history"] = hist
    opps = _existing_frame(opportunities)
    old = _existing_frame(history)
    known = set(natural_key("stage_history", old).dropna()) if len(old) else set()
    note = f"{IMPORTED(lang)} {plan.source.path.name}"
    moves, lines = [], []
    for row, change in plan.main.updates.items():
        if "stage" not in change:
            continue
        def at(key: str, row: int = row, change: dict[str, Any] = change) -> Any:
            value = change.get(key)
            if value is None and key in opps:
                value = opps.at[row, key]
            return None if value is None or (isinstance(value, float) and math.isnan(value)) \
                else value
        date = at("stage_entered")
        date = pd.Timestamp(date).date() if date is not None else today
        lines.append(plan.main.update_lines[row])
        moves.append({"opp_id": at("opp_id"), "customer": at("customer"),
                      "from_stage": opps.at[row, "stage"] if "stage" in opps else None,
                      "to_stage": change["stage"], "date": date, "owner": at("owner"),
                      "note": note})
    if not moves:
        return
    frame = pd.DataFrame(moves)
    for rec, k, line in zip(moves, natural_key("stage_history", frame), lines, strict=True):
        if k in known:
            hist.unchanged += 1
        else:
            hist.new.append({key: v for key, v in rec.items()
                             if v is not None and not (isinstance(v, float) and math.isnan(v))})
            hist.new_lines.append(line)
