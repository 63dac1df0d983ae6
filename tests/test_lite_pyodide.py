"""The xlwings Lite plugin needs nothing Pyodide lacks.

A fresh interpreter, with the file-format libraries made unimportable (a meta-path finder
that refuses them and notes every attempt), runs every script and XS_ function of
:mod:`xlsales.lite` on fake books of the sample team (and scripts on books lacking their
tables: the error path); then every third-party distribution it loaded must be part of
the Pyodide distribution of the add-in (``pyodide-lock.json`` of npm ``pyodide@0.27.5``,
kept as names and versions in ``tests/lite_data``; regenerate with
``tests/lite_data/regenerate_pyodide_packages.py``) at a version xlsales accepts, or a pure
Python one (micropip installs those from PyPI). xlwings comes with the add-in.

Running the plugin under Pyodide itself (the npm package under Node) needs Pyodide's
pandas and numpy wheels, which the npm package does not carry and this machine cannot
download: not done here.
"""

from __future__ import annotations

import datetime as dt
import json
import pickle
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.fake_lite import FakeLiteBook
from xlsales.lite.layout import BUTTONS, PYODIDE_VERSION

REPO = Path(__file__).resolve().parents[1]
PACKAGES = json.loads((REPO / "tests" / "lite_data" / f"pyodide-{PYODIDE_VERSION}-packages.json")
                      .read_text(encoding="utf-8"))
FILE_FORMATS = ("fastexcel", "python_calamine", "openpyxl", "xlsxwriter", "defusedxml", "isal")
DAY = dt.date(2024, 3, 29)

