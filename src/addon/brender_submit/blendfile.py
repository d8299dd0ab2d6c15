"""
A digest of what a saved .blend holds, equal for two saves of the same data.
No bpy here, so it is tested with plain Python.

Two saves of unchanged data are not equal byte for byte on every Blender:
4.3 writes each block's memory address ("old pointer") and every pointer
field as it is in memory at that moment, and those move between saves (5.x
keeps them within a session, 3.4 mostly does). So the digest reads the
file's blocks and replaces every 8-byte word equal to a block's address by
that block's number in the file: the data and how it links stay in the
digest, the addresses do not. The window manager, screens and workspaces
(window sizes, timers, cursor: never rendered) and the thumbnail are left
out; every other block, with its data, is in it.

Only uncompressed little-endian files with 8-byte pointers are read (the
only kind the add-on writes for this, see saving.py); anything else gives
None and the caller falls back to saving.
"""
import hashlib
import re
import struct

# Blocks whose content never reaches a render: the UI (each with the DATA blocks after it) and the thumbnail.
_UI_IDS = (b"WM\0\0", b"SR\0\0", b"WS\0\0")
_LEFT_OUT = (b"TEST",)
# Pre-5.0 files: "BLENDER-v403" (12 bytes), block headers code, length, address, struct, count (24 bytes).
_LEGACY = re.compile(rb"^BLENDER-v\d{3}$")
# 5.0 and later: "BLENDER17-01v0502" (17 bytes), block headers code, struct, address, length, count (32 bytes).
_LARGE = re.compile(rb"^BLENDER17-01v\d{4}$")
# A marker no user-space address has (their top 16 bits are zero), so a replaced word never matches an address.
_MARKER = 0xFFFF << 48


def _header(handle):
    """(size of the file header, block header reader) or None for a file this does not read."""
    start = handle.read(17)
    if _LEGACY.match(start[:12]):
        def legacy(raw):
            code, length, address, kind, count = struct.unpack("<4siQii", raw)
            return code, length, address, kind, count
        return 12, 24, legacy
    if _LARGE.match(start):
        def large(raw):
            code, kind, address, length, count = struct.unpack("<4siQqq", raw)
            return code, length, address, kind, count
        return 17, 32, large
    return None


def _blocks(handle, start, head_size, read_head):
    """(code, address, struct and count, data offset, data length, kept) for every block up to ENDB."""
    blocks = []
    handle.seek(start)
    skipping = False
    while True:
        raw = handle.read(head_size)
        if len(raw) < head_size:
            raise ValueError("truncated")
        code, length, address, kind, count = read_head(raw)
        if code == b"ENDB":
            return blocks
        if length < 0:
            raise ValueError("bad block length")
        if code != b"DATA":
            skipping = code in _UI_IDS
        kept = not skipping and code not in _LEFT_OUT
        blocks.append((code, address, (kind, count), handle.tell(), length, kept))
        handle.seek(length, 1)


def _canonical(data, numbers):
    """`data` with each aligned 8-byte word that is a kept block's address replaced by that block's number."""
    usable = len(data) - len(data) % 8
    if usable == 0:
        return data
    words = memoryview(data)[:usable].cast("Q")
    if numbers.keys().isdisjoint(words):
        return data
    changed = [(_MARKER | numbers[word]) if word in numbers else word for word in words]
    return struct.pack("<%dQ" % len(changed), *changed) + data[usable:]


def content_digest(path):
    """SHA-256 of the file's kept blocks with block addresses numbered, or None when the file is not one this reads."""
    try:
        with open(path, "rb") as handle:
            layout = _header(handle)
            if layout is None:
                return None
            start, head_size, read_head = layout
            blocks = _blocks(handle, start, head_size, read_head)
            numbers = {}
            for _, address, _, _, _, kept in blocks:
                if kept and address and address not in numbers:
                    numbers[address] = len(numbers)
            digest = hashlib.sha256()
            for code, address, (kind, count), offset, length, kept in blocks:
                if not kept:
                    continue
                handle.seek(offset)
                data = handle.read(length)
                if len(data) != length:
                    return None
                digest.update(code + struct.pack("<qqqq", numbers.get(address, -1), kind, count, length))
                digest.update(_canonical(data, numbers))
            return digest.hexdigest()
    except (OSError, ValueError, struct.error):
        return None
