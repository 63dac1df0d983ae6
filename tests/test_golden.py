"""Golden outputs: every command's ``--json`` on the sample team, compared with the files
in ``tests/golden/``, so refactoring the core cannot change a figure unnoticed.

The golden files were written by the code as it stood before the columnar core; run
``XLSALES_UPDATE_GOLDEN=1 pytest tests/test_golden.py`` to rewrite them after a change
that is meant to alter an output (and review the diff).
"""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from xlsales.cli import app
from xlsales.sample import generate
from xlsales.workspace import write_workspace

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("XLSALES_UPDATE_GOLDEN") == "1"
ON = "2024-03-29"
runner = CliRunner()

# (name, arguments; {ws} is the workspace), read-only commands share one workspace.
READING: list[tuple[str, list[str]]] = [
    *[(f"validate_{b}", ["validate", "{ws}/" + f"{b}.xlsx", "--on", ON])
      for b in ("settings", "targets", "daily_report", "meeting_agenda", "monthly_review",
                "customers")],
    ("validate_daily_table", ["validate", "{ws}/daily_report.xlsx", "--table", "daily",
                              "--on", ON]),
    *[(f"completion_month_{by}", ["completion", "--period", "2024-03", "-w", "{ws}",
                                  "--by", by, "--on", ON])
      for by in ("rep", "region", "product", "team")],
    ("completion_quarter_team", ["completion", "--period", "2024Q1", "-w", "{ws}", "--by",
                                 "team", "--on", ON]),
    ("completion_week", ["completion", "--period", "2024-W12", "-w", "{ws}", "--on", ON]),
    ("completion_last_quarter", ["completion", "--period", "2023Q4", "-w", "{ws}", "--on", ON]),
    ("compliance_quarter", ["compliance", "--period", "2024Q1", "-w", "{ws}", "--on", ON]),
    ("compliance_month", ["compliance", "--period", "2023-11", "-w", "{ws}", "--on", ON]),
    ("spotcheck", ["spotcheck", "--date", ON, "-w", "{ws}"]),
    ("spotcheck_seeded", ["spotcheck", "--date", "2024-03-27", "-w", "{ws}", "--seed", "7",
                          "--share", "0.5"]),
    ("followups", ["followups", "-w", "{ws}", "--on", ON]),
    ("followups_earlier", ["followups", "-w", "{ws}", "--on", "2024-02-05"]),
    ("alerts", ["alerts", "-w", "{ws}", "--on", ON]),
    ("duplicates", ["duplicates", "-w", "{ws}"]),
    *[(f"forecast_month_{by}", ["forecast", "--period", "2024-03", "-w", "{ws}", "--by", by])
      for by in ("rep", "region", "product", "team")],
    ("forecast_next_quarter", ["forecast", "--period", "2024Q2", "-w", "{ws}", "--by", "team"]),
    ("funnel_quarter", ["funnel", "--period", "2024Q1", "-w", "{ws}", "--on", ON]),
    ("funnel_month", ["funnel", "--period", "2024-02", "-w", "{ws}", "--on", ON]),
    ("actions", ["actions", "-w", "{ws}", "--on", ON]),
]
# Commands that write: each gets a fresh copy of the workspace.
WRITING: list[tuple[str, list[str]]] = [
    ("rollup_month", ["rollup", "{ws}", "--month", "2024-03", "--on", ON]),
    ("rollup_week", ["rollup", "-w", "{ws}", "--week", "2024-W10", "--on", ON]),
    ("rollup_all", ["rollup", "{ws}", "--all", "--on", ON]),
    ("compliance_write", ["compliance", "--period", "2024Q1", "-w", "{ws}", "--on", ON,
                          "--write"]),
    ("spotcheck_mark", ["spotcheck", "--date", ON, "-w", "{ws}", "--mark"]),
    ("followups_write", ["followups", "-w", "{ws}", "--on", ON, "--write"]),
    ("annotate_daily", ["validate", "{ws}/daily_report.xlsx", "--on", ON, "--annotate"]),
    ("annotate_customers", ["validate", "{ws}/customers.xlsx", "--on", ON, "--annotate"]),
    ("forecast_write", ["forecast", "--period", "2024-03", "-w", "{ws}", "--by", "team",
                        "--write", "--on", ON]),
    ("review_month", ["review", "-w", "{ws}", "--month", "2024-03", "--on", ON]),
    ("review_quarter", ["review", "-w", "{ws}", "--quarter", "2024Q1", "--on", ON]),
    ("agenda", ["agenda", "--week", "2024-W13", "-w", "{ws}"]),
]
# The English workspace: the same team with English headers and lists.
ENGLISH: list[tuple[str, list[str]]] = [
    ("en_validate_daily", ["validate", "{ws}/daily_report.xlsx", "--on", ON]),
    ("en_validate_customers", ["validate", "{ws}/customers.xlsx", "--on", ON]),
    ("en_completion", ["completion", "--period", "2024-03", "-w", "{ws}", "--on", ON]),
    ("en_followups", ["followups", "-w", "{ws}", "--on", ON]),
    ("en_rollup", ["rollup", "{ws}", "--week", "2024-W13", "--on", ON]),
    ("en_review", ["review", "-w", "{ws}", "--month", "2024-03", "--on", ON]),
]


