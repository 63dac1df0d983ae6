"""``xlsales excel upgrade``: the VBA project of existing ``.xlsm`` workbooks rebuilt for the
installed xlwings and the current ``macros/``, every other part kept byte for byte.

Older projects are faked from a fresh ``init --macros`` workspace: the VBA project rebuilt
with the xlwings module of another version (its ``'Version:`` line, DLL name and
``XLWINGS_VERSION`` rewritten) and an older button module; an "Excel-saved" variant adds a
performance cache in front of every module's source, another project ID and the Excel 2010+
compatibility record, as Excel leaves a project it saved.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.flavours import changed_parts, parts
from tests.ovba_grammar import module_text, read_vba_project
from tests.strict import assert_strict
from tests.test_vba_grammar import expected_sources
from xlsales.cli import app
from xlsales.io.edit.book import WorkbookEdit
from xlsales.jobs.upgrade import CURRENT, REFUSED, SKIPPED, UPGRADED, run_upgrade
from xlsales.vba.cfb import build_compound_file, read_compound_file
from xlsales.vba.compression import compress, decompress
from xlsales.vba.encryption import encrypt
from xlsales.vba.macros import BOOK_BUTTONS, vba_sources, xlwings_module, xlwings_version
from xlsales.vba.project import (
    Module,
    dir_stream,
    project_stream,
    vba_project,
    workbook_modules,
)
from xlsales.vba.project import read_vba_project as read_project
from xlsales.workspace import BOOK_BY_KEY

runner = CliRunner()
VBA = "xl/vbaProject.bin"
OLD = "0.30.0"
INSTALLED = xlwings_version(xlwings_module())
MACRO_BOOKS = sorted(Path(BOOK_BY_KEY[key].filename).with_suffix(".xlsm").name
                     for key in BOOK_BUTTONS)


# -- faking older projects ------------------------------------------------------------------

def old_sources(version: str = OLD) -> dict[str, str]:
    """The sources as an older xlsales with xlwings ``version`` built them."""
    sources = dict(vba_sources())
    sources["xlwings"] = sources["xlwings"].replace(INSTALLED, version)
    assert xlwings_version(sources["xlwings"]) == version
    assert f"xlwings64-{version}.dll" in sources["xlwings"]
    sources["XlsalesButtons"] = sources["XlsalesButtons"].replace(
        "End Sub", "End Sub\r\n' an older button module", 1)
    return sources


def document_names(path: Path) -> list[str]:
    """The workbook's code names (ThisWorkbook, then each sheet's in sheet order)."""
    with WorkbookEdit(path) as wb:
        book, sheets = wb.code_names()
    return [book or "ThisWorkbook", *(s for s in sheets if s)]


def project_of(path: Path, sources: dict[str, str],
               documents: list[str] | None = None) -> list[Module]:
    docs = documents or document_names(path)
    return [Module(docs[0], "", "workbook"), *(Module(n, "", "worksheet") for n in docs[1:]),
            *(Module.from_source(n, t) for n, t in sources.items())]


def replace_part(path: Path, name: str, data: bytes) -> None:
    """Rewrite the zip ``path`` with part ``name`` replaced (the others as they are)."""
    with zipfile.ZipFile(path) as z:
        items = [(info, data if info.filename == name else z.read(info))
                 for info in z.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for info, content in items:
            z.writestr(info, content)


def excel_saved(project: bytes, project_id: str) -> bytes:
    """``project`` as Excel leaves it after a save: a performance cache before each
    module's source (MODULEOFFSET pointing past it), the compatibility record 0x004A and
    another project ID (the protection values encrypted with its key)."""
    streams = read_compound_file(project)
    raw_dir = decompress(streams["VBA/dir"])
    raw_dir = raw_dir[:6 + 4] + struct.pack("<HII", 0x004A, 4, 5) + raw_dir[10:]
    out = bytearray()
    pos = 0
    while pos < len(raw_dir):
        record_id, size = struct.unpack_from("<HI", raw_dir, pos)
        size = 6 if record_id == 0x0009 else size
        body = raw_dir[pos + 6:pos + 6 + size]
        if record_id == 0x0019:
            name = body.decode("cp1252")
        if record_id == 0x0031:
            cache = bytes(range(256)) * 3 + name.encode()
            streams[f"VBA/{name}"] = cache + streams[f"VBA/{name}"]
            body = struct.pack("<I", len(cache))
        out += raw_dir[pos:pos + 2] + (struct.pack("<I", 4) if record_id == 0x0009
                                       else struct.pack("<I", len(body))) + body
        pos += 6 + size
    streams["VBA/dir"] = compress(bytes(out))
    text = streams["PROJECT"].decode("cp1252")
    text = re.sub(r'ID="\{[^}]+\}"', f'ID="{project_id}"', text)
    for key, data in (("CMG", b"\0\0\0\0"), ("DPB", b"\0"), ("GC", b"\xff")):
        text = re.sub(rf'{key}="[0-9A-F]+"', f'{key}="{encrypt(data, project_id, 0x5A)}"', text)
    streams["PROJECT"] = text.encode("cp1252")
    streams["VBA/_VBA_PROJECT"] = bytes([0xCC, 0x61, 0xB5, 0x00, 0x00, 0x01]) + b"\0" * 64
    return build_compound_file(streams)


def fake_old(path: Path, *, version: str = OLD, saved_by_excel: str | None = None,
             extra: list[Module] | None = None, documents: list[str] | None = None) -> bytes:
    """Give the workbook at ``path`` an older VBA project; its bytes."""
    modules = project_of(path, old_sources(version), documents) + list(extra or [])
    data = vba_project(modules)
    if saved_by_excel:
        data = excel_saved(data, saved_by_excel)
    replace_part(path, VBA, data)
    return data


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``xlsales init --macros`` in both languages: what an upgrade must produce."""
    root = tmp_path_factory.mktemp("fresh")
    for lang in ("zh", "en"):
        result = runner.invoke(app, ["init", str(root / lang), "--macros", "--lang", lang])
        assert result.exit_code == 0, result.output
    return root


