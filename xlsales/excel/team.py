"""Which team an open workbook belongs to: its workspace's settings, read once.

A workbook belongs to the workspace it is saved in (the folder that holds its
``settings.xlsx``), unless its hidden ``xlwings.conf`` sheet names the settings with an
``XLSALES_SETTINGS`` row (``Settings File`` is read too): a settings workbook or a
workspace folder, a relative path taken from the workbook's folder. The settings are
read once and kept by the file's path, modification time and size, so an edited
settings file is read again on the next call and an unchanged one never is.

A workbook outside any workspace (unsaved, on a web location, or in a folder without
``settings.xlsx``) gets the built-in defaults. A settings file that is there but cannot
be read, or an ``XLSALES_SETTINGS`` that names nothing, is an error
(:class:`SettingsUnavailable`): silently using the defaults would hide it.

No xlwings here: the book is anything with ``fullname`` and ``sheets`` (an
``xlwings.Book``, or the tests' fake), so the buttons can use it too.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xlsales.calendar import WorkCalendar
from xlsales.i18n import Label
from xlsales.settings import RosterEntry, Settings, Tier

if TYPE_CHECKING:
    from xlsales.followups import Engine

CONF_SHEET = "xlwings.conf"
CONF_KEY = "XLSALES_SETTINGS"
SETTINGS_FILE = "settings.xlsx"  # = workspace.BOOK_BY_KEY["settings"].filename
# xlwings.conf keys that name the settings, compared without case, spaces or underscores.
_CONF_KEYS = {"xlsalessettings", "settingsfile"}


class SettingsUnavailable(Exception):
    """The workbook's settings exist (or are named) but cannot be read; ``str`` says why
    (in English, as the cells show it), ``label`` in both languages (for the buttons).
    ``transient``: an OS error (a file locked while it is saved) worth trying again."""

    def __init__(self, reason: str, transient: bool = False, *,
                 label: Label | None = None) -> None:
        super().__init__(reason)
        self.transient = transient
        self.label = label or Label(reason, reason)


@dataclass(frozen=True, eq=False)
class Team:
    """A team's settings with what the worksheet functions build from them (once)."""

    settings: Settings
    source: Path | None = None  # the settings file; None: the built-in defaults

    @cached_property
    def calendar(self) -> WorkCalendar:
        return WorkCalendar.of(self.settings)

    @cached_property
    def engine(self) -> Engine:
        from xlsales.followups import Engine

        return Engine(self.settings, self.calendar)

    def tier(self, value: str) -> Tier | None:
        """A tier by its code (any case) or its zh/en name."""
        code = self.settings.canonical("tiers", value)
        text = value.strip()
        return next((t for t in self.settings.tiers
                     if t.tier == code or text in (t.zh, t.en)), None)

    def rep(self, name: str) -> RosterEntry | None:
        """A rep of the roster, matched as the roster dropdown matches (spaces, case)."""
        return self.settings.rep(self.settings.canonical("reps", name) or name.strip())


@lru_cache(maxsize=1)
def default_team() -> Team:
    """The built-in defaults, for workbooks outside any workspace."""
    return Team(Settings.default())


# -- where the settings are ---------------------------------------------------------------

def conf(book: Any) -> dict[str, Any]:
    """The key/value rows of the book's ``xlwings.conf`` sheet ({} without one), read the
    way xlwings reads them: key in column A, value in column B."""
    try:
        sheet = book.sheets[CONF_SHEET]
        rows = sheet.used_range.options(ndim=2).value or []
    except Exception:  # a missing sheet raises differently on Windows, macOS and the fake
        return {}
    out: dict[str, Any] = {}
    for row in rows:
        if isinstance(row, list) and row and isinstance(row[0], str) and row[0].strip():
            out.setdefault(row[0].strip(), row[1] if len(row) > 1 else None)
    return out


def _folder(book: Any) -> Path | None:
    """The folder the book is saved in; None for an unsaved book or a web location."""
    name = str(getattr(book, "fullname", "") or "")
    if not name or "://" in name:
        return None
    path = Path(name)
    return path.parent if path.is_absolute() else None


