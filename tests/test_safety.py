"""Files xlsales refuses before any parser touches them (xlsales/io/safety.py), quickly and
with a message that says why; XML attacks inside an otherwise valid workbook."""

from __future__ import annotations

import io
import json
import os
import re
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.quirks.make_quirks import (
    DAILY_KEYS,
    TODAY,
    Block,
    d,
    daily_row,
    headers,
    new_book,
    rewrite_part,
    team_settings,
    whole_grid_dimension,
)
from xlsales import tables as T
from xlsales.cli import app
from xlsales.errors import WorkbookError, XlsalesError
from xlsales.io.read import read_table, require_defusedxml
from xlsales.io.read.package import Package
from xlsales.io.safety import (
    MAX_ENTRIES,
    OLE_MAGIC,
    RATIO_ALLOWANCE,
    UnsafeWorkbookError,
    check_workbook,
)
from xlsales.validate import validate_file

runner = CliRunner()
MiB = 1 << 20


def valid_workbook(path: Path) -> Path:
    """A small, clean daily report."""
    wb, ws = new_book("销售日报")
    b = Block(ws, "A1", headers("daily", DAILY_KEYS))
    b.add(**daily_row(d(25), "张三"))
    b.add(**daily_row(d(25), "李四", next_plan="BOMB"))
    wb.save(path)
    return path


def _empty(p: Path) -> None:
    p.write_bytes(b"")


def _csv(p: Path) -> None:
    p.write_text("日期,销售代表,拜访客户数\n2024-03-25,张三,4\n", encoding="utf-8-sig")


def _tsv(p: Path) -> None:
    p.write_text("日期\t销售代表\n2024-03-25\t张三\n", encoding="utf-8")


def _html(p: Path) -> None:
    p.write_text("\ufeff<html><body><table><tr><td>日期</td></tr></table></body></html>",
                 encoding="utf-8")


def _xml_2003(p: Path) -> None:  # Excel 2003 XML spreadsheet saved as .xlsx
    p.write_text('<?xml version="1.0"?>\n<Workbook xmlns="urn:schemas-microsoft-com:office:'
                 'spreadsheet"/>', encoding="utf-8")


def _owner(p: Path) -> None:  # ~$name.xlsx: Excel's lock file (165 bytes, user name inside)
    p.write_bytes(b"\x05zhang" + b" " * 49 + b"\x05\x00z\x00h\x00a\x00n\x00g" + b"\x00" * 100)


def _crafted_encrypted(p: Path) -> None:
    # What a password-protected .xlsx is: an OLE compound file holding an
    # EncryptedPackage stream (its name is stored in UTF-16-LE in the directory).
    p.write_bytes(OLE_MAGIC + b"\x00" * 1016 + "EncryptedPackage".encode("utf-16-le")
                  + b"\x00" * 2048)


def _legacy(p: Path) -> None:
    p.write_bytes(OLE_MAGIC + b"\x00" * 4000 + "Workbook".encode("utf-16-le") + b"\x00" * 512)


def _random(p: Path) -> None:
    p.write_bytes(bytes(range(256)).replace(b",", b"").replace(b"\t", b"") * 4)