@pytest.fixture(params=["zh", "en"])
def workspace(request: pytest.FixtureRequest, fresh: Path, tmp_path: Path) -> Path:
    """A copy of the fresh workspace, in a folder named after its language."""
    root = tmp_path / request.param
    shutil.copytree(fresh / request.param, root)
    return root


def upgrade(root: Path, *args: str) -> tuple[int, dict]:
    result = runner.invoke(app, ["excel", "upgrade", str(root), "--json", *args])
    return result.exit_code, json.loads(result.stdout)


def check_grammar(path: Path) -> None:
    """The VBA project reads back with the spec-derived parser: the modules of macros/ and
    the installed xlwings, one document module per code name, in the workbook's order."""
    with zipfile.ZipFile(path) as z:
        vba = read_vba_project(z.read(VBA))
    documents = [name for kind, name in vba.project.items if kind == "Document"]
    assert documents == document_names(path)
    sources = expected_sources()
    assert vba.project.items[len(documents):] == [(kind, name)
                                                  for name, (kind, _) in sources.items()]
    for m in vba.dir.modules:
        if m.name not in documents:
            assert module_text(vba.module_streams[m.stream_name], m.offset) == \
                sources[m.name][1], m.name
    assert f"'Version: {INSTALLED}" in sources["xlwings"][1]


# -- upgrades ---------------------------------------------------------------------------------

def test_a_fresh_workspace_is_current(workspace: Path) -> None:
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in workspace.glob("*.xlsm")}
    code, out = upgrade(workspace)
    assert code == 0 and out["ok"], out
    assert [(Path(w["file"]).name, w["status"]) for w in out["workbooks"]] == [
        (name, CURRENT) for name in MACRO_BOOKS]
    assert all(w["from_xlwings"] == w["to_xlwings"] == INSTALLED for w in out["workbooks"])
    after = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in workspace.glob("*.xlsm")}
    assert after == before


