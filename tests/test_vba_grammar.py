"""The VBA project of every macro-enabled workbook xlsales writes follows MS-OVBA.

Checked on the ``.xlsm`` files of ``xlsales init --macros`` (both languages) and on the
committed ``workbook_templates/*/*.xlsm``, read back with the spec-derived parser of
:mod:`tests.ovba_grammar` (olefile opens the compound file, oletools decompresses):

* ``PROJECT`` (2.3.1): ID, one Document/Module/Class line per module, Name,
  HelpContextID, VersionCompatible32, then CMG, DPB and GC in that order, decrypting
  (2.4.3) to "not protected", "no password", "visible"; [Host Extender Info]; [Workspace];
* ``dir`` (2.3.4): the PROJECTINFORMATION records in order, ids and sizes consistent,
  the references stdole and Office, PROJECTMODULES with its count, every MODULE's
  records (name, stream name, docstring, offset, help context, cookie, type, terminator);
* every module stream: the compressed source starts at MODULEOFFSET and decompresses to
  the module's text with the Attribute lines Excel writes;
* ``PROJECTwm``, ``_VBA_PROJECT`` and the streams present; the workbook's code names.

What Excel-made projects look like (Excel 2007-2016 files of XlsxWriter's test suite and
xlwings' quickstart workbooks; kept here as expectations, not as files):

* ``PROJECT``: the module lines follow the modules' order (documents, modules and classes
  interleaved); ``VersionCompatible32="393222000"``; CMG, DPB, GC right after it (CMG
  decrypts to a 4-byte 0, DPB to one 0x00 byte, GC to 0xFF; the project key is the low
  byte of the sum of the ID's characters; the seed differs per value and the ignored bytes
  repeat one byte); ``[Host Extender Info]`` holds the one VBE line;
* ``dir``: records 0x0001 0x0002 0x0014 0x0003 0x0004 0x0005 0x0040 0x0006 0x003D 0x0007
  0x0008 0x0009 0x000C 0x003C (newer builds put 0x004A after 0x0001); references as
  REFERENCENAME (0x0016 + 0x003E) then REFERENCEREGISTERED (0x000D), stdole first, then
  Office (libid ``*\\G{2DF8D04C-…}#2.0#0#…\\MSO.DLL#Microsoft Office NN.0 Object Library``);
  each MODULE is 0x0019 0x0047 0x001A 0x0032 0x001C 0x0048 0x0031 0x001E 0x002C
  0x0021|0x0022 0x002B, with 0x0022 for documents and classes alike;
* module streams: document modules carry VB_Name, VB_Base (Workbook
  ``0{00020819-…}``, Worksheet ``0{00020820-…}``), VB_GlobalNameSpace False,
  VB_Creatable False, VB_PredeclaredId True, VB_Exposed True, VB_TemplateDerived False,
  VB_Customizable True; a class module VB_Base ``0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}``,
  then GlobalNameSpace/Creatable/PredeclaredId/Exposed as its ``.cls`` says, then
  VB_TemplateDerived False and VB_Customizable False; the ``.cls`` header
  (``VERSION 1.0 CLASS`` … ``END``) is not stored.
"""

from __future__ import annotations

import re
import zipfile
from functools import cache
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.ovba_grammar import (
    GrammarError,
    VbaFile,
    decrypt,
    module_text,
    parse_dir,
    parse_project,
    project_key,
    read_vba_project,
)
from xlsales.cli import app
from xlsales.i18n import LANGS
from xlsales.vba.macros import BOOK_BUTTONS, module_files, xlwings_module
from xlsales.vba.project import Module, dir_stream, project_stream, vba_project
from xlsales.workspace import BOOK_BY_KEY

REPO = Path(__file__).resolve().parents[1]
TEMPLATES = REPO / "workbook_templates"
INIT_FILES = [f"{lang}/{BOOK_BY_KEY[key].filename.rsplit('.', 1)[0]}.xlsm"
              for lang in LANGS for key in BOOK_BUTTONS]
