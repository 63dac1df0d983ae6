"""Exceptions the library raises; the CLI maps them to exit codes.

Every message a user can see has a Chinese and an English form (a :class:`Label`);
``str(error)`` is the English one (for logs), :meth:`XlsalesError.text` gives either,
with the place it names (file, sheet, cell, value) in the same language.
"""

from __future__ import annotations

from xlsales.i18n import Label, Lang

Message = str | Label


def _label(message: Message) -> Label:
    return message if isinstance(message, Label) else Label(message, message)


class XlsalesError(Exception):
    """Base class: the command could not run (exit code 2)."""

    def __init__(self, message: Message = "") -> None:
        self.label = _label(message)
        super().__init__(self.label.en)

    def text(self, lang: Lang) -> str:
        """The message in ``lang``."""
        return self.label(lang)

    def __str__(self) -> str:
        return self.text("en")


class InputError(XlsalesError, ValueError):
    """An argument or setting the user gave is not one xlsales understands."""


class UnknownTableError(InputError, KeyError):
    """No business table has this key."""


PLACES = {"file": Label("文件", "file"), "sheet": Label("工作表", "sheet"),
          "cell": Label("单元格", "cell"), "value": Label("值", "value")}


class WorkbookError(XlsalesError):
    """A workbook could not be read or written; names the place when known."""

    def __init__(
        self,
        message: Message,
        *,
        file: str | None = None,
        sheet: str | None = None,
        cell: str | None = None,
        value: object = None,
    ) -> None:
        self.file, self.sheet, self.cell, self.value = file, sheet, cell, value
        super().__init__(message)
        self.args = (self.text("en"),)

    @property
    def message(self) -> Label:
        """The message without the place."""
        return self.label

    def where(self) -> dict[str, object]:
        """The place this error names: file, sheet, cell and value, where known."""
        return {k: v for k, v in (("file", self.file), ("sheet", self.sheet),
                                  ("cell", self.cell), ("value", self.value)) if v is not None}

    def text(self, lang: Lang) -> str:
        places = [f"{PLACES[k](lang)} {v!r}" if k == "value" else f"{PLACES[k](lang)} {v}"
                  for k, v in self.where().items()]
        message = self.label(lang)
        if not places:
            return message
        if lang == "zh":
            return f"{message}（{'，'.join(places)}）"
        return f"{message} ({', '.join(places)})"

class TableNotFoundError(WorkbookError):
    """No sheet holds a header row matching the table."""


def cannot(action: Label, what: Label | str, why: object = None) -> Label:
    """"cannot <action> <what>: <why>" in both languages (``why`` a Label or any text,
    such as a parser's own message, shown as it is)."""
    what = _label(what)
    if isinstance(why, BaseException):  # a library's message: its first line says it
        why = (str(why).strip().splitlines() or [type(why).__name__])[0]
    if why is None:
        return Label(f"无法{action.zh}{what.zh}", f"cannot {action.en} {what.en}")
    why = _label(why if isinstance(why, Label) else str(why))
    return Label(f"无法{action.zh}{what.zh}：{why.zh}", f"cannot {action.en} {what.en}: {why.en}")


READ, OPEN = Label("读取", "read"), Label("打开", "open")
WORKBOOK = Label("工作簿", "the workbook")
SHEET = Label("工作表", "the sheet")


def from_os_error(exc: OSError) -> WorkbookError:
    """A file the system could not open or write, as xlsales's own error."""
    why = exc.strerror or str(exc)
    return WorkbookError(Label(f"无法访问文件（{why}）", f"cannot access the file ({why})"),
                         file=str(exc.filename) if exc.filename else None)