@pytest.fixture(scope="module")
def sample_ws(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    team = generate(2024)
    out = {}
    for lang in ("zh", "en"):
        root = tmp_path_factory.mktemp(f"golden_{lang}") / "ws"
        write_workspace(root, team.settings, team.data, lang=lang)
        out[lang] = root
    return out


def _run(args: list[str], ws: Path) -> dict[str, Any]:
    argv = [a.replace("{ws}", str(ws)) for a in args] + ["--json"]
    result = runner.invoke(app, argv)
    assert result.exit_code in (0, 1), (argv, result.output, result.exception)
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    payload["_exit"] = result.exit_code
    return _portable(payload, str(ws))


def _portable(value: Any, root: str) -> Any:
    """Paths relative to the workspace, so golden files do not depend on the temp folder."""
    if isinstance(value, dict):
        return {k: _portable(v, root) for k, v in value.items()}
    if isinstance(value, list):
        return [_portable(v, root) for v in value]
    if isinstance(value, str):
        return value.replace(root, "<ws>")
    return value


def _same(a: Any, b: Any, where: str = "") -> None:
    """Equal, with floats compared to 1e-9 relative (summation order may differ)."""
    if isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, int | float) and isinstance(b, int | float), (where, a, b)
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), (where, a, b)
    elif isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), (where, sorted(set(a) ^ set(b)))
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), (where, len(a), len(b))
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    else:
        assert a == b, (where, a, b)


def _check(name: str, payload: dict[str, Any]) -> None:
    path = GOLDEN / f"{name}.json"
    if UPDATE or not path.exists():
        if not UPDATE:
            pytest.fail(f"no golden file {path.name}; run with XLSALES_UPDATE_GOLDEN=1")
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(json.dumps(payload, ensure_ascii=False, indent=1, sort_keys=True)
                        + "\n", encoding="utf-8")
        return
    _same(payload, json.loads(path.read_text(encoding="utf-8")), name)


@pytest.mark.parametrize(("name", "args"), READING, ids=[n for n, _ in READING])
def test_reading_command(name: str, args: list[str], sample_ws: dict[str, Path]) -> None:
    _check(name, _run(args, sample_ws["zh"]))


@pytest.mark.parametrize(("name", "args"), WRITING, ids=[n for n, _ in WRITING])
def test_writing_command(name: str, args: list[str], sample_ws: dict[str, Path],
                         tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(sample_ws["zh"], ws)
    _check(name, _run(args, ws))


@pytest.mark.parametrize(("name", "args"), ENGLISH, ids=[n for n, _ in ENGLISH])
def test_english_command(name: str, args: list[str], sample_ws: dict[str, Path],
                         tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    shutil.copytree(sample_ws["en"], ws)
    _check(name, _run(args, ws))


def test_demo(tmp_path: Path) -> None:
    ws = tmp_path / "demo"
    _check("demo", _run(["demo", "{ws}"], ws))
