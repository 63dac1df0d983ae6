"""What ``pyproject.toml`` declares: the packages (``macros/`` shipped as ``xlsales._macros``),
the dependencies (exactly what xlsales imports; what only the tests import in the test
extra), the xlwings pin (the version the workbooks' VBA module names) and the licence.
Building and installing the wheel is :mod:`tests.test_wheel`."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

from xlsales.vba.macros import (
    MACROS_PACKAGE,
    module_files,
    xlwings_module,
    xlwings_version,
)
from xlsales.vba.project import read_vba_project

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]
SETUPTOOLS = PYPROJECT["tool"]["setuptools"]


def _name(requirement: str) -> str:
    """The normalised distribution name of a requirement (``XlsxWriter>=3`` → xlsxwriter)."""
    m = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert m, requirement
    return re.sub(r"[-_.]+", "-", m.group()).lower()


def _imports(folders: list[Path]) -> set[str]:
    """The top-level modules imported anywhere in ``folders`` (not the standard library,
    not the project's own)."""
    found = set()
    for folder in folders:
        for path in folder.rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    found |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names
            and m not in ("xlsales", "tests", "benchmarks", "__future__")}


def _distributions(modules: set[str]) -> set[str]:
    """The installed distributions providing ``modules``."""
    owners = metadata.packages_distributions()
    missing = sorted(m for m in modules if m not in owners)
    assert not missing, f"imported but not installed: {missing}"
    return {_name(owners[m][0]) for m in modules}


def test_every_package_is_listed() -> None:
    found = sorted(".".join(p.parent.relative_to(REPO).parts)
                   for p in (REPO / "xlsales").rglob("__init__.py"))
    assert sorted(SETUPTOOLS["packages"]) == sorted([*found, MACROS_PACKAGE])
    assert SETUPTOOLS["package-dir"] == {MACROS_PACKAGE: "macros"}
    assert sorted(SETUPTOOLS["package-data"][MACROS_PACKAGE]) == ["*.bas", "*.cls"]
    assert "importing/profiles/*.toml" in SETUPTOOLS["package-data"]["xlsales"]


def test_the_macros_come_from_the_package_data() -> None:
    on_disk = sorted(p.name for p in (REPO / "macros").iterdir()
                     if p.suffix in (".bas", ".cls"))
    assert [p.name for p in module_files()] == on_disk == ["Dictionary.cls",
                                                           "XlsalesButtons.bas"]


def test_dependencies_are_what_xlsales_imports() -> None:
    runtime = {_name(r) for r in PROJECT["dependencies"]}
    assert _distributions(_imports([REPO / "xlsales"])) == runtime
    test_extra = {_name(r) for r in PROJECT["optional-dependencies"]["test"]}
    only_tests = _distributions(_imports([REPO / "tests", REPO / "benchmarks"])) - runtime
    assert only_tests <= test_extra, only_tests - test_extra
    assert test_extra - only_tests == {"ruff"}  # a tool the test command runs, not imported


def test_xlwings_is_pinned_to_the_version_the_workbooks_embed() -> None:
    [pin] = [r for r in PROJECT["dependencies"] if _name(r) == "xlwings"]
    m = re.fullmatch(r"xlwings==(\d+(?:\.\d+)+)", pin)
    assert m, f"xlwings must be pinned to one version (the VBA module names its DLL): {pin}"
    version = m.group(1)
    assert metadata.version("xlwings") == version, "the installed xlwings is not the pinned one"
    module = xlwings_module()
    assert xlwings_version(module) == version
    assert f'"xlwings64-{version}.dll"' in module and f'XLWINGS_VERSION As String = "{version}"' \
        in module
    for path in sorted((REPO / "workbook_templates").glob("*/*.xlsm")):
        with zipfile.ZipFile(path) as z:
            stored = read_vba_project(z.read("xl/vbaProject.bin")).module("xlwings")
        assert stored is not None and xlwings_version(stored.text) == version, path


def test_the_licence_is_shipped() -> None:
    assert PROJECT["license"] == "MIT"
    assert PROJECT["license-files"] == ["LICENSE"]
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "WITHOUT WARRANTY OF ANY KIND" in text
    requires = PYPROJECT["build-system"]["requires"]
    assert any(re.fullmatch(r"setuptools>=(\d+)", r) and int(r.split(">=")[1]) >= 77
               for r in requires), "license-files in [project] needs setuptools 77"
