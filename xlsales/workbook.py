"""What a workbook holds, as plain data the writers turn into a file.

A :class:`BookPlan` lists the sheets (one business table each) with rows already in
the workbook's language, plus the dropdown lists and options the formulas use.
Nothing here imports an Excel library.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from xlsales.cells import col_letters
from xlsales.i18n import Lang
from xlsales.settings import Settings
from xlsales.tables.base import TableSpec

LISTS_SHEET = "_lists"
STAGE_PROB_NAME = "xs_stage_prob"


def list_name(name: str) -> str:
    """The workbook-level defined name of a dropdown list."""
    return f"xs_{name}"


def lists_layout(lists: dict[str, list[str]], stage_prob: Sequence[tuple[str, float]]
                 ) -> tuple[list[list[Any]], dict[str, str]]:
    """The hidden ``_lists`` sheet, column by column (each a name, then its values; a
    blank column; then stages with their probabilities), and the defined names (without
    ``=``) pointing at each list and at the stage table."""
    columns: list[list[Any]] = []
    names: dict[str, str] = {}
    for name, labels in lists.items():
        letters = col_letters(len(columns))
        names[list_name(name)] = (f"'{LISTS_SHEET}'!${letters}$2:${letters}"
                                  f"${max(len(labels), 1) + 1}")
        columns.append([name, *labels])
    columns.append([])
    first, second = col_letters(len(columns)), col_letters(len(columns) + 1)
    columns.append(["stage", *(s for s, _ in stage_prob)])
    columns.append(["probability", *(p for _, p in stage_prob)])
    names[STAGE_PROB_NAME] = (f"'{LISTS_SHEET}'!${first}$2:${second}"
                              f"${max(len(stage_prob), 1) + 1}")
    return columns, names


def team_lists(settings: Settings, lang: Lang, also: Iterable[str] = ()
               ) -> tuple[dict[str, list[str]], list[tuple[str, float]]]:
    """Every dropdown list of the team in ``lang`` (and the lists named in ``also``, empty
    when the settings have none), and the stages with their probabilities."""
    lists = {name: settings.labels(name, lang) for name in settings.list_names()}
    for name in also:
        lists.setdefault(name, [])
    stage_prob = [(s.label(lang), s.probability)
                  for s in sorted(settings.stages, key=lambda s: s.order)]
    return lists, stage_prob


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
    choices = [c.choices for spec in specs for c in spec.columns if c.choices]
    lists, stage_prob = team_lists(settings, lang, choices)
    canonical = {name: [i.canonical for i in settings.items(name)]
                 for name in settings.list_names()}
    return BookPlan(lang=lang, sheets=sheets, lists=lists, stage_prob=stage_prob,
                    options=settings.general.model_dump(), canonical_lists=canonical)
