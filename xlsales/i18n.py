"""Two-language labels: every user-visible text has a Chinese and an English form."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Literal

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")


@dataclass(frozen=True)
class Label:
    """A text in Chinese and English."""

    zh: str
    en: str

    def __call__(self, lang: Lang) -> str:
        return self.zh if lang == "zh" else self.en

    def all(self) -> tuple[str, str]:
        return (self.zh, self.en)

    def format(self, *args: object, **kwargs: object) -> Label:
        """Both texts with the same fields filled in."""
        return Label(self.zh.format(*args, **kwargs), self.en.format(*args, **kwargs))


def check_lang(lang: str) -> Lang:
    if lang not in LANGS:
        from xlsales.errors import InputError

        raise InputError(Label(f"未知的语言 {lang!r}；请用 {'、'.join(LANGS)} 之一",
                               f"unknown language {lang!r}; use one of {', '.join(LANGS)}"))
    return lang  # type: ignore[return-value]


def system_lang() -> Lang:
    """The language of the user's system: ``XLSALES_LANG`` when set, else Chinese for a
    Chinese locale, else English."""
    import locale
    import os

    chosen = os.environ.get("XLSALES_LANG", "").strip().lower()
    if chosen in LANGS:
        return chosen  # type: ignore[return-value]
    names = [os.environ.get(k, "") for k in ("LC_ALL", "LC_MESSAGES", "LANG")]
    with contextlib.suppress(ValueError):
        names.append(locale.getlocale()[0] or "")
    first = next((n for n in names if n and n not in ("C", "POSIX")), "")
    return "zh" if first.lower().startswith(("zh", "chinese")) else "en"
