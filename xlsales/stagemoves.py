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
_ARROW_RE = r"\s*(?:→|->|=>|-->|—>|⟶|➡|➔|至)\s*"


def moves_frame(texts: pd.Series, settings: Settings) -> pd.DataFrame:
    """Every part of a column of stage-move texts, one row each (``row`` is the label of
    the text in ``texts``, ``seq`` its place in the text): the move, or the problem found
    (``unparsed``, ``unknown_stage``, ``backward``, ``skipped``) — what
    :func:`parse_stage_moves` finds text by text, computed over the whole column."""
    import pandas as pd

    from xlsales.normalize import clean_text_series

    texts = texts.dropna()
    if not len(texts):
        return pd.DataFrame({c: pd.Series(dtype=object) for c in MOVE_COLUMNS})
    parts, parent = _split_parts(texts.astype("str"))
    parts = clean_text_series(parts)
    frame = pd.DataFrame({"row": texts.index.to_numpy()[parent], "text": parts})
    frame = frame[frame["text"].notna()].reset_index(drop=True)
    frame["seq"] = frame.groupby("row").cumcount()
    head = frame["text"].str.extract(_HEAD_RE)
    ends = head["stages"].str.split(_ARROW_RE, regex=True)
    pair = ends.map(lambda e: (e[0], e[1]) if isinstance(e, list) and len(e) == 2 else None)
    frm = pair.map(lambda p: p[0] if p else None)
    to = pair.map(lambda p: p[1] if p else None)
    unparsed = (head["customer"].fillna("") == "") | pair.isna() | (frm.fillna("") == "") | (
        to.fillna("") == "")
    lookups = settings.lookups()
    names = {v: lookups.canonical("stages", v) for v in {*frm.dropna(), *to.dropna()}}
    frm_c = frm.map(lambda v: names.get(v) if isinstance(v, str) else None).astype(object)
    to_c = to.map(lambda v: names.get(v) if isinstance(v, str) else None).astype(object)
    judged = {p: _judge(*p, settings) for p in {*zip(frm_c, to_c, strict=True)}}
    problem: list[str | None] = []
    detail: list[str] = []
    for bad, f_raw, t_raw, f, t in zip(unparsed, frm, to, frm_c, to_c, strict=True):
        if bad:
            problem.append("unparsed")
            detail.append("customer:from→to")
        elif not isinstance(f, str) or not isinstance(t, str):
            problem.append("unknown_stage")
            detail.append(", ".join(e for e, c in ((f_raw, f), (t_raw, t))
                                    if not isinstance(c, str)))
        else:
            kind = judged[(f, t)]
            problem.append(kind)
            detail.append(f"{f}→{t}" if kind else "")
    out = pd.DataFrame({"row": frame["row"], "seq": frame["seq"],
                        "customer": head["customer"].astype(object),
                        "from_stage": frm_c.astype(object), "to_stage": to_c.astype(object),
                        "text": frame["text"].astype(object),
                        "problem": pd.Series(problem, dtype=object, index=frame.index),
                        "detail": pd.Series(detail, dtype=object, index=frame.index)})
    failed = out["problem"].isin(["unparsed", "unknown_stage"])
    out.loc[failed, ["customer", "from_stage", "to_stage"]] = None
    return out


def _split_parts(texts: pd.Series) -> tuple[pd.Series, Any]:
    """The parts of every text split at ; ； and newlines, with the position of its text."""
    import numpy as np
    import pandas as pd

    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:  # pure-Python pandas (Pyodide without pyarrow)
        lists = [_SPLIT.split(t) for t in texts.tolist()]
        parent = np.repeat(np.arange(len(lists)), [len(x) for x in lists])
        return pd.Series([p for x in lists for p in x], dtype="str"), parent
    arr = pa.array(texts.to_numpy(dtype=object), type=pa.large_string())
    lists = pc.split_pattern_regex(arr, _PART_RE)
    parts = pd.Series(pc.list_flatten(lists).to_pandas(), dtype="str")
    return parts, pc.list_parent_indices(lists).to_numpy()


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
