"""Helpers for jobs that build many Python objects at once."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the duration.

    CPython starts a collection after every few hundred container allocations, and an
    older generation's collection walks every object still alive — with a workbook's
    frames, records and cell lists that is hundreds of thousands of objects, again and
    again while a job builds its output (about a sixth of a weekly rollup's time at 100k
    daily rows). Nothing a job builds relies on the collector: reference counting frees
    it. Cycles made meanwhile are collected once the collector is back on."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