TEMPLATE_FILES = sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.glob("*/*.xlsm"))
WORKBOOKS = [("init", f) for f in INIT_FILES] + [("template", f) for f in TEMPLATE_FILES]

# -- what Excel writes (see the module docstring) ---------------------------------------------

INFORMATION = [0x0001, 0x0002, 0x0014, 0x0003, 0x0004, 0x0005, 0x0040, 0x0006, 0x003D,
               0x0007, 0x0008, 0x0009, 0x000C, 0x003C]
MODULE_RECORDS = [0x0019, 0x0047, 0x001A, 0x0032, 0x001C, 0x0048, 0x0031, 0x001E, 0x002C,
                  "type", 0x002B]
PROCEDURAL, OTHER = 0x0021, 0x0022
STDOLE = re.compile(r"\*\\G\{00020430-0000-0000-C000-000000000046\}#2\.0#0#"
                    r"[^#]*\\stdole2\.tlb#OLE Automation")
OFFICE = re.compile(r"\*\\G\{2DF8D04C-5BFA-101B-BDE5-00AA0044DE52\}#2\.0#0#"
                    r"[^#]*\\MSO\.DLL#Microsoft Office 16\.0 Object Library")
HOST_EXTENDER = ("&H00000001", "{3832D640-CF90-11CF-8E43-00A0C911005A}", "VBE", "&H00000000")
PROJECT_ORDER = ["ProjectName", "ProjectHelpId", "ProjectVersionCompat32",
                 "ProjectProtectionState", "ProjectPassword", "ProjectVisibilityState",
                 "HostExtenders", "ProjectWorkspace"]
DOCUMENT_ATTRIBUTES = ['Attribute VB_GlobalNameSpace = False', 'Attribute VB_Creatable = False',
                       'Attribute VB_PredeclaredId = True', 'Attribute VB_Exposed = True',
                       'Attribute VB_TemplateDerived = False',
                       'Attribute VB_Customizable = True']
WORKBOOK_BASE = 'Attribute VB_Base = "0{00020819-0000-0000-C000-000000000046}"'
WORKSHEET_BASE = 'Attribute VB_Base = "0{00020820-0000-0000-C000-000000000046}"'
CLASS_BASE = 'Attribute VB_Base = "0{FCFB3D2A-A0FA-1068-A738-08002B3371B5}"'
CLASS_INSTANCING = ("VB_GlobalNameSpace", "VB_Creatable", "VB_PredeclaredId", "VB_Exposed")
CLASS_TAIL = ["Attribute VB_TemplateDerived = False", "Attribute VB_Customizable = False"]
XLWINGS_VERSION = re.compile(r"^'Version: (\S+)\r?$", re.M)


# -- the workbooks ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def init_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("init")
    runner = CliRunner()
    for lang in LANGS:
        result = runner.invoke(app, ["init", str(root / lang), "--macros", "--lang", lang])
        assert result.exit_code == 0, result.output
    return root


def _path(init_root: Path, where: str, name: str) -> Path:
    return (init_root if where == "init" else TEMPLATES) / name


@cache
def _read(path: Path) -> tuple[VbaFile, bytes]:
    with zipfile.ZipFile(path) as zf:
        workbook = zf.read("xl/workbook.xml")
        sheets = b"".join(zf.read(n) for n in sorted(zf.namelist())
                          if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n))
        return read_vba_project(zf.read("xl/vbaProject.bin")), workbook + sheets


@pytest.fixture(params=WORKBOOKS, ids=[f"{w}/{n}" for w, n in WORKBOOKS])
def book(request: pytest.FixtureRequest, init_root: Path) -> tuple[str, VbaFile, bytes]:
    where, name = request.param
    vba, xml = _read(_path(init_root, where, name))
    return where, vba, xml


