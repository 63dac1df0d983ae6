"""Business tables, one module per group of tables.

Each module holds its tables' column definitions, conditional formats and notes
(:class:`TableSpec`) and, for the tables people fill in, their rules and checks;
the checks every table gets from its columns are in ``checks``.
"""

from __future__ import annotations

from xlsales.errors import UnknownTableError
from xlsales.i18n import Label
from xlsales.tables import (
    agenda,
    customers,
    daily,
    leads,
    opportunities,
    pipeline,
    review,
    settings_tables,
    targets,
    weekly,
)
from xlsales.tables.base import Column, Kind, TableSpec

ALL: tuple[TableSpec, ...] = (
    *targets.TABLES,
    *daily.TABLES,
    *agenda.TABLES,
    *review.TABLES,
    *customers.TABLES,
    *leads.TABLES,
    *opportunities.TABLES,
    *weekly.TABLES,
    *pipeline.TABLES,
    *settings_tables.TABLES,
)
BY_KEY: dict[str, TableSpec] = {t.key: t for t in ALL}


def get(key: str) -> TableSpec:
    """The table with this key (``daily``, ``targets`` …)."""
    try:
        return BY_KEY[key]
    except KeyError:
        raise UnknownTableError(Label(f"没有表 {key!r}；可用的表：{'、'.join(BY_KEY)}",
                                      f"unknown table {key!r}; known: {', '.join(BY_KEY)}")
                                ) from None


__all__ = ["ALL", "BY_KEY", "Column", "Kind", "TableSpec", "get"]
