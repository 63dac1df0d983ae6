"""The benchmark suite's smoke mode: every stage runs and every correctness check passes.

Nothing here asserts how fast anything is. The suite lives in ``benchmarks/`` (see its
README).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # appended: an xlsales on PYTHONPATH keeps precedence
    sys.path.append(str(REPO))

from benchmarks import checks, generate, stages  # noqa: E402
from benchmarks.layout import SMOKE_ROWS  # noqa: E402


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``python -m benchmarks run --smoke`` into a temporary cache and results folder."""
    tmp = tmp_path_factory.mktemp("bench")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (os.environ.get("PYTHONPATH", ""), str(REPO)) if p)}
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "run", "--smoke", "--cache", str(tmp / "cache"),
         "--out", str(tmp / "results")],
        cwd=tmp, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = json.loads((tmp / "results" / "latest.json").read_text("utf-8"))
    results["_md"] = (tmp / "results" / "latest.md").read_text("utf-8")
    results["_cache"] = tmp / "cache"
    return results


def test_every_stage_ran(smoke: dict[str, Any]) -> None:
    size = smoke["sizes"][str(SMOKE_ROWS)]
    assert size["rows"] == SMOKE_ROWS
    assert set(size["stages"]) == set(stages.STAGES)
    for name, st in size["stages"].items():
        assert st["failures"] == [], name
        assert st["runs"] == 1, name
        assert st["min"] is not None and st["peak_rss_mb"] > 0, name
        assert st["ratio_to_fastexcel"] is not None, name


def test_every_check_passed(smoke: dict[str, Any]) -> None:
    size = smoke["sizes"][str(SMOKE_ROWS)]
    checked = {name for name, st in size["stages"].items() if st.get("checks")}
    expected = {s.name for s in stages.STAGES.values() if s.check}
    assert checked == expected
    failed = [(name, c) for name, st in size["stages"].items() for c in st.get("checks", [])
              if not c["ok"]]
    assert failed == []


def test_results_describe_the_run(smoke: dict[str, Any]) -> None:
    assert smoke["machine"]["cpu"] and smoke["machine"]["cores"]
    assert smoke["machine"]["ram_gb"] and smoke["machine"]["python"]
    for package in ("xlsales", "pandas", "numpy", "pyarrow", "fastexcel", "python-calamine",
                    "openpyxl", "XlsxWriter"):
        assert smoke["versions"][package], package
    goals = {g["goal"] for g in smoke["goals"]}
    assert {"read", "validate", "read_validate_rollup", "review", "rollup_cli", "annotate",
            "peak_rss", "edit_rss"} <= goals
    assert all(g["met"] is (g["value"] <= g["limit"]) for g in smoke["goals"])
    md = smoke["_md"]
    assert "## Goals" in md and "fastexcel_read" in md and "× fastexcel" in md


def test_workspace_has_every_slip(smoke: dict[str, Any]) -> None:
    manifest = json.loads(next(smoke["_cache"].glob("*/manifest.json")).read_text("utf-8"))
    assert manifest["rows"] == SMOKE_ROWS and manifest["reps"] == 12
    assert all(manifest["slips"][kind] >= 1 for kind in generate.KINDS)


def _output(name: str, ws: Any, tmp: Path) -> dict[str, Any]:
    prepared = stages.prepare(name, ws, tmp)
    return json.loads(json.dumps(prepared.stage.output(prepared.run(), ws), default=str))


def test_checks_catch_wrong_numbers(smoke: dict[str, Any], tmp_path: Path) -> None:
    """A stage output with one wrong figure fails its check."""
    ws = generate.ensure(SMOKE_ROWS, cache=smoke["_cache"], log=lambda _: None)
    truth = checks.Truth(ws)

    def fails(check: str, out: dict[str, Any]) -> bool:
        return not all(c["ok"] for c in checks.run_check(check, out, truth))

    rollup = _output("rollup", ws, tmp_path)
    assert not fails("rollup", rollup)
    bad = copy.deepcopy(rollup)
    row = next(r for r in bad["rows"] if r["level"] == "rep" and r["visits"])
    row["visits"] += 1
    assert fails("rollup", bad)

    validate = _output("validate_daily", ws, tmp_path)
    assert not fails("validate_daily", validate)
    bad = copy.deepcopy(validate)
    bad["findings"] = [f for f in bad["findings"] if f["rule"] != "T2.duplicate_row"]
    assert fails("validate_daily", bad)

    forecast = _output("forecast", ws, tmp_path)
    bad = copy.deepcopy(forecast)
    bad["rows"][0]["weighted"] += 0.5
    assert fails("forecast", bad)

    compliance = _output("compliance", ws, tmp_path)
    bad = copy.deepcopy(compliance)
    bad["reps"][0]["missing"] += 1
    assert fails("compliance", bad)

    read = _output("read_daily", ws, tmp_path)
    bad = copy.deepcopy(read)
    bad["rows"][0][3] = (bad["rows"][0][3] or 0) + 1
    assert fails("read_daily", bad)


# -- ab: the work tree against a commit ------------------------------------------------------------

def test_ab_imports_the_base_commits_code(tmp_path: Path) -> None:
    """The tree exported from a commit (compiled) shadows the work tree's xlsales on the
    path the runs get: a module taken out of the export is not found."""
    from benchmarks import ab

    tree = ab.export("HEAD", tmp_path)
    committed = subprocess.run(["git", "-C", str(REPO), "show", "HEAD:xlsales/io/codec.py"],
                               capture_output=True, check=True).stdout
    assert (tree / "xlsales" / "io" / "codec.py").read_bytes() == committed
    assert list((tree / "xlsales" / "io").glob("__pycache__/codec.*.pyc"))
    (tree / "xlsales" / "io" / "codec.py").unlink()
    for cached in (tree / "xlsales" / "io").glob("__pycache__/codec.*.pyc"):
        cached.unlink()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join((str(tree), str(REPO)))}
    probe = "import importlib.util as u, xlsales; print(xlsales.__file__, " \
            "u.find_spec('xlsales.io.codec') is None)"
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == [str(tree / "xlsales" / "__init__.py"), "True"]


def test_ab_runs_each_stage_with_both_versions(smoke: dict[str, Any], tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (os.environ.get("PYTHONPATH", ""), str(REPO)) if p)}
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "ab", "--base", "HEAD", "--sizes",
         str(SMOKE_ROWS), "--stages", "validate_daily,cli_validate_annotate", "--rounds", "2",
         "--cache", str(smoke["_cache"]), "--out", str(tmp_path / "ab")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads((tmp_path / "ab" / "ab.json").read_text("utf-8"))
    size = result["sizes"][str(SMOKE_ROWS)]
    assert len(size["bare_read"]) == 2
    # the baseline cli_validate_annotate's ratio needs (openpyxl) is not run
    assert set(size["stages"]) == {"validate_daily", "cli_validate_annotate"}
    for name, st in size["stages"].items():
        assert len(st["base"]["seconds"]) == len(st["new"]["seconds"]) == 2, name
        assert len(st["ratios"]) == 2 and st["median_ratio"] > 0, name
        assert 0 <= st["faster_rounds"] <= 2
    md = (tmp_path / "ab" / "ab.md").read_text("utf-8")
    assert "| validate_daily |" in md and "`HEAD`" in md
