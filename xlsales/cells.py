"""A1 cell addresses: letters, numbers and ranges (pure string work)."""

from __future__ import annotations

import re

_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d{1,7})$")


def col_letters(col: int) -> str:
    """Letters of a 0-based column: 0 → A, 27 → AB."""
    name = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        name = chr(65 + rem) + name
    return name


def col_index(letters: str) -> int:
    """0-based column of ``AB``."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n - 1


def a1(row: int, col: int) -> str:
    """A1 address of a 0-based row and column."""
    return f"{col_letters(col)}{row + 1}"


def parse_ref(ref: str) -> tuple[int, int]:
    """(0-based row, column) of an A1 reference such as ``C6`` or ``$C$6``."""
    m = _REF.match(ref.strip())
    if not m:
        raise ValueError(f"not a cell reference: {ref!r}")
    return int(m.group(2)) - 1, col_index(m.group(1))


def range_bounds(ref: str) -> tuple[tuple[int, int], tuple[int, int]]:
    """((row, col), (row, col)) 0-based corners of ``A1:C3`` (or of one cell)."""
    first, _, last = ref.partition(":")
    start = parse_ref(first)
    return start, parse_ref(last) if last else start
