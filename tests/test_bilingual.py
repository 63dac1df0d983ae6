"""The same sample written in Chinese and in English reads back to the same records."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from tests.helpers import comparable
from xlsales.sample import generate
from xlsales.tables import get
from xlsales.workspace import BOOK_BY_KEY, BOOKS, read_settings, read_table, write_workspace


@pytest.fixture(scope="module")
def both(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    team = generate()
    zh, en = tmp_path_factory.mktemp("zh"), tmp_path_factory.mktemp("en")
    write_workspace(zh, team.settings, team.data, lang="zh")
    write_workspace(en, team.settings, team.data, lang="en")
    return zh, en


@pytest.mark.parametrize("key", [s.key for b in BOOKS for s in b.specs])
def test_same_records(both: tuple[Path, Path], key: str) -> None:
    zh, en = both
    a = read_table(zh, key, read_settings(zh))
    b = read_table(en, key, read_settings(en))
    if key == "options":  # the language option itself differs, and the labels
        a = [{**r, "label": None, "description": None} for r in a if r["key"] != "language"]
        b = [{**r, "label": None, "description": None} for r in b if r["key"] != "language"]
    assert [comparable(key, r) for r in a] == [comparable(key, r) for r in b]


def test_settings_match_apart_from_language(both: tuple[Path, Path]) -> None:
    zh, en = both
    s_zh, s_en = read_settings(zh), read_settings(en)
    assert s_zh.general.language == "zh" and s_en.general.language == "en"
    assert s_zh.model_copy(update={"general": s_en.general}) == s_en


def test_english_workbook_shows_english(both: tuple[Path, Path]) -> None:
    _, en = both
    spec = get("opportunities")
    wb = openpyxl.load_workbook(en / BOOK_BY_KEY["customers"].filename, read_only=True)
    ws = wb[spec.sheet("en")]
    rows = list(ws.iter_rows(values_only=True))
    header = next(i for i, r in enumerate(rows) if r[0] == spec.columns[0].header("en"))
    stage_col = rows[header].index(spec.column("stage").header("en"))
    stages = {r[stage_col] for r in rows[header + 1:] if r[stage_col]}
    assert stages and stages <= {"Prospecting", "First contact", "Needs analysis", "Proposal",
                                 "Negotiation", "Won", "After-sales", "Lost"}
    assert all(ord(ch) < 128 for name in wb.sheetnames for ch in name)
    wb.close()