def _truncated(p: Path) -> None:
    data = valid_workbook(p).read_bytes()
    p.write_bytes(data[: len(data) // 2])


def _many_entries(p: Path) -> None:
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
        for i in range(MAX_ENTRIES + 1):
            zf.writestr(f"xl/media/image{i}.png", b"")


def _bomb(p: Path) -> None:
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
        with zf.open("xl/worksheets/sheet1.xml", "w") as fh:
            chunk = b"\x00" * MiB
            for _ in range(50):  # 50 MiB of zeros, written a MiB at a time
                fh.write(chunk)


def _not_excel_zip(p: Path) -> None:
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("word/document.xml", "<document/>")
        zf.writestr("[Content_Types].xml", "<Types/>")


def _xlsb(p: Path) -> None:
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("xl/workbook.bin", b"\x83\x01\x00")


def _flip_stored_byte(p: Path, marker: bytes) -> None:
    """A valid workbook stored uncompressed, one byte after ``marker`` changed (CRC kept)."""
    src = valid_workbook(p.with_name("src.xlsx"))
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(p, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info.filename))
    data = bytearray(p.read_bytes())
    at = data.index(marker) + len(marker)
    data[at] = ord("Z") if data[at] != ord("Z") else ord("Y")
    p.write_bytes(bytes(data))


def _bad_checksum_styles(p: Path) -> None:
    _flip_stored_byte(p, b"<fonts")


def _bad_checksum_sheet(p: Path) -> None:
    _flip_stored_byte(p, b"<sheetData")


def _encrypted(p: Path) -> None:
    ooxml = pytest.importorskip("msoffcrypto.format.ooxml")
    plain = io.BytesIO(valid_workbook(p.with_name("plain.xlsx")).read_bytes())
    with p.open("wb") as out:
        ooxml.OOXMLFile(plain).encrypt("secret", out)


REFUSALS: list[tuple[str, str, Callable[[Path], None], str]] = [
    ("empty", "daily.xlsx", _empty, "the file is empty"),
    ("csv", "daily.xlsx", _csv, "CSV"),
    ("tsv", "daily.xlsx", _tsv, "CSV"),
    ("html", "daily.xlsx", _html, "HTML"),
    ("xml2003", "daily.xlsx", _xml_2003, "HTML/XML"),
    ("owner_file", "~$daily.xlsx", _owner, "owner (lock) file"),
    ("encrypted_crafted", "daily.xlsx", _crafted_encrypted, "encrypted (password-protected)"),
    ("encrypted_msoffcrypto", "daily.xlsx", _encrypted, "encrypted (password-protected)"),
    ("legacy_xls", "daily.xlsx", _legacy, "legacy .xls"),
    ("no_signature", "daily.xlsx", _random, "no zip signature"),
    ("truncated_zip", "daily.xlsx", _truncated, "truncated or corrupt"),
    ("too_many_entries", "daily.xlsx", _many_entries, f"more than {MAX_ENTRIES}"),
    ("zip_bomb", "daily.xlsx", _bomb, "possible zip bomb"),
    ("zip_not_excel", "daily.xlsx", _not_excel_zip, "no xl/workbook.xml"),
    ("xlsb", "daily.xlsx", _xlsb, ".xlsb"),
    ("bad_checksum", "daily.xlsx", _bad_checksum_styles,
     "entry xl/styles.xml fails its checksum"),
    ("bad_checksum_sheet", "daily.xlsx", _bad_checksum_sheet,
     "entry xl/worksheets/sheet1.xml fails its checksum"),
]


@pytest.mark.parametrize(("name", "build", "why"),
                         [pytest.param(f, b, w, id=i) for i, f, b, w in REFUSALS])
def test_refused_quickly_with_the_reason(tmp_path: Path, name: str,
                                         build: Callable[[Path], None], why: str) -> None:
    path = tmp_path / name
    build(path)
    start = time.perf_counter()
    with pytest.raises(UnsafeWorkbookError) as exc:
        check_workbook(path)
    assert time.perf_counter() - start < 1.0
    assert why in str(exc.value)
    assert exc.value.file == str(path)
    assert isinstance(exc.value, XlsalesError)

    start = time.perf_counter()
    result = runner.invoke(app, ["validate", str(path), "--json"])
    assert time.perf_counter() - start < 1.0
    assert result.exit_code == 2, result.output
    payload = json.loads(result.stdout)
    assert payload["ok"] is False and why in payload["error"]

    plain = runner.invoke(app, ["validate", str(path)])
    assert plain.exit_code == 2
    assert why.split()[0] in plain.stderr


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsafeWorkbookError, match="no such file"):
        check_workbook(tmp_path / "nowhere.xlsx")
    assert runner.invoke(app, ["validate", str(tmp_path / "nowhere.xlsx")]).exit_code == 2


