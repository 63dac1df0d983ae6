"""Exceptions the library raises; the CLI maps them to exit codes."""

from __future__ import annotations


class XlsalesError(Exception):
    """Base class: the command could not run (exit code 2)."""


class WorkbookError(XlsalesError):
    """A workbook could not be read or written; names the place when known."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        sheet: str | None = None,
        cell: str | None = None,
        value: object = None,
    ) -> None:
        self.message = message
        self.file, self.sheet, self.cell, self.value = file, sheet, cell, value
        where = ", ".join(
            p
            for p in (
                f"file {file}" if file else "",
                f"sheet {sheet}" if sheet else "",
                f"cell {cell}" if cell else "",
                f"value {value!r}" if value is not None else "",
            )
            if p
        )
        super().__init__(f"{message} ({where})" if where else message)


class TableNotFoundError(WorkbookError):
    """No sheet holds a header row matching the table."""
