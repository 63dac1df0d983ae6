"""Reading a workspace's ledger: a row's versions, backups and restores."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from xlsales.i18n import Label
from xlsales.ledger import hook
from xlsales.ledger.keys import KEYS, key_text
from xlsales.ledger.store import Ledger, LedgerError, shown_url

NO_LEDGER = Label("{root} 还没有台账:任何读取工作区的命令(如 xlsales validate)都会建立它",
                  "{root} has no ledger yet: any command that reads the workspace (such as "
                  "xlsales validate) starts it")
LEDGER_OFF = Label("台账已关闭(XLSALES_LEDGER=off 或设置 ledger_url=off)",
                   "the ledger is off (XLSALES_LEDGER=off or the setting ledger_url=off)")


def workspace_ledger(root: Path) -> tuple[Ledger, str]:
    """The ledger of the workspace at ``root`` (as the commands record into it) and the
    team its rows are under; an error when there is none yet."""
    from xlsales.jobs.sources import workspace_settings

    settings = workspace_settings(root)
    url = hook.ledger_url(root, settings)
    if url is None:
        raise LedgerError(LEDGER_OFF)
    if url == f"sqlite:///{hook.default_path(root)}" and not hook.default_path(root).exists():
        raise LedgerError(Label(NO_LEDGER.zh.format(root=root), NO_LEDGER.en.format(root=root)))
    return hook.open_ledger(url), hook.team_of(settings)


def changes(before: dict[str, Any] | None, after: dict[str, Any] | None
            ) -> list[tuple[str, Any, Any]]:
    """(column, from, to) of what differs between two versions' data."""
    a, b = before or {}, after or {}
    return [(c, a.get(c), b.get(c)) for c in dict.fromkeys([*a, *b]) if a.get(c) != b.get(c)]


@dataclass
class RowHistory:
    """The versions of one row (or, when the key names none, the keys it starts)."""

    ledger: str
    team: str
    table: str | None
    key: str
    versions: list[dict[str, Any]] = field(default_factory=list)
    candidates: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = []
        prev = None
        for v in self.versions:
            out.append({**{k: (x.isoformat() if isinstance(x, dt.datetime) else x)
                           for k, x in v.items()},
                        "changes": [{"column": c, "from": a, "to": b}
                                    for c, a, b in changes(prev, v["data"])]
                        if prev is not None and not v["deleted"] else []})
            prev = v["data"] if not v["deleted"] else prev
        return {"ledger": self.ledger, "team": self.team, "table": self.table,
                "key": self.key, "versions": out,
                "candidates": [{"table": t, "key": k} for t, k in self.candidates]}


def row_history(root: Path, key: list[str] | str, table: str | None = None) -> RowHistory:
    """The versions of the row ``key`` ("张三 2024-03-05", a customer id …) of ``table``
    (default: the first table holding that key); with no such row, the keys starting
    with it."""
    ledger, team = workspace_ledger(root)
    text = key_text([key] if isinstance(key, str) else key)
    for t in [table] if table else list(KEYS):
        found = ledger.versions(team, t, text)
        if found:
            return RowHistory(shown_url(ledger.url), team, t, text, found)
    return RowHistory(shown_url(ledger.url), team, table, text,
                      candidates=ledger.keys_like(team, table, text))


def _open(path: Path, mode: str, gz: bool | None = None) -> IO[str]:
    if path.suffix == ".gz" if gz is None else gz:
        return gzip.open(path, mode + "t", encoding="utf-8")  # type: ignore[return-value]
    return path.open(mode, encoding="utf-8")


def export_ledger(root: Path, out: Path, *, all_teams: bool = False) -> dict[str, int]:
    """Write the workspace's ledger (its team's rows, or every team's) to ``out`` as JSON
    lines (gzip when the name ends in .gz); rows per ledger table."""
    from xlsales.io.atomic import atomic_path

    ledger, team = workspace_ledger(root)
    counts: dict[str, int] = {}
    with atomic_path(out) as tmp, _open(Path(tmp), "w", out.suffix == ".gz") as fh:
        fh.write(json.dumps({"xlsales_ledger": 1, "team": None if all_teams else team},
                            ensure_ascii=False) + "\n")
        for item in ledger.export(None if all_teams else team):
            fh.write(json.dumps(item, ensure_ascii=False) + "\n")
            counts[item["table"]] = counts.get(item["table"], 0) + 1
    return counts


def _items(fh: IO[str], path: Path) -> Iterator[dict[str, Any]]:
    head = fh.readline()
    try:
        if json.loads(head).get("xlsales_ledger") != 1:
            raise ValueError
    except (ValueError, AttributeError):
        raise LedgerError(Label(f"{path} 不是 xlsales 台账备份",
                                f"{path} is not an xlsales ledger backup")) from None
    for n, line in enumerate(fh, start=2):
        if line.strip():
            try:
                item = json.loads(line)
            except ValueError:
                raise LedgerError(Label(f"{path} 第 {n} 行不是 JSON",
                                        f"{path} line {n} is not JSON")) from None
            yield {**item, "line": n} if isinstance(item, dict) else item


def import_ledger(root: Path, source: Path, *, replace: bool = False) -> dict[str, int]:
    """Load a backup written by :func:`export_ledger` into the workspace's ledger (made
    when missing); rows per ledger table."""
    from xlsales.jobs.sources import workspace_settings

    url = hook.ledger_url(root, workspace_settings(root))
    if url is None:
        raise LedgerError(LEDGER_OFF)
    ledger = hook.open_ledger(url)
    with _open(source, "r") as fh:
        return ledger.restore(_items(fh, source), replace=replace, name=str(source))