def test_the_zip_bomb_names_its_entry_and_ratio(tmp_path: Path) -> None:
    _bomb(tmp_path / "b.xlsx")
    with pytest.raises(UnsafeWorkbookError) as exc:
        check_workbook(tmp_path / "b.xlsx")
    m = re.search(r"entry (\S+) expands (\d+)×", str(exc.value))
    assert m and m.group(1) == "xl/worksheets/sheet1.xml" and int(m.group(2)) > 100


def test_small_entries_may_compress_as_well_as_they_like(tmp_path: Path) -> None:
    path = tmp_path / "ok.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook/>")
        zf.writestr("xl/worksheets/sheet1.xml", b"\x00" * RATIO_ALLOWANCE)
    report = check_workbook(path)
    assert report.huge_sheets == [] and report.date1904 is False


def test_the_safety_report_sees_the_date_system_and_the_whole_grid(tmp_path: Path) -> None:
    path = tmp_path / "grid.xlsx"
    whole_grid_dimension(path)
    assert check_workbook(path).huge_sheets == ["xl/worksheets/sheet1.xml"]
    wb, _ = new_book("x")
    wb.epoch = openpyxl.utils.datetime.CALENDAR_MAC_1904
    wb.save(tmp_path / "mac.xlsx")
    assert check_workbook(tmp_path / "mac.xlsx").date1904 is True
    assert check_workbook(valid_workbook(tmp_path / "pc.xlsx")).date1904 is False


def test_a_whole_grid_sheet_is_read_quickly_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "grid.xlsx"
    expected = whole_grid_dimension(path)
    start = time.perf_counter()
    result = validate_file(path, today=TODAY, settings=team_settings())
    assert time.perf_counter() - start < 5.0
    assert sorted((f.rule, f.cell) for f in result.findings) == sorted(expected)
    assert len(result.tables["daily"].rows) == 2
    huge = next(f for f in result.findings if f.rule == "sheet.huge_range")
    assert huge.severity == "warning" and "XFD1048576" in huge.message


# -- XML inside the workbook -----------------------------------------------------------------------

def test_openpyxl_parses_through_defusedxml(monkeypatch: pytest.MonkeyPatch) -> None:
    from openpyxl.xml import DEFUSEDXML

    assert DEFUSEDXML is True
    require_defusedxml()
    monkeypatch.setattr("openpyxl.xml.DEFUSEDXML", False)
    with pytest.raises(WorkbookError, match="defusedxml"):
        require_defusedxml()


def _with_doctype(path: Path, doctype: str, placeholder: str | None = None,
                  entity: str | None = None) -> Path:
    def change(xml: bytes) -> bytes:
        text = re.sub(r"^<\?xml[^>]*\?>\s*", "", xml.decode("utf-8"))
        if placeholder and entity:
            text = text.replace(placeholder, entity)
        return f'<?xml version="1.0" encoding="UTF-8"?>\n{doctype}\n{text}'.encode()
    rewrite_part(path, "xl/worksheets/sheet1.xml", change)
    return path


LAUGHS = ("<!DOCTYPE worksheet [<!ENTITY lol0 \"lol\">"
          + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)) + "]>")


@pytest.mark.parametrize(("doctype", "entity"), [
    pytest.param(LAUGHS, "&lol9;", id="billion_laughs"),
    pytest.param('<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', "&xxe;",
                 id="external_entity"),
    pytest.param('<!DOCTYPE worksheet [<!ENTITY unused "x">]>', None, id="declared_unused"),
])
def test_entities_in_a_sheet_never_expand(tmp_path: Path, doctype: str,
                                          entity: str | None) -> None:
    path = _with_doctype(valid_workbook(tmp_path / "bomb.xlsx"), doctype, "BOMB", entity)
    with pytest.raises(UnsafeWorkbookError, match=r"sheet1\.xml declares entities"):
        check_workbook(path)  # refused up front, before any parser (reader and editor alike)
    for read in (lambda: read_table(path, T.get("daily"), team_settings()),
                 lambda: validate_file(path, today=TODAY, settings=team_settings())):
        start = time.perf_counter()
        try:
            result = read()
        except XlsalesError:
            pass  # refused: fine, as long as it is the library's own error
        else:  # read: fine, as long as nothing expanded
            rows = result.rows if hasattr(result, "rows") else result.tables["daily"].rows
            assert all("lol" not in str(r.raw) and "root:" not in str(r.raw) for r in rows)
        assert time.perf_counter() - start < 5.0
    result = runner.invoke(app, ["validate", str(path), "--json"])
    assert result.exit_code in (0, 1, 2)
    assert "lollol" not in result.stdout and "root:" not in result.stdout


