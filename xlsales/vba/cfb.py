"""A minimal compound file writer (MS-CFB version 3), enough for ``vbaProject.bin``.

Streams under 4096 bytes live in the mini stream; directory siblings form a balanced
binary tree ordered as the format requires (shorter names first, then by upper case),
all nodes black.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

SECTOR = 512
MINI = 64
CUTOFF = 4096
FREE, END, FATSECT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
NOSTREAM = 0xFFFFFFFF
MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")
STORAGE, STREAM, ROOT = 1, 2, 5


@dataclass
class _Entry:
    name: str
    kind: int
    data: bytes = b""
    children: dict[str, _Entry] = field(default_factory=dict)
    sid: int = 0
    left: int = NOSTREAM
    right: int = NOSTREAM
    child: int = NOSTREAM
    start: int = END
    size: int = 0


def _key(name: str) -> tuple[int, str]:
    return (len(name), name.upper())


def _tree(nodes: list[_Entry]) -> int:
    """Link ``nodes`` (sorted) as a balanced tree; return the root's id."""
    if not nodes:
        return NOSTREAM
    mid = len(nodes) // 2
    root = nodes[mid]
    root.left = _tree(nodes[:mid])
    root.right = _tree(nodes[mid + 1:])
    return root.sid


def _chain(fat: list[int], first: int, count: int) -> None:
    for i in range(count):
        fat[first + i] = first + i + 1 if i < count - 1 else END


def build_compound_file(streams: dict[str, bytes]) -> bytes:
    """A compound file holding ``streams`` ({"Storage/Stream": bytes})."""
    root = _Entry("Root Entry", ROOT)
    for path, data in streams.items():
        node = root
        parts = path.split("/")
        for part in parts[:-1]:
            node = node.children.setdefault(part, _Entry(part, STORAGE))
        node.children[parts[-1]] = _Entry(parts[-1], STREAM, data)
    entries: list[_Entry] = []

    def number(node: _Entry) -> None:
        node.sid = len(entries)
        entries.append(node)
        for child in sorted(node.children.values(), key=lambda e: _key(e.name)):
            number(child)

    number(root)
    for e in entries:
        e.child = _tree(sorted(e.children.values(), key=lambda c: _key(c.name)))

    # The mini stream and its allocation table.
    mini = bytearray()
    minifat: list[int] = []
    for e in entries:
        if e.kind == STREAM and len(e.data) < CUTOFF:
            e.size = len(e.data)
            if not e.data:
                e.start = END
                continue
            count = -(-len(e.data) // MINI)
            e.start = len(minifat)
            minifat.extend(range(e.start + 1, e.start + count))
            minifat.append(END)
            mini += e.data.ljust(count * MINI, b"\x00")
    root.size = len(mini)

    # Regular sectors: big streams, the mini stream, the mini FAT, the directory.
    body = bytearray()
    plan: list[tuple[int, int]] = []  # (first sector, count) chains

    def place(data: bytes) -> int:
        if not data:
            return END
        count = -(-len(data) // SECTOR)
        first = len(body) // SECTOR
        body.extend(data.ljust(count * SECTOR, b"\x00"))
        plan.append((first, count))
        return first

    for e in entries:
        if e.kind == STREAM and len(e.data) >= CUTOFF:
            e.size = len(e.data)
            e.start = place(e.data)
    root.start = place(bytes(mini))
    minifat_bytes = b"".join(struct.pack("<I", x) for x in minifat)
    minifat_bytes += struct.pack("<I", FREE) * ((-len(minifat)) % (SECTOR // 4))
    first_minifat = place(minifat_bytes) if minifat else END
    n_minifat = -(-len(minifat_bytes) // SECTOR) if minifat else 0
    directory = bytearray()
    for e in entries:
        directory += _dir_entry(e)
    while len(directory) % SECTOR:
        directory += _empty_entry()
    first_dir = place(bytes(directory))

    n_body = len(body) // SECTOR
    n_fat = 1
    while n_fat * (SECTOR // 4) < n_body + n_fat:
        n_fat += 1
    if n_fat > 109:
        raise ValueError("compound file too large for this writer (more than 109 FAT sectors)")
    fat = [FREE] * (n_fat * (SECTOR // 4))
    for first, count in plan:
        _chain(fat, first, count)
    for i in range(n_fat):
        fat[n_body + i] = FATSECT
    header = bytearray()
    header += MAGIC + b"\x00" * 16
    header += struct.pack("<HHHHH", 0x003E, 0x0003, 0xFFFE, 9, 6)
    header += b"\x00" * 6
    header += struct.pack("<IIIIIIIII", 0, n_fat, first_dir, 0, CUTOFF, first_minifat,
                          n_minifat, END, 0)
    difat = [n_body + i for i in range(n_fat)] + [FREE] * (109 - n_fat)
    header += b"".join(struct.pack("<I", x) for x in difat)
    assert len(header) == SECTOR
    fat_bytes = b"".join(struct.pack("<I", x) for x in fat)
    return bytes(header) + bytes(body) + fat_bytes


def _dir_entry(e: _Entry) -> bytes:
    name = e.name.encode("utf-16-le")
    if len(name) > 62:
        raise ValueError(f"name too long for a compound file: {e.name!r}")
    out = name.ljust(64, b"\x00")
    out += struct.pack("<HBB", len(name) + 2, e.kind, 1)
    out += struct.pack("<III", e.left, e.right, e.child)
    out += b"\x00" * 16 + struct.pack("<I", 0) + b"\x00" * 16
    start = e.start if e.kind != STORAGE else 0
    out += struct.pack("<IQ", start, e.size if e.kind != STORAGE else 0)
    return out


def _empty_entry() -> bytes:
    return b"\x00" * 64 + struct.pack("<HBB", 0, 0, 0) + struct.pack(
        "<III", NOSTREAM, NOSTREAM, NOSTREAM) + b"\x00" * 16 + b"\x00" * 4 + b"\x00" * 16 + \
        struct.pack("<IQ", 0, 0)
