"""The shared words of every output, in both languages: list separators, weekdays, the
"unassigned" group, default names and the amount unit.

Modules keep their own texts as :class:`~xlsales.i18n.Label` constants; the words several
of them write (a list of names, a weekday, the unit of an amount) come from here, so a
workspace shows them in one language and one spelling.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from xlsales.i18n import Label, Lang

SEP = Label("、", ", ")  # between the items of a list of names
AND = Label("、", " and ")  # between the last two of a short list ("A and B")
SEMI = Label(";", "; ")
COLON = Label(":", ": ")

WEEKDAYS = {"zh": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
            "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}
MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December")

UNASSIGNED = Label("未分配", "Unassigned")
TEAM_NAME = Label("销售团队", "Sales team")
MEETING_TOPIC = Label("季度目标冲刺周会", "Weekly meeting: the quarter's targets")
MEETING_TIME = Label("周一 9:00-10:30", "Monday 9:00-10:30")

# Currencies the ``currency`` option knows (any other ISO code is shown as it is).
CURRENCIES: dict[str, Label] = {
    "CNY": Label("元", "CNY"), "USD": Label("美元", "USD"), "EUR": Label("欧元", "EUR"),
    "GBP": Label("英镑", "GBP"), "JPY": Label("日元", "JPY"), "HKD": Label("港元", "HKD"),
    "SGD": Label("新加坡元", "SGD"), "TWD": Label("新台币", "TWD"),
}
DEFAULT_CURRENCY = "CNY"


def join(items: Iterable[object], lang: Lang) -> str:
    """``items`` as a list in ``lang``: ``张伟、李娜`` or ``Alice, Bob``."""
    return SEP(lang).join(str(x) for x in items)


def weekday(day_index: int, lang: Lang) -> str:
    """The short name of a weekday (0 is Monday): 周一 / Mon."""
    return WEEKDAYS[lang][day_index]


# The ``amount_unit`` option: amounts in ten thousands of the currency (10000: 万元, 10k CNY;
# the library's own unit) or in whole units (1: 元, CNY). Its spellings, to the canonical
# two (numbers, so a settings sheet shows them alike in either language).
TEN_THOUSANDS, WHOLE = "10000", "1"
AMOUNT_UNITS: dict[str, str] = {
    "万": TEN_THOUSANDS, "万元": TEN_THOUSANDS, "10k": TEN_THOUSANDS, "10000": TEN_THOUSANDS,
    "10,000": TEN_THOUSANDS, "w": TEN_THOUSANDS, "": TEN_THOUSANDS,
    "1": WHOLE, "元": WHOLE, "unit": WHOLE, "units": WHOLE, "whole": WHOLE, "个": WHOLE,
    "1元": WHOLE, "单位": WHOLE,
}


def unit_code(unit: object) -> str | None:
    """The canonical ``amount_unit`` (:data:`TEN_THOUSANDS` or :data:`WHOLE`) of a typed
    value (万, 万元, 10k; 1, 元, unit …); None when it is neither."""
    if unit is None:
        return TEN_THOUSANDS
    if isinstance(unit, bool):
        return None
    if isinstance(unit, int | float):
        return {1: WHOLE, 10000: TEN_THOUSANDS}.get(unit)  # type: ignore[call-overload]
    text = str(unit).strip().lower().replace(" ", "")
    text = re.sub(r"\.0+$", "", text)
    return AMOUNT_UNITS.get(text)


def is_whole(unit: object) -> bool:
    """Whether ``unit`` (an ``amount_unit`` value, or the settings' options holding it)
    keeps amounts in whole units of the currency."""
    if isinstance(unit, Mapping):
        unit = unit.get("amount_unit")
    return unit_code(unit) == WHOLE


def amount_scale(unit: object) -> float:
    """What an amount in 万 (the library's unit) is multiplied by to be shown in ``unit``
    (or the options holding it): 1 or 10,000."""
    return 1e4 if is_whole(unit) else 1.0


def to_unit(value: float, unit: object) -> float:
    """An amount in 万 as the workspace's ``unit`` shows it (12.3 → 123000.0 in whole
    units; :func:`to_units`, one number)."""
    return value if amount_scale(unit) == 1.0 else float(to_units(value, unit))


def to_unit_cells(values: Sequence[Any], unit: object) -> list[Any]:
    """``values`` (cells: a text typed among the amounts stays as it is) with their numbers
    in ``unit``, converted together by :func:`to_units`."""
    out = list(values)
    if amount_scale(unit) == 1.0:
        return out
    at = [i for i, v in enumerate(out) if isinstance(v, int | float) and not isinstance(v, bool)]
    if at:
        for i, v in zip(at, to_units([out[i] for i in at], unit).tolist(), strict=True):
            out[i] = v
    return out


def to_units(values: Any, unit: object) -> Any:
    """:func:`to_unit` of a numpy array of numbers at once (NaN stays NaN): the product
    rounded to 15 significant digits (the float noise of 12.3 × 10,000 gone)."""
    import numpy as np

    scale = amount_scale(unit)
    if scale == 1.0:
        return values
    x = np.asarray(values, dtype=np.float64) * scale
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        digits = np.floor(np.log10(np.abs(x)))
        places = np.clip(np.where(np.isfinite(digits), 14 - digits, 0), -22, 22)
        shift = 10.0 ** np.abs(places)  # exact for up to 22 places: one correct rounding
        out = np.where(places >= 0, np.round(x * shift) / shift, np.round(x / shift) * shift)
    return np.where(np.isfinite(x), out, x)


def amount_unit(lang: Lang, currency: str | None = None, unit: object = None) -> str:
    """The unit of amounts: ``万元`` / ``10k CNY`` by default, ``万美元`` / ``10k USD`` …;
    in whole units ``元`` / ``CNY``, ``美元`` / ``USD`` …"""
    code = (currency or DEFAULT_CURRENCY).upper()
    name = CURRENCIES.get(code, Label(code, code))
    if is_whole(unit):
        return name.zh if lang == "zh" else name.en
    return f"万{name.zh}" if lang == "zh" else f"10k {name.en}"


def money_text(text: str, currency: str | None, unit: object = None) -> str:
    """``text`` (a header, hint or message written for the default unit: 万元, 10k CNY,
    10,000 CNY) naming the unit of ``currency`` (and of the ``amount_unit`` ``unit``)
    instead; unchanged for CNY in 万."""
    code = (currency or DEFAULT_CURRENCY).upper()
    whole = is_whole(unit)
    if (code == DEFAULT_CURRENCY and not whole) or not text:
        return text
    name = CURRENCIES.get(code, Label(code, code))
    if whole:
        return (text.replace("万元", name.zh).replace("10k CNY", code)
                .replace("10,000 CNY", code))
    return (text.replace("万元", f"万{name.zh}").replace("10k CNY", f"10k {code}")
            .replace("10,000 CNY", f"10,000 {code}"))


def money_options(settings: Any) -> dict[str, Any]:
    """The currency and amount unit of a team's settings, as the options the functions
    above take."""
    return {"currency": settings.general.currency,
            "amount_unit": settings.general.amount_unit}


def options_text(text: str, options: Mapping[str, Any] | None) -> str:
    """:func:`money_text` in the currency and amount unit of the settings' ``options``."""
    if not options:
        return text
    return money_text(text, options.get("currency"), options.get("amount_unit"))


# The standing agenda of the weekly meeting (seed 000 §3) in English.
AGENDA_EN = (
    ("Last week's results (figures compared)", "Sales manager", 20, "Last week's figures"),
    ("Reps speak (why a target was missed)", "Sales reps", 30, None),
    ("Problems customers share", "Sales manager", 25, None),
    ("This week's action items", "Sales manager", 15, "Meeting minutes"),
)


def defaults(lang: Lang) -> dict[str, object]:
    """The settings' default names and texts in ``lang`` (fields of
    :class:`~xlsales.settings.Settings`; none for Chinese, the models' own defaults)."""
    if lang == "zh":
        return {}
    from xlsales.settings import AgendaItem, General

    general = General(team_name=TEAM_NAME.en, language="en", meeting_topic=MEETING_TOPIC.en,
                      meeting_time=MEETING_TIME.en)
    agenda = [AgendaItem(no=i + 1, item=item, owner=owner, minutes=minutes, materials=mat)
              for i, (item, owner, minutes, mat) in enumerate(AGENDA_EN)]
    return {"general": general, "agenda": agenda}
