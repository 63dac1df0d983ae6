"""What a workbook holds, as plain data the writers turn into a file.

A :class:`BookPlan` lists the sheets (one business table each) with rows already in
the workbook's language, plus the dropdown lists and options the formulas use.
Nothing here imports an Excel library.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from xlsales.i18n import Lang
from xlsales.settings import Settings
from xlsales.tables.base import TableSpec

LISTS_SHEET = "_lists"
STAGE_PROB_NAME = "xs_stage_prob"


def list_name(name: str) -> str:
    """The workbook-level defined name of a dropdown list."""
    return f"xs_{name}"


@dataclass
class SheetPlan:
    """One sheet holding one Excel Table."""

    spec: TableSpec
    rows: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class BookPlan:
    """A whole workbook."""

    lang: Lang
    sheets: list[SheetPlan]
    lists: dict[str, list[str]]
    stage_prob: list[tuple[str, float]]
    options: dict[str, Any]
    canonical_lists: dict[str, list[str]] = field(default_factory=dict)
    title: str = ""
    vba_modules: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str]] = field(default_factory=list)  # (caption, macro)
    xlwings_conf: tuple[tuple[str, str], ...] = ()


def to_display(spec: TableSpec, record: dict[str, Any], settings: Settings,
               lang: Lang) -> dict[str, Any]:
    """A canonical record with its dropdown values shown in ``lang``."""
    out: dict[str, Any] = {}
    for col in spec.columns:
        if not col.is_input or col.key not in record:
            continue
        value = record[col.key]
        if col.choices and isinstance(value, str):
            value = settings.display(col.choices, value, lang)
        out[col.key] = value
    return out


def book_plan(specs: Sequence[TableSpec], data: dict[str, list[dict[str, Any]]],
              settings: Settings, lang: Lang) -> BookPlan:
    """Plan a workbook holding ``specs`` filled with canonical ``data``."""
    sheets = [
        SheetPlan(spec, [to_display(spec, r, settings, lang) for r in data.get(spec.key, [])])
        for spec in specs
    ]
    lists = {name: settings.labels(name, lang) for name in settings.list_names()}
    canonical = {name: [i.canonical for i in settings.items(name)]
                 for name in settings.list_names()}
    stage_prob = [(s.label(lang), s.probability)
                  for s in sorted(settings.stages, key=lambda s: s.order)]
    return BookPlan(lang=lang, sheets=sheets, lists=lists, stage_prob=stage_prob,
                    options=settings.general.model_dump(), canonical_lists=canonical)
