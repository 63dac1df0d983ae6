"""Describe a workbook as plain data, for comparing two workbooks element by element.

Two builds of the same workbook differ in bytes (zip timestamps, XML order), so
tests compare :func:`snapshot` dictionaries instead and report differences with
:func:`diff`. A snapshot holds, per sheet in order: name, visibility, every cell
that has a value, a number format other than General or a bold font (formulas as
their text), column widths, merged ranges, freeze panes, data validations,
conditional formats, Excel tables, print titles and sheet-level names; and the
workbook's defined names.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from typing import Any

import openpyxl
from openpyxl.utils.cell import coordinate_to_tuple, get_column_letter
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.worksheet.worksheet import Worksheet

DIFF_LIMIT = 50
_MISSING = "<missing>"


def snapshot(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The comparable description of the workbook at ``path``."""
    wb = openpyxl.load_workbook(path, data_only=False)
    try:
        sheets = [_sheet(ws) for ws in wb.worksheets]
        names = {name: str(dn.attr_text) for name, dn in sorted(wb.defined_names.items())}
    finally:
        wb.close()
    return {"sheets": sheets, "defined_names": names}


def diff(a: dict[str, Any], b: dict[str, Any], *, label: str = "",
         limit: int = DIFF_LIMIT) -> list[str]:
    """Human-readable differences between two snapshots (at most ``limit``, then a count)."""
    prefix = f"{label}: " if label else ""
    out: list[str] = []
    names_a = [s["name"] for s in a["sheets"]]
    names_b = [s["name"] for s in b["sheets"]]
    if names_a != names_b:
        out.append(f"sheets {names_a!r} != {names_b!r}")
    sheets_b = {s["name"]: s for s in b["sheets"]}
    for sheet in a["sheets"]:
        other = sheets_b.get(sheet["name"])
        if other is not None:
            out.extend(_diff_sheet(sheet, other))
    out.extend(_diff_tree("defined name", a["defined_names"], b["defined_names"]))
    lines = [prefix + line for line in out]
    if len(lines) > limit:
        lines = [*lines[:limit], f"{prefix}… and {len(lines) - limit} more differences"]
    return lines


def _sheet(ws: Worksheet) -> dict[str, Any]:
    """The description of one worksheet."""
    widths: dict[str, float] = {}
    for dim in ws.column_dimensions.values():
        if dim.customWidth and dim.width is not None and dim.min is not None:
            for idx in range(dim.min, (dim.max or dim.min) + 1):
                widths[get_column_letter(idx)] = round(float(dim.width), 4)
    validations: dict[str, Any] = {}
    for dv in ws.data_validations.dataValidation:
        validations[_unique(validations, str(dv.sqref))] = {
            "type": dv.type, "operator": dv.operator, "formula1": dv.formula1,
            "formula2": dv.formula2, "allow_blank": bool(dv.allow_blank),
            "error_style": dv.errorStyle, "error_title": dv.errorTitle, "error": dv.error,
            "prompt_title": dv.promptTitle, "prompt": dv.prompt,
            "show_error": bool(dv.showErrorMessage), "show_prompt": bool(dv.showInputMessage),
        }
    formats: dict[str, Any] = {}
    for cf in ws.conditional_formatting:
        for i, rule in enumerate(cf.rules):
            formats[f"{cf.sqref} #{i + 1}"] = {
                "type": rule.type, "operator": rule.operator, "formula": list(rule.formula),
                "stop": bool(rule.stopIfTrue)}
    tables: dict[str, Any] = {}
    for name in sorted(ws.tables):
        t = ws.tables[name]
        tables[name] = {
            "ref": t.ref,
            "headers": [c.name for c in t.tableColumns],
            "totals": [[c.totalsRowFunction, c.totalsRowLabel] for c in t.tableColumns],
            "totals_row_count": t.totalsRowCount or 0,
            "style": t.tableStyleInfo.name if t.tableStyleInfo else None,
        }
    return {
        "name": ws.title,
        "state": ws.sheet_state,
        "cells": dict(_cells(ws)),
        "widths": dict(sorted(widths.items(), key=lambda kv: (len(kv[0]), kv[0]))),
        "merged": sorted(str(r) for r in ws.merged_cells.ranges),
        "freeze": ws.freeze_panes,
        "print_titles": ws.print_title_rows,
        "sheet_names": {n: str(dn.attr_text) for n, dn in sorted(ws.defined_names.items())},
        "validations": dict(sorted(validations.items())),
        "conditional_formats": dict(sorted(formats.items())),
        "tables": tables,
    }


def _cells(ws: Worksheet) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every cell with a value, a non-General number format or a bold font, row by row."""
    for row in ws.iter_rows():
        for cell in row:
            value = cell.value
            bold = bool(cell.font.b) if cell.font is not None else False
            if value is None and cell.number_format == "General" and not bold:
                continue
            yield cell.coordinate, {"value": _plain(value), "number_format": cell.number_format,
                                    "bold": bold}


def _plain(value: Any) -> Any:
    """A cell value as JSON-friendly data: formulas as text, dates as ISO strings."""
    if isinstance(value, ArrayFormula):
        return value.text
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return value


def _unique(existing: dict[str, Any], key: str) -> str:
    """``key``, or ``key #n`` when it is taken."""
    n, candidate = 1, key
    while candidate in existing:
        n += 1
        candidate = f"{key} #{n}"
    return candidate


def _diff_sheet(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    where = f"sheet {a['name']}"
    out: list[str] = []
    if a["state"] != b["state"]:
        out.append(f"{where} state {a['state']!r} != {b['state']!r}")
    coords = sorted(a["cells"].keys() | b["cells"].keys(), key=coordinate_to_tuple)
    empty = {"value": None, "number_format": "General", "bold": False}
    for coord in coords:
        ca, cb = a["cells"].get(coord, empty), b["cells"].get(coord, empty)
        for attr in ("value", "number_format", "bold"):
            if ca[attr] != cb[attr]:
                out.append(f"{where} cell {coord} {attr} {ca[attr]!r} != {cb[attr]!r}")
    for key, what in (("widths", "column width"), ("merged", "merged cells"),
                      ("freeze", "freeze panes"), ("print_titles", "print titles"),
                      ("sheet_names", "sheet defined name"), ("validations", "validation"),
                      ("conditional_formats", "conditional format"), ("tables", "table")):
        out.extend(f"{where} {line}" for line in _diff_tree(what, a[key], b[key]))
    return out


def _diff_tree(path: str, a: Any, b: Any) -> list[str]:
    """Differences between two nested dicts, leaf by leaf, in a stable order."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for key in [*a, *(k for k in b if k not in a)]:
            if key not in b:
                out.append(f"{path} {key} {a[key]!r} != {_MISSING}")
            elif key not in a:
                out.append(f"{path} {key} {_MISSING} != {b[key]!r}")
            else:
                out.extend(_diff_tree(f"{path} {key}", a[key], b[key]))
        return out
    return [] if a == b else [f"{path} {a!r} != {b!r}"]
