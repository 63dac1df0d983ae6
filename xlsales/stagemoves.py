"""Parse the daily report's stage-move text.

Example: ``客户C:需求分析→方案提交; 客户D:方案提交→报价与谈判``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from xlsales.normalize import clean_text
from xlsales.settings import Settings

if TYPE_CHECKING:
    import pandas as pd

    from xlsales.frames import Table

_SPLIT = re.compile(r"[;；\n]+")
_ARROW = re.compile(r"\s*(?:→|->|=>|-->|—>|⟶|➡|➔|至)\s*")
_COLON = re.compile(r"\s*[:：]\s*")


@dataclass(frozen=True)
class StageMove:
    """One customer's move from a stage to another (canonical stage names)."""

    customer: str
    from_stage: str
    to_stage: str
    text: str


@dataclass(frozen=True)
class MoveProblem:
    """Something wrong with a move: ``unknown_stage`` (error), ``backward`` or ``skipped``
    (warnings), ``unparsed`` (error)."""

    kind: str
    text: str
    detail: str = ""

    @property
    def severity(self) -> str:
        return "warning" if self.kind in ("backward", "skipped") else "error"


def parse_stage_moves(text: str | None,
                      settings: Settings) -> tuple[list[StageMove], list[MoveProblem]]:
    """The moves in ``text`` and the problems found; never raises on bad text."""
    moves: list[StageMove] = []
    problems: list[MoveProblem] = []
    cleaned = clean_text(text) if text is not None else None
    if not cleaned:
        return moves, problems
    for part in _SPLIT.split(str(text)):
        part = clean_text(part) or ""
        if not part:
            continue
        pieces = _COLON.split(part, maxsplit=1)
        if len(pieces) != 2:
            problems.append(MoveProblem("unparsed", part, "customer:from→to"))
            continue
        customer, stages = pieces
        ends = _ARROW.split(stages)
        if len(ends) != 2 or not customer or not all(ends):
            problems.append(MoveProblem("unparsed", part, "customer:from→to"))
            continue
        canon = [settings.canonical("stages", e) for e in ends]
        bad = [e for e, c in zip(ends, canon, strict=True) if c is None]
        if bad:
            problems.append(MoveProblem("unknown_stage", part, ", ".join(bad)))
            continue
        frm, to = canon[0] or "", canon[1] or ""
        moves.append(StageMove(customer, frm, to, part))
        kind = _judge(frm, to, settings)
        if kind:
            problems.append(MoveProblem(kind, part, f"{frm}→{to}"))
    return moves, problems


# -- a whole column at once -----------------------------------------------------------------

MOVE_COLUMNS = ("row", "seq", "customer", "from_stage", "to_stage", "text", "problem", "detail")
_PART_RE = r"[;；\n]+"
_HEAD_RE = r"^(?P<customer>.*?)\s*[:：]\s*(?P<stages>.*)$"
_COLON_RE = r"\s*[:：]\s*"
_ARROW_RE = r"\s*(?:→|->|=>|-->|—>|⟶|➡|➔|至)\s*"


def moves_frame(texts: pd.Series, settings: Settings) -> pd.DataFrame:
    """Every part of a column of stage-move texts, one row each (``row`` is the label of
    the text in ``texts``, ``seq`` its place in the text): the move, or the problem found
    (``unparsed``, ``unknown_stage``, ``backward``, ``skipped``) — what
    :func:`parse_stage_moves` finds text by text, computed over the whole column."""
    import pandas as pd

    texts = texts.dropna()
    if not len(texts):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in MOVE_COLUMNS})
    try:
        import pyarrow  # noqa: F401
    except ImportError:  # pure-Python pandas (Pyodide without pyarrow): text by text
        return _moves_one_by_one(texts, settings)
    return _moves_arrow(texts, settings)


def table_moves(table: Table, settings: Settings) -> pd.DataFrame:
    """:func:`moves_frame` of a table's stage-move column, computed once per table."""
    return table.once(("moves", id(settings)),
                      lambda: moves_frame(table.df["stage_moves"], settings))


def _arrow(strings: pd.Series) -> Any:
    """A string column as one Arrow large_string array (no copy through Python)."""
    import pyarrow as pa

    arr = pa.array(strings)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr.cast(pa.large_string())