def test_upgrade_from_an_older_xlwings(workspace: Path, fresh: Path, tmp_path: Path) -> None:
    lang = workspace.name
    faked = tmp_path / "faked"
    faked.mkdir()
    for name in MACRO_BOOKS:
        fake_old(workspace / name)
        shutil.copyfile(workspace / name, faked / name)
    code, out = upgrade(workspace)
    assert code == 0 and out["ok"], out
    for w in out["workbooks"]:
        assert (w["status"], w["from_xlwings"], w["to_xlwings"]) == (UPGRADED, OLD, INSTALLED)
        assert w["modules"] == ["XlsalesButtons", "xlwings"]
        assert w["message"] == {"en": f"upgraded from xlwings {OLD} to {INSTALLED}",
                                "zh": f"已从 xlwings {OLD} 升级到 {INSTALLED}"}[lang]
    for name in MACRO_BOOKS:
        path = workspace / name
        assert changed_parts(faked / name, path) == {VBA}, name
        with zipfile.ZipFile(faked / name) as a, zipfile.ZipFile(path) as b:
            assert a.namelist() == b.namelist()
        assert parts(path)[VBA] == parts(fresh / lang / name)[VBA], name
        check_grammar(path)
        assert_strict(path)
    # twice is a no-op
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in workspace.glob("*.xlsm")}
    code, out = upgrade(workspace)
    assert code == 0 and {w["status"] for w in out["workbooks"]} == {CURRENT}
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns)
            for p in workspace.glob("*.xlsm")} == before


def test_an_excel_saved_project_keeps_its_id(fresh: Path, tmp_path: Path) -> None:
    """A project Excel saved (performance cache, another ID) reads back and is rebuilt with
    its ID; the same sources saved by Excel are current, not rewritten."""
    path = tmp_path / "daily_report.xlsm"
    shutil.copyfile(fresh / "zh" / path.name, path)
    pid = "{0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0}"
    fake_old(path, saved_by_excel=pid)
    stored = read_project(parts(path)[VBA])
    assert stored.project_id == pid and not stored.locked
    assert xlwings_version(stored.module("xlwings").text) == OLD
    faked = tmp_path / "faked.xlsm"
    shutil.copyfile(path, faked)
    [result] = run_upgrade(path)
    assert (result.status, result.from_version, result.to_version) == (UPGRADED, OLD, INSTALLED)
    assert changed_parts(faked, path) == {VBA}
    assert parts(path)[VBA] == vba_project(project_of(path, vba_sources()), project_id=pid)
    check_grammar(path)
    # the current sources, as Excel saved them: nothing to do
    replace_part(path, VBA, excel_saved(vba_project(project_of(path, vba_sources())), pid))
    before = path.read_bytes()
    [result] = run_upgrade(path)
    assert result.status == CURRENT and path.read_bytes() == before


def test_code_names_of_sheets_xlsales_added(fresh: Path, tmp_path: Path) -> None:
    """A sheet the editor added later (a code name, no document module yet) gets its
    document module; the project follows the workbook's code names in sheet order."""
    root = tmp_path / "team"
    shutil.copytree(fresh / "en", root)
    path = root / "meeting_agenda.xlsm"
    original = document_names(path)
    result = runner.invoke(app, ["agenda", "--week", "2024-W11", "-w", str(root)])
    assert result.exit_code == 0, result.output
    names = document_names(path)
    assert sorted(names) == sorted([*original, f"Sheet{len(original)}"]), names
    assert names != [*original, f"Sheet{len(original)}"]  # the pack goes first
    fake_old(path, documents=original)  # as an older xlsales left it
    faked = tmp_path / "faked.xlsm"
    shutil.copyfile(path, faked)
    [result] = run_upgrade(path)
    assert result.status == UPGRADED and f"Sheet{len(original)}" in result.modules
    assert changed_parts(faked, path) == {VBA}
    check_grammar(path)
    assert parts(path)[VBA] == vba_project(project_of(path, vba_sources()))


