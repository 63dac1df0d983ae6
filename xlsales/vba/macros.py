"""The VBA sources: modules from ``macros/``, the xlwings module, buttons per workbook and
the ``xlwings.conf`` sheet."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from xlsales.i18n import Label
from xlsales.vba.project import is_class_source

BUTTON_MODULE = "XlsalesButtons"
UDF_MODULE = "xlsales.excel.udfs"


@dataclass(frozen=True)
class Button:
    """A button on a workbook's main sheet and the macro it runs."""

    macro: str
    caption: Label


BUTTONS = {
    "validate": Button("ValidateTable", Label("校验本表", "Validate")),
    "rollup": Button("RollupThisWeek", Label("汇总本周周报", "Roll up this week")),
    "review": Button("MonthlyReview", Label("生成本月复盘", "Monthly review")),
    "agenda": Button("WeeklyAgenda", Label("生成本周议程", "Weekly agenda")),
    "followups": Button("RefreshFollowUps", Label("刷新跟进计划", "Refresh follow-ups")),
    "spotcheck": Button("SpotCheckToday", Label("今日抽查", "Spot-check today")),
    "udfs": Button("ImportFunctions", Label("导入函数", "Import functions")),
}
# Which buttons each workspace workbook carries (the settings workbook stays .xlsx).
BOOK_BUTTONS = {
    "targets": ("validate", "udfs"),
    "daily": ("validate", "rollup", "spotcheck", "udfs"),
    "agenda": ("agenda", "validate", "udfs"),
    "review": ("review", "udfs"),
    "customers": ("validate", "followups", "udfs"),
}
XLWINGS_CONF = (("UDF Modules", UDF_MODULE), ("Use UDF Server", "False"),
                ("Show Console", "False"))


def macros_dir() -> Path:
    """The ``macros/`` folder: ``$XLSALES_MACROS``, else the one beside the package."""
    env = os.environ.get("XLSALES_MACROS")
    path = Path(env) if env else Path(__file__).resolve().parents[2] / "macros"
    if not path.is_dir():
        raise FileNotFoundError(f"no macros folder at {path}; set XLSALES_MACROS")
    return path


def module_sources() -> dict[str, str]:
    """Every module of ``macros/`` (``*.bas`` standard modules, ``*.cls`` class modules as
    the VBA editor exports them): VB_Name → source text, by file name."""
    out = {}
    for path in sorted(p for p in macros_dir().iterdir() if p.suffix in (".bas", ".cls")):
        text = path.read_text(encoding="cp1252")
        m = re.search(r'^Attribute VB_Name = "([^"]+)"', text, re.M)
        out[m.group(1) if m else path.stem] = text
    return out


def vba_sources() -> dict[str, str]:
    """The modules a macro-enabled workbook carries beside its documents, in project
    order: the standard modules of ``macros/``, the xlwings module, the class modules of
    ``macros/`` (the ``Dictionary`` class xlwings declares on macOS among them)."""
    sources = module_sources()
    classes = {name: text for name, text in sources.items() if is_class_source(text)}
    return {**{name: text for name, text in sources.items() if name not in classes},
            "xlwings": xlwings_module(), **classes}


def xlwings_module() -> str:
    """The xlwings standalone VBA module shipped with the installed xlwings package."""
    import xlwings

    return (Path(xlwings.__file__).parent / "xlwings.bas").read_text(encoding="cp1252")


def macro_names(source: str) -> list[str]:
    """The public Subs and Functions of a module's source."""
    return re.findall(r"^\s*(?:Public\s+)?(?:Sub|Function)\s+(\w+)", source, re.M | re.I)


def run_python_targets(source: str) -> list[str]:
    """The Python statements a module hands to ``RunPython``."""
    return re.findall(r'RunPython\s+"([^"]+)"', source)