def test_every_macro_book_is_checked(init_root: Path) -> None:
    built = sorted(p.relative_to(init_root).as_posix() for p in init_root.glob("*/*.xlsm"))
    assert built == sorted(INIT_FILES)
    assert sorted(INIT_FILES) == TEMPLATE_FILES, "committed .xlsm templates differ from init's"


# -- the sources the modules must hold --------------------------------------------------------

def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\n", "\r\n")


def _class_text(source: str) -> str:
    """A .cls export as Excel stores it (the facts in the module docstring)."""
    lines = _crlf(source).split("\r\n")
    assert lines[0] == "VERSION 1.0 CLASS" and lines[1] == "BEGIN", lines[:2]
    lines = lines[lines.index("END") + 1:]
    attributes: dict[str, str] = {}
    while lines and (m := re.fullmatch(r"Attribute (VB_\w+) = (.*)", lines[0])):
        attributes[m.group(1)] = m.group(2)
        lines.pop(0)
    head = [f"Attribute VB_Name = {attributes.pop('VB_Name')}", CLASS_BASE]
    head += [f"Attribute {key} = {attributes.pop(key)}" for key in CLASS_INSTANCING]
    assert not attributes, f"module attributes left over: {attributes}"
    return "\r\n".join([*head, *CLASS_TAIL, *lines])


@cache
def expected_sources() -> dict[str, tuple[str, str]]:
    """Every non-document module: name → (PROJECT kind, stored text), in project order."""
    standard, classes = {}, {}
    for path in module_files():
        text = path.read_bytes().decode("cp1252")
        name = re.search(r'^Attribute VB_Name = "(\w+)"', text, re.M)
        assert name, path
        if path.name.endswith(".bas"):
            standard[name.group(1)] = ("Module", _crlf(text))
        elif path.name.endswith(".cls"):
            classes[name.group(1)] = ("Class", _class_text(text))
    return {**standard, "xlwings": ("Module", _crlf(xlwings_module())), **classes}


def _document_names(vba: VbaFile) -> list[str]:
    return [name for kind, name in vba.project.items if kind == "Document"]


# -- PROJECT ----------------------------------------------------------------------------------

def test_project_stream(book: tuple[str, VbaFile, bytes]) -> None:
    _, vba, _ = book
    project = vba.project
    items = project.items
    assert project.order == ["ProjectId", *["ProjectItem"] * len(items), *PROJECT_ORDER]
    documents = _document_names(vba)
    assert documents == ["ThisWorkbook", *(f"Sheet{n}" for n in range(1, len(documents)))]
    assert set(project.doc_tlib_versions.values()) == {"&H00000000"}
    assert items[len(documents):] == [(kind, name)
                                      for name, (kind, _) in expected_sources().items()]
    assert ("Class", "Dictionary") in items
    assert project.properties["ProjectName"] == vba.dir.name == "VBAProject"
    assert int(project.properties["ProjectHelpId"]) == vba.dir.help_context == 0
    assert project.properties["ProjectVersionCompat32"] == "393222000"
    assert project.host_extenders == [HOST_EXTENDER]
    assert project.workspace == [(name, "0, 0, 0, 0, C") for _, name in items]


def test_protection_state_password_and_visibility(book: tuple[str, VbaFile, bytes]) -> None:
    _, vba, _ = book
    key = project_key(vba.project.project_id)
    expected = {"ProjectProtectionState": b"\x00\x00\x00\x00",  # no fUserProtected etc.
                "ProjectPassword": b"\x00",  # no password
                "ProjectVisibilityState": b"\xff"}  # visible
    seeds = []
    for rule, data in expected.items():
        value = decrypt(vba.project.properties[rule])
        assert (value.version, value.project_key) == (2, key), rule
        assert len(value.ignored) == (value.seed & 6) >> 1
        assert (value.length, value.data) == (len(data), data), rule
        seeds.append(value.seed)
    assert len(set(seeds)) > 1, "the three values share one seed"


