"""The VBA sources: modules from ``macros/``, the xlwings module, buttons per workbook and
the ``xlwings.conf`` sheet.

``macros/`` at the repository's root is the source of truth; the wheel ships it as the
data package ``xlsales._macros`` (``package-dir`` in ``pyproject.toml``), read through
:mod:`importlib.resources`. ``XLSALES_MACROS`` names another folder (for trying out
changed modules without reinstalling).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
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


MACROS_PACKAGE = "xlsales._macros"
MODULE_SUFFIXES = (".bas", ".cls")
# Modules earlier xlsales versions put into workbooks and macros/ no longer has: `xlsales
# excel upgrade` replaces them rather than taking them for the user's own. Add a module's
# name here when it leaves macros/.
RETIRED_MODULES: tuple[str, ...] = ()
XLWINGS_MODULE = "xlwings"
_XLWINGS_VERSION = re.compile(r"^'Version: (\S+)", re.M)


def macros_dir() -> Traversable:
    """The ``macros/`` folder: ``$XLSALES_MACROS``, else the package data
    ``xlsales._macros`` (the wheel's copy when installed, the repository's ``macros/`` in
    an editable install or a source tree run without installing)."""
    env = os.environ.get("XLSALES_MACROS")
    if env:
        path = Path(env)
        if not path.is_dir():
            raise FileNotFoundError(f"no macros folder at {path} (XLSALES_MACROS)")
        return path
    try:
        return resources.files(MACROS_PACKAGE)
    except ModuleNotFoundError:  # a source tree run without installing
        checkout = Path(__file__).resolve().parents[2] / "macros"
        if checkout.is_dir():
            return checkout
        raise FileNotFoundError(f"the package data {MACROS_PACKAGE} is not installed; "
                                "reinstall xlsales or set XLSALES_MACROS") from None


def module_files() -> list[Traversable]:
    """The module files of ``macros/`` (``*.bas``, ``*.cls``), by name."""
    return sorted((p for p in macros_dir().iterdir() if p.name.endswith(MODULE_SUFFIXES)),
                  key=lambda p: p.name)


def module_sources() -> dict[str, str]:
    """Every module of ``macros/`` (``*.bas`` standard modules, ``*.cls`` class modules as
    the VBA editor exports them): VB_Name → source text, by file name."""
    out = {}
    for path in module_files():
        text = path.read_bytes().decode("cp1252")
        m = re.search(r'^Attribute VB_Name = "([^"]+)"', text, re.M)
        out[m.group(1) if m else path.name.rsplit(".", 1)[0]] = text
    if not out:
        raise FileNotFoundError(f"no .bas or .cls modules in {macros_dir()}")
    return out


def vba_sources() -> dict[str, str]:
    """The modules a macro-enabled workbook carries beside its documents, in project
    order: the standard modules of ``macros/``, the xlwings module, the class modules of
    ``macros/`` (the ``Dictionary`` class xlwings declares on macOS among them)."""
    sources = module_sources()
    classes = {name: text for name, text in sources.items() if is_class_source(text)}
    return {**{name: text for name, text in sources.items() if name not in classes},
            XLWINGS_MODULE: xlwings_module(), **classes}


def xlwings_module() -> str:
    """The xlwings standalone VBA module shipped with the installed xlwings package. It
    names the DLL of that very version (``xlwings64-<version>.dll``), so a workbook works
    with that xlwings only: ``pyproject.toml`` pins it, ``xlsales excel upgrade`` puts the
    installed one into existing workbooks."""
    import xlwings

    return (Path(xlwings.__file__).parent / "xlwings.bas").read_text(encoding="cp1252")


def xlwings_version(source: str) -> str | None:
    """The xlwings version a module's source names (its ``'Version:`` line)."""
    m = _XLWINGS_VERSION.search(source)
    return m.group(1) if m else None


def macro_names(source: str) -> list[str]:
    """The public Subs and Functions of a module's source."""
    return re.findall(r"^\s*(?:Public\s+)?(?:Sub|Function)\s+(\w+)", source, re.M | re.I)


def run_python_targets(source: str) -> list[str]:
    """The Python statements a module hands to ``RunPython``."""
    return re.findall(r'RunPython\s+"([^"]+)"', source)
