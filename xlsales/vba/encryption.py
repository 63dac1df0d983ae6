"""MS-OVBA 2.4.3 data encryption: the ``CMG``, ``DPB`` and ``GC`` values of ``PROJECT``.

The three properties hold the project's protection state, password and visibility,
obfuscated with a one-byte seed and the project key (the low byte of the sum of the
``ID=`` GUID's characters). Excel and LibreOffice pick the seed at random; xlsales
derives it from the project's content, so the same sources give the same bytes.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

VERSION = 2
# MS-OVBA 2.3.1.15-17: what an unprotected, password-less, visible project stores.
UNPROTECTED = struct.pack("<I", 0)  # ProjectProtectionState: no flag set
NO_PASSWORD = b"\x00"  # ProjectPassword: a single null byte
VISIBLE = b"\xff"  # ProjectVisibilityState: 0xFF visible (0x00 hidden)


def project_key(project_id: str) -> int:
    """The project key of 2.4.3: the sum of the bytes of the ``ID=`` value, modulo 256."""
    return sum(project_id.encode("cp1252")) & 0xFF


def encrypt(data: bytes, project_id: str, seed: int, ignored: bytes = b"") -> str:
    """``data`` encrypted per MS-OVBA 2.4.3.2, as the upper-case hex text ``PROJECT`` holds.

    ``seed`` is the first byte; ``(seed & 6) >> 1`` ignored bytes follow the key, taken
    from ``ignored`` (padded with zeros).
    """
    if not 0 <= seed <= 0xFF:
        raise ValueError(f"seed must be a byte, not {seed}")
    key = project_key(project_id)
    version_enc = seed ^ VERSION
    key_enc = seed ^ key
    out = bytearray([seed, version_enc, key_enc])
    unencrypted_1, encrypted_1, encrypted_2 = key, key_enc, version_enc
    count = (seed & 6) >> 1
    plain = ignored[:count].ljust(count, b"\x00") + struct.pack("<I", len(data)) + data
    for byte in plain:
        enc = byte ^ ((encrypted_2 + unencrypted_1) & 0xFF)
        out.append(enc)
        encrypted_2, encrypted_1, unencrypted_1 = encrypted_1, enc, byte
    return out.hex().upper()


@dataclass(frozen=True)
class Decrypted:
    """What :func:`decrypt` recovers: the version, the project key and the data."""

    version: int
    key: int
    data: bytes


def decrypt(text: str) -> Decrypted:
    """The inverse of :func:`encrypt` (MS-OVBA 2.4.3.3)."""
    raw = bytes.fromhex(text)
    if len(raw) < 7:
        raise ValueError(f"encrypted value too short: {text!r}")
    seed, version_enc, key_enc = raw[:3]
    key = seed ^ key_enc
    unencrypted_1, encrypted_1, encrypted_2 = key, key_enc, version_enc
    plain = bytearray()
    for enc in raw[3:]:
        byte = enc ^ ((encrypted_2 + unencrypted_1) & 0xFF)
        plain.append(byte)
        encrypted_2, encrypted_1, unencrypted_1 = encrypted_1, enc, byte
    count = (seed & 6) >> 1
    (length,) = struct.unpack_from("<I", plain, count)
    data = bytes(plain[count + 4:])
    if len(data) != length:
        raise ValueError(f"encrypted value holds {len(data)} bytes, its length says {length}")
    return Decrypted(seed ^ version_enc, key, data)


def derived_seed(label: str, content: bytes) -> tuple[int, bytes]:
    """A seed and ignored bytes for the property ``label``, fixed by ``content``."""
    digest = hashlib.sha256(label.encode("ascii") + b"\x00" + content).digest()
    return digest[0], digest[1:4]


def protection_values(project_id: str, content: bytes) -> dict[str, str]:
    """``CMG``, ``DPB`` and ``GC`` for an unprotected project without password, visible."""
    out = {}
    for label, data in (("CMG", UNPROTECTED), ("DPB", NO_PASSWORD), ("GC", VISIBLE)):
        seed, ignored = derived_seed(label, content)
        out[label] = encrypt(data, project_id, seed, ignored)
    return out
