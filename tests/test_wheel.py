"""The wheel, built and installed the way a team installs xlsales, outside the checkout.

``pip wheel . --no-deps`` builds it (from a copy of what the build needs, so the checkout
gets no ``build/``); a fresh virtual environment installs it with its dependencies from the
package index; then, from a folder outside the checkout and without ``XLSALES_MACROS``,
the installed ``xlsales`` runs ``init --macros``, ``demo``, ``templates build`` and
``excel upgrade``. The ``.xlsm`` files it writes are read back with the spec-derived VBA
parser (:mod:`tests.ovba_grammar`) and their VBA projects are the checkout's, byte for byte.

Slow (about a minute, most of it installing pandas, pyarrow & co.); CI runs it. Without
the package index it is skipped, except under ``CI=true``, where it fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.flavours import changed_parts, parts
from tests.ovba_grammar import module_text, read_vba_project
from tests.test_upgrade import VBA, fake_old
from tests.test_vba_grammar import expected_sources
from xlsales.i18n import LANGS
from xlsales.vba.macros import BOOK_BUTTONS
from xlsales.workspace import BOOK_BY_KEY, BOOKS

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
BUILD_INPUTS = ("pyproject.toml", "README.md", "LICENSE", "xlsales", "macros")
OFFLINE = re.compile(r"NewConnectionError|Failed to establish a new connection|Temporary "
                     r"failure in name resolution|Network is unreachable|ConnectTimeout|"
                     r"ReadTimeoutError|No matching distribution found|Could not find a "
                     r"version that satisfies")
MACRO_FILES = sorted(Path(BOOK_BY_KEY[k].filename).with_suffix(".xlsm").name
                     for k in BOOK_BUTTONS)


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def _run(cmd: list[str | Path], *, cwd: Path, what: str, timeout: float = 900,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a build or install step; a failure fails the test, or skips it when the package
    index cannot be reached and CI is not set."""
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env, check=False)
    if proc.returncode != 0:
        output = f"{what} failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n" \
                 f"{proc.stderr[-3000:]}"
        if OFFLINE.search(proc.stdout + proc.stderr) and not _ci():
            pytest.skip(f"the package index cannot be reached: {output}")
        pytest.fail(output, pytrace=False)
    return proc


def _clean_env() -> dict[str, str]:
    """The environment of the installed commands: nothing pointing back at the checkout."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "XLSALES_MACROS", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``pip wheel . -w dist --no-deps`` on a copy of the build's inputs."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"
    src.mkdir()
    for name in BUILD_INPUTS:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copyfile(path, src / name)
    _run([sys.executable, "-m", "pip", "wheel", ".", "-w", root / "dist", "--no-deps",
          "--disable-pip-version-check", "-q"], cwd=src, what="pip wheel")
    [built] = sorted((root / "dist").glob("xlsales-*.whl"))
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment (outside the checkout) with the wheel installed from it
    and its dependencies from the package index; its ``bin`` folder."""
    root = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", root / "venv"], cwd=root, what="python -m venv")
    bin_dir = root / "venv" / ("Scripts" if os.name == "nt" else "bin")
    _run([bin_dir / "python", "-m", "pip", "install", "--disable-pip-version-check", "-q",
          wheel], cwd=root, what="pip install the wheel", env=_clean_env())
    return bin_dir


