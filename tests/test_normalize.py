"""The normalisation policy (xlsales/normalize.py), bullet by bullet, cell by cell."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from xlsales.normalize import (
    COMPANY_SUFFIXES,
    COUNT_UNITS,
    NormalizeError,
    clean_long_text,
    clean_long_text_series,
    clean_text,
    clean_text_series,
    company_key,
    name_key,
    phone_key,
    serial_to_datetime,
    to_date,
    to_datetime,
    to_int,
    to_number,
)

FULL_WIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})


def full_width(text: str) -> str:
    """ASCII letters, digits and punctuation in their full-width forms."""
    return text.translate(FULL_WIDTH)


# -- text ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "clean"), [
    ("ＡＢＣ１２３", "ABC123"),                       # NFKC: full width becomes half width
    ("（张三）", "(张三)"),
    ("张\u200b三", "张三"),                           # zero-width space
    ("\ufeff张三\u200d", "张三"),                     # BOM, zero-width joiner
    ("张\u2060三\u00ad", "张三"),                     # word joiner, soft hyphen
    ("张三\u00a0", "张三"),                           # non-breaking space, trimmed
    ("王\u3000五", "王 五"),                          # ideographic space becomes a space
    ("a \t\u00a0\u3000 b", "a b"),                   # runs fold to one space
    ("  两端  ", "两端"),
    ("a\u2003b\u202fc", "a b c"),                    # em space, narrow no-break space
    ("e\u200b\u0301", "\u00e9"),                      # composes once the zero-width goes
])
def test_clean_text(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


@pytest.mark.parametrize("blank", [None, "", "   ", "\u3000", "\u00a0\u200b", "\t"])
def test_blank_text_is_none(blank: str | None) -> None:
    assert clean_text(blank) is None
    assert clean_long_text(blank) is None


def test_clean_text_of_numbers() -> None:
    assert clean_text(3.0) == "3"       # an ID typed as a number reads like its text
    assert clean_text(3.5) == "3.5"
    assert clean_text(12) == "12"


def test_free_text_keeps_its_characters() -> None:
    raw = "\u200b 第一行：跟进客户Ｃ\n第二行　（全角）  双空格\u200b\u3000"
    assert clean_long_text(raw) == "第一行：跟进客户Ｃ\n第二行　（全角）  双空格"


def test_a_name_with_odd_spaces_matches_the_plain_name() -> None:
    assert clean_text("张三\xa0") == clean_text("张三") == "张三"
    assert name_key("张 三") == name_key("张三") == name_key("\u3000张三\u200b")
    assert name_key("ＡＢＣ Co") == name_key("abcco")
    assert name_key(None) == ""


# Text around the characters the policy treats specially, and letters that compose.
TRICKY = st.text(st.sampled_from(list(
    "ae张三 \t\u00a0\u3000\u2003\u200b\u200d\u2060\ufeff\u00ad\u0301\u0308\u3099"
    "\u304b\u1100\u1161\uff21\uff11\u2460\ufe49")) | st.characters())


@example("e\u200b\u0301")       # NFKC must not be blocked by a zero-width character
@example("\u1100\u200b\u1161")  # Hangul jamo around a zero-width space
@given(TRICKY)
def test_clean_text_is_idempotent(text: str) -> None:
    once = clean_text(text)
    assert clean_text(once) == once


@given(st.text())
def test_clean_long_text_is_idempotent(text: str) -> None:
    once = clean_long_text(text)
    assert clean_long_text(once) == once


# A cell's text is Unicode a workbook can hold: no lone surrogates (Arrow strings, which
# columns are, cannot hold them either).
CELL_TEXT = TRICKY.filter(lambda t: not any("\ud800" <= c <= "\udfff" for c in t))


@settings(deadline=None)
@given(st.lists(st.none() | CELL_TEXT, max_size=12), st.integers(1, 6))
def test_the_column_cleaners_agree_with_the_cell_cleaners(texts: list[str | None],
                                                          repeat: int) -> None:
    """The whole-column paths (a clean column returned as it is, zero-width characters
    looked for in the bytes, few distinct values cleaned once each) give what cleaning
    cell by cell gives."""
    import pandas as pd

    column = pd.Series(texts * repeat, dtype="str")
    for series, cell in ((clean_text_series, clean_text),
                         (clean_long_text_series, clean_long_text)):
        got = series(column)
        assert got.dtype == column.dtype
        assert [None if v != v else v for v in got.tolist()] == \
            [None if v is None else cell(v) for v in texts * repeat]


# -- numbers ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "number"), [
    (3, 3.0), (2.5, 2.5), (-1, -1.0), (0, 0.0),
    ("５", 5.0), ("１．５", 1.5), ("12", 12.0), (" 7 ", 7.0), ("+4", 4.0), (".5", 0.5),
    ("5.", 5.0), ("1e3", 1000.0), ("1.5E-2", 0.015),
    ("−3", -3.0), ("－3", -3.0), ("–3", -3.0), ("—2.5", -2.5),          # Unicode minus signs
    ("1,000", 1000.0), ("１，０００", 1000.0), ("1,234,567.89", 1234567.89),
    ("1 000", 1000.0), ("1\u00a0000", 1000.0),
    ("50%", 0.5), ("５０％", 0.5), ("12.5 %", 0.125), ("-5%", -0.05),
])
def test_to_number(raw: object, number: float) -> None:
    got = to_number(raw)
    assert isinstance(got, float)
    assert got == pytest.approx(number, rel=1e-12)


@pytest.mark.parametrize("unit", COUNT_UNITS)
def test_count_units_are_dropped(unit: str) -> None:
    assert to_number(f"5{unit}") == 5.0
    assert to_number(f"１２ {unit}") == 12.0
    assert to_int(f"3{unit}") == 3


@pytest.mark.parametrize(("raw", "unit", "number"), [
    ("100元", None, 0.01), ("1.5万", None, 1.5), ("2万元", None, 2.0), ("1亿", None, 10000.0),
    ("3亿元", None, 30000.0), ("5千元", None, 0.5), ("20块", None, 0.002),
    ("8k", None, 0.8), ("8K", None, 0.8), ("3w", None, 3.0), ("3W", None, 3.0),
    ("1.5万", "万元", 1.5), ("1.5万", "元", 15000.0), ("100元", "元", 100.0),
    ("1亿", "元", 1e8), ("１，５００元", "元", 1500.0), ("12", "元", 12.0),
])
def test_money_is_converted_to_the_column_unit(raw: str, unit: str | None,
                                               number: float) -> None:
    assert to_number(raw, unit=unit) == pytest.approx(number, rel=1e-12)


@pytest.mark.parametrize("raw", [
    True, False, float("nan"), float("inf"), float("-inf"),
    "NaN", "nan", "inf", "-inf", "Infinity", "abc", "N/A", "-", "--5", "五", "约10万",
    "5美元", "1.2.3", "5%%", "%", "e5", "1e", "3.5.万", "(100)", "5 5 元x",
])
def test_not_a_number_is_an_error(raw: object) -> None:
    with pytest.raises(NormalizeError):
        to_number(raw)


@pytest.mark.parametrize("blank", [None, "", "  ", "\u3000", "\u200b"])
def test_blank_number_is_none(blank: object) -> None:
    assert to_number(blank) is None
    assert to_int(blank) is None


@pytest.mark.parametrize(("raw", "number"), [
    (3, 3), (3.0, 3), ("５", 5), ("3个", 3), ("1,200", 1200), ("-2", -2),
    ("1万", 10_000), ("1.5万", 15_000), ("２万", 20_000),  # a count of 1万 is ten thousand
])
def test_to_int(raw: object, number: int) -> None:
    got = to_int(raw)
    assert got == number and type(got) is int


@pytest.mark.parametrize("raw", [2.5, "2.5", "1.5家", "50%", True, float("nan"), "三"])
def test_to_int_refuses_fractions_and_non_numbers(raw: object) -> None:
    with pytest.raises(NormalizeError):
        to_int(raw)


def test_normalize_error_is_a_value_error() -> None:
    assert issubclass(NormalizeError, ValueError)


finite = st.floats(allow_nan=False, allow_infinity=False)


@given(finite)
def test_number_round_trips_written_plainly(x: float) -> None:
    assert to_number(str(x)) == x
    assert to_number(repr(x)) == x


@given(finite)
def test_number_round_trips_with_thousands_separators(x: float) -> None:
    assert to_number(f"{x:,}") == x
    assert to_number(f"{x:,}".replace(",", "，")) == x


@given(finite)
def test_number_round_trips_in_full_width(x: float) -> None:
    assert to_number(full_width(f"{x:,}")) == x
    assert to_number(str(x).replace("-", "−")) == x


@given(st.integers(min_value=-10**12, max_value=10**12), st.sampled_from(COUNT_UNITS))
def test_whole_numbers_round_trip_with_count_units(n: int, unit: str) -> None:
    assert to_int(f"{n:,}{unit}") == n
    assert to_int(full_width(str(n)) + unit) == n


@given(st.floats(min_value=0, max_value=1e9, allow_nan=False))
def test_wan_and_yuan_agree(x: float) -> None:
    # The same amount written in 元 and in 万元 reads the same in a 万元 column.
    assert to_number(f"{x!r}万") == pytest.approx(to_number(f"{x * 1e4!r}元"), rel=1e-9,
                                                   abs=1e-12)


# -- dates -----------------------------------------------------------------------------------------

DAY = dt.date(2024, 3, 5)


@pytest.mark.parametrize("raw", [
    DAY, dt.datetime(2024, 3, 5), dt.datetime(2024, 3, 5, 17, 30),
    "2024-03-05", "2024/3/5", "2024.3.5", "20240305", "2024年3月5日", "2024 年 3 月 5 日",
    "２０２４年３月５日", "2024-3-5", "2024/03/05 17:30", "2024-03-05T09:15:20",
    "2024年3月5日 8:05",
    " 2024-03-05\u3000",
])
def test_to_date(raw: object) -> None:
    assert to_date(raw) == DAY


@pytest.mark.parametrize("raw", ["3月5日", "3/5", "3-5", "3.5", "03/05", "３月５日",
                                 "3月5日 17:30"])
def test_a_date_without_a_year_takes_it_from_context(raw: str) -> None:
    assert to_date(raw, year=2024) == DAY
    assert to_date(raw, year=2023) == dt.date(2023, 3, 5)
    with pytest.raises(NormalizeError, match="without a year"):
        to_date(raw)


def test_a_time_part_is_kept_by_to_datetime() -> None:
    assert to_datetime("2024-03-05 17:30") == dt.datetime(2024, 3, 5, 17, 30)
    assert to_datetime("2024/3/5 17：30") == dt.datetime(2024, 3, 5, 17, 30)
    assert to_datetime("2024-03-05 17:30:15") == dt.datetime(2024, 3, 5, 17, 30, 15)
    assert to_datetime("3月5日 9:05", year=2024) == dt.datetime(2024, 3, 5, 9, 5)
    assert to_datetime(DAY) == dt.datetime(2024, 3, 5)
    assert to_date(dt.datetime(2024, 3, 5, 23, 59)) == DAY


def test_serial_numbers_in_both_date_systems() -> None:
    assert to_date(45356) == DAY
    assert to_date(45356.0) == DAY
    assert to_datetime(45356.75) == dt.datetime(2024, 3, 5, 18, 0)
    assert to_date(45356 - 1462, date1904=True) == DAY
    assert to_date(0, date1904=True) == dt.date(1904, 1, 1)
    assert serial_to_datetime(2958465) == dt.datetime(9999, 12, 31)


@pytest.mark.parametrize("raw", [
    True, -1, 2958466, float("nan"), float("inf"), "2024-02-30", "2024-13-01", "2024-00-10",
    "tomorrow", "下周一", "2024/3", "2024年3月", "24-3-5x", "3月32日",
])
def test_not_a_date_is_an_error(raw: object) -> None:
    with pytest.raises(NormalizeError):
        to_date(raw, year=2024)


@pytest.mark.parametrize("blank", [None, "", "   ", "\u3000"])
def test_blank_date_is_none(blank: object) -> None:
    assert to_date(blank) is None
    assert to_datetime(blank) is None


EPOCH_1900, EPOCH_1904 = dt.date(1899, 12, 30), dt.date(1904, 1, 1)


def _renderings(d: dt.date) -> list[tuple[object, dict[str, object]]]:
    y, m, day = d.year, d.month, d.day
    out: list[tuple[object, dict[str, object]]] = [
        (d, {}), (dt.datetime(y, m, day, 13, 45), {}),
        (d.isoformat(), {}), (f"{y}/{m}/{day}", {}), (f"{y}.{m}.{day}", {}),
        (f"{y:04d}{m:02d}{day:02d}", {}), (f"{y}年{m}月{day}日", {}),
        (f"{y}-{m:02d}-{day:02d} 17:30", {}), (full_width(f"{y}/{m}/{day}"), {}),
        (f"{m}月{day}日", {"year": y}), (f"{m}/{day}", {"year": y}),
    ]
    if d >= dt.date(1900, 3, 1):
        out.append(((d - EPOCH_1900).days, {}))
    if d >= EPOCH_1904:
        out.append((float((d - EPOCH_1904).days), {"date1904": True}))
    return out


@given(st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(9999, 12, 31)))
def test_a_date_written_any_supported_way_reads_back(d: dt.date) -> None:
    for raw, kw in _renderings(d):
        assert to_date(raw, **kw) == d, (raw, kw)  # type: ignore[arg-type]


# -- company names ---------------------------------------------------------------------------------

TEN_WAYS = [
    "杭州华东科技有限公司", "杭州华东科技股份有限公司", "杭州华东科技有限责任公司",
    "杭州华东科技 有限公司", "杭州华东科技（有限公司）", "杭州华东科技集团有限公司",
    "杭州华东科技公司", "杭州 华东 科技", "\u200b杭州华东科技有限公司\u3000",
    "杭州华东科技（集团）股份有限公司",
]


def test_true_duplicates_written_ten_ways_are_one_key() -> None:
    assert len(set(TEN_WAYS)) == 10
    assert {company_key(n) for n in TEN_WAYS} == {"杭州华东科技"}


def test_english_legal_forms_and_case() -> None:
    ways = ["ABC Trading Co., Ltd.", "abc trading co ltd", "ABC Trading Limited",
            "ＡＢＣ　Ｔｒａｄｉｎｇ Co.,Ltd.", "ABC Trading Inc.", "ABC TRADING CORPORATION",
            "A.B.C. Trading LLC", "ABC Trading Group"]
    assert {company_key(n) for n in ways} == {"abctrading"}


def test_a_bracketed_place_is_ignored() -> None:
    assert company_key("ABC贸易(上海)有限公司") == company_key("ABC贸易有限公司") == "abc贸易"
    assert company_key("（上海）ABC贸易") == "abc贸易"


def test_different_companies_stay_apart() -> None:
    assert company_key("华东科技") != company_key("华南科技")
    assert company_key("华东科技有限公司") != company_key("华东科技上海分公司")
    assert company_key("杭州华东科技") != company_key("杭州华东")


def test_company_key_edges() -> None:
    assert company_key(None) is None
    assert company_key("  ") is None
    assert company_key("有限公司")  # a legal form alone is not removed to nothing
    assert company_key("(有限公司)") == company_key("有限公司")


CORE = st.text(alphabet="东南西北中华科技贸易物流信息电子机械医疗能源教育", min_size=2,
               max_size=8)


@given(CORE, st.sampled_from([s for s in COMPANY_SUFFIXES if not s.isascii()]),
       st.sampled_from(["", " ", "\u3000", "\u00a0"]))
def test_a_legal_form_never_changes_the_key(core: str, suffix: str, space: str) -> None:
    assert company_key(core + space + suffix) == company_key(core) == core
    assert company_key(f"{core}（上海）{suffix}") == core


# -- phones ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    "13812345678", "138-1234-5678", "138 1234 5678", "+86 138 1234 5678", "+86-13812345678",
    "0086 13812345678", "(+86)138-1234-5678", "+８６ １３８１２３４５６７８", "8613812345678",
    "138.1234.5678", "13812345678 转 801", "138-1234-5678 ext. 12", " 13812345678\u200b",
])
def test_phone_key_of_a_mobile(raw: str) -> None:
    assert phone_key(raw) == "13812345678"


@pytest.mark.parametrize("raw", [
    "021-62345678", "(021) 6234 5678", "021 6234-5678 转801", "+86 21 6234 5678",
    "0086-21-62345678", "021-62345678#12",
])
def test_phone_key_of_a_landline(raw: str) -> None:
    assert phone_key(raw) == "02162345678"


@pytest.mark.parametrize("raw", [None, "", "无", "123", "转801", "12-34"])
def test_not_a_phone(raw: str | None) -> None:
    assert phone_key(raw) is None


def test_different_phones_differ() -> None:
    assert phone_key("13812345678") != phone_key("13812345679")
    assert phone_key("021-62345678") != phone_key("010-62345678")


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
       st.sampled_from(["{}", "+86 {}", "0086{}", "+86-{}", "{} 转 8"]),
       st.sampled_from(["", "-", " ", "."]), st.booleans())
def test_any_rendering_of_a_mobile_has_its_key(number: str, form: str, sep: str,
                                              wide: bool) -> None:
    text = form.format(f"{number[:3]}{sep}{number[3:7]}{sep}{number[7:]}")
    if wide:
        text = full_width(text)
    assert phone_key(text) == number


@settings(max_examples=200)
@given(st.text())
def test_keys_never_raise(text: str) -> None:
    key = company_key(text)
    assert key is None or (key and " " not in key)
    phone = phone_key(text)
    assert phone is None or (phone.isdigit() and len(phone) >= 7)
    assert " " not in name_key(text)