def test_the_sheet_scan_refuses_entities_as_a_workbook_error(tmp_path: Path) -> None:
    path = _with_doctype(valid_workbook(tmp_path / "bomb.xlsx"), LAUGHS, "BOMB", "&lol9;")
    start = time.perf_counter()
    with pytest.raises(WorkbookError, match="entities"), Package(path) as pkg:  # unchecked
        pkg.scan("销售日报")
    assert time.perf_counter() - start < 1.0


def test_annotating_a_bomb_does_not_expand_it(tmp_path: Path) -> None:
    path = _with_doctype(valid_workbook(tmp_path / "bomb.xlsx"), LAUGHS, "BOMB", "&lol9;")
    before = path.read_bytes()
    start = time.perf_counter()
    result = runner.invoke(app, ["validate", str(path), "--annotate", "--json"])
    assert time.perf_counter() - start < 5.0
    assert result.exit_code == 2
    assert path.read_bytes() == before


def test_many_parts_under_the_allowance_are_still_a_bomb_in_all(tmp_path: Path) -> None:
    """900 sheets of just under 1 MiB each: every entry passes on its own, the archive
    expands ~900× its size in all (the bypass a fault campaign found)."""
    path = tmp_path / "many.xlsx"
    body = b"<worksheet>" + b" " * (RATIO_ALLOWANCE - 40) + b"</worksheet>"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
        for i in range(900):
            zf.writestr(f"xl/worksheets/sheet{i + 1}.xml", body)
    assert path.stat().st_size < 4 << 20
    with pytest.raises(UnsafeWorkbookError, match="in all"):
        check_workbook(path)
    result = runner.invoke(app, ["validate", str(path), "--json"])
    assert result.exit_code == 2 and "zip bomb" in json.loads(result.stdout)["error"]


def test_a_workbook_is_checked_once_while_it_is_unchanged(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    import xlsales.io.safety as safety

    path = valid_workbook(tmp_path / "once.xlsx")
    calls = []
    real = safety._check
    monkeypatch.setattr(safety, "_check", lambda p: calls.append(p) or real(p))
    for _ in range(3):
        check_workbook(path)
    assert len(calls) == 1
    os.utime(path, ns=(1, 1))  # changed: checked again
    check_workbook(path)
    assert len(calls) == 2


# -- far-away cells --------------------------------------------------------------------------------

# The process's own peak (VmHWM of its memory after exec): ru_maxrss would also count the
# RSS of the forking pytest process, which grows over a full run.
_RSS_RUN = (
    "import atexit, re, sys\n"
    "atexit.register(lambda: print('RSS', re.search(r'VmHWM:\\s*(\\d+)', open("
    "'/proc/self/status').read()).group(1), file=sys.stderr))\n"
    "sys.argv = ['xlsales', *sys.argv[1:]]\n"
    "from xlsales.cli import main\n"
    "main()\n")


def _far(src: Path, out: Path, fn: Callable[[bytes], bytes]) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, fn(data) if info.filename == "xl/worksheets/sheet1.xml"
                          else data)
    return out


