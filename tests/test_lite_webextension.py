"""``init --lite`` workbooks carry the xlwings Lite add-in's own settings part, so the
add-in opens with xlsales's ``main.py`` and ``requirements.txt`` already in place.

Facts from workbooks the add-in saved (public example workbooks of xlwings Lite apps,
Pyodide 0.27.x), kept here rather than copied files:

* the add-in is the Office-store web extension ``wa200008175`` (store type ``OMEX``);
* its settings are properties of ``xl/webextensions/webextension1.xml``, reached from the
  package relationships through ``xl/webextensions/taskpanes.xml`` (relationship types
  ``…/2011/relationships/webextensiontaskpanes`` and ``…/webextension``);
* the properties are ``main.py``, ``requirements.txt``, ``pyodideVersion`` and
  ``addinVersion``, each value a JSON string;
* ``requirements.txt`` starts with ``xlwings==…  # required``, ``python-dotenv…  #
  required``, ``pyodide-http  # required`` and ``black  # required``.
"""

from __future__ import annotations

import html
import json
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest

from xlsales.io.webextension import lite_requirements
from xlsales.lite.layout import MAIN_PY, PYODIDE_VERSION, XLWINGS_VERSION
from xlsales.settings import Settings
from xlsales.workspace import write_workspace

WEB = "xl/webextensions/webextension1.xml"
PANES = "xl/webextensions/taskpanes.xml"


@pytest.fixture(scope="module")
def lite_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lite")
    write_workspace(root, Settings.default(), lang="zh", lite=True)
    return root


def _properties(path: Path) -> dict[str, object]:
    with zipfile.ZipFile(path) as z:
        xml = z.read(WEB).decode("utf-8")
    return {m.group(1): json.loads(html.unescape(m.group(2)))
            for m in re.finditer(r'<we:property name="([^"]+)" value="([^"]*)"', xml)}


@pytest.mark.parametrize("book", ["daily_report.xlsx", "customers.xlsx", "targets.xlsx",
                                  "settings.xlsx"])
def test_the_add_in_finds_main_py_and_requirements(lite_ws: Path, book: str) -> None:
    path = lite_ws / book
    props = _properties(path)
    assert props["main.py"] == MAIN_PY
    assert props["pyodideVersion"] == PYODIDE_VERSION
    lines = str(props["requirements.txt"]).splitlines()
    assert lines[0] == f"xlwings=={XLWINGS_VERSION}  # required"
    assert lines[1:4] == ["python-dotenv  # required", "pyodide-http  # required",
                          "black  # required"]
    assert "xlsales" in lines
    with zipfile.ZipFile(path) as z:
        web = z.read(WEB).decode()
        assert re.search(r'<we:reference id="wa200008175" [^>]*storeType="OMEX"', web)
        types = z.read("[Content_Types].xml").decode()
        assert f'PartName="/{WEB}" ContentType="application/vnd.ms-office.webextension+xml"' \
            in types
        assert f'PartName="/{PANES}"' in types
        root = z.read("_rels/.rels").decode()
        assert re.search(r'Type="http://schemas.microsoft.com/office/2011/relationships/'
                         rf'webextensiontaskpanes" Target="{PANES}"', root)
        assert 'Target="webextension1.xml"' in z.read(
            "xl/webextensions/_rels/taskpanes.xml.rels").decode()
        ids = re.findall(r'Id="(rId\d+)"', root)
        assert len(ids) == len(set(ids))
    openpyxl.load_workbook(path)  # still a workbook any reader opens


def test_every_workbook_has_its_own_extension_id_the_same_each_time(lite_ws: Path,
                                                                     tmp_path: Path) -> None:
    def ext_id(path: Path) -> str:
        with zipfile.ZipFile(path) as z:
            found = re.search(r'<we:webextension [^>]*id="(\{[0-9A-F-]+\})"',
                              z.read(WEB).decode())
        assert found
        return found.group(1)

    write_workspace(tmp_path, Settings.default(), lang="zh", lite=True)
    names = ["daily_report.xlsx", "customers.xlsx"]
    assert ext_id(lite_ws / names[0]) != ext_id(lite_ws / names[1])
    assert [ext_id(lite_ws / n) for n in names] == [ext_id(tmp_path / n) for n in names]


def test_requirements_add_what_the_add_in_requires_once() -> None:
    text = lite_requirements(["xlwings==0.37.8", "black==24.1", "xlsales>=0.1"])
    assert text.splitlines() == ["xlwings==0.37.8  # required", "python-dotenv  # required",
                                 "pyodide-http  # required", "black==24.1", "xlsales>=0.1"]
