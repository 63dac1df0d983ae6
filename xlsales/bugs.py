"""What happens when xlsales hits a bug: the traceback goes to a log file of its own,
and the user sees a short message naming it (never the traceback)."""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback

from xlsales import __version__
from xlsales.i18n import Lang


def write_log(exc: BaseException, command: str) -> str | None:
    """Write what a bug report needs (versions, command, traceback) to a new log file in
    the temporary folder; its path, or None when it could not be written."""
    text = (f"xlsales {__version__}, python {sys.version.split()[0]}\n"
            f"command: {command}\n\n"
            + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    try:  # a new file of its own (never one that is there, never through a link)
        fd, name = tempfile.mkstemp(prefix=f"xlsales-bug-{time.strftime('%Y%m%d-%H%M%S')}-",
                                    suffix=".log")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError:
        return None
    return name


def message(exc: BaseException, log: str | None, lang: Lang) -> str:
    """The short message telling the user about the bug and where its details are."""
    kind = type(exc).__name__
    if lang == "zh":
        where = f"；详情见 {log}" if log else ""
        return (f"xlsales 遇到了一个程序错误（{kind}）{where}。工作簿只会被完整写好的新文件替换，"
                "原文件不受影响。请把这个文件附在问题报告里发给我们。")
    where = f"; details in {log}" if log else ""
    return (f"xlsales hit a bug ({kind}){where}. Workbooks are only replaced by a completed "
            "write. Please report it with that file.")
