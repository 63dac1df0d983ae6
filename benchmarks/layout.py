"""Where a generated benchmark workspace lives, and the parameters stages need to run on it.

A cache folder ``<cache>/<size>-<seed>[-en]/`` holds::

    manifest.json        generator version, sizes, dates, sheet layout, generation timings
    workspace/           the six workbooks ``write_workspace`` writes (the team workspace)
    month/daily_report.xlsx   the review month's daily rows alone (the review goal's baseline)
    truth/*.pkl          the generated records as pandas DataFrames (the checks' ground truth)
    scratch/             per-run outputs (copies written by CLI stages), emptied after each run
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
DEFAULT_CACHE = PACKAGE_DIR / ".cache"
DEFAULT_RESULTS = PACKAGE_DIR / "results"
SMOKE_ROWS = 300
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmM]?)\s*$")


def parse_size(text: str) -> int:
    """``10k`` → 10000, ``1.5k`` → 1500, ``2m`` → 2000000, ``300`` → 300."""
    m = _SIZE.match(text)
    if not m:
        raise ValueError(f"not a size like 10k, 500k or 300: {text!r}")
    factor = {"": 1, "k": 1_000, "m": 1_000_000}[m.group(2).lower()]
    rows = round(float(m.group(1)) * factor)
    if rows < 100:
        raise ValueError(f"a size needs at least 100 rows: {text!r}")
    return rows


def size_label(rows: int) -> str:
    """The label of a row count: 10000 → ``10k``, 300 → ``300``."""
    if rows >= 1000 and rows % 1000 == 0:
        return f"{rows // 1000}k"
    return str(rows)


def parse_sizes(text: str) -> list[int]:
    """A comma-separated size list, in the given order, without repeats."""
    out: list[int] = []
    for part in text.split(","):
        if part.strip():
            rows = parse_size(part)
            if rows not in out:
                out.append(rows)
    if not out:
        raise ValueError("no sizes given")
    return out


def cache_dir(cache: Path, rows: int, seed: int, lang: str) -> Path:
    """The cache folder of one generated workspace."""
    return cache / f"{size_label(rows)}-{seed}{'' if lang == 'zh' else '-' + lang}"


@dataclass(frozen=True)
class BenchWorkspace:
    """A generated workspace and what stages need to know about it."""

    dir: Path
    manifest: dict[str, Any]

    @classmethod
    def load(cls, folder: str | Path) -> BenchWorkspace:
        folder = Path(folder)
        return cls(folder, json.loads((folder / "manifest.json").read_text("utf-8")))

    @property
    def root(self) -> Path:
        return self.dir / "workspace"

    @property
    def daily(self) -> Path:
        return self.root / "daily_report.xlsx"

    @property
    def customers(self) -> Path:
        return self.root / "customers.xlsx"

    @property
    def targets(self) -> Path:
        return self.root / "targets.xlsx"

    @property
    def month_daily(self) -> Path:
        return self.dir / "month" / "daily_report.xlsx"

    @property
    def truth_dir(self) -> Path:
        return self.dir / "truth"

    @property
    def scratch(self) -> Path:
        return self.dir / "scratch"

    @property
    def rows(self) -> int:
        return int(self.manifest["rows"])

    @property
    def reps(self) -> int:
        return int(self.manifest["reps"])

    @property
    def lang(self) -> str:
        return str(self.manifest["lang"])

    @property
    def today(self) -> dt.date:
        return dt.date.fromisoformat(self.manifest["today"])

    @property
    def month(self) -> str:
        return str(self.manifest["month"])

    @property
    def quarter(self) -> str:
        return str(self.manifest["quarter"])

    @property
    def sheet(self) -> str:
        return str(self.manifest["daily_sheet"])

    @property
    def header_row(self) -> int:
        """0-based row of the daily table's header."""
        return int(self.manifest["daily_header_row"])
