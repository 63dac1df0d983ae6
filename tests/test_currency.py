"""The ``currency`` option: amounts are in ten thousands of the team's currency, and every
header, hint and text says which (万美元, 10k USD); CNY (the default) keeps 万元 / 10k CNY."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from tests.helpers import comparable
from xlsales.jobs.meeting import agenda_pack
from xlsales.jobs.summary import build_summary
from xlsales.sample import SAMPLE_TODAY, generate
from xlsales.settings import General
from xlsales.words import amount_unit, join, money_text, weekday
from xlsales.workspace import read_settings, read_table, write_workspace


def _team(root: Path, lang: str, currency: str | None) -> Path:
    sample = generate(2024, lang)  # type: ignore[arg-type]
    if currency:
        sample.settings.general.currency = currency
    write_workspace(root, sample.settings, sample.data, lang=lang)  # type: ignore[arg-type]
    return root


def _texts(path: Path) -> list[str]:
    wb = openpyxl.load_workbook(path)
    out = [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row
           if isinstance(c.value, str)]
    out += [t for ws in wb.worksheets for dv in ws.data_validations.dataValidation
            for t in (dv.prompt, dv.promptTitle) if t]
    wb.close()
    return out


@pytest.mark.parametrize(("lang", "unit", "default"), [("zh", "万美元", "万元"),
                                                       ("en", "10k USD", "10k CNY")])
def test_headers_and_hints_name_the_currency(tmp_path: Path, lang: str, unit: str,
                                             default: str) -> None:
    usd = _team(tmp_path / "usd", lang, "USD")
    cny = _team(tmp_path / "cny", lang, None)
    texts = _texts(usd / "targets.xlsx")
    assert any(unit in t for t in texts) and not any(default in t for t in texts)
    assert any(default in t for t in _texts(cny / "targets.xlsx"))
    settings = read_settings(usd)
    assert settings.general.currency == "USD"
    for key in ("targets", "daily", "opportunities"):  # the same amounts read back
        a = read_table(usd, key, settings)
        b = read_table(cny, key, read_settings(cny))
        assert [comparable(key, r) for r in a] == [comparable(key, r) for r in b], key


def test_the_digest_and_the_meeting_pack_name_the_currency(tmp_path: Path) -> None:
    root = _team(tmp_path / "team", "zh", "EUR")
    digest = build_summary(root, "week", on=SAMPLE_TODAY)
    text = digest.render("text")
    assert "万欧元" in text and "万元" not in text
    pack = agenda_pack(root, "2024-W13")
    assert "万欧元" in pack.data[0]["note"] and "万元" not in pack.data[0]["note"]


def test_words() -> None:
    assert join(["张伟", "李娜"], "zh") == "张伟、李娜" and join(["A", "B"], "en") == "A, B"
    assert weekday(0, "zh") == "周一" and weekday(4, "en") == "Fri"
    assert amount_unit("zh") == "万元" and amount_unit("en") == "10k CNY"
    assert amount_unit("zh", "USD") == "万美元" and amount_unit("en", "usd") == "10k USD"
    assert amount_unit("en", "CHF") == "10k CHF" and amount_unit("zh", "CHF") == "万CHF"
    assert money_text("金额(万元)", "CNY") == "金额(万元)"
    assert money_text("Amount (10k CNY)", None) == "Amount (10k CNY)"
    assert money_text("In 10,000 CNY", "GBP") == "In 10,000 GBP"


@pytest.mark.parametrize(("given", "code"), [("usd", "USD"), (" 美元 ", "USD"),
                                             ("人民币", "CNY"), ("EUR", "EUR")])
def test_currency_codes(given: str, code: str) -> None:
    assert General(currency=given).currency == code


def test_a_bad_currency_is_refused() -> None:
    with pytest.raises(ValueError, match="three-letter currency code"):
        General(currency="dollars")
