"""
A digest of what a saved .blend holds, equal for two saves of the same data.
No bpy here, so it is tested with plain Python.

Two saves of unchanged data are not equal byte for byte: each block carries
an address ("old pointer") and every pointer field a value, and those move
between saves (4.3 writes memory addresses; 5.x numbers blocks per ID but
changes the numbers of shared arrays once the scene was evaluated, and
writes some runtime pointers as they are). So the digest reads the file's
own description of its structs (the DNA1 block) and replaces every pointer
field by what it points to: the position of the target block within its
ID's blocks, else the ID block's number, else "some other pointer". Blocks
of raw data (numbers, or arrays of pointers) keep their bytes, except words
equal to a block's address. The window manager, screens, workspaces (window
sizes, timers, cursor: never rendered) and the thumbnail are left out; every
other block, with its data, is in the digest.

Only uncompressed little-endian files with 8-byte pointers are read (the add-on
writes such copies for this, see saving.py); anything else gives None and
the caller falls back to saving.
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
_ARRAY = re.compile(r"\[(\d+)\]")
# What a pointer becomes: 0 stays 0; the spaces below never overlap.
_IN_ID, _TO_ID, _ELSEWHERE = 1 << 62, 2 << 62, 3 << 62


def _header(handle):
    """(size of the file header, block header size, block header reader) or None for a file this does not read."""
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


def _groups(handle, start, head_size, read_head):
    """The blocks up to ENDB, each ID block with the DATA blocks after it: [[(code, address, struct, count, offset, length)]]."""
    groups = []
    handle.seek(start)
    while True:
        raw = handle.read(head_size)
        if len(raw) < head_size:
            raise ValueError("truncated")
        code, length, address, kind, count = read_head(raw)
        if code == b"ENDB":
            return groups
        if length < 0:
            raise ValueError("bad block length")
        if code != b"DATA" or not groups:
            groups.append([])
        groups[-1].append((code, address, kind, count, handle.tell(), length))
        handle.seek(length, 1)


def _strings(data, at, tag):
    if data[at:at + 4] != tag:
        raise ValueError("unexpected DNA1 layout")
    count = struct.unpack_from("<i", data, at + 4)[0]
    at += 8
    names = []
    for _ in range(count):
        end = data.index(b"\0", at)
        names.append(data[at:end].decode("latin-1"))
        at = end + 1
    return names, (at + 3) & ~3


def pointer_layout(dna):
    """From the DNA1 block: for each struct index, (size, offsets of its pointer fields, nested structs included)."""
    if dna[:4] != b"SDNA":
        raise ValueError("no SDNA")
    names, at = _strings(dna, 4, b"NAME")
    types, at = _strings(dna, at, b"TYPE")
    if dna[at:at + 4] != b"TLEN":
        raise ValueError("unexpected DNA1 layout")
    sizes = struct.unpack_from("<%dh" % len(types), dna, at + 4)
    at = (at + 4 + 2 * len(types) + 3) & ~3
    if dna[at:at + 4] != b"STRC":
        raise ValueError("unexpected DNA1 layout")
    count = struct.unpack_from("<i", dna, at + 4)[0]
    at += 8
    fields_of = {}
    order = []
    for _ in range(count):
        kind, field_count = struct.unpack_from("<hh", dna, at)
        fields_of[kind] = struct.unpack_from("<%dh" % (2 * field_count), dna, at + 4)
        order.append(kind)
        at += 4 + 4 * field_count
    known = {}

    def offsets(kind):
        if kind not in known:
            found, at_field = [], 0
            fields = fields_of[kind]
            for index in range(0, len(fields), 2):
                field_type, name = fields[index], names[fields[index + 1]]
                items = 1
                for length in _ARRAY.findall(name):
                    items *= int(length)
                if name.startswith("*") or name.startswith("(*"):
                    found.extend(at_field + 8 * item for item in range(items))
                    at_field += 8 * items
                    continue
                size = sizes[field_type]
                if field_type in fields_of:
                    nested = offsets(field_type)[1]
                    found.extend(at_field + size * item + offset for item in range(items) for offset in nested)
                at_field += size * items
            if at_field != sizes[kind]:
                raise ValueError("struct size does not add up")
            known[kind] = (sizes[kind], found)
        return known[kind]

    return [offsets(kind) for kind in order]


def _canonical_raw(data, resolve, addresses):
    """Raw data: each aligned 8-byte word equal to a block's address becomes what it points to; other bytes stay."""
    usable = len(data) - len(data) % 8
    if usable == 0:
        return data
    words = memoryview(data)[:usable].cast("Q")
    if addresses.isdisjoint(words):
        return data
    changed = [resolve(word) if word in addresses else word for word in words]
    return struct.pack("<%dQ" % len(changed), *changed) + data[usable:]


def _canonical_struct(data, size, offsets, count, resolve):
    """An array of `count` structs: every pointer field becomes what it points to."""
    data = bytearray(data)
    for base in range(0, size * count, size):
        for offset in offsets:
            struct.pack_into("<Q", data, base + offset, resolve(struct.unpack_from("<Q", data, base + offset)[0]))
    return bytes(data)


def content_digest(path):
    """SHA-256 of the file's kept blocks with pointers replaced by what they point to, or None when the file is not one this reads."""
    try:
        with open(path, "rb") as handle:
            layout = _header(handle)
            if layout is None:
                return None
            groups = _groups(handle, *layout)
            dna = next((block for group in groups for block in group if block[0] == b"DNA1"), None)
            if dna is None:
                return None
            handle.seek(dna[4])
            structs = pointer_layout(handle.read(dna[5]))
            kept = [group for group in groups if group[0][0] not in _UI_IDS]
            ids, elsewhere = {}, {}
            for number, group in enumerate(kept):
                ids.setdefault(group[0][1], number)
                for position, block in enumerate(group):
                    elsewhere.setdefault(block[1], (number << 24) | position)
            addresses = {block[1] for group in groups for block in group} - {0}
            digest = hashlib.sha256()
            for group in kept:
                # 5.x numbers blocks per ID, so an address is looked up among its own ID's blocks first.
                local = {}
                for position, block in enumerate(group):
                    local.setdefault(block[1], position)

                def resolve(word, local=local):
                    if word == 0:
                        return 0
                    if word in local:
                        return _IN_ID | local[word]
                    if word in ids:
                        return _TO_ID | ids[word]
                    return _ELSEWHERE | elsewhere.get(word, (1 << 48) - 1)

                for position, (code, _, kind, count, offset, length) in enumerate(group):
                    if code in _LEFT_OUT:
                        continue
                    handle.seek(offset)
                    data = handle.read(length)
                    if len(data) != length:
                        return None
                    digest.update(code + struct.pack("<qqqq", position, kind, count, length))
                    # Struct 0 is raw data (4.x and later) or a runtime-only struct never written (3.x): raw either way.
                    size, offsets = structs[kind] if 0 < kind < len(structs) else (0, ())
                    if offsets and size * count == length:
                        digest.update(_canonical_struct(data, size, offsets, count, resolve))
                    else:
                        digest.update(_canonical_raw(data, resolve, addresses))
            return digest.hexdigest()
    except (OSError, ValueError, IndexError, KeyError, struct.error):
        return None