def test_only_the_vba_project_is_written_even_with_grouped_sheets(fresh: Path,
                                                                  tmp_path: Path) -> None:
    path = tmp_path / "targets.xlsm"
    shutil.copyfile(fresh / "zh" / path.name, path)
    with zipfile.ZipFile(path) as z:
        sheet = z.read("xl/worksheets/sheet2.xml")
    grouped = re.sub(rb"<sheetView\b", b'<sheetView tabSelected="1"', sheet, count=1)
    assert grouped != sheet
    replace_part(path, "xl/worksheets/sheet2.xml", grouped)
    fake_old(path)
    faked = tmp_path / "faked.xlsm"
    shutil.copyfile(path, faked)
    assert run_upgrade(path)[0].status == UPGRADED
    assert changed_parts(faked, path) == {VBA}


def test_replace_part_needs_an_existing_part(fresh: Path, tmp_path: Path) -> None:
    from xlsales.errors import WorkbookError

    path = tmp_path / "targets.xlsm"
    shutil.copyfile(fresh / "en" / path.name, path)
    with WorkbookEdit(path) as wb:
        assert wb.vba_part == VBA
        with pytest.raises(WorkbookError, match=r"no part xl/nothing\.bin"):
            wb.replace_part("xl/nothing.bin", b"")
    with WorkbookEdit(fresh / "en" / "settings.xlsx") as wb:
        assert wb.vba_part is None


# -- what xlsales did not write ----------------------------------------------------------------

USER_MODULE = Module("MyMacros", 'Attribute VB_Name = "MyMacros"\r\nSub Hello()\r\n'
                     '    MsgBox "hi"\r\nEnd Sub\r\n')


def test_user_modules_are_refused_and_kept(workspace: Path) -> None:
    for name in MACRO_BOOKS:
        fake_old(workspace / name)
    daily = workspace / "daily_report.xlsm"
    fake_old(daily, extra=[USER_MODULE])
    before = daily.read_bytes()
    code, out = upgrade(workspace)
    assert code == 2 and not out["ok"]
    by_name = {Path(w["file"]).name: w for w in out["workbooks"]}
    assert by_name[daily.name]["status"] == REFUSED
    assert by_name[daily.name]["foreign"] == ["MyMacros"]
    assert "MyMacros" in out["error"] and out["where"] == {"file": str(daily)}
    assert daily.read_bytes() == before
    assert read_project(parts(daily)[VBA]).module("MyMacros") is not None
    others = [w for n, w in by_name.items() if n != daily.name]
    assert others and all(w["status"] == UPGRADED for w in others)
    text = runner.invoke(app, ["excel", "upgrade", str(workspace)])
    assert text.exit_code == 2 and "MyMacros" in text.output


def test_code_in_a_document_module_is_refused(fresh: Path, tmp_path: Path) -> None:
    path = tmp_path / "customers.xlsm"
    shutil.copyfile(fresh / "en" / path.name, path)
    documents = document_names(path)
    sources = old_sources()
    modules = project_of(path, sources)
    sheet = Module(documents[1], 'Attribute VB_Name = "' + documents[1] + '"\r\n'
                   "Option Explicit\r\nPrivate Sub Worksheet_Change(ByVal Target As Range)\r\n"
                   "End Sub\r\n", "worksheet")
    modules[1] = sheet
    replace_part(path, VBA, vba_project(modules))
    before = path.read_bytes()
    [result] = run_upgrade(path)
    assert result.status == REFUSED and result.foreign == [f"{documents[1]} (code)"]
    assert path.read_bytes() == before
    # "Option Explicit" alone (Excel adds it to new modules) is not code
    modules[1] = Module(documents[1], f'Attribute VB_Name = "{documents[1]}"\r\n'
                        "Option Explicit\r\n", "worksheet")
    replace_part(path, VBA, vba_project(modules))
    [result] = run_upgrade(path)
    assert result.status == UPGRADED