@pytest.mark.parametrize("far", ["XFD4", "A1048576", "XFD1048576"])
def test_one_far_away_cell_is_refused_quickly_and_named(tmp_path: Path, far: str) -> None:
    """One cell far from the data would make a dense reader allocate for the whole area
    (an abort at XFD1048576, ~1 GB at XFD4): the sheet is refused before, naming it."""
    import subprocess
    import sys

    from xlsales.sample import generate
    from xlsales.workspace import write_workspace

    sample = generate(2024)
    write_workspace(tmp_path / "team", sample.settings, sample.data, lang="en")
    src = tmp_path / "team" / "daily_report.xlsx"
    row = int(re.sub(r"[A-Z]", "", far))
    if row < 1000:  # into an existing row
        def fn(x: bytes) -> bytes:
            return re.sub(rb'(<row r="%d"[^>]*>.*?)(</row>)' % row,
                          lambda m: m.group(1) + b'<c r="%s"><v>1</v></c>' % far.encode()
                          + m.group(2), x, count=1, flags=re.S)
    else:
        def fn(x: bytes) -> bytes:
            return x.replace(b"</sheetData>", b'<row r="%d"><c r="%s"><v>1</v></c></row>'
                             b"</sheetData>" % (row, far.encode()))
    path = _far(src, tmp_path / f"far_{far}.xlsx", fn)
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", _RSS_RUN, "validate", str(path), "--json"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert time.monotonic() - started < 20
    assert proc.returncode == 2, proc.stderr[-2000:]
    error = json.loads(proc.stdout)["error"]
    assert "sheet.huge_range" in error and f"cell {far}" in error
    rss_kb = int(re.search(r"RSS (\d+)", proc.stderr).group(1))
    assert rss_kb < 500_000


def test_a_claimed_but_empty_far_range_is_read(tmp_path: Path) -> None:
    """A <dimension> that claims the whole grid, with the cells where they belong, is no
    reason to refuse: the extent is measured from the cells."""
    from xlsales.sample import generate
    from xlsales.workspace import write_workspace

    sample = generate(2024)
    write_workspace(tmp_path / "team", sample.settings, sample.data, lang="en")
    src = tmp_path / "team" / "daily_report.xlsx"
    path = _far(src, tmp_path / "claims.xlsx", lambda x: re.sub(
        rb'<dimension ref="[^"]*"/>', b'<dimension ref="A1:XFD1048576"/>', x, count=1))
    result = runner.invoke(app, ["validate", str(path), "--json"])
    assert result.exit_code in (0, 1), result.output
    assert json.loads(result.stdout)["tables"]["daily"]["rows"] > 1000


# -- absurd numbers in cells ----------------------------------------------------------------------

def _daily_with(tmp_path: Path, key: str, value: float) -> tuple[Path, str]:
    """A sample workspace whose daily report holds ``value`` in column ``key`` of a row."""
    from xlsales.io.edit.book import WorkbookEdit
    from xlsales.io.edit.cells import Cell
    from xlsales.sample import generate
    from xlsales.settings import Settings
    from xlsales.workspace import write_workspace

    sample = generate(2024)
    write_workspace(tmp_path / "team", sample.settings, sample.data, lang="en")
    daily = tmp_path / "team" / "daily_report.xlsx"
    table = read_table(daily, T.get("daily"), Settings.default())
    row = table.records(with_row=True)[5]["_row"]
    cell = table.cell(key, row)
    with WorkbookEdit(daily) as wb:
        wb.set_cell(table.sheet, cell, Cell(value))
        wb.save()
    return daily, cell


