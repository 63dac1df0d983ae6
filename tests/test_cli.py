"""The command line: help on every command, JSON output, exit codes, the demo."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from xlsales.cli import app

runner = CliRunner()
COMMANDS = [[], ["init"], ["templates"], ["templates", "build"], ["sample"], ["demo"],
            ["validate"], ["rollup"], ["completion"], ["compliance"], ["spotcheck"],
            ["followups"], ["alerts"], ["duplicates"], ["forecast"], ["funnel"],
            ["review"], ["agenda"], ["actions"], ["import"], ["summary"],
            ["excel"], ["excel", "upgrade"],
            ["history"], ["ledger"], ["ledger", "export"], ["ledger", "import"],
            ["archive"]]


def test_every_command_is_listed() -> None:
    names = {c.name or c.callback.__name__ for c in app.registered_commands}
    groups = {g.name for g in app.registered_groups}
    assert names == {w[0] for w in COMMANDS if len(w) == 1} - groups


@pytest.mark.parametrize("words", COMMANDS, ids=lambda w: " ".join(w) or "xlsales")
def test_every_command_has_help(words: list[str]) -> None:
    result = runner.invoke(app, [*words, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    assert len(result.output.splitlines()) > 4


def test_init_creates_a_workspace_and_refuses_to_overwrite(tmp_path: Path) -> None:
    ws = tmp_path / "team"
    result = runner.invoke(app, ["init", str(ws), "--lang", "en", "--json"])
    assert result.exit_code == 0, result.output
    written = json.loads(result.stdout)["written"]
    assert sorted(Path(p).name for p in written) == sorted(
        ["settings.xlsx", "targets.xlsx", "daily_report.xlsx", "meeting_agenda.xlsx",
         "monthly_review.xlsx", "customers.xlsx"])
    before = (ws / "targets.xlsx").read_bytes()
    again = runner.invoke(app, ["init", str(ws), "--json"])
    assert again.exit_code == 2
    assert "已经存在" in json.loads(again.stdout)["error"]  # a Chinese workspace by default
    assert (ws / "targets.xlsx").read_bytes() == before
    assert runner.invoke(app, ["init", str(ws), "--force"]).exit_code == 0


def test_bad_language_is_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path / "x"), "--lang", "fr"])
    assert result.exit_code == 2
    assert not (tmp_path / "x" / "targets.xlsx").exists()


def test_bad_date_is_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", str(tmp_path), "--on", "yesterday"])
    assert result.exit_code == 2


def test_demo_end_to_end(tmp_path: Path) -> None:
    """The installed script runs the demo; every file it reports exists and opens."""
    out = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "xlsales", "demo", str(out), "--json"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["ok"] is True
    assert payload["rows"]["daily"] > 1000
    assert payload["validation"]["daily_report.xlsx"]["errors"] > 0
    assert payload["validation"]["settings.xlsx"] == {"errors": 0, "warnings": 0}
    assert [w[-8:] for w in payload["weeks"]] == ["2024-W09", "2024-W10", "2024-W11",
                                                  "2024-W12", "2024-W13"]
    assert len(payload["completion"]["top3"]) == 3
    assert payload["spotcheck"]["picked"] == 4 and payload["spotcheck"]["reports"] == 12
    assert sum(r["missing"] for r in payload["compliance"]) > 0
    for path in payload["written"]:
        wb = openpyxl.load_workbook(path)
        assert wb.sheetnames
        wb.close()
    assert Path(payload["review"]).name == "review_2024-03.xlsx"
    assert payload["agenda"] == "议程 2024-W13"
    assert Path(payload["pipeline"]).exists()
    daily = openpyxl.load_workbook(out / "daily_report.xlsx", read_only=True)
    assert {"周报 2024-W13", "日报提交情况", "校验结果"} <= set(daily.sheetnames)
    daily.close()


def test_demo_human_output(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    assert "daily" in result.output and "settings.xlsx" in result.output


def test_a_bug_exits_3_with_a_log_and_no_traceback(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "import xlsales.jobs as jobs\n"
        "def broken(*a, **k):\n"
        "    raise TypeError('an internal slip')\n"
        "jobs.run_followups = broken\n"
        f"sys.argv = ['xlsales', 'followups', '-w', {str(tmp_path)!r}, '--json']\n"
        "from xlsales.cli import main\n"
        "main()\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 3, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    payload = json.loads(proc.stdout)
    assert payload["ok"] is False and payload["bug"] is True
    log = Path(payload["error"].split("details in ")[1].split(". ")[0])
    assert "TypeError: an internal slip" in log.read_text(encoding="utf-8")
    log.unlink()


def test_the_readme_documents_every_command() -> None:
    """Every command (and sub-command) of the CLI has its line in the README."""
    import typer.main

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")

    def names(group: Any, prefix: str = "") -> list[str]:
        out = []
        for name, cmd in group.commands.items():
            full = f"{prefix}{name}"
            out += names(cmd, full + " ") if hasattr(cmd, "commands") else [full]
        return out

    commands = names(typer.main.get_command(app))  # type: ignore[arg-type]
    assert "settings sync" in commands and "validate" in commands
    missing = [c for c in commands if f"`xlsales {c}" not in readme]
    assert not missing, f"commands not in the README: {missing}"


@pytest.mark.parametrize("payload", [
    {"ok": True, "rows": [{"n": i, "name": "张伟", "d": dt.date(2024, 3, 1)} for i in range(2501)]},
    {"ok": True, "rows": []}, {"ok": False, "error": "x", "where": {"cell": "A1"}}])
def test_json_is_written_in_pieces_with_json_dumps_bytes(payload: dict[str, Any],
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    from xlsales.cli import _emit

    _emit(payload)
    assert capsys.readouterr().out == json.dumps(payload, ensure_ascii=False, default=str) + "\n"
