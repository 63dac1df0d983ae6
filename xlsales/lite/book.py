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
    def settings_tables(self) -> frozenset[str]:
        """The keys of the team's settings tables the workbook holds (an agenda workbook
        holds the meeting agenda's, nothing else of the team's settings)."""
        from xlsales.frames import locate
        from xlsales.workspace import BOOK_BY_KEY

        return frozenset(spec.key for spec in BOOK_BY_KEY["settings"].specs
                         if locate(self.grids, spec) is not None)

    @property
    def settings_found(self) -> bool:
        """Whether the workbook holds any of the team's settings tables."""
        return bool(self.settings_tables)

    @cached_property
    def team_settings(self) -> Settings:
        """The team's settings from the workbook's settings tables; the built-in defaults
        when it holds none."""
        from xlsales.workspace import settings_from_grids

        if not self.settings_found:
            return Settings.default()
        return settings_from_grids(self.grids, self.fullname)

    def tables_per_sheet(self, spec: Any, settings: Settings, *, scan_rows: int,
                         stop_at_blank: bool = False) -> list[Any]:
        """``spec``'s table in every sheet that has one (as
        :func:`xlsales.io.read.read_tables_per_sheet` reads a file)."""
        from xlsales.frames import build_table, locate
        from xlsales.io.read.grid import raw_from_grid

        out = []
        for name, grid in self.grids.items():
            found = locate(self.grids, spec, sheet=name, scan_rows=scan_rows)
            if found is not None:
                raw = raw_from_grid(grid, spec, file=self.fullname, sheet=name,
                                    header_row=found[1], cols=found[2])
                out.append(build_table(raw, spec, settings, stop_at_blank=stop_at_blank))
        return out

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
