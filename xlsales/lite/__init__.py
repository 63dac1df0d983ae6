"""xlsales as an xlwings Lite plugin: the buttons' jobs as scripts and the ``XS_*``
worksheet functions as custom functions, inside Excel (Windows, macOS, the web) with no
Python installed: xlwings Lite runs them in Pyodide.

A workbook lists ``xlsales`` in its ``requirements.txt`` and its ``main.py`` imports this
module (``from xlsales.lite import *``): xlwings Lite registers the decorated functions it
finds among main.py's members, imported ones included (xlwings 0.37.8's
``custom_scripts_meta`` and ``custom_functions_meta`` walk the module with
``inspect.getmembers``). The one import line is the route that rests on that documented
behaviour; how the add-in registers a listed plugin without it is not spelled out in its
documentation. Everything imported from here is pure Python or part of Pyodide: the
file-format libraries stay on the file paths of :mod:`xlsales.io`
(``tests/test_lite.py`` checks the import closure against Pyodide's package list).
"""

from __future__ import annotations

from xlsales.lite.functions import (
    XS_COMPLETION,
    XS_DUPKEY,
    XS_NEXT_FOLLOWUP,
    XS_STAGE_PROB,
    XS_WEEK,
    XS_WEIGHTED,
    XS_WORKDAY_ADD,
    XS_WORKDAYS,
)
from xlsales.lite.scripts import (
    xlsales_load_team,
    xlsales_meeting_pack,
    xlsales_monthly_review,
    xlsales_refresh_followups,
    xlsales_rollup_week,
    xlsales_spot_check,
    xlsales_validate,
)

__all__ = ["XS_COMPLETION", "XS_DUPKEY", "XS_NEXT_FOLLOWUP", "XS_STAGE_PROB", "XS_WEEK",
           "XS_WEIGHTED", "XS_WORKDAYS", "XS_WORKDAY_ADD", "xlsales_load_team",
           "xlsales_meeting_pack", "xlsales_monthly_review", "xlsales_refresh_followups",
           "xlsales_rollup_week", "xlsales_spot_check", "xlsales_validate"]
