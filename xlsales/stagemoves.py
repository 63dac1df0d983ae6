"""Parse the daily report's stage-move text.

Example: ``客户C:需求分析→方案提交; 客户D:方案提交→报价与谈判``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from xlsales.normalize import clean_text
from xlsales.settings import Settings

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
    open_order = {s.canonical: s.order for s in settings.stages if s.kind == "open"}
    won = {s.canonical for s in settings.stages if s.kind == "won"}
    lost = {s.canonical for s in settings.stages if s.kind == "lost"}
    order = sorted(open_order.values())
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
        move = StageMove(customer, frm, to, part)
        moves.append(move)
        if to in lost or frm == to:
            continue
        a = open_order.get(frm, max(order) + 1 if frm in won else None)
        b = open_order.get(to, max(order) + 1 if to in won else None)
        if a is None or b is None:
            continue
        if b < a:
            problems.append(MoveProblem("backward", part, f"{frm}→{to}"))
        else:
            # Stages passed over: open stages strictly between the two (into "won",
            # every open stage after the first).
            between = [o for o in order if a < o < b] if to not in won else [
                o for o in order if o > a]
            if between:
                problems.append(MoveProblem("skipped", part, f"{frm}→{to}"))
    return moves, problems
