"""The deflate codec (xlsales.io.codec): ISA-L's where installed, zlib's otherwise; zip
members read with it exactly as zipfile reads them, and damage refused the same way."""

from __future__ import annotations

import importlib.util
import io
import os
import random
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.hostile import _deflate, _raw_zip
from tests.test_edit import simple_book
from xlsales.errors import WorkbookError
from xlsales.io import codec
from xlsales.io.edit.package import PackageEdit
from xlsales.io.safety import CheckedZip

HAS_ISAL = importlib.util.find_spec("isal") is not None
SHEET = "xl/worksheets/sheet1.xml"


def _sheet_xml(rows: int, seed: int = 0) -> bytes:
    """Sheet-like XML of ``rows`` rows: compressible, not uniform (several raw chunks)."""
    rnd = random.Random(seed)
    body = b"".join(
        b'<row r="%d"><c r="A%d"><v>%d</v></c><c r="B%d" t="inlineStr"><is><t>%s</t></is>'
        b"</c></row>" % (r, r, rnd.randrange(10**9), r, rnd.randbytes(6).hex().encode())
        for r in range(1, rows + 1))
    return b"<worksheet><sheetData>" + body + b"</sheetData></worksheet>"


@pytest.fixture
def book(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """A zip with a large deflated member, a small one, a stored one and a name in
    Chinese."""
    members = {SHEET: _sheet_xml(60_000), "[Content_Types].xml": b"<Types/>",
               "xl/media/image1.png": random.Random(1).randbytes(5000),
               "xl/销售日报.xml": "<t>销售日报</t>".encode()}
    path = tmp_path / "book.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            kind = zipfile.ZIP_STORED if name.endswith(".png") else zipfile.ZIP_DEFLATED
            zf.writestr(name, data, compress_type=kind)
    return path, members


@pytest.fixture(params=["isal", "zlib"])
def which(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each codec in turn (ISA-L's only where it is installed)."""
    if request.param == "zlib":
        monkeypatch.setattr(codec, "_isal", lambda: None)
    elif not HAS_ISAL:
        pytest.skip("isal is not installed here")
    return str(request.param)


def test_isal_is_used_where_installed() -> None:
    assert codec.fast() is HAS_ISAL


@pytest.mark.parametrize("size", [1, 1000, 1 << 16, 1 << 22, -1])
def test_members_read_as_zipfile_reads_them(book: tuple[Path, dict[str, bytes]], which: str,
                                            size: int) -> None:
    path, members = book
    with CheckedZip(path, str(path)) as zf:
        for name, data in members.items():
            fast = codec.open_member(zf, zf.getinfo(name))
            assert (fast is not None) == (which == "isal" and not name.endswith(".png"))
            if fast is not None:
                fast.close()
            with zf.open(name) as fh:
                chunks = []
                while chunk := fh.read(size):
                    assert size < 0 or len(chunk) <= size
                    chunks.append(chunk)
                    if size < 0:
                        break
                assert fh.read(size) == b""
            assert b"".join(chunks) == data
            assert zf.read(name) == data


@pytest.mark.parametrize("size", [1000, 1 << 22, -1])
def test_members_read_as_they_come_hold_the_same_bytes(book: tuple[Path, dict[str, bytes]],
                                                       which: str, size: int) -> None:
    """``read1`` (what the survey's read-ahead takes: an inflated chunk as it comes, no
    bytes joined) gives each member's bytes, never more than asked, b"" only at its end,
    also after a ``read`` left some buffered."""
    path, members = book
    with CheckedZip(path, str(path)) as zf:
        for name, data in members.items():
            fast = codec.open_member(zf, zf.getinfo(name))
            if fast is not None:  # asked for nothing, it inflates nothing
                assert fast.read1(0) == b"" and fast._size == 0
                fast.close()
            with zf.open(name) as fh:
                assert fh.read1(0) == b""
                chunks = [fh.read(7)]
                while chunk := fh.read1(size):
                    assert size < 0 or len(chunk) <= size
                    chunks.append(chunk)
                assert fh.read1(size) == b""
            assert b"".join(chunks) == data
            if name == SHEET and size == 1 << 22 and which == "isal":
                assert 2 < len(chunks) < len(data) // 1000  # chunks as inflated


def test_a_reader_outlives_its_zip_and_holds_no_file_once_closed(
        book: tuple[Path, dict[str, bytes]], which: str) -> None:
    """As zipfile's reader: a member being read stays readable after the zip is closed
    (even when another file takes the zip's descriptor number), and closing it lets go
    of every file it held."""
    path, members = book
    fds = len(os.listdir("/proc/self/fd"))
    zf = CheckedZip(path, str(path))
    fh = zf.open(SHEET)
    head = fh.read(1000)
    zf.close()
    with open(__file__, "rb") as other:  # (may get the zip's old descriptor number)
        assert head + fh.read() == members[SHEET]
        assert other.read(3) == b'"""'
    fh.close()
    assert len(os.listdir("/proc/self/fd")) == fds


def test_a_zip_in_memory_is_read_by_zipfile(book: tuple[Path, dict[str, bytes]]) -> None:
    path, members = book
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as zf:
        assert codec.open_member(zf, zf.getinfo(SHEET)) is None
    with PackageEdit(path, data=path.read_bytes()) as pkg:
        assert pkg.read(SHEET) == members[SHEET]


def _damaged(tmp_path: Path, how: str) -> Path:
    """A zip whose sheet is damaged ``how``."""
    data = _sheet_xml(20_000)
    blob, crc, size = _deflate([data])
    if how == "crc":
        crc ^= 1
    elif how == "stream":  # stored-block garbage in the middle of the stream
        mid = len(blob) // 2
        blob = blob[:mid] + bytes(b ^ 0x5A for b in blob[mid:mid + 64]) + blob[mid + 64:]
    elif how == "truncated":  # the stream stops halfway, the sizes say so
        blob = blob[:len(blob) // 2]
    elif how == "bomb":  # the headers declare a tenth of what the stream holds
        size //= 10
    path = tmp_path / f"{how}.xlsx"
    _raw_zip(path, [(SHEET, blob, crc, size)])
    if how == "name":  # the entry's own header names another part
        raw = bytearray(path.read_bytes())
        at = raw.index(SHEET.encode())
        raw[at:at + len(SHEET)] = SHEET.replace("sheet1", "sheet9").encode()
        path.write_bytes(bytes(raw))
    return path


@pytest.mark.parametrize("how", ["crc", "stream", "truncated", "bomb", "name"])
def test_a_damaged_member_is_refused_naming_it(tmp_path: Path, which: str, how: str) -> None:
    path = _damaged(tmp_path, how)
    for read in ("read", "read1"):
        with CheckedZip(path, str(path)) as zf, pytest.raises(WorkbookError) as caught, \
                zf.open(SHEET) as fh:
            while getattr(fh, read)(1 << 16):
                pass
        assert SHEET in str(caught.value) and caught.value.file == str(path)
    with zipfile.ZipFile(path) as plain, pytest.raises(zipfile.BadZipFile if how in (
            "crc", "name", "bomb") else (zipfile.BadZipFile, zlib.error, EOFError)):
        plain.read(SHEET)  # zipfile refuses it too


def test_a_bomb_is_refused_before_it_inflates(tmp_path: Path) -> None:
    """Nothing past the declared size (and a chunk) is inflated."""
    if not HAS_ISAL:
        pytest.skip("isal is not installed here")
    blob, crc, _ = _deflate([b" " * (64 << 20)])
    path = tmp_path / "bomb.xlsx"
    _raw_zip(path, [(SHEET, blob, crc, 1000)])
    with zipfile.ZipFile(path) as zf:
        fh = codec.open_member(zf, zf.getinfo(SHEET))
        assert fh is not None
        got = fh.read(500)
        assert got == b" " * 500
        with pytest.raises(zipfile.BadZipFile):
            fh.read(1 << 20)


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=5000) | st.text(max_size=3000).map(str.encode),
       times=st.integers(1, 50))
def test_deflate_round_trips_with_zlib(data: bytes, times: int) -> None:
    """Whatever the codec, zlib reads what it deflates, and it reads what zlib deflates."""
    data *= times
    crc, stream = codec.deflate(data)
    assert crc == zlib.crc32(data)
    assert zlib.decompress(stream, -15) == data
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    assert codec.inflate(z.compress(data) + z.flush()) == data
    assert codec.crc32(data[10:], codec.crc32(data[:10])) == zlib.crc32(data)


def test_without_isal_parts_are_deflated_by_zlib_at_level_4(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(codec, "_isal", lambda: None)
    data = _sheet_xml(30_000, seed=2)
    z = zlib.compressobj(codec.ZLIB_LEVEL, zlib.DEFLATED, -15)
    assert codec.deflate(data) == (zlib.crc32(data), z.compress(data) + z.flush())
    path = simple_book(tmp_path / "in.xlsx")
    out = tmp_path / "out.xlsx"
    with PackageEdit(path) as pkg:
        pkg.put(SHEET, data)  # large: deflated ahead, in a worker thread
        pkg.put("xl/small.xml", b"<small/>")
        pkg.save(out)
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None
        assert zf.read(SHEET) == data
        z = zlib.compressobj(codec.ZLIB_LEVEL, zlib.DEFLATED, -15)
        assert zf.getinfo(SHEET).compress_size == len(z.compress(data) + z.flush())


def test_isal_deflates_faster_than_it_costs_in_size() -> None:
    """ISA-L's level: at most 25 % more bytes than zlib's level 4 on sheet XML (the time
    is measured in benchmarks/, not here)."""
    if not HAS_ISAL:
        pytest.skip("isal is not installed here")
    data = _sheet_xml(40_000, seed=3)
    z = zlib.compressobj(codec.ZLIB_LEVEL, zlib.DEFLATED, -15)
    plain = len(z.compress(data) + z.flush())
    fast = len(codec.deflate(data)[1])
    assert fast <= plain * 1.25, (fast, plain)