# -- dir --------------------------------------------------------------------------------------

def test_dir_stream(book: tuple[str, VbaFile, bytes]) -> None:
    _, vba, _ = book
    d = vba.dir
    assert d.information == INFORMATION
    assert (d.syskind, d.lcid, d.lcid_invoke, d.codepage) == (1, 0x409, 0x409, 1252)
    assert (d.docstring, d.help_file, d.constants, d.lib_flags) == ("", "", "", 0)
    assert [(r.name, r.name_unicode, r.kind) for r in d.references] == [
        ("stdole", "stdole", "registered"), ("Office", "Office", "registered")]
    assert STDOLE.fullmatch(d.references[0].libid), d.references[0].libid
    assert OFFICE.fullmatch(d.references[1].libid), d.references[1].libid
    assert d.project_cookie == 0xFFFF  # MUST be 0xFFFF on write
    names = [name for _, name in vba.project.items]
    assert [m.name for m in d.modules] == names
    kinds = dict((name, kind) for kind, name in vba.project.items)
    for m in d.modules:
        assert m.record_ids == [m.type_id if r == "type" else r for r in MODULE_RECORDS]
        assert m.name == m.name_unicode == m.stream_name == m.stream_name_unicode
        assert (m.docstring, m.docstring_unicode) == ("", "")
        assert (m.help_context, m.cookie, m.read_only, m.private) == (0, 0xFFFF, False, False)
        assert m.type_id == (PROCEDURAL if kinds[m.name] == "Module" else OTHER), m.name


def test_module_streams(book: tuple[str, VbaFile, bytes]) -> None:
    where, vba, _ = book
    sources = expected_sources()
    documents = _document_names(vba)
    for m in vba.dir.modules:
        text = module_text(vba.module_streams[m.stream_name], m.offset)
        assert text.startswith(f'Attribute VB_Name = "{m.name}"\r\n'), m.name
        if m.name in documents:
            base = WORKBOOK_BASE if m.name == "ThisWorkbook" else WORKSHEET_BASE
            assert text == "\r\n".join([f'Attribute VB_Name = "{m.name}"', base,
                                        *DOCUMENT_ATTRIBUTES, ""]), m.name
        elif m.name == "xlwings" and where == "template":
            committed = XLWINGS_VERSION.search(text)
            installed = XLWINGS_VERSION.search(sources["xlwings"][1])
            assert committed and installed
            if committed.group(1) == installed.group(1):
                assert text == sources["xlwings"][1]
        else:
            assert text == sources[m.name][1], m.name
    assert [n for n, _ in vba.project_wm] == [m.name for m in vba.dir.modules]
    assert all(a == b for a, b in vba.project_wm)


def test_streams_and_code_names(book: tuple[str, VbaFile, bytes]) -> None:
    _, vba, xml = book
    assert vba.streams == sorted(["PROJECT", "PROJECTwm", "VBA/_VBA_PROJECT", "VBA/dir",
                                  *(f"VBA/{m.stream_name}" for m in vba.dir.modules)])
    # _VBA_PROJECT (2.3.4.1): Reserved1 0x61CC, Version 0xFFFF (no cache), Reserved2 0x00.
    assert vba.vba_project_header[:5] == bytes([0xCC, 0x61, 0xFF, 0xFF, 0x00])
    code_names = re.findall(rb'codeName="(\w+)"', xml)
    assert [c.decode() for c in code_names] == _document_names(vba)


# -- the writer's own properties --------------------------------------------------------------

def test_builds_are_reproducible(init_root: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["init", str(tmp_path / "again"), "--macros"])
    assert result.exit_code == 0, result.output
    for path in sorted((init_root / "zh").glob("*.xlsm")):
        with zipfile.ZipFile(path) as a, zipfile.ZipFile(tmp_path / "again" / path.name) as b:
            assert a.read("xl/vbaProject.bin") == b.read("xl/vbaProject.bin"), path.name


