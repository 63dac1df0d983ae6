"""What an xlwings Lite workbook of xlsales holds, as plain data (no Excel library): the
button panel's sheet, each button's shape name and the cell its hyperlink selects, the
``requirements.txt`` lines and the one-line ``main.py``.

Facts about xlwings Lite these rest on (from its documentation and the xlwings package's
``script`` decorator, 0.37.8):

* a script is a function decorated with ``@script`` taking one parameter annotated
  ``xw.Book``; a sheet button is a shape with a *name* and a hyperlink to a cell the shape
  covers ("Place in This Document"); the script says ``button="[<shape name>]<sheet>!<cell>"``
  and runs when that cell gets selected (the add-in then selects the cell below);
* the workbook's packages are the lines of its ``requirements.txt`` (the editor's
  requirements.txt tab); pure-Python wheels come from PyPI, compiled ones from the Pyodide
  distribution; a plugin is a package listed there that registers scripts and functions;
* the add-in shipped Pyodide 0.27.5 (Python 3.12) since its changelog entry 1.0.0.0-12.
"""

from __future__ import annotations

from dataclasses import dataclass

from xlsales.i18n import Label

PANEL_SHEET = "xlsales"  # one name in both languages: the scripts' button references use it
PYODIDE_VERSION = "0.27.5"
PLUGIN_MODULE = "xlsales.lite"
# The add-in's requirements.txt: these lines replace its default ones (which pin an older
# xlwings). xlwings as pyproject.toml pins it (PyPI has its pure-Python wheel).
XLWINGS_VERSION = "0.37.8"
REQUIREMENTS: tuple[str, ...] = (f"xlwings=={XLWINGS_VERSION}", "xlsales")
MAIN_PY = f"from {PLUGIN_MODULE} import *\n"  # registers xlsales's scripts and XS_ functions


@dataclass(frozen=True)
class LiteButton:
    """A sheet button: the shape ``shape`` covers ``cell`` of the panel sheet and links to it."""

    key: str
    script: str
    caption: Label
    cell: str

    @property
    def shape(self) -> str:
        return f"xlsales_{self.key}"

    @property
    def reference(self) -> str:
        """The ``button=`` argument of the script's decorator."""
        return f"[{self.shape}]{PANEL_SHEET}!{self.cell}"


BUTTONS: dict[str, LiteButton] = {b.key: b for b in (
    LiteButton("validate", "xlsales_validate", Label("校验本表", "Validate"), "B4"),
    LiteButton("rollup", "xlsales_rollup_week", Label("汇总本周周报", "Roll up this week"),
               "B7"),
    LiteButton("spotcheck", "xlsales_spot_check", Label("今日抽查", "Spot-check today"),
               "B10"),
    LiteButton("followups", "xlsales_refresh_followups",
               Label("刷新跟进计划", "Refresh follow-ups"), "B13"),
    LiteButton("review", "xlsales_monthly_review", Label("生成本月复盘", "Monthly review"),
               "B16"),
    LiteButton("agenda", "xlsales_meeting_pack", Label("生成本周议程", "Weekly agenda"), "B19"),
    LiteButton("team", "xlsales_load_team", Label("读取团队设置", "Load team settings"), "B22"),
)}

# The buttons of each workspace workbook (as the VBA route's, plus reading the team's
# settings for the XS_ functions; the settings workbook has that one only).
BOOK_BUTTONS: dict[str, tuple[str, ...]] = {
    "settings": ("team",),
    "targets": ("validate", "team"),
    "daily": ("validate", "rollup", "spotcheck", "team"),
    "agenda": ("agenda", "validate", "team"),
    "review": ("review", "team"),
    "customers": ("validate", "followups", "team"),
}

# Hidden sheets that carry a copy of the team's settings tables in a Lite workbook (xlwings
# Lite sees the open workbook only): named after the settings sheets with this prefix.
SETTINGS_COPY_PREFIX = "_xs_"
