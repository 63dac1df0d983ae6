"""The xlwings Lite add-in's own part of a workbook: its Office web-extension parts.

An Office add-in keeps a workbook's settings as properties of a web extension
(``xl/webextensions/webextension1.xml``), reached through the task pane part that the
package relationships point at. xlwings Lite keeps there, as JSON strings, the workbook's
``main.py``, its ``requirements.txt``, the Pyodide version and the add-in version (as the
workbooks it saves show: tests/test_lite_webextension.py keeps these facts). A workbook
written with these parts opens in Excel with the add-in's task pane and its code and
requirements already in place: nothing to paste.
"""

from __future__ import annotations

import json
import re
import uuid
import zipfile
from pathlib import Path

from xlsales.io.xmltext import escape

ADDIN_ID = "wa200008175"  # xlwings Lite in the Office add-in store
ADDIN_STORE_TYPE = "OMEX"
WEBEXTENSION = "xl/webextensions/webextension1.xml"
TASKPANES = "xl/webextensions/taskpanes.xml"
TASKPANES_RELS = "xl/webextensions/_rels/taskpanes.xml.rels"
CT_WEBEXTENSION = "application/vnd.ms-office.webextension+xml"
CT_TASKPANES = "application/vnd.ms-office.webextensiontaskpanes+xml"
REL_WEBEXTENSION = "http://schemas.microsoft.com/office/2011/relationships/webextension"
REL_TASKPANES = "http://schemas.microsoft.com/office/2011/relationships/webextensiontaskpanes"
_WE = "http://schemas.microsoft.com/office/webextensions/webextension/2010/11"
_WETP = "http://schemas.microsoft.com/office/webextensions/taskpanes/2010/11"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_A = "http://schemas.openxmlformats.org/drawingml/2006/main"
# the extension that tells Excel the add-in brings custom functions (loaded on open)
_CUSTOM_FUNCTIONS = "{D87F86FE-615C-45B5-9D79-34F1136793EB}"


# what the add-in's own requirements.txt marks "# required" besides xlwings
ADDIN_REQUIRED = ("python-dotenv", "pyodide-http", "black")


def lite_requirements(lines: tuple[str, ...] | list[str]) -> str:
    """A ``requirements.txt`` for the add-in: ``lines`` (xlwings pinned first), with the
    packages the add-in itself requires that they lack, marked as it marks them."""
    def name(line: str) -> str:
        return re.split(r"[=<>!~ #\[]", line.strip(), maxsplit=1)[0].lower()

    given = [line for line in lines if line.strip()]
    have = {name(line) for line in given}
    required = [f"{line}  # required" if name(line) == "xlwings" else line for line in given
                if name(line) == "xlwings"]
    required += [f"{pkg}  # required" for pkg in ADDIN_REQUIRED if pkg not in have]
    return "\n".join([*required, *(line for line in given if name(line) != "xlwings")]) + "\n"


def lite_parts(properties: dict[str, str], *, key: str) -> dict[str, bytes]:
    """The web-extension parts holding ``properties`` (name → text, stored as JSON
    strings as the add-in stores them); ``key`` makes the extension's id (one per
    workbook, the same on every run)."""
    ext_id = "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"xlsales:{key}")).upper() + "}"
    props = "".join(f'<we:property name="{_attr(name)}" '
                    f'value="{_attr(json.dumps(value, ensure_ascii=False))}"/>'
                    for name, value in properties.items())
    web = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
           f'<we:webextension xmlns:we="{_WE}" id="{ext_id}">'
           f'<we:reference id="{ADDIN_ID}" version="1.0.0.0" store="en-US" '
           f'storeType="{ADDIN_STORE_TYPE}"/><we:alternateReferences><we:reference '
           f'id="{ADDIN_ID.upper()}" version="1.0.0.0" store="{ADDIN_ID.upper()}" '
           f'storeType="{ADDIN_STORE_TYPE}"/></we:alternateReferences>'
           f'<we:properties>{props}</we:properties><we:bindings/><we:snapshot xmlns:r="{_R}"/>'
           f'<we:extLst><a:ext xmlns:a="{_A}" uri="{_CUSTOM_FUNCTIONS}">'
           f'<we:containsCustomFunctions/></a:ext></we:extLst></we:webextension>')
    panes = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
             f'<wetp:taskpanes xmlns:wetp="{_WETP}"><wetp:taskpane dockstate="right" '
             f'visibility="1" width="438" row="1"><wetp:webextensionref xmlns:r="{_R}" '
             f'r:id="rId1"/></wetp:taskpane></wetp:taskpanes>')
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
            f'relationships"><Relationship Id="rId1" Type="{REL_WEBEXTENSION}" '
            'Target="webextension1.xml"/></Relationships>')
    return {WEBEXTENSION: web.encode(), TASKPANES: panes.encode(),
            TASKPANES_RELS: rels.encode()}


def _attr(text: str) -> str:
    """``text`` for a double-quoted attribute, as Excel writes it (``&quot;``)."""
    return escape(text, {'"': "&quot;", "\n": "&#10;"})


def add_lite_parts(path: str | Path, properties: dict[str, str], *, key: str) -> None:
    """Give the workbook at ``path`` (a file xlsales is writing, not yet in place) the
    xlwings Lite task pane with ``properties`` (``key``: the workbook's name, for the
    extension's id): the parts, their content types and the package relationship;
    every other part is copied as it is."""
    path = Path(path)
    parts = lite_parts(properties, key=key)
    with zipfile.ZipFile(path) as z:
        items = [(info, z.read(info)) for info in z.infolist()
                 if info.filename not in parts]
    out = []
    for info, data in items:
        if info.filename == "[Content_Types].xml":
            text = data.decode("utf-8")
            extra = "".join(f'<Override PartName="/{name}" ContentType="{ct}"/>'
                            for name, ct in ((WEBEXTENSION, CT_WEBEXTENSION),
                                             (TASKPANES, CT_TASKPANES))
                            if f'PartName="/{name}"' not in text)
            data = text.replace("</Types>", extra + "</Types>").encode("utf-8")
        elif info.filename == "_rels/.rels" and REL_TASKPANES.encode() not in data:
            text = data.decode("utf-8")
            taken = {int(n) for n in re.findall(r'Id="rId(\d+)"', text)}
            rid = f"rId{max(taken, default=0) + 1}"
            data = text.replace("</Relationships>", f'<Relationship Id="{rid}" '
                                f'Type="{REL_TASKPANES}" Target="{TASKPANES}"/>'
                                "</Relationships>").encode("utf-8")
        out.append((info, data))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in out:
            z.writestr(info, data)
        for name, data in parts.items():
            z.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data,
                       compress_type=zipfile.ZIP_DEFLATED)