def test_the_seeds_follow_the_content() -> None:
    modules = [Module("ThisWorkbook", "", "workbook"), Module("Module1", "Sub A()\nEnd Sub\n")]
    other = [modules[0], Module("Module1", "Sub B()\nEnd Sub\n")]
    assert project_stream(modules) == project_stream(list(modules))

    def protection(raw: bytes) -> list[str]:
        return [parse_project(raw).properties[rule] for rule in PROJECT_ORDER[3:6]]

    assert protection(project_stream(modules)) != protection(project_stream(other))
    assert [decrypt(v).data for v in protection(project_stream(other))] == [
        b"\x00" * 4, b"\x00", b"\xff"]


def test_class_modules_and_the_grammar_of_small_projects() -> None:
    cls = ("VERSION 1.0 CLASS\r\nBEGIN\r\n  MultiUse = -1  'True\r\nEND\r\n"
           'Attribute VB_Name = "Counter"\r\nAttribute VB_GlobalNameSpace = False\r\n'
           "Attribute VB_Creatable = False\r\nAttribute VB_PredeclaredId = True\r\n"
           "Attribute VB_Exposed = True\r\nPrivate n As Long\r\n")
    modules = [Module("ThisWorkbook", "", "workbook"), Module.from_source("Counter", cls)]
    assert modules[1].kind == "class"
    raw = vba_project(modules)
    vba = read_vba_project(raw)
    assert vba.project.items == [("Document", "ThisWorkbook"), ("Class", "Counter")]
    assert [m.type_id for m in vba.dir.modules] == [OTHER, OTHER]
    counter = vba.dir.modules[1]
    assert module_text(vba.module_streams["Counter"], counter.offset) == _class_text(cls)
    assert "PredeclaredId = True" in _class_text(cls)
    with pytest.raises(ValueError, match="VB_Name"):
        Module("Other", cls, "class").code()


def test_the_grammar_reader_rejects_what_breaks_the_rules() -> None:
    modules = [Module("ThisWorkbook", "", "workbook"), Module("Module1", "Sub A()\nEnd Sub\n")]
    good = project_stream(modules)
    parse_project(good)
    for broken in (good.replace(b"CMG=", b"CMX="),  # a required line missing
                   re.sub(rb'(DPB="\w+"\r\n)(GC="\w+"\r\n)', rb"\2\1", good),  # out of order
                   good.replace(b"\r\n", b"\n"),  # not CR LF
                   good.replace(b'HelpContextID="0"\r\n', b"")):
        with pytest.raises(GrammarError):
            parse_project(broken)
    raw = dir_stream(modules)
    parse_dir(raw)
    with pytest.raises(GrammarError):
        parse_dir(raw[:-6])  # no terminator
    with pytest.raises(GrammarError):
        parse_dir(raw.replace(b"\x2c\x00\x02\x00\x00\x00", b"\x2c\x00\x03\x00\x00\x00", 1))


def test_dictionary_has_what_xlwings_calls_on_macos() -> None:
    """xlwings.bas declares ``Dim d As Dictionary`` under ``#If Mac``; the project's
    Dictionary class has every member xlwings calls on it."""
    xlwings = xlwings_module()
    assert re.search(r"#If Mac Then\s+Dim (\w+) As Dictionary\s+Set \1 = New Dictionary",
                     xlwings), "xlwings no longer uses a Dictionary class on macOS"
    body = re.search(r"Function GetConfigFromSheet\(.*?End Function", xlwings, re.S)
    assert body, "xlwings.bas has no GetConfigFromSheet"
    called = set(re.findall(r"\bd\.(\w+)", body.group(0)))
    called |= set(re.findall(r"GetConfigFromSheet\([^()]*\)\.(\w+)", xlwings))
    text = expected_sources()["Dictionary"][1]
    members = set(re.findall(r"^Public (?:Sub|Function|Property Get) (\w+)", text, re.M))
    assert called and called <= members, called - members
