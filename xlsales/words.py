"""The shared words of every output, in both languages: list separators, weekdays, the
"unassigned" group, default names and the amount unit.

Modules keep their own texts as :class:`~xlsales.i18n.Label` constants; the words several
of them write (a list of names, a weekday, the unit of an amount) come from here, so a
workspace shows them in one language and one spelling.
"""

from __future__ import annotations

from collections.abc import Iterable

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


def amount_unit(lang: Lang, currency: str | None = None) -> str:
    """The unit of amounts: ``万元`` / ``10k CNY`` by default, ``万美元`` / ``10k USD`` …"""
    code = (currency or DEFAULT_CURRENCY).upper()
    name = CURRENCIES.get(code, Label(code, code))
    return f"万{name.zh}" if lang == "zh" else f"10k {name.en}"


def money_text(text: str, currency: str | None) -> str:
    """``text`` (a header, hint or message written for the default unit: 万元, 10k CNY,
    10,000 CNY) naming the unit of ``currency`` instead; unchanged for CNY."""
    code = (currency or DEFAULT_CURRENCY).upper()
    if code == DEFAULT_CURRENCY or not text:
        return text
    name = CURRENCIES.get(code, Label(code, code))
    return (text.replace("万元", f"万{name.zh}").replace("10k CNY", f"10k {code}")
            .replace("10,000 CNY", f"10,000 {code}"))


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