def test_a_locked_project_is_refused(fresh: Path, tmp_path: Path) -> None:
    path = tmp_path / "targets.xlsm"
    shutil.copyfile(fresh / "en" / path.name, path)
    modules = project_of(path, old_sources())
    streams = read_compound_file(vba_project(modules))
    text = streams["PROJECT"].decode("cp1252")
    pid = re.search(r'ID="(\{[^}]+\})"', text).group(1)
    protected = encrypt(b"\x01\x00\x00\x00", pid, 7)  # fUserProtected
    text = re.sub(r'CMG="[0-9A-F]+"', f'CMG="{protected}"', text)
    streams["PROJECT"] = text.encode("cp1252")
    replace_part(path, VBA, build_compound_file(streams))
    before = path.read_bytes()
    [result] = run_upgrade(path)
    assert result.status == REFUSED and "protected" in result.message("en")
    assert path.read_bytes() == before


def test_workbooks_not_made_by_xlsales_are_left_alone(tmp_path: Path) -> None:
    import xlwings

    root = tmp_path / "team"
    root.mkdir()
    quickstart = root / "quickstart.xlsm"
    shutil.copyfile(Path(xlwings.__file__).parent / "quickstart.xlsm", quickstart)
    (root / "broken.xlsm").write_bytes(b"not a workbook")
    before = quickstart.read_bytes()
    code, out = upgrade(root)
    by_name = {Path(w["file"]).name: w for w in out["workbooks"]}
    assert by_name["quickstart.xlsm"]["status"] == SKIPPED
    assert "XlsalesButtons" in by_name["quickstart.xlsm"]["message"]
    assert by_name["broken.xlsm"]["status"] == REFUSED
    assert code == 2
    assert quickstart.read_bytes() == before
    code, out = upgrade(tmp_path / "nowhere")
    assert code == 2 and not out["ok"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert upgrade(empty) == (0, {"ok": True, "workbooks": []})


# -- reading projects back ------------------------------------------------------------------

def test_reads_projects_excel_saved() -> None:
    """xlwings' quickstart workbooks were saved by Excel (performance cache, control and
    project references): the reader finds oletools' modules and sources."""
    import xlwings
    from oletools.olevba import VBA_Parser

    for name in ("quickstart.xlsm", "quickstart_standalone.xlsm"):
        path = Path(xlwings.__file__).parent / name
        with zipfile.ZipFile(path) as z:
            stored = read_project(z.read(VBA))
        expected = {n.rsplit(".", 1)[0]: code.replace("\r\n", "\n")
                    for _, _, n, code in VBA_Parser(str(path)).extract_macros()}
        assert {m.name for m in stored.modules} == set(expected)
        for m in stored.modules:
            assert m.text.replace("\r\n", "\n").rstrip() == expected[m.name].rstrip(), m.name
        assert not stored.locked and stored.name == "VBAProject"
        assert [m.kind for m in stored.modules if m.name in ("ThisWorkbook", "Module1")] == [
            "Document", "Module"]


def test_reader_round_trips_and_rejects_damage() -> None:
    from xlsales.vba.project import ProjectError

    modules = workbook_modules(2, vba_sources())
    data = vba_project(modules)
    stored = read_project(data)
    assert [(m.name, m.code) for m in stored.modules] == [(m.name, m.code()) for m in modules]
    assert [m.kind for m in stored.modules] == ["Document"] * 3 + ["Module", "Module", "Class"]
    assert project_stream(modules).startswith(f'ID="{stored.project_id}"'.encode())
    assert decompress(compress(dir_stream(modules))) == dir_stream(modules)
    for broken in (b"", b"PK\x03\x04" + data[4:], data[:512],
                   data[:1024] + b"\xff" * (len(data) - 1024)):
        with pytest.raises(ProjectError):
            read_project(broken)