def settings_file(book: Any) -> tuple[Path | None, bool]:
    """(the settings file of ``book``, whether ``xlwings.conf`` named it). The file is
    None when the book is outside any workspace. Raises :class:`SettingsUnavailable`
    when ``xlwings.conf`` names settings that are not there."""
    folder = _folder(book)
    key, named = next(((k, v) for k, v in conf(book).items()
                       if re.sub(r"[\s_]+", "", k).casefold() in _CONF_KEYS
                       and v is not None and str(v).strip()), (CONF_KEY, None))
    if named is not None:
        path = Path(os.path.expandvars(str(named).strip().strip('"'))).expanduser()
        if not path.is_absolute():
            if folder is None:
                raise SettingsUnavailable(
                    f"{key} {str(named)!r} in {CONF_SHEET} is a relative path but the "
                    "workbook is not saved in a folder",
                    label=Label(f"{CONF_SHEET} 中的 {key} {str(named)!r} 是相对路径，"
                                "但工作簿不在文件夹中（尚未保存或在网络位置）",
                                f"{key} {str(named)!r} in {CONF_SHEET} is a relative path "
                                "but the workbook is not saved in a folder"))
            path = Path(os.path.normpath(folder / path))
        if path.is_dir():
            path = path / SETTINGS_FILE
        if not path.exists():
            raise SettingsUnavailable(
                f"no settings file at {path} ({key} in {CONF_SHEET})",
                label=Label(f"{path} 处没有设置文件（{CONF_SHEET} 中的 {key}）",
                            f"no settings file at {path} ({key} in {CONF_SHEET})"))
        return path, True
    if folder is None:
        return None, False
    path = folder / SETTINGS_FILE
    return (path, False) if path.exists() else (None, False)


# -- reading them once ----------------------------------------------------------------------

def read_settings_file(path: Path) -> Settings:
    """Read a settings workbook (the library's reader; tests count calls to this)."""
    from xlsales import workspace

    if path.name == SETTINGS_FILE:
        return workspace.read_settings(path.parent)
    return workspace._read_settings(path)  # a settings workbook under another name


_CACHE: dict[str, tuple[tuple[int, int], Team | SettingsUnavailable]] = {}


def team_of(book: Any | None) -> Team:
    """The team of ``book`` (None: no calling workbook, the defaults)."""
    if book is None:
        return default_team()
    path, _ = settings_file(book)
    if path is None:
        return default_team()
    try:
        st = path.stat()
    except OSError as exc:
        raise _os_error(exc, path) from None
    key, stamp = str(path.resolve()), (st.st_mtime_ns, st.st_size)
    cached = _CACHE.get(key)
    if cached is not None and cached[0] == stamp:
        found = cached[1]
    else:
        found = _read(path)
        if len(_CACHE) > 16:
            _CACHE.clear()
        if not (isinstance(found, SettingsUnavailable) and found.transient):
            _CACHE[key] = (stamp, found)
    if isinstance(found, SettingsUnavailable):
        raise SettingsUnavailable(str(found), label=found.label)
    return found


def _read(path: Path) -> Team | SettingsUnavailable:
    """The team read from ``path``, or why it could not be (an OS error, such as a file
    locked while it is saved, is not kept: the next call tries again)."""
    from xlsales.errors import XlsalesError

    try:
        return Team(read_settings_file(path), path)
    except XlsalesError as exc:
        return SettingsUnavailable(str(exc), label=Label(exc.text("zh"), exc.text("en")))
    except OSError as exc:
        return _os_error(exc, path, transient=True)
    except Exception as exc:  # a bug in reading: said in the cell, not a traceback per cell
        return SettingsUnavailable(f"{type(exc).__name__}: {exc} (file {path})")


def _os_error(exc: OSError, path: Path, transient: bool = False) -> SettingsUnavailable:
    why = exc.strerror or str(exc)
    return SettingsUnavailable(f"{why} (file {path})", transient,
                               label=Label(f"{why}（文件 {path}）", f"{why} (file {path})"))


def clear_cache() -> None:
    """Forget every team read (the next call reads its settings again)."""
    _CACHE.clear()