def test_a_date_far_outside_the_calendar_is_a_finding_of_its_cell(tmp_path: Path) -> None:
    """-1E+300 in 提交时间 made the reader panic (a traceback, exit 1); then it refused the
    whole table; now that one cell is a finding and every other row is read."""
    import subprocess
    import sys

    from xlsales.sample import generate

    daily, cell = _daily_with(tmp_path, "submitted_at", -1e300)
    proc = subprocess.run([sys.executable, "-m", "xlsales", "validate", str(daily), "--json"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1, proc.stderr[-1500:]
    payload = json.loads(proc.stdout)
    [finding] = [f for f in payload["findings"] if f["cell"] == cell]
    assert finding["rule"] == "cell.type" and finding["value"] == -1e300
    assert payload["tables"]["daily"]["rows"] == len(generate(2024).data["daily"])
    assert proc.stderr == ""  # no Python traceback, no Rust panic message
    rollup = subprocess.run([sys.executable, "-m", "xlsales", "rollup", str(daily.parent),
                             "--all", "--json"], capture_output=True, text=True, timeout=120,
                            check=False)
    assert rollup.returncode == 0 and rollup.stderr == "", rollup.stderr[-1500:]


def test_a_count_of_1e308_is_a_finding(tmp_path: Path) -> None:
    daily, cell = _daily_with(tmp_path, "visits", 1e308)
    result = runner.invoke(app, ["validate", str(daily), "--json"])
    assert result.exit_code == 1, result.output
    found = [f for f in json.loads(result.stdout)["findings"] if f["cell"] == cell]
    assert found and "too large" in found[0]["message"]
    rolled = runner.invoke(app, ["rollup", str(daily.parent), "--all", "--json"])
    assert rolled.exit_code == 0, rolled.output


@pytest.mark.parametrize(("case", "patch", "far"), [
    ("far_row_in_the_middle", lambda x: x.replace(
        b'<row r="3"', b'<row r="1048576"><c r="AZ1048576"><v>1</v></c></row><row r="3"', 1),
     "AZ1048576"),
    ("row_without_r", lambda x: x.replace(
        b"</sheetData>", b'<row><c r="AZ1048576"><v>1</v></c></row></sheetData>'),
     "AZ1048576"),
    ("small_row_far_cell", lambda x: x.replace(
        b"</sheetData>", b'<row r="9"><c r="A1048576"><v>1</v></c></row></sheetData>'),
     "A1048576"),
    ("tab_before_r", lambda x: x.replace(
        b"</sheetData>", b'<row r="2000"><c\tr="XFD2000"><v>1</v></c></row></sheetData>'),
     "XFD2000"),
    ("empty_formatted_row_far_down", lambda x: x.replace(
        b"</sheetData>", b'<row r="1048576" s="1" customFormat="1" ht="20" customHeight="1"/>'
        b"</sheetData>"), None),
])
def test_the_extent_is_measured_from_the_cells(tmp_path: Path, case: str,
                                               patch: Callable[[bytes], bytes],
                                               far: str | None) -> None:
    """Far cells hidden from a quick look (mid-sheet, rows without numbers, odd spacing)
    are found; a formatted row without cells far down is no reason to refuse."""
    from xlsales.sample import generate
    from xlsales.workspace import write_workspace

    sample = generate(2024)
    write_workspace(tmp_path / "team", sample.settings, sample.data, lang="en")
    path = _far(tmp_path / "team" / "daily_report.xlsx", tmp_path / f"{case}.xlsx", patch)
    pkg = Package(path)
    name = pkg.sheets[0].name
    assert pkg.extent(name).far_cell(width=13) == far


_REF_BYTES = b'<c r="\'AZMB0123456789:tf>/ '


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80) | st.lists(st.sampled_from(
    [bytes([b]) for b in _REF_BYTES] + [b'<c r="', b'<f>', b't="b"', b"AAA1", b"BA7"]),
    max_size=40).map(b"".join), st.integers(1, 7), st.integers(1, 16))
def test_the_numpy_searches_find_what_the_byte_searches_find(buf: bytes, digits: int,
                                                               window: int) -> None:
    """The sheet survey looks for far references and for formulas and booleans with numpy,
    a window at a time: never less than the regular expression and the byte searches
    (a false alarm only sends a chunk down the exact path)."""
    from xlsales.io.read import package as P

    saved = P.WINDOW
    P.WINDOW = window
    try:
        for end in {len(buf), len(buf) // 2}:
            if P._odd_refs(digits).search(buf, 0, end) is not None:
                assert P._has_odd_refs(buf, end, digits)
            for needle, then in ((b"<f", (b">", b" ", b"/")), (b't="b', (b'"',))):
                exact = sorted({m for t in then for m in _all_at(buf, needle + t, end)})
                assert P._occurrences(buf, end, needle, then) == exact
    finally:
        P.WINDOW = saved


def _all_at(buf: bytes, needle: bytes, end: int) -> list[int]:
    out, at = [], buf.find(needle, 0, end)
    while at >= 0:
        out.append(at)
        at = buf.find(needle, at + 1, end)
    return out
