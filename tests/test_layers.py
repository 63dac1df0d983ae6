"""Layering: Excel libraries stay out of the domain.

The file-format libraries are for ``xlsales/io/`` only, xlwings for the inside-Excel layer
(``xlsales/excel/``) and the VBA sources (``xlsales/vba/macros.py``, which reads the xlwings
module); the VBA format writer (the rest of ``xlsales/vba/``) and the domain (``xlsales/*.py``,
``xlsales/tables/``, ``xlsales/jobs/``, ``xlsales/sample/``) import none of them. Checked on
the source with :mod:`ast` (every import at any nesting level, TYPE_CHECKING blocks and
function bodies included) and, for the domain modules, on a fresh interpreter's
``sys.modules``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Where each Excel library may be imported: a path ending in "/" is a folder (and everything
# under it), any other path one file; paths are relative to the repository root.
_FILE_FORMATS: tuple[str, ...] = ("xlsales/io/",)
ALLOWED: dict[str, tuple[str, ...]] = {
    "openpyxl": _FILE_FORMATS,
    "xlsxwriter": _FILE_FORMATS,
    "fastexcel": _FILE_FORMATS,
    "python_calamine": _FILE_FORMATS,
    "defusedxml": _FILE_FORMATS,
    "xlwings": ("xlsales/excel/", "xlsales/lite/", "xlsales/vba/macros.py"),
}

# Domain modules that must import without loading a file-format library.
DOMAIN_MODULES: tuple[str, ...] = (
    "xlsales", "xlsales.frames", "xlsales.validate", "xlsales.rollup", "xlsales.review",
    "xlsales.performance", "xlsales.pipeline", "xlsales.followups", "xlsales.discipline",
    "xlsales.spotcheck",
)
FILE_FORMAT_LIBRARIES: tuple[str, ...] = ("fastexcel", "openpyxl", "xlsxwriter",
                                          "python_calamine")


def imported_modules(source: str, filename: str = "<source>") -> list[tuple[int, str]]:
    """Every absolutely imported top-level module of ``source`` with its line, in source order.

    Relative imports (``from . import x``) stay inside xlsales and are left out.
    """
    found: list[tuple[int, int, str]] = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            found += [(a.lineno, a.col_offset, a.name.split(".")[0]) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.col_offset, node.module.split(".")[0]))
    return [(line, module) for line, _, module in sorted(found)]


def allowed(module: str, rel: str) -> bool:
    """Whether the file at ``rel`` (repository-relative, POSIX) may import ``module``."""
    places = ALLOWED.get(module)
    if places is None:
        return True
    return any(rel.startswith(p) if p.endswith("/") else rel == p for p in places)


def violations(source: str, rel: str) -> list[str]:
    """``file:line: imports X`` for every import of ``source`` its place does not allow."""
    return [f"{rel}:{line}: imports {module} (allowed only in {', '.join(ALLOWED[module])})"
            for line, module in imported_modules(source, rel) if not allowed(module, rel)]


def scan(root: Path) -> list[str]:
    """The violations of every ``.py`` file under ``root/xlsales``."""
    out: list[str] = []
    for path in sorted((root / "xlsales").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        out += violations(path.read_text(encoding="utf-8"), rel)
    return out


def test_excel_libraries_are_imported_only_where_allowed() -> None:
    files = list((REPO / "xlsales").rglob("*.py"))
    assert len(files) > 30, "the scan found too few files; is REPO right?"
    found = scan(REPO)
    assert not found, "Excel libraries imported outside their layer:\n" + "\n".join(found)


def test_the_checker_reports_forbidden_imports(tmp_path: Path) -> None:
    domain = ("import os\n"
              "import openpyxl.styles\n"
              "from xlsales.frames import Table\n"
              "\n"
              "def read() -> None:\n"
              "    from fastexcel import read_excel\n"
              "    if True:\n"
              "        import xlwings as xw, python_calamine\n")
    files = {
        "xlsales/domain.py": domain,
        "xlsales/jobs/job.py": "from xlsxwriter.utility import xl_rowcol_to_cell\n",
        "xlsales/io/ok.py": "import openpyxl\nfrom defusedxml import ElementTree\n",
        "xlsales/io/bad.py": "from . import ok\nimport xlwings\n",
        "xlsales/excel/udf.py": "import xlwings as xw\n",
        "xlsales/excel/bad.py": "import openpyxl\n",
        "xlsales/vba/macros.py": "def f() -> None:\n    import xlwings\n",
        "xlsales/vba/project.py": "import xlwings\n",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    found = [v.split(" (allowed")[0] for v in scan(tmp_path)]
    assert found == [
        "xlsales/domain.py:2: imports openpyxl",
        "xlsales/domain.py:6: imports fastexcel",
        "xlsales/domain.py:8: imports xlwings",
        "xlsales/domain.py:8: imports python_calamine",
        "xlsales/excel/bad.py:1: imports openpyxl",
        "xlsales/io/bad.py:2: imports xlwings",
        "xlsales/jobs/job.py:1: imports xlsxwriter",
        "xlsales/vba/project.py:1: imports xlwings",
    ]


def test_domain_modules_import_no_file_format_library() -> None:
    code = (f"import {', '.join(DOMAIN_MODULES)}; import sys; "
            f"print(sorted(m for m in {FILE_FORMAT_LIBRARIES!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", (
        f"importing the domain loads {done.stdout.strip()}; "
        f"find the chain with: python -X importtime -c 'import …'")