CHILD = r"""
import importlib.abc, importlib.metadata as md, json, pickle, sys

BLOCKED = set(sys.argv[2].split(","))
tried = []


class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in BLOCKED:
            tried.append(name)
            raise ImportError(f"{name}: not in Pyodide")


sys.meta_path.insert(0, Refuse())
with open(sys.argv[1], "rb") as f:
    books, failing, day = pickle.load(f)
from xlsales.lite import functions, scripts

said = {job: getattr(scripts, job)(book, day) for job, book in books}
alerts = [a for _, book in books for a in book.app.alerts]
failed = [[getattr(scripts, job)(book, day), book.app.alerts] for job, book in failing]
answers = {
    "XS_STAGE_PROB": functions.XS_STAGE_PROB("方案提交"),
    "XS_WORKDAYS": functions.XS_WORKDAYS("2024-09-30", "2024-10-12"),
    "XS_WORKDAY_ADD": str(functions.XS_WORKDAY_ADD("2024-09-30", 1)),
    "XS_NEXT_FOLLOWUP": str(functions.XS_NEXT_FOLLOWUP("A", "2024-02-02")),
    "XS_WEEK": functions.XS_WEEK("2024-03-06"),
    "XS_DUPKEY": functions.XS_DUPKEY("上海恒瑞精密机械股份有限公司"),
    "XS_COMPLETION": functions.XS_COMPLETION(85.0, 100.0),
    "XS_WEIGHTED": functions.XS_WEIGHTED([[100.0]], [["方案提交"]]),
}
owners = md.packages_distributions()
used = sorted({d for m in list(sys.modules) for d in owners.get(m.split(".")[0], [])})
print(json.dumps({"tried": tried, "used": used, "said": said, "alerts": alerts,
                  "failed": failed, "answers": answers}, ensure_ascii=False, default=str))
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    from xlsales.sample import generate
    from xlsales.workspace import write_workspace

    root = tmp_path_factory.mktemp("pyodide") / "team"
    sample = generate(2024)
    write_workspace(root, sample.settings, sample.data, lang="zh", lite=True)
    books = [
        ("load_team", FakeLiteBook.open(root / "customers.xlsx")),
        ("validate", FakeLiteBook.open(root / "daily_report.xlsx")),
        ("rollup_week", FakeLiteBook.open(root / "daily_report.xlsx", root / "targets.xlsx",
                                          prefix="t_")),
        ("spot_check", FakeLiteBook.open(root / "daily_report.xlsx")),
        ("refresh_followups", FakeLiteBook.open(root / "customers.xlsx")),
        ("monthly_review", FakeLiteBook.open(root / "monthly_review.xlsx",
                                             root / "daily_report.xlsx",
                                             root / "customers.xlsx", root / "targets.xlsx",
                                             prefix="c_")),
        ("meeting_pack", FakeLiteBook.open(root / "meeting_agenda.xlsx",
                                           root / "daily_report.xlsx",
                                           root / "customers.xlsx", root / "targets.xlsx",
                                           prefix="a_")),
    ]
    # workbooks without the tables a script needs: the error path (the message, no bug)
    failing = [("rollup_week", FakeLiteBook.open(root / "customers.xlsx")),
               ("refresh_followups", FakeLiteBook.open(root / "targets.xlsx")),
               ("meeting_pack", FakeLiteBook.open(root / "meeting_agenda.xlsx"))]
    path = root.parent / "books.pickle"
    path.write_bytes(pickle.dumps((books, failing, DAY)))
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), ",".join(FILE_FORMATS)],
                         capture_output=True, text=True, cwd=REPO, timeout=300,
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin",
                              "HOME": str(root.parent)})
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


def test_every_script_and_function_runs_without_the_file_format_libraries(
        run: dict[str, object]) -> None:
    assert run["tried"] == []  # not even attempted
    assert run["alerts"] == []
    said = run["said"]
    assert isinstance(said, dict) and set(said) == {
        "load_team", "validate", "rollup_week", "spot_check", "refresh_followups",
        "monthly_review", "meeting_pack"}
    assert len(said) == len(BUTTONS)  # every script
    assert said["validate"].startswith("校验完成") and "2024-W13" in said["rollup_week"]
    assert said["meeting_pack"].startswith("已生成 2024-W13 周会议程")
    failed = run["failed"]
    assert isinstance(failed, list) and len(failed) == 3
    for (text, alerts), table in zip(failed, ("销售日报", "客户信息档案表", "销售日报"),
                                     strict=True):
        assert alerts == [[text, "xlsales"]] and table in text, text
        assert "程序错误" not in text and "Traceback" not in text, text
    answers = run["answers"]
    assert isinstance(answers, dict)
    assert answers["XS_STAGE_PROB"] == 0.5 and answers["XS_WORKDAYS"] == 6
    assert answers["XS_WORKDAY_ADD"] == "2024-10-08" and answers["XS_WEEK"] == "2024-W10"
    assert not any(str(v).startswith("#XS!") for v in answers.values())


def _runtime_requirements() -> dict[str, Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {canonicalize_name(r.name): r for r in map(Requirement, project["dependencies"])}


def _compiled(dist: str) -> list[str]:
    files = metadata.distribution(dist).files or []
    return [str(f) for f in files if re.search(r"\.(so|pyd|dylib)$", str(f))]


def test_what_the_plugin_loads_is_in_pyodide_or_pure_python(run: dict[str, object]) -> None:
    lock = {canonicalize_name(k): v for k, v in PACKAGES["packages"].items()}
    requirements = _runtime_requirements()
    used = {canonicalize_name(d) for d in run["used"]} - {"xlsales", "xlwings"}  # type: ignore[union-attr]
    assert {"pandas", "numpy", "pydantic"} <= used
    not_in_pyodide = []
    for dist in sorted(used):
        if dist in lock:
            req = requirements.get(dist)
            if req is not None:  # the add-in's version is one xlsales accepts
                assert Version(lock[dist]) in req.specifier, (dist, lock[dist], str(req))
        else:
            assert not _compiled(dist), f"{dist}: compiled, and not in Pyodide"
            not_in_pyodide.append(dist)
    assert set(not_in_pyodide) >= {"chinesecalendar"}  # pure Python, from PyPI


def test_the_plugin_installs_under_pyodide() -> None:
    """What micropip sees: the runtime requirements in Pyodide (sys_platform emscripten,
    Python of the lock) are in Pyodide or pure Python wheels; none of the compiled
    file-format libraries is asked for."""
    env = {"sys_platform": "emscripten", "platform_system": "Emscripten",
           "python_version": ".".join(PACKAGES["python"].split(".")[:2]),
           "python_full_version": PACKAGES["python"]}
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert Version(PACKAGES["python"]) in Requirement(
        f"x{project['requires-python']}").specifier
    lock = {canonicalize_name(k) for k in PACKAGES["packages"]}
    wanted = {canonicalize_name(r.name) for r in map(Requirement, project["dependencies"])
              if r.marker is None or r.marker.evaluate(env)}
    assert "fastexcel" not in wanted
    # xlwings: the add-in's own package; besides the platform wheels installed here, PyPI
    # has xlwings-0.37.8-py3-none-any.whl, the one micropip takes.
    for dist in sorted(wanted - lock - {"xlwings"}):
        assert not _compiled(dist), f"{dist}: compiled, not in Pyodide {PYODIDE_VERSION}"


NODE_RUN = r"""
import { loadPyodide } from "%(pkg)s/pyodide.mjs";
const py = await loadPyodide({ indexURL: "%(pkg)s/" });
for (const [at, root] of [["/repo", "%(repo)s"], ["/wheels", "%(wheels)s"]]) {
  py.FS.mkdir(at);
  py.FS.mount(py.FS.filesystems.NODEFS, { root }, at);
}
console.log(py.runPython(`
import glob, json, sys
sys.path[0:0] = ["/repo", *glob.glob("/wheels/*.whl")]
out = {"python": sys.version.split()[0]}
import xlwings
out["xlwings"] = xlwings.__version__
try:
    import xlsales.lite
    out["plugin"] = "imported"
except ModuleNotFoundError as exc:
    out["missing"] = exc.name
    out["reached"] = sorted(m for m in sys.modules if m.startswith("xlsales"))
json.dumps(out)
`));
"""


def test_pyodide_under_node_gets_as_far_as_its_own_packages(tmp_path: Path) -> None:
    """Pyodide itself (npm ``pyodide``, under Node, offline once fetched): xlwings's pure
    wheel and xlsales's own modules import; the plugin stops only at a package of the
    Pyodide distribution (whose wheels the npm package does not carry), never at a
    file-format library. Skipped without node/npm or without the registries."""
    import shutil
    import tarfile

    if not (shutil.which("node") and shutil.which("npm")):
        pytest.skip("node and npm are not installed")
    pack = subprocess.run(["npm", "pack", f"pyodide@{PYODIDE_VERSION}", "--silent"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=300)
    wheels = tmp_path / "wheels"
    got = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                          "--only-binary=:all:", "--platform", "any", "--python-version",
                          "3.12", "-d", str(wheels), f"xlwings=={metadata.version('xlwings')}",
                          "chinesecalendar"], capture_output=True, text=True, timeout=300)
    if pack.returncode or got.returncode:
        pytest.skip(f"npm or PyPI not reachable: {pack.stderr[-300:]} {got.stderr[-300:]}")
    [tgz] = tmp_path.glob("pyodide-*.tgz")
    with tarfile.open(tgz) as tar:
        tar.extractall(tmp_path, filter="data")
    script = tmp_path / "run.mjs"
    script.write_text(NODE_RUN % {"pkg": tmp_path / "package", "repo": REPO,
                                  "wheels": wheels}, encoding="utf-8")
    out = subprocess.run(["node", str(script)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, [line for line in out.stderr.splitlines()
                                 if "Error" in line and len(line) < 400][-5:]
    found = json.loads(out.stdout.strip().splitlines()[-1])
    assert found["python"] == PACKAGES["python"]
    assert found["xlwings"] == metadata.version("xlwings")
    lock = {canonicalize_name(k) for k in PACKAGES["packages"]}
    assert found.get("plugin") == "imported" or (
        canonicalize_name(found["missing"]) in lock
        and found["missing"] not in FILE_FORMATS), found


def test_the_requirements_pin_the_xlwings_xlsales_pins() -> None:
    from xlsales.lite.layout import REQUIREMENTS

    pinned = _runtime_requirements()["xlwings"]
    assert f"xlwings{pinned.specifier}" in REQUIREMENTS and "xlsales" in REQUIREMENTS