def xlsales(bin_dir: Path, *args: str | Path, cwd: Path) -> dict:
    """Run the installed ``xlsales`` with ``--json``; its JSON answer."""
    proc = subprocess.run([str(bin_dir / "xlsales"), *map(str, args), "--json"], cwd=cwd,
                          capture_output=True, text=True, timeout=600, env=_clean_env(),
                          check=False)
    assert proc.returncode == 0, f"xlsales {args}: exit {proc.returncode}\n{proc.stdout}\n" \
                                 f"{proc.stderr}"
    return json.loads(proc.stdout)


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A working folder away from the checkout."""
    folder = tmp_path_factory.mktemp("outside")
    assert REPO not in folder.parents
    return folder


# -- the wheel itself ----------------------------------------------------------------------------

def test_the_wheel_holds_the_package_data(wheel: Path) -> None:
    listing = subprocess.run([sys.executable, "-m", "zipfile", "-l", str(wheel)],
                             capture_output=True, text=True, check=True).stdout
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        license_name = next(n for n in names if n.endswith(".dist-info/licenses/LICENSE"))
        assert z.read(license_name) == (REPO / "LICENSE").read_bytes()
        for path in (REPO / "macros").iterdir():
            if path.suffix in (".bas", ".cls"):
                assert z.read(f"xlsales/_macros/{path.name}") == path.read_bytes(), path.name
        meta = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    for name in ("xlsales/_macros/XlsalesButtons.bas", "xlsales/_macros/Dictionary.cls",
                 "xlsales/importing/profiles/salesforce.toml", "LICENSE"):
        assert name in listing, f"{name} not in the wheel:\n{listing}"
    sources = {p.relative_to(REPO).as_posix() for p in (REPO / "xlsales").rglob("*.py")}
    profiles = {p.relative_to(REPO).as_posix()
                for p in (REPO / "xlsales" / "importing" / "profiles").glob("*.toml")}
    assert sources | profiles <= names, sorted((sources | profiles) - names)
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "workbook_templates/"))]
    assert "License-Expression: MIT" in meta and "Requires-Dist: xlwings==" in meta


# -- the installed package ------------------------------------------------------------------------

def test_installed_init_macros_demo_and_upgrade(venv: Path, outside: Path,
                                                tmp_path: Path) -> None:
    probe = subprocess.run([str(venv / "python"), "-c",
                            "import xlsales, xlsales._macros as m; print(xlsales.__file__); "
                            "print(m.__file__)"],
                           cwd=outside, capture_output=True, text=True, env=_clean_env(),
                           check=True).stdout.split()
    assert all(Path(p).is_relative_to(venv.parent) for p in probe), probe

    for lang in LANGS:
        out = xlsales(venv, "init", outside / f"ws-{lang}", "--macros", "--lang", lang,
                      cwd=outside)
        assert sorted(Path(p).name for p in out["written"] if p.endswith(".xlsm")) == MACRO_FILES

    # the same VBA projects as the checkout builds, and what the grammar allows
    here = tmp_path / "here"
    from typer.testing import CliRunner

    from xlsales.cli import app

    for lang in LANGS:
        result = CliRunner().invoke(app, ["init", str(here / lang), "--macros", "--lang", lang])
        assert result.exit_code == 0, result.output
        for name in MACRO_FILES:
            installed = outside / f"ws-{lang}" / name
            assert parts(installed)[VBA] == parts(here / lang / name)[VBA], name
            _check_grammar(installed)

    demo = xlsales(venv, "demo", outside / "demo", cwd=outside)
    assert demo["ok"] and demo["rows"]
    assert all((outside / "demo" / b.filename).is_file() for b in BOOKS)

    # upgrade through the installed command
    ws = outside / "ws-zh"
    out = xlsales(venv, "excel", "upgrade", ws, cwd=outside)
    assert [w["status"] for w in out["workbooks"]] == ["current"] * len(MACRO_FILES)
    faked = tmp_path / "faked"
    faked.mkdir()
    for name in MACRO_FILES:
        fake_old(ws / name)
        shutil.copyfile(ws / name, faked / name)
    out = xlsales(venv, "excel", "upgrade", ws, cwd=outside)
    assert [w["status"] for w in out["workbooks"]] == ["upgraded"] * len(MACRO_FILES)
    for name in MACRO_FILES:
        assert changed_parts(faked / name, ws / name) == {VBA}
        assert parts(ws / name)[VBA] == parts(here / "zh" / name)[VBA]


def test_installed_templates_build(venv: Path, outside: Path) -> None:
    out = xlsales(venv, "templates", "build", outside / "templates", cwd=outside)
    built = sorted(Path(p).relative_to(outside / "templates").as_posix() for p in out["written"])
    committed = sorted(p.relative_to(REPO / "workbook_templates").as_posix()
                       for p in (REPO / "workbook_templates").glob("*/*.xls[xm]"))
    assert built == committed
    for rel in built:
        if rel.endswith(".xlsm"):
            path = outside / "templates" / rel
            assert parts(path)[VBA] == parts(REPO / "workbook_templates" / rel)[VBA], rel
            _check_grammar(path)


def _check_grammar(path: Path) -> None:
    with zipfile.ZipFile(path) as z:
        vba = read_vba_project(z.read(VBA))
        xml = z.read("xl/workbook.xml")
    sources = expected_sources()
    documents = [n for kind, n in vba.project.items if kind == "Document"]
    assert vba.project.items[len(documents):] == [(kind, n) for n, (kind, _) in sources.items()]
    for m in vba.dir.modules:
        if m.name in sources:
            assert module_text(vba.module_streams[m.stream_name], m.offset) == \
                sources[m.name][1], (path.name, m.name)
    assert [n for n, _ in vba.project_wm] == [m.name for m in vba.dir.modules]
    assert b'codeName="ThisWorkbook"' in xml and documents[0] == "ThisWorkbook"
