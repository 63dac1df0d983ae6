"""A generated corpus of hostile files: each case damages a copy of the sample team's daily
report (or puts something else in its place) and returns the path to feed the commands.

``CASES`` maps a case name to its builder ``(team: Path) -> Path``; ``team`` is a copy of
the sample team's workspace (``tests.fuzz.workspace``), the path returned is always
``team / "daily_report.xlsx"``, so ``rollup TEAM`` reads the hostile file too.
``tests/test_hostile.py`` runs ``validate``, ``validate --annotate --out`` and ``rollup``
on every case.

``python -m tests.hostile OUT_DIR`` writes the corpus to look at: per case a team folder
``OUT_DIR/<case>/`` and the hostile file itself as ``OUT_DIR/<case>.xlsx`` (a link to the
one in the team folder when it is not a plain file).
"""

from __future__ import annotations

import atexit
import functools
import io
import os
import random
import re
import shutil
import struct
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from tests.fuzz import workspace
from tests.quirks.make_quirks import rewrite_part
from tests.test_safety import (
    LAUGHS,
    _crafted_encrypted,
    _csv,
    _empty,
    _html,
    _legacy,
)
from xlsales.io.safety import MAX_ENTRIES, RATIO_ALLOWANCE

DAILY = "daily_report.xlsx"
DAILY_SHEET = "xl/worksheets/sheet1.xml"  # the "Daily report" sheet (rId1)
MiB = 1 << 20
W12_DAY = 45371  # 2024-03-20, a Wednesday of 2024-W12: the row the cell cases damage

Builder = Callable[[Path], Path]


# -- the sample team -------------------------------------------------------------------------------

@functools.cache
def sample_team() -> Path:
    """The sample team's workspace (English), built once per process; copy it, never edit."""
    root = Path(tempfile.mkdtemp(prefix="xlsales-hostile-"))
    atexit.register(shutil.rmtree, root, True)
    return workspace(root / "team")


def xml_parts(path: Path | None = None) -> list[str]:
    """The XML parts of a workbook (default: the sample daily report), in zip order."""
    with zipfile.ZipFile(path or sample_team() / DAILY) as zf:
        return [n for n in zf.namelist() if n.endswith((".xml", ".rels"))]


def slug(part: str) -> str:
    """A part name as a piece of a file name: ``xl/worksheets/sheet1.xml`` ->
    ``xl_worksheets_sheet1_xml``."""
    return re.sub(r"[^A-Za-z0-9]+", "_", part).strip("_")


def _daily(team: Path) -> Path:
    return team / DAILY


def _members(path: Path) -> list[tuple[zipfile.ZipInfo, bytes]]:
    with zipfile.ZipFile(path) as zf:
        return [(info, zf.read(info.filename)) for info in zf.infolist()]


