"""The upgrade job: the VBA project of existing macro-enabled workbooks rebuilt for the
installed xlwings and the current ``macros/`` (``xlsales excel upgrade``).

The xlwings module inside a workbook names the DLL of one xlwings version, so after
``pip install -U xlsales`` (which may bring another pinned xlwings) the workbooks a team
already fills must get the new module. Only ``xl/vbaProject.bin`` is replaced, through
the part-level editor (atomic, under the workbook's lock, refused while someone has the
workbook open); every other part keeps its bytes. The project is rebuilt as
``xlsales init --macros`` builds it — the document modules of the workbook's code names
(``ThisWorkbook`` and each sheet's), the modules of ``macros/`` and the xlwings module —
keeping the project's name and ID.

What xlsales did not write is never dropped: a project holding other modules, code in a
document module (``ThisWorkbook``, a sheet), forms, a password or a digital signature is
refused and left as it is, with the modules named.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xlsales.errors import InputError, XlsalesError
from xlsales.i18n import Label, Lang
from xlsales.vba.project import (
    BASES,
    PROJECT_NAME,
    Module,
    ProjectError,
    StoredProject,
    read_vba_project,
    vba_project,
)

if TYPE_CHECKING:
    from xlsales.io.edit.book import WorkbookEdit

UPGRADED, CURRENT, REFUSED, SKIPPED = "upgraded", "current", "refused", "skipped"
_GUID = re.compile(r"\{[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}\}")
_PROJECT_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,127}")
# Lines a document module may hold without being code someone wrote: Excel adds
# "Option Explicit" to every new module when "Require Variable Declaration" is on.
_NOT_CODE = re.compile(r"\s*(?:Option\s+Explicit\s*)?", re.I)
_SIGNATURE = re.compile(r"/vbaProjectSignature\w*$")


@dataclass
class BookUpgrade:
    """What the upgrade did to one workbook: ``status`` is ``upgraded``, ``current``,
    ``refused`` (nothing written; ``reason`` says why) or ``skipped`` (not an xlsales
    macro workbook). ``modules``: the modules replaced, added or dropped; ``foreign``:
    the code xlsales did not write that made it refuse."""

    path: Path
    status: str
    from_version: str | None = None
    to_version: str | None = None
    modules: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    reason: Label | None = None

    @property
    def ok(self) -> bool:
        return self.status != REFUSED

    def message(self, lang: Lang) -> str:
        """One line for the terminal."""
        old, new = self.from_version or "?", self.to_version or "?"
        if self.status == UPGRADED and self.from_version != self.to_version:
            return Label(f"已从 xlwings {old} 升级到 {new}",
                         f"upgraded from xlwings {old} to {new}")(lang)
        if self.status == UPGRADED:
            names = ", ".join(self.modules)
            return Label(f"宏已更新（{names}；xlwings {new} 不变）",
                         f"macros brought up to date ({names}; xlwings {new} unchanged)")(lang)
        if self.status == CURRENT:
            return Label(f"已是最新（xlwings {new}）", f"already current (xlwings {new})")(lang)
        return self.reason(lang) if self.reason else self.status

    def as_dict(self, lang: Lang) -> dict[str, Any]:
        return {"file": str(self.path), "status": self.status,
                "from_xlwings": self.from_version, "to_xlwings": self.to_version,
                "modules": self.modules, "foreign": self.foreign,
                "message": self.message(lang)}


def macro_workbooks(at: str | os.PathLike[str]) -> list[Path]:
    """The ``.xlsm`` workbooks of the workspace folder ``at`` (or ``at`` itself, a file)."""
    path = Path(at)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise InputError(Label(f"没有这个文件夹或工作簿：{path}",
                               f"no such folder or workbook: {path}"))
    return sorted(p for p in path.iterdir() if p.suffix.lower() == ".xlsm"
                  and not p.name.startswith(("~$", ".")) and p.is_file())


def run_upgrade(at: str | os.PathLike[str]) -> list[BookUpgrade]:
    """Upgrade every ``.xlsm`` workbook of the workspace ``at`` (or the one workbook ``at``),
    one after the other; a workbook that cannot be upgraded is reported and left as it
    was, the others are still done."""
    from xlsales.vba.macros import vba_sources

    books = macro_workbooks(at)
    sources = vba_sources() if books else {}
    return [upgrade_workbook(path, sources) for path in books]


def upgrade_workbook(path: Path, sources: dict[str, str]) -> BookUpgrade:
    """Rebuild the VBA project of the workbook at ``path`` from ``sources`` (name → text,
    :func:`xlsales.vba.macros.vba_sources`), in place, when it differs."""
    from xlsales.io.edit.book import WorkbookEdit
    from xlsales.vba.macros import XLWINGS_MODULE, xlwings_version

    to_version = xlwings_version(sources.get(XLWINGS_MODULE, ""))
    result = BookUpgrade(path, REFUSED, to_version=to_version)
    try:
        with WorkbookEdit(path) as wb:
            _upgrade(wb, sources, result)
    except XlsalesError as exc:
        result.status = REFUSED
        result.reason = Label(exc.text("zh"), exc.text("en"))
    return result


def _upgrade(wb: WorkbookEdit, sources: dict[str, str], result: BookUpgrade) -> None:
    from xlsales.vba.macros import BUTTON_MODULE, XLWINGS_MODULE, xlwings_version

    part = wb.vba_part
    if part is None:
        result.status = SKIPPED
        result.reason = Label("没有 VBA 工程，未改动", "no VBA project; left alone")
        return
    old = wb.pkg.read(part)
    try:
        stored = read_vba_project(old)
    except ProjectError as exc:
        result.reason = Label(f"无法读取 VBA 工程（{exc}）；什么也没有写入",
                              f"the VBA project cannot be read ({exc}); nothing was written")
        return
    xlwings = stored.module(XLWINGS_MODULE)
    result.from_version = xlwings_version(xlwings.text) if xlwings else None
    if stored.module(BUTTON_MODULE) is None:
        result.status = SKIPPED
        result.reason = Label(f"不是 xlsales 的工作簿（VBA 工程里没有 {BUTTON_MODULE} "
                              "模块），未改动",
                              f"not an xlsales workbook (its VBA project has no {BUTTON_MODULE} "
                              "module); left alone")
        return
    if any(_SIGNATURE.search(r.type) for r in wb.pkg.rels(part).items):
        result.reason = Label("VBA 工程带有数字签名，重建会使签名失效；什么也没有写入",
                              "the VBA project is digitally signed and a new project would "
                              "break the signature; nothing was written")
        return
    if stored.locked:
        result.reason = Label(
            "VBA 工程设有保护或密码；请先在 VBA 编辑器中解除（工具 › VBAProject 属性 › 保护），"
            "再运行一次；什么也没有写入",
            "the VBA project is protected or has a password; remove it in the VBA editor "
            "(Tools › VBAProject Properties › Protection) and run again; nothing was written")
        return
    result.foreign = foreign_code(stored, sources)
    if result.foreign:
        names = ", ".join(result.foreign)
        result.reason = Label(
            f"VBA 工程里有不是 xlsales 写的代码：{names}；什么也没有写入。请在 VBA 编辑器中"
            "导出（文件 › 导出文件）并移除它们，运行 xlsales excel upgrade，再导入回来",
            f"the VBA project holds code xlsales did not write: {names}; nothing was written. "
            "Export it in the VBA editor (File › Export File), remove it, run xlsales excel "
            "upgrade, then import it again")
        return
    try:
        modules = project_modules(stored, sources, *wb.code_names())
        new = _build(stored, modules)
    except ValueError as exc:
        result.reason = Label(f"无法重建 VBA 工程（{exc}）；什么也没有写入",
                              f"the VBA project cannot be rebuilt ({exc}); nothing was written")
        return
    result.modules = changed_modules(stored, modules)
    if new == old or not result.modules:
        result.status = CURRENT
        return
    wb.replace_part(part, new)
    wb.save()
    result.status = UPGRADED


def foreign_code(stored: StoredProject, sources: dict[str, str]) -> list[str]:
    """The modules of a stored project xlsales did not write: other standard and class
    modules, forms, and document modules holding code (named ``Sheet1 (code)``)."""
    from xlsales.vba.macros import RETIRED_MODULES

    ours = {name.upper() for name in (*sources, *RETIRED_MODULES)}
    out = []
    for m in stored.modules:
        if m.kind == "Document":
            if not all(_NOT_CODE.fullmatch(line) for line in m.body):
                out.append(f"{m.name} (code)")
        elif m.kind == "BaseClass" or m.name.upper() not in ours:
            out.append(m.name)
    return out


def project_modules(stored: StoredProject, sources: dict[str, str], book: str | None,
                    sheets: list[str | None]) -> list[Module]:
    """The modules of the rebuilt project: a document module per code name (the
    workbook's, then each sheet's; one the project has keeps its stored attributes), then
    the modules of ``sources``."""
    if book is None:  # no code name in workbook.xml: the project's workbook module
        book = next((m.name for m in stored.modules if m.kind == "Document"
                     and BASES["workbook"] in m.text), "ThisWorkbook")

    def document(name: str, kind: str) -> Module:
        old = stored.module(name)
        return Module(name, old.text if old is not None and old.kind == "Document" else "",
                      kind)

    return [document(book, "workbook"),
            *(document(name, "worksheet") for name in sheets if name),
            *(Module.from_source(name, text) for name, text in sources.items())]


def _build(stored: StoredProject, modules: list[Module]) -> bytes:
    name = stored.name if _PROJECT_NAME.fullmatch(stored.name) else PROJECT_NAME
    pid = stored.project_id.upper() if _GUID.fullmatch(stored.project_id) else None
    return vba_project(modules, name, pid)


def _kind(module: Module) -> str:
    return ("Document" if module.is_document else "Class" if module.kind == "class"
            else "Module")


def changed_modules(stored: StoredProject, modules: list[Module]) -> list[str]:
    """The modules the rebuilt project replaces, adds or drops (by name, source and kind)."""
    old = {m.name.upper(): (m.name, m.kind, m.code) for m in stored.modules}
    new = {m.name.upper(): (m.name, _kind(m), m.code()) for m in modules}
    return sorted((new.get(key) or old[key])[0] for key in old.keys() | new.keys()
                  if old.get(key) != new.get(key))
