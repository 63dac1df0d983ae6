"""Workbooks for xlwings Lite (``xlsales init --lite``): the workspace's workbooks as
plain ``.xlsx`` (no VBA), each with

* an ``xlsales`` panel sheet: the buttons of its jobs (shapes named ``xlsales_<job>``, each
  linked to the cell it covers: the way xlwings Lite wires sheet buttons, see
  :mod:`xlsales.lite.layout`), what each does, and the workbook's ``requirements.txt``
  and ``main.py`` lines to put into the add-in's editor on first use;
* hidden copies of the team's settings tables (sheets ``_xs_<settings sheet>``, values
  only): a Lite script can read the open workbook only, so the team travels with it.

The shapes' names are set in the drawing part after XlsxWriter wrote the file (it names
text boxes ``TextBox <n>``).
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import xlsxwriter

from xlsales.i18n import Label, Lang
from xlsales.io.webextension import add_lite_parts, lite_requirements
from xlsales.io.xlsx_writer import (
    _display,
    book_tables,
    page_setup,
    table_values,
    write_book,
)
from xlsales.lite.layout import (
    BUTTONS,
    MAIN_PY,
    PANEL_SHEET,
    PYODIDE_VERSION,
    REQUIREMENTS,
    SETTINGS_COPY_PREFIX,
)
from xlsales.workbook import BookPlan

if TYPE_CHECKING:
    from xlsales.io.edit.book import WorkbookEdit
    from xlsales.settings import Settings

PANEL_TITLE = Label("xlsales 按钮(xlwings Lite,无需安装 Python)",
                    "xlsales buttons (xlwings Lite, no Python to install)")
PANEL_STEPS = Label(
    "首次使用:Excel 开始 › 加载项 › 搜索 xlwings › 添加(每台电脑或浏览器一次)。本工作簿已带有"
    " xlwings Lite 的 main.py 和 requirements.txt,打开时任务窗格会自动载入 xlsales;"
    "之后点击左侧按钮即可。下面两段内容供在其他工作簿的任务窗格中手动填写。",
    "First use: Excel Home › Add-ins › search xlwings › Add (once per computer or browser). "
    "This workbook already holds xlwings Lite's main.py and requirements.txt: the task pane "
    "loads xlsales when the workbook opens; then click the buttons on the left. The lines "
    "below are for typing into another workbook's task pane.")
REQUIREMENTS_LABEL = "requirements.txt"
MAIN_PY_LABEL = "main.py"
WHAT = {
    "validate": Label("检查本工作簿的每张表,给出错的单元格标色并在 校验结果 表列出",
                      "checks every table of this workbook, colours the bad cells and lists "
                      "the findings on a Validation sheet"),
    "rollup": Label("把本周日报汇总成周报工作表(目标取自本工作簿中的目标表)",
                    "rolls this week's dailies up into a weekly sheet (targets: the target "
                    "tables this workbook holds)"),
    "spotcheck": Label("抽取今天的日报并在 抽查日期 填上日期",
                       "picks today's spot-check and dates the picked reports"),
    "followups": Label("填写下次跟进时间与原因(保留手填日期),并列出待跟进",
                       "fills next follow-ups and reasons (typed dates kept) and lists "
                       "what is due"),
    "review": Label("用本工作簿中的日报、商机与目标表生成本月复盘工作表",
                    "writes this month's review sheet from the dailies, opportunities and "
                    "targets this workbook holds"),
    "agenda": Label("用本工作簿的行动项和复制进来的日报、客户档案、商机(及目标)表生成本周会议"
                    "议程工作表;缺少哪张表会说明",
                    "writes this week's meeting pack sheet from the action items here and "
                    "the dailies, customers, opportunities (and targets) copied in; says "
                    "which table is missing"),
    "team": Label("读取本工作簿中的团队设置,供 XS_ 函数使用",
                  "reads the team's settings in this workbook for the XS_ functions"),
}
BUTTON_ROWS, BUTTON_COLS = 2, 1  # each shape covers its cell's row and the row below


def write_lite_book(plan: BookPlan, path: str | os.PathLike[str], *,
                    buttons: Sequence[str], settings_plan: BookPlan | None) -> None:
    """Write ``plan`` to ``path`` for xlwings Lite: its sheets, the panel with
    ``buttons`` and, when ``settings_plan`` is given, hidden copies of its tables."""
    def more(wb: xlsxwriter.Workbook) -> None:
        if settings_plan is not None:
            _write_settings_copies(wb, settings_plan)
        _write_panel(wb, plan.lang, buttons)

    def after(tmp: Path) -> None:
        _name_shapes(tmp, [BUTTONS[k].shape for k in buttons])
        add_lite_parts(tmp, {"main.py": MAIN_PY,
                             "requirements.txt": lite_requirements(REQUIREMENTS),
                             "pyodideVersion": PYODIDE_VERSION}, key=Path(path).name)

    write_book(plan, path, more=more, after=after)


def settings_grids(plan: BookPlan) -> dict[str, list[list[Any]]]:
    """The hidden copies of the settings tables of ``plan``: sheet name → its rows
    (the header row first; None for a blank cell)."""
    tables = book_tables(plan)

    def display(list_key: str, value: str) -> str:
        return _display(plan, list_key, value)

    out: dict[str, list[list[Any]]] = {}
    for sheet in plan.sheets:
        spec = sheet.spec
        columns = table_values(spec, sheet.rows, lang=plan.lang, options=plan.options,
                               display=display, tables=tables, blank_rows=0)
        cols = [c for c in spec.columns if c.key in columns]
        rows = max((len(columns[c.key]) for c in cols), default=0)
        grid = [[c.header(plan.lang) for c in cols]]
        grid += [[None if (v := columns[c.key][i]) == "" else v for c in cols]
                 for i in range(rows)]
        out[f"{SETTINGS_COPY_PREFIX}{spec.sheet(plan.lang)}"[:31]] = grid
    return out


def _write_settings_copies(wb: xlsxwriter.Workbook, plan: BookPlan) -> None:
    """The settings tables as values on hidden sheets (header row, then the rows)."""
    for name, grid in settings_grids(plan).items():
        ws = wb.add_worksheet(name)
        for i, row in enumerate(grid):
            for j, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, str):
                    ws.write_string(i, j, value)
                else:
                    ws.write(i, j, value)
        ws.hide()


def refresh_settings_copies(wb: WorkbookEdit, settings: Settings, lang: Lang) -> bool:
    """Bring the hidden settings copies of an xlwings Lite workbook up to date with
    ``settings`` (what ``xlsales settings sync`` does for them); False when the workbook
    has none, or they hold these settings already."""
    from xlsales.io.edit.cells import Cell
    from xlsales.io.edit.newsheet import NewSheet
    from xlsales.workbook import book_plan
    from xlsales.workspace import BOOK_BY_KEY, settings_records

    if not any(n.startswith(SETTINGS_COPY_PREFIX) for n in wb.sheet_names):
        return False
    plan = book_plan(BOOK_BY_KEY["settings"].specs, settings_records(settings, lang),
                     settings, lang)
    changed = False
    for name, grid in settings_grids(plan).items():
        sheet = NewSheet(landscape=False)
        for i, row in enumerate(grid):
            for j, value in enumerate(row):
                if value is not None:
                    sheet.set(i, j, Cell(value))
        current = next((s for s in wb.sheets if s.name == name), None)
        if current is not None and wb.pkg.read(current.part) == sheet.render([]):
            continue
        wb.put_sheet(name, sheet, hidden=True)
        changed = True
    return changed


def _write_panel(wb: xlsxwriter.Workbook, lang: Lang, buttons: Sequence[str]) -> None:
    ws = wb.add_worksheet(PANEL_SHEET)
    bold = wb.add_format({"bold": True, "font_size": 14})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    mono = wb.add_format({"font_name": "Consolas"})
    ws.set_column(0, 0, 2)
    ws.set_column(1, 2, 14)
    ws.set_column(3, 3, 60)
    ws.set_column(5, 5, 50)
    ws.write_string(0, 1, PANEL_TITLE(lang), bold)
    ws.merge_range(1, 1, 1, 5, PANEL_STEPS(lang), wrap)
    ws.set_row(1, 60)
    for key in buttons:
        b = BUTTONS[key]
        row, col = _cell(b.cell)
        ws.insert_textbox(row, col, b.caption(lang), {
            "width": 190, "height": 36, "x_offset": 1, "y_offset": 1,
            "url": f"internal:{PANEL_SHEET}!{b.cell}", "tip": b.caption(lang),
            "font": {"bold": True, "color": "white", "size": 11},
            "align": {"vertical": "middle", "horizontal": "center"},
            "fill": {"color": "#217346"}, "line": {"color": "#185C37"},
            "object_position": 1})
        ws.write_string(row, 3, WHAT[key](lang), wrap)
    ws.write_string(3, 5, REQUIREMENTS_LABEL, wb.add_format({"bold": True}))
    for i, line in enumerate(REQUIREMENTS):
        ws.write_string(4 + i, 5, line, mono)
    at = 5 + len(REQUIREMENTS) + 1
    ws.write_string(at, 5, MAIN_PY_LABEL, wb.add_format({"bold": True}))
    ws.write_string(at + 1, 5, MAIN_PY.rstrip("\n"), mono)
    ws.write_string(at + 3, 5, f"Pyodide {PYODIDE_VERSION}")
    page_setup(ws)


def _cell(address: str) -> tuple[int, int]:
    m = re.fullmatch(r"([A-Z]+)(\d+)", address)
    assert m, address
    col = 0
    for ch in m.group(1):
        col = col * 26 + ord(ch) - 64
    return int(m.group(2)) - 1, col - 1


def _name_shapes(path: Path, names: Sequence[str]) -> None:
    """Give the panel's text boxes their button names (``TextBox <n>`` in the order they
    were inserted), in the panel's drawing part."""
    with zipfile.ZipFile(path) as z:
        items = [(info, z.read(info)) for info in z.infolist()]
    drawings = [info.filename for info, _ in items
                if re.fullmatch(r"xl/drawings/drawing\d+\.xml", info.filename)]
    out = []
    for info, data in items:
        if info.filename in drawings:
            text = data.decode("utf-8")
            for i, name in enumerate(names, start=1):
                text = text.replace(f'name="TextBox {i}"', f'name="{name}"', 1)
            data = text.encode("utf-8")
        out.append((info, data))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in out:
            z.writestr(info, data)
