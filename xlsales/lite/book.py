"""The open workbook as xlwings Lite hands it to a script, seen as the buttons see a book.

xlwings Lite runs Python in the browser (Pyodide): a script gets the active workbook's
values and writes back through the Excel object model; it can read no file, and no other
workbook. So the team comes from the workbook itself: its settings tables (the settings
workbook, or the hidden copies ``xlsales init --lite`` puts into every workbook) and, for
the roll-up's targets, its target tables when it holds them. Everything else is the
buttons' code (:mod:`xlsales.excel.buttons`), over the same library functions as the CLI.

The Lite API differs from desktop xlwings in what the buttons touch in two places only:
``app.status_bar`` does not exist (xlwings raises), and ``fullname`` is the workbook's
name, not a path. :class:`LiteBook` covers both.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from xlsales.excel.buttons import SKIP_SHEETS, _grid
from xlsales.lite.layout import PANEL_SHEET
from xlsales.settings import Settings

# Sheets that hold no team table (the panel, the buttons' bookkeeping).
NOT_TABLES = (*SKIP_SHEETS, PANEL_SHEET)


class LiteApp:
    """``book.app`` of xlwings Lite, with the status bar the buttons set kept here."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self.status_bar: Any = False
        self.alerts: list[str] = []

    def alert(self, prompt: str, title: str = "", **kw: Any) -> Any:
        self.alerts.append(prompt)
        return self._app.alert(prompt, title=title, **kw)


class LiteBook:
    """An xlwings Lite ``Book`` with the team it carries (``team_settings``,
    ``team_targets``: what :mod:`xlsales.excel.buttons` asks a book for)."""

    def __init__(self, book: Any) -> None:
        self.book = book
        self.sheets = book.sheets
        self.app = LiteApp(book.app)
        self.fullname = str(getattr(book, "name", "") or "workbook")

    def save(self, path: str | None = None) -> None:
        self.book.save()

    @cached_property
    def grids(self) -> dict[str, list[list[Any]]]:
        """Every sheet's values as a grid whose [0][0] is A1 (read once)."""
        return {s.name: _grid(s) for s in self.sheets if s.name not in NOT_TABLES}

    @cached_property
    def settings_found(self) -> bool:
        """Whether the workbook holds any of the team's settings tables."""
        from xlsales.frames import locate
        from xlsales.workspace import BOOK_BY_KEY

        return any(locate(self.grids, spec) is not None
                   for spec in BOOK_BY_KEY["settings"].specs)

    @cached_property
    def team_settings(self) -> Settings:
        """The team's settings from the workbook's settings tables; the built-in defaults
        when it holds none."""
        from xlsales.workspace import settings_from_grids

        if not self.settings_found:
            return Settings.default()
        return settings_from_grids(self.grids, self.fullname)

    def team_targets(self, settings: Settings) -> Any:
        """The targets the workbook holds (none: no targets, as a workspace without
        ``targets.xlsx``); an error in them raises as ``load_targets`` does."""
        from xlsales import tables as T
        from xlsales.io.read import first_error
        from xlsales.io.read.grid import table_from_grids
        from xlsales.performance import Targets

        owners = table_from_grids(self.grids, T.get("targets"), settings, file=self.fullname)
        if owners is None:
            return Targets()
        team = table_from_grids(self.grids, T.get("team_targets"), settings,
                                file=self.fullname)
        first_error(owners)
        if team is not None:
            first_error(team)
        return Targets.from_records(owners.records(), team.records() if team else ())