def _rewrite(path: Path, members: Iterable[tuple[zipfile.ZipInfo | str, bytes]]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in members:
            zf.writestr(info, data)


def _edit(part: str, change: Callable[[bytes], bytes]) -> Builder:
    """A builder that rewrites one part of the daily report (fails if nothing changed)."""
    def build(team: Path) -> Path:
        rewrite_part(_daily(team), part, change)
        return _daily(team)
    return build


def _sub(pattern: bytes, repl: bytes | Callable[[re.Match[bytes]], bytes],
         flags: int = 0) -> Callable[[bytes], bytes]:
    """A change: the first match of ``pattern`` replaced (fails loudly when none)."""
    def change(xml: bytes) -> bytes:
        new, n = re.subn(pattern, repl, xml, count=1, flags=flags)
        if n != 1:
            raise ValueError(f"{pattern!r} not found")
        return new
    return change


# -- raw zips (sizes that lie, one compressed blob used many times) --------------------------------

def _deflate(chunks: Iterable[bytes]) -> tuple[bytes, int, int]:
    """(raw deflate stream, CRC-32, size) of the concatenated ``chunks``."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    out, crc, size = [], 0, 0
    for chunk in chunks:
        crc, size = zlib.crc32(chunk, crc), size + len(chunk)
        out.append(c.compress(chunk))
    out.append(c.flush())
    return b"".join(out), crc, size


RawEntry = tuple[str, bytes, int, int]  # name, deflated data, CRC-32, declared size


def _raw_zip(path: Path, entries: Iterable[RawEntry]) -> None:
    """Write a zip of deflated entries whose uncompressed sizes are the ones declared."""
    body, central, n = io.BytesIO(), io.BytesIO(), 0
    for name, data, crc, size in entries:
        raw = name.encode()
        offset = body.tell()
        body.write(struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc,
                               len(data), size, len(raw), 0))
        body.write(raw + data)
        central.write(struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc,
                                  len(data), size, len(raw), 0, 0, 0, 0, 0, offset))
        central.write(raw)
        n += 1
    cd = central.getvalue()
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, n, n, len(cd), body.tell(), 0)
    path.write_bytes(body.getvalue() + cd + end)


def _raw_members(path: Path) -> list[RawEntry]:
    out = []
    for info, data in _members(path):
        blob, crc, size = _deflate([data])
        out.append((info.filename, blob, crc, size))
    return out


def _padded_sheet(sheet: bytes, pad: int) -> Iterator[bytes]:
    """The sheet with ``pad`` bytes of whitespace before ``</sheetData>``: still valid XML."""
    at = sheet.index(b"</sheetData>")
    yield sheet[:at]
    chunk = b" " * MiB
    for _ in range(pad // MiB):
        yield chunk
    yield sheet[at:]


def zip_bomb_ratio(team: Path) -> Path:
    """The daily sheet padded with 100 MiB of whitespace: one entry expanding ~1000x."""
    daily = _daily(team)
    entries = []
    for info, data in _members(daily):
        blob, crc, size = _deflate(_padded_sheet(data, 100 * MiB) if info.filename
                                   == DAILY_SHEET else [data])
        entries.append((info.filename, blob, crc, size))
    _raw_zip(daily, entries)
    return daily


def zip_bomb_lying_size(team: Path) -> Path:
    """As ``zip_bomb_ratio``, but the headers declare the sheet's original size: the entry
    looks ordinary, its stream expands to 100 MiB."""
    daily = _daily(team)
    entries = []
    for info, data in _members(daily):
        blob, crc, _ = _deflate(_padded_sheet(data, 100 * MiB) if info.filename
                                == DAILY_SHEET else [data])
        entries.append((info.filename, blob, crc, len(data)))
    _raw_zip(daily, entries)
    return daily


def zip_bomb_lying_size_big_archive(team: Path) -> Path:
    """As ``zip_bomb_lying_size`` with 400 MiB behind the declared size, in an archive over
    4 MiB (a stored picture of random bytes), where not every entry's checksum is checked
    before reading."""
    daily = _daily(team)
    entries: list[RawEntry] = []
    for info, data in _members(daily):
        blob, crc, _ = _deflate(_padded_sheet(data, 400 * MiB) if info.filename
                                == DAILY_SHEET else [data])
        entries.append((info.filename, blob, crc, len(data)))
    noise = random.Random(0).randbytes(5 * MiB)
    blob, crc, size = _deflate([noise])
    _raw_zip(daily, [*entries, ("xl/media/image1.png", blob, crc, size)])
    return daily


def zip_bomb_total(team: Path) -> Path:
    """900 extra parts each just under the 1 MiB allowance: each passes on its own, the
    archive expands ~900 MiB in all."""
    daily = _daily(team)
    pad = b"<a>" + b" " * (RATIO_ALLOWANCE - 64) + b"</a>"
    blob, crc, size = _deflate([pad])
    _raw_zip(daily, [*_raw_members(daily),
                     *((f"customXml/item{i}.xml", blob, crc, size) for i in range(900))])
    return daily


def _with_entries(count: int) -> Builder:
    def build(team: Path) -> Path:
        daily = _daily(team)
        blob, crc, size = _deflate([b"<a/>"])
        _raw_zip(daily, [*_raw_members(daily),
                         *((f"customXml/item{i}.xml", blob, crc, size) for i in range(count))])
        return daily
    return build


def many_small_sheets(team: Path) -> Path:
    """480 more (tiny, real) worksheets, each listed in the workbook."""
    daily = _daily(team)
    extra = range(3, 483)
    sheet = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns='
             b'"http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
             b'<c r="A1" t="inlineStr"><is><t>x</t></is></c></row></sheetData></worksheet>')
    ws_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
    rel_type = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
    changes = {
        "xl/workbook.xml": lambda x: x.replace(b"</sheets>", "".join(
            f'<sheet name="S{i}" sheetId="{i}" r:id="rId{100 + i}"/>' for i in extra
        ).encode() + b"</sheets>"),
        "xl/_rels/workbook.xml.rels": lambda x: x.replace(b"</Relationships>", "".join(
            f'<Relationship Id="rId{100 + i}" Type="{rel_type}" '
            f'Target="worksheets/sheet{i}.xml"/>' for i in extra
        ).encode() + b"</Relationships>"),
        "[Content_Types].xml": lambda x: x.replace(b"</Types>", "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="{ws_type}"/>'
            for i in extra).encode() + b"</Types>"),
    }
    members: list[tuple[zipfile.ZipInfo | str, bytes]] = [
        (info, changes[info.filename](data) if info.filename in changes else data)
        for info, data in _members(daily)]
    members += [(f"xl/worksheets/sheet{i}.xml", sheet) for i in extra]
    _rewrite(daily, members)
    return daily


# -- XML entities in every part --------------------------------------------------------------------

QUADRATIC = 50_000  # an entity of 50,000 characters referenced 50,000 times: 2.5 GB
ENTITIES: dict[str, tuple[str, bytes, bytes]] = {
    # kind: (declarations, references after the root tag, a reference in the first text)
    "billion_laughs": (LAUGHS[LAUGHS.index("[") + 1:LAUGHS.rindex("]")], b"&lol9;", b"&lol9;"),
    "quadratic": (f'<!ENTITY a "{"a" * QUADRATIC}">', b"&a;" * QUADRATIC, b"&a;"),
    "external_entity": ('<!ENTITY xxe SYSTEM "file:///etc/passwd">', b"&xxe;", b"&xxe;"),
}
# What a reader that expanded them would show.
LEAKS = (b"root:x:0:", b"lol" * 30, b"a" * (QUADRATIC + 1))
_FIRST_TAG = re.compile(rb"<([A-Za-z_][\w.:-]*)[^>]*>")


def with_entities(xml: bytes, kind: str) -> bytes:
    """``xml`` with a DOCTYPE declaring the ``kind`` of entities, referenced right after the
    root start tag and at the start of the first text in the part (when there is one)."""
    decls, refs, once = ENTITIES[kind]
    prolog = re.match(rb"\s*(<\?xml[^>]*\?>)?\s*", xml)
    assert prolog is not None
    rest = xml[prolog.end():]
    root = _FIRST_TAG.match(rest)
    if root is None or root.group(0).endswith(b"/>"):
        raise ValueError(f"no root element to put {kind} in")
    tail = re.sub(rb">([^<>\s][^<>]*)</", lambda m: b">" + once + m.group(1) + b"</",
                  rest[root.end():], count=1)
    body = rest[:root.end()] + refs + tail
    doctype = f"<!DOCTYPE {root.group(1).decode()} [{decls}]>\n".encode()
    return prolog.group(0) + doctype + body


def _entity_case(kind: str, part: str) -> Builder:
    return _edit(part, lambda xml: with_entities(xml, kind))


def entity_case_name(kind: str, part: str) -> str:
    return f"{kind}-{slug(part)}"


# -- the used range --------------------------------------------------------------------------------

_DIMENSION = rb'<dimension ref="[^"]*"/>'


def _dimension(ref: bytes | None) -> Callable[[bytes], bytes]:
    return _sub(_DIMENSION, b"" if ref is None else b'<dimension ref="%s"/>' % ref)


def _far(cell: str, dimension: str | None) -> Builder:
    """One cell ``cell`` far from the data in the daily sheet; with ``dimension`` the used
    range says so, without it the range is the old (stale) one."""
    row = int(re.sub(r"[A-Z]", "", cell))

    def change(xml: bytes) -> bytes:
        if row < 1000:  # into an existing row
            xml = _sub(rb'(<row r="%d"[^>]*>.*?)(</row>)' % row,
                       lambda m: m.group(1) + b'<c r="%s"><v>1</v></c>' % cell.encode()
                       + m.group(2), re.S)(xml)
        else:
            xml = _sub(rb"</sheetData>", b'<row r="%d"><c r="%s"><v>1</v></c></row>'
                       b"</sheetData>" % (row, cell.encode()))(xml)
        return _dimension(dimension.encode())(xml) if dimension else xml
    return _edit(DAILY_SHEET, change)


# -- cells -----------------------------------------------------------------------------------------

def _w12_row(xml: bytes) -> int:
    m = re.search(rb'<row r="(\d+)"[^>]*><c r="A\d+"[^>]*><v>%d</v>' % W12_DAY, xml)
    if m is None:
        raise ValueError("no row of 2024-03-20 in the daily sheet")
    return int(m.group(1))


def _cell(column: str, make: Callable[[str], bytes]) -> Builder:
    """The ``column`` cell of a 2024-W12 row replaced by ``make(ref)``."""
    def change(xml: bytes) -> bytes:
        ref = f"{column}{_w12_row(xml)}"
        return _sub(rb'<c r="%s"[^>]*?/>|<c r="%s"[^>]*?>.*?</c>' % (ref.encode(), ref.encode()),
                    lambda _: make(ref), re.S)(xml)
    return _edit(DAILY_SHEET, change)


def _text(column: str, text: bytes) -> Builder:
    return _cell(column, lambda ref: b'<c r="%s" s="8" t="inlineStr"><is><t>%s</t></is></c>'
                 % (ref.encode(), text))


def _number(column: str, style: int, value: bytes) -> Builder:
    return _cell(column, lambda ref: b'<c r="%s" s="%d"><v>%s</v></c>'
                 % (ref.encode(), style, value))


# -- the file itself -------------------------------------------------------------------------------

def _in_place(write: Callable[[Path], None]) -> Builder:
    """A builder from a test_safety writer ``(path) -> None``: the daily report replaced."""
    def build(team: Path) -> Path:
        write(_daily(team))
        return _daily(team)
    return build


def encrypted(team: Path) -> Path:
    """The daily report encrypted with a password (msoffcrypto when installed, otherwise
    an OLE file holding an EncryptedPackage stream)."""
    daily = _daily(team)
    try:
        from msoffcrypto.format.ooxml import OOXMLFile
    except ImportError:
        _crafted_encrypted(daily)
        return daily
    plain = io.BytesIO(daily.read_bytes())
    with daily.open("wb") as out:
        OOXMLFile(plain).encrypt("secret", out)
    return daily


def truncated(team: Path) -> Path:
    daily = _daily(team)
    data = daily.read_bytes()
    daily.write_bytes(data[:len(data) // 2])
    return daily


def flipped_compressed_data(team: Path) -> Path:
    """Bytes in the middle of the daily sheet's deflate stream inverted."""
    daily = _daily(team)
    data = bytearray(daily.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.getinfo(DAILY_SHEET)
    name_len, extra_len = struct.unpack_from("<2H", data, info.header_offset + 26)
    start = info.header_offset + 30 + name_len + extra_len
    for k in range(3, 8):
        at = start + info.compress_size * k // 10
        data[at:at + 4] = bytes(b ^ 0xFF for b in data[at:at + 4])
    daily.write_bytes(bytes(data))
    return daily


def _flipped_central_directory(records: int, span: tuple[int, int]) -> Builder:
    """The bytes ``span`` after each of the last ``records`` central directory signatures
    inverted (4..28: versions, flags, method, times, CRC, sizes; 28..46: the lengths of
    name, extra and comment, disk, attributes and the local header's offset)."""
    def build(team: Path) -> Path:
        daily = _daily(team)
        data = bytearray(daily.read_bytes())
        found = [m.start() for m in re.finditer(rb"PK\x01\x02", bytes(data))]
        for sig in found[-records:]:
            a, b = sig + span[0], sig + span[1]
            data[a:b] = bytes(x ^ 0xFF for x in data[a:b])
        daily.write_bytes(bytes(data))
        return daily
    return build


def _without(*parts: str) -> Builder:
    def build(team: Path) -> Path:
        daily = _daily(team)
        members = _members(daily)
        missing = set(parts) - {i.filename for i, _ in members}
        if missing:
            raise ValueError(f"no {sorted(missing)} to remove")
        _rewrite(daily, [(i, d) for i, d in members if i.filename not in parts])
        return daily
    return build


def _sheet_name(name: bytes, which: bytes = b"Daily report") -> Builder:
    return _edit("xl/workbook.xml", _sub(rb'<sheet name="%s"' % re.escape(which),
                                         b'<sheet name="%s"' % name))


# -- the file system -------------------------------------------------------------------------------

def directory(team: Path) -> Path:
    daily = _daily(team)
    daily.unlink()
    daily.mkdir()
    (daily / "[Content_Types].xml").write_bytes(b"<Types/>")
    return daily


def symlink_to_workbook(team: Path) -> Path:
    """A link named daily_report.xlsx to the real workbook, in a folder of the team."""
    daily = _daily(team)
    (team / "linked").mkdir()
    daily.rename(team / "linked" / DAILY)
    daily.symlink_to(Path("linked") / DAILY)
    return daily


def dangling_symlink(team: Path) -> Path:
    daily = _daily(team)
    daily.unlink()
    daily.symlink_to("gone.xlsx")
    return daily


def fifo(team: Path) -> Path:
    """A named pipe nobody writes to: opening it for reading would wait forever."""
    daily = _daily(team)
    daily.unlink()
    os.mkfifo(daily)
    return daily


def symlink_to_dev_zero(team: Path) -> Path:
    daily = _daily(team)
    daily.unlink()
    daily.symlink_to("/dev/zero")
    return daily


# -- the corpus ------------------------------------------------------------------------------------

def _cases() -> dict[str, Builder]:
    cases: dict[str, Builder] = {
        "zip_bomb_ratio": zip_bomb_ratio,
        "zip_bomb_lying_size": zip_bomb_lying_size,
        "zip_bomb_lying_size_big_archive": zip_bomb_lying_size_big_archive,
        "zip_bomb_total": zip_bomb_total,
        "zip_many_small_entries": _with_entries(MAX_ENTRIES - 20),
        "zip_over_1000_entries": _with_entries(MAX_ENTRIES),
        "many_small_sheets": many_small_sheets,
    }
    for kind in ENTITIES:
        for part in xml_parts():
            cases[entity_case_name(kind, part)] = _entity_case(kind, part)
    cases |= {
        "dimension_stale": _edit(DAILY_SHEET, _dimension(b"A1:C10")),
        "dimension_huge": _edit(DAILY_SHEET, _dimension(b"A1:XFD1048576")),
        "dimension_garbage": _edit(DAILY_SHEET, _dimension(b"zz!!")),
        "dimension_missing": _edit(DAILY_SHEET, _dimension(None)),
        "far_XFD4": _far("XFD4", None),
        "far_XFD4_dimension": _far("XFD4", "A1:XFD1433"),
        "far_A1048576": _far("A1048576", None),
        "far_A1048576_dimension": _far("A1048576", "A1:M1048576"),
        "far_XFD1048576": _far("XFD1048576", None),
        "far_XFD1048576_dimension": _far("XFD1048576", "A1:XFD1048576"),
        "encrypted": encrypted,
        "encrypted_crafted": _in_place(_crafted_encrypted),
        "truncated": truncated,
        "flipped_compressed_data": flipped_compressed_data,
        "flipped_central_directory": _flipped_central_directory(3, (4, 28)),
        "flipped_central_directory_lengths": _flipped_central_directory(3, (28, 46)),
        "missing_styles": _without("xl/styles.xml"),
        "missing_shared_strings": _without("xl/sharedStrings.xml"),
        "missing_workbook_rels": _without("xl/_rels/workbook.xml.rels"),
        "missing_content_types": _without("[Content_Types].xml"),
        "missing_daily_sheet": _without(DAILY_SHEET),
        "zero_bytes": _in_place(_empty),
        "csv_named_xlsx": _in_place(_csv),
        "html_named_xlsx": _in_place(_html),
        "legacy_xls_named_xlsx": _in_place(_legacy),
        "text_over_32767": _text("J", b"Call back the customer. " * 1700),
        "control_char_x01": _text("J", b"plan\x01call"),
        "control_char_x1b": _text("J", b"plan\x1b[31mred"),
        "lone_surrogate": _text("J", b"plan&#xD800;call"),
        "date_minus_1e300": _number("A", 4, b"-1E+300"),
        "count_1e308": _number("C", 6, b"1e308"),
        "sheet_name_slash": _sheet_name(b"a/b"),
        "sheet_name_brackets": _sheet_name(b"[x]"),
        "sheet_name_40_chars": _sheet_name(b"D" * 40),
        "sheet_name_empty": _sheet_name(b""),
        "sheet_name_duplicated": _sheet_name(b"Daily report", which=b"_lists"),
        "directory": directory,
        "symlink_to_workbook": symlink_to_workbook,
        "dangling_symlink": dangling_symlink,
        "symlink_to_dev_zero": symlink_to_dev_zero,
        "fifo": fifo,
    }
    return cases


CASES: dict[str, Builder] = _cases()


def build(name: str, team: Path) -> Path:
    """Copy the sample team to ``team`` (a new folder) and build case ``name`` in it."""
    shutil.copytree(sample_team(), team, symlinks=True)
    return CASES[name](team)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m tests.hostile OUT_DIR", file=sys.stderr)
        return 2
    out = Path(args[0])
    out.mkdir(parents=True, exist_ok=True)
    for name in CASES:
        team = out / name
        if team.exists() or team.is_symlink():
            shutil.rmtree(team)
        path = build(name, team)
        flat = out / f"{name}.xlsx"
        if flat.is_symlink() or flat.is_file():
            flat.unlink()
        if path.is_file() and not path.is_symlink():
            shutil.copyfile(path, flat)
            what = f"{path.stat().st_size} bytes"
        else:
            flat.symlink_to(Path(name) / path.name)
            what = ("link to " + os.readlink(path) if path.is_symlink()
                    else "folder" if path.is_dir() else "not a file")
        print(f"{name}: {what}")
    print(f"{len(CASES)} cases in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