def _moves_arrow(texts: pd.Series, settings: Settings) -> pd.DataFrame:
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    from xlsales.normalize import clean_text_series

    arr = _arrow(texts.astype("str"))  # the strings stay in Arrow
    lists = pc.split_pattern_regex(arr, _PART_RE)
    parts = clean_text_series(pd.Series(pc.list_flatten(lists).to_pandas(), dtype="str"))
    parent = pc.list_parent_indices(lists).to_numpy()
    keep = parts.notna().to_numpy()
    parts = parts[keep].reset_index(drop=True)
    rows = texts.index.to_numpy()[parent[keep]]
    seq = pd.Series(rows).groupby(rows).cumcount().to_numpy()
    # customer, then the stages, at the first colon (what _HEAD_RE matches; a split at the
    # colon's first match is the same and faster than extracting groups)
    head = pc.split_pattern_regex(_arrow(parts), _COLON_RE, max_splits=1)
    halves = pc.equal(pc.list_value_length(head), 2)
    nothing = pa.scalar(None, pa.large_string())
    customer = pc.if_else(halves, pc.list_element(head, 0), nothing)
    rest = pc.if_else(halves, pc.list_element(pc.if_else(halves, head, pa.scalar(
        ["", ""], head.type)), 1), nothing)
    ends = pc.split_pattern_regex(rest, _ARROW_RE)
    two = pc.fill_null(pc.equal(pc.list_value_length(ends), 2), False).to_numpy(
        zero_copy_only=False)
    frm = pc.list_element(pc.if_else(two, ends, pa.scalar(["", ""], ends.type)), 0)
    to = pc.list_element(pc.if_else(two, ends, pa.scalar(["", ""], ends.type)), 1)
    frm_s = frm.to_numpy(zero_copy_only=False)
    to_s = to.to_numpy(zero_copy_only=False)
    cust = customer.to_numpy(zero_copy_only=False)
    unparsed = ~two | pd.isna(cust) | (cust == "") | (frm_s == "") | (to_s == "")
    stages = [st.canonical for st in settings.stages]
    index = {name: i for i, name in enumerate(stages)}
    lookups = settings.lookups()

    def codes(values: np.ndarray) -> np.ndarray:
        found, uniques = pd.factorize(values)
        canon = [index.get(lookups.canonical("stages", v) or "", -1)
                 if isinstance(v, str) and v else -1 for v in uniques]
        return np.array([*canon, -1])[found]

    fi, ti = codes(frm_s), codes(to_s)
    unknown = ~unparsed & ((fi < 0) | (ti < 0))
    verdicts = np.full((len(stages), len(stages)), None, dtype=object)  # from, to
    for a, frm_stage in enumerate(stages):
        for b, to_stage in enumerate(stages):
            verdicts[a, b] = _judge(frm_stage, to_stage, settings)
    ok = ~unparsed & ~unknown
    problem = np.full(len(parts), None, dtype=object)
    problem[unparsed] = "unparsed"
    problem[unknown] = "unknown_stage"
    problem[ok] = verdicts[fi[ok], ti[ok]]
    names = np.array([*stages, None], dtype=object)
    detail = np.full(len(parts), "", dtype=object)
    detail[unparsed] = "customer:from→to"
    for i in np.flatnonzero(unknown):
        detail[i] = ", ".join(e for e, c in ((frm_s[i], fi[i]), (to_s[i], ti[i])) if c < 0)
    for i in np.flatnonzero(ok & pd.notna(problem)):
        detail[i] = f"{names[fi[i]]}→{names[ti[i]]}"
    keep_move = ok
    columns = {"customer": np.where(keep_move, cust, None),
               "from_stage": np.where(keep_move, names[fi], None),
               "to_stage": np.where(keep_move, names[ti], None),
               "text": parts.astype(object).to_numpy(), "problem": problem, "detail": detail}
    return pd.DataFrame({"row": rows, "seq": seq,
                         **{k: pd.Series(v, dtype=object) for k, v in columns.items()}})


def _moves_one_by_one(texts: pd.Series, settings: Settings) -> pd.DataFrame:
    import pandas as pd

    out = []
    for row, text in texts.items():
        found, problems = parse_stage_moves(text, settings)
        by_text = {p.text: p for p in problems}
        seq = 0
        for part in _SPLIT.split(str(text)):
            part = clean_text(part) or ""
            if not part:
                continue
            move = next((m for m in found if m.text == part), None)
            p = by_text.get(part)
            out.append({"row": row, "seq": seq,
                        "customer": move.customer if move else None,
                        "from_stage": move.from_stage if move else None,
                        "to_stage": move.to_stage if move else None, "text": part,
                        "problem": p.kind if p else None, "detail": p.detail if p else ""})
            seq += 1
    frame = pd.DataFrame(out, columns=list(MOVE_COLUMNS), dtype=object)
    return frame.astype({"seq": "int64"})




def _judge(frm: Any, to: Any, settings: Settings) -> str | None:
    """``backward``, ``skipped`` or None for a move between two canonical stages."""
    if not isinstance(frm, str) or not isinstance(to, str):
        return None
    open_order = {s.canonical: s.order for s in settings.stages if s.kind == "open"}
    won = {s.canonical for s in settings.stages if s.kind == "won"}
    lost = {s.canonical for s in settings.stages if s.kind == "lost"}
    order = sorted(open_order.values())
    if to in lost or frm == to:
        return None
    a = open_order.get(frm, max(order) + 1 if frm in won else None)
    b = open_order.get(to, max(order) + 1 if to in won else None)
    if a is None or b is None:
        return None
    if b < a:
        return "backward"
    between = [o for o in order if a < o < b] if to not in won else [o for o in order if o > a]
    return "skipped" if between else None
