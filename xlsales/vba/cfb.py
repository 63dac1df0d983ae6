"""A minimal compound file writer (MS-CFB version 3), enough for ``vbaProject.bin``, and
a reader of the streams of any compound file (version 3 or 4), for projects Excel saved.

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


# -- reading ---------------------------------------------------------------------------------

MAXREGSECT = 0xFFFFFFFA


class CompoundFileError(ValueError):
    """The bytes are not a compound file this reader can follow."""


def read_compound_file(data: bytes) -> dict[str, bytes]:
    """The streams of the compound file ``data`` ({"Storage/Stream": bytes}, as
    :func:`build_compound_file` takes them). Every chain is followed with its length and
    loops checked, so damaged files raise :class:`CompoundFileError` and never hang."""
    if len(data) < SECTOR or data[:8] != MAGIC:
        raise CompoundFileError("not a compound file (no signature)")
    major, _, shift, mini_shift = struct.unpack_from("<HHHH", data, 0x1A)
    if (major, shift) not in ((3, 9), (4, 12)) or mini_shift != 6:
        raise CompoundFileError(f"unsupported compound file (version {major}, sector shift "
                                f"{shift}, mini sector shift {mini_shift})")
    size = 1 << shift
    (n_fat, first_dir, _, cutoff, first_minifat, _, first_difat,
     n_difat) = struct.unpack_from("<IIIIIIII", data, 0x2C)
    n_sectors = (len(data) - size) // size + (1 if (len(data) - size) % size else 0)

    def sector(i: int) -> bytes:
        if i >= n_sectors:
            raise CompoundFileError(f"sector {i} is beyond the end of the file")
        return data[(i + 1) * size:(i + 2) * size].ljust(size, b"\x00")

    def ids(raw: bytes) -> list[int]:
        return list(struct.unpack(f"<{len(raw) // 4}I", raw[:len(raw) // 4 * 4]))

    difat = ids(data[0x4C:SECTOR])
    at, seen = first_difat, set()
    for _ in range(n_difat):
        if at > MAXREGSECT or at in seen:
            break
        seen.add(at)
        entries = ids(sector(at))
        difat += entries[:-1]
        at = entries[-1]
    fat_sectors = [s for s in difat if s <= MAXREGSECT][:n_fat]
    fat = [x for s in fat_sectors for x in ids(sector(s))]

    def chain(first: int, table: list[int]) -> list[int]:
        out: list[int] = []
        at, seen = first, set()
        while at != END:
            if at >= len(table) or at in seen:
                raise CompoundFileError(f"broken sector chain at {at}")
            seen.add(at)
            out.append(at)
            at = table[at]
        return out

    directory = b"".join(sector(s) for s in chain(first_dir, fat))
    entries = [directory[i:i + 128] for i in range(0, len(directory) - 127, 128)]
    if not entries or entries[0][66] != ROOT:
        raise CompoundFileError("the compound file has no root entry")

    def field(entry: bytes) -> tuple[str, int, int, int, int, int, int]:
        length = min(struct.unpack_from("<H", entry, 64)[0], 64)
        name = entry[:max(length - 2, 0)].decode("utf-16-le", "replace")
        left, right, child = struct.unpack_from("<III", entry, 68)
        start, stream_size = struct.unpack_from("<IQ", entry, 116)
        if major == 3:
            stream_size &= 0xFFFFFFFF
        return name, entry[66], left, right, child, start, stream_size

    root = field(entries[0])
    mini_stream = b"".join(sector(s) for s in chain(root[5], fat)) if root[6] else b""
    minifat = ids(b"".join(sector(s) for s in chain(first_minifat, fat))) \
        if first_minifat != END else []

    def read(start: int, length: int) -> bytes:
        if length == 0:
            return b""
        if length < cutoff:
            raw = b"".join(mini_stream[s * MINI:(s + 1) * MINI] for s in chain(start, minifat))
        else:
            raw = b"".join(sector(s) for s in chain(start, fat))
        if len(raw) < length:
            raise CompoundFileError(f"a stream is shorter ({len(raw)} bytes) than its size "
                                    f"({length})")
        return raw[:length]

    streams: dict[str, bytes] = {}
    visited: set[int] = set()

    def walk(sid: int, prefix: str) -> None:
        todo = [sid]
        while todo:
            at = todo.pop()
            if at == NOSTREAM:
                continue
            if at >= len(entries) or at in visited:
                raise CompoundFileError(f"broken directory tree at entry {at}")
            visited.add(at)
            name, kind, left, right, child, start, length = field(entries[at])
            todo += [left, right]
            if kind == STREAM:
                streams[prefix + name] = read(start, length)
            elif kind == STORAGE:
                walk(child, f"{prefix}{name}/")

    walk(root[4], "")
    return streams
