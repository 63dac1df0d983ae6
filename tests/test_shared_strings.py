"""The shared-string table read only as far as asked (``Package.head``'s texts): every
item's text, however the part comes in chunks, in whatever order items are asked for,
with rich text, phonetic runs, empty items and a namespace prefix."""

from __future__ import annotations

import io
import random
import zipfile
from xml.sax.saxutils import escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xlsales.io.read import package
from xlsales.io.read.package import SharedStrings

PART = "xl/sharedStrings.xml"
PROLOG = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

# what looks like a tag, escaped in the XML; no ":" here — a text with ":si" (which sends
# the search to its regex path) is drawn on its own
texts = st.lists(st.sampled_from([*"ab Z&<>\"'\n销售日报;", "si", "<si>", "</si>"]),
                 max_size=8).map("".join)
# an item: its runs (one plain text, or rich runs), and how it is written
items = st.tuples(st.lists(texts, min_size=1, max_size=3),
                  st.sampled_from(["plain", "rich", "phonetic", "empty", "empty_t"]))


def _item(runs: list[str], kind: str, p: str) -> tuple[str, str]:
    """The XML of one ``<si>`` (``p``: the prefix) and the text it holds."""
    if kind == "empty":
        return f"<{p}si/>", ""
    if kind == "empty_t":
        return f"<{p}si><{p}t/></{p}si>", ""
    if kind == "rich":
        body = "".join(f"<{p}r><{p}rPr><{p}b/></{p}rPr><{p}t xml:space=\"preserve\">"
                       f"{escape(t)}</{p}t></{p}r>" for t in runs)
        return f"<{p}si>{body}</{p}si>", "".join(runs)
    text = runs[0]
    extra = (f'<{p}rPh sb="0" eb="1"><{p}t>{escape("".join(runs[1:]))}</{p}t></{p}rPh>'
             if kind == "phonetic" else "")
    return f"<{p}si><{p}t xml:space=\"preserve\">{escape(text)}</{p}t>{extra}</{p}si>", text


def _zip(xml: str) -> zipfile.ZipFile:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(PART, xml)
    return zipfile.ZipFile(io.BytesIO(buf.getvalue()))


@given(st.lists(items, max_size=40), st.sampled_from(["", "x:"]), st.booleans(),
       st.sampled_from(["", "\n", "\r\n  "]), st.integers(1, 300), st.randoms())
@settings(max_examples=200, deadline=None)
def test_every_item_is_read_however_the_part_comes_in_chunks(
        made: list[tuple[list[str], str]], prefix: str, colon: bool, gap: str, chunk: int,
        rnd: random.Random) -> None:
    if colon and made:  # a text that looks like a prefixed tag, in an unprefixed part too
        made[0] = ([f"a:si {made[0][0][0]}", *made[0][0][1:]], "plain")
    pairs = [_item(runs, kind, prefix) for runs, kind in made]
    xmlns = f'xmlns:x="{NS}"' if prefix else f'xmlns="{NS}"'
    root = f"<{prefix}sst {xmlns} count=\"{len(pairs)}\" uniqueCount=\"{len(pairs)}\">"
    xml = PROLOG + root + gap.join(x for x, _ in pairs) + f"</{prefix}sst>"
    expected = [t for _, t in pairs]
    order = list(range(len(expected) + 1))  # and one past the end: ""
    rnd.shuffle(order)
    with pytest.MonkeyPatch.context() as mp:
        # the first chunk holds the root's start (the DTD check needs it), then any size
        mp.setattr(package, "HEAD_CHUNK", len(PROLOG) + 8)
        mp.setattr(package, "CHUNK", chunk)
        strings = SharedStrings(_zip(xml), PART, "book.xlsx")
        got = {i: strings.get(i) for i in order}
    assert [got[i] for i in range(len(expected))] == expected
    assert got[len(expected)] == ""


def test_a_workbook_without_shared_strings_gives_blanks() -> None:
    strings = SharedStrings(_zip("<x/>"), None, "book.xlsx")
    assert strings.get(0) == ""
