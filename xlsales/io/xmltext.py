"""Text escaped for XML: what :mod:`xml.sax.saxutils` gives, without importing it (it
imports ``urllib.request`` and with it ``http`` and ``email``: 25 ms of every command
that writes a workbook)."""

from __future__ import annotations

from collections.abc import Mapping

_ATTR_MORE = {"\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}


def escape(data: str, entities: Mapping[str, str] | None = None) -> str:
    """``&``, ``<`` and ``>`` escaped, then each key of ``entities`` replaced by its
    value (:func:`xml.sax.saxutils.escape`)."""
    data = data.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;")
    for char, ref in (entities or {}).items():
        data = data.replace(char, ref)
    return data


def quoteattr(data: str) -> str:
    """``data`` escaped and quoted as an attribute value, line breaks and tabs as
    character references (:func:`xml.sax.saxutils.quoteattr`: double quotes, or single
    ones around a value holding only double quotes)."""
    data = escape(data, _ATTR_MORE)
    if '"' in data:
        if "'" in data:
            return '"' + data.replace('"', "&quot;") + '"'
        return "'" + data + "'"
    return '"' + data + '"'
