import os
import struct
import tempfile
import unittest

from addon_modules import load

blendfile = load("blendfile")


def _strings(tag, names):
    body = b"".join(name.encode() + b"\0" for name in names)
    body = tag + struct.pack("<i", len(names)) + body
    return body + b"\0" * (-len(body) % 4)


# Struct 0 raw data; 1 Scene {Material *material; double value; void *runtime}; 2 Material {char name[8]; Scene *scene};
# 3 Link {Link *next, *prev}.
TYPES = ["char", "double", "void", "raw_data", "Scene", "Material", "Link"]
SIZES = [1, 8, 0, 1, 24, 16, 16]
NAMES = ["data", "*material", "value", "*runtime", "name[8]", "*scene", "*next", "*prev"]
STRUCTS = [(3, [(0, 0)]), (4, [(5, 1), (1, 2), (2, 3)]), (5, [(0, 4), (4, 5)]), (6, [(6, 6), (6, 7)])]
DNA = (b"SDNA" + _strings(b"NAME", NAMES) + _strings(b"TYPE", TYPES) + b"TLEN" + struct.pack("<%dh" % len(SIZES), *SIZES)
       + b"\0" * (-2 * len(SIZES) % 4) + b"STRC" + struct.pack("<i", len(STRUCTS))
       + b"".join(struct.pack("<hh", kind, len(fields)) + b"".join(struct.pack("<hh", *field) for field in fields) for kind, fields in STRUCTS))


def legacy(blocks):
    """A pre-5.0 .blend: "BLENDER-v403", then 24-byte block headers (code, length, address, struct, count)."""
    body = b"".join(struct.pack("<4siQii", code, len(data), address, kind, len(data) // max(1, SIZES[STRUCTS[kind][0]]) if kind else 1) + data
                    for code, address, kind, data in blocks + [(b"DNA1", 0, 0, DNA)])
    return b"BLENDER-v403" + body + struct.pack("<4siQii", b"ENDB", 0, 0, 0, 0)


def large(blocks):
    """A 5.x .blend: "BLENDER17-01v0502", then 32-byte block headers (code, struct, address, length, count)."""
    body = b"".join(struct.pack("<4siQqq", code, kind, address, len(data), len(data) // max(1, SIZES[STRUCTS[kind][0]]) if kind else 1) + data
                    for code, address, kind, data in blocks + [(b"DNA1", 0, 0, DNA)])
    return b"BLENDER17-01v0502" + body + struct.pack("<4siQqq", b"ENDB", 0, 0, 0, 0)


def pointer(address):
    return struct.pack("<Q", address)


def scene(base, value=1.5, linked=1, ui=b"window 800x600", runtime=0x1234):
    """
    A scene pointing at one of two materials (and at runtime data never written), a list and a raw array of
    pointers and numbers in it, the materials, a window manager and a thumbnail; `base` is where the save found
    them in memory.
    """
    return [
        (b"SC\0\0", base + 0x100, 1, pointer(base + 0x200 + 0x40 * linked) + struct.pack("<d", value) + pointer(base + runtime)),
        (b"DATA", base + 0x180, 3, pointer(base + 0x1C0) + pointer(0)),
        (b"DATA", base + 0x1C0, 0, pointer(base + 0x240) + struct.pack("<dd", value, 2.0)),
        (b"MA\0\0", base + 0x240, 2, b"Red\0\0\0\0\0" + pointer(base + 0x100)),
        (b"MA\0\0", base + 0x280, 2, b"Blue\0\0\0\0" + pointer(base + 0x100)),
        (b"WM\0\0", base + 0x300, 0, pointer(base + 0x100) + ui),
        (b"DATA", base + 0x380, 0, pointer(base + 0x300) + ui),
        (b"TEST", base + 0x400, 0, b"thumbnail " + ui),
    ]


class ContentDigest(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="brender-blendfile-")

    def digest(self, content, name="a.blend"):
        path = os.path.join(self.folder, name)
        with open(path, "wb") as handle:
            handle.write(content)
        return blendfile.content_digest(path)

    def test_two_saves_of_the_same_data_at_other_memory_addresses_have_one_digest_in_both_formats(self):
        for write in (legacy, large):
            first = self.digest(write(scene(0x7F2B00000000)))
            self.assertIsNotNone(first)
            self.assertEqual(self.digest(write(scene(0x55AA00000000))), first, write.__name__)
            self.assertEqual(self.digest(write(scene(0x7F2B00000000, runtime=0x9990))), first, "a pointer to nothing in the file")

    def test_a_changed_value_or_link_changes_the_digest(self):
        for write in (legacy, large):
            before = self.digest(write(scene(0x7F2B00000000)))
            self.assertNotEqual(self.digest(write(scene(0x7F2B00000000, value=2.5))), before, write.__name__)
            self.assertNotEqual(self.digest(write(scene(0x55AA00000000, linked=0))), before, "the scene now uses the other material")

    def test_an_address_used_again_in_another_id_is_looked_up_in_the_blocks_own_id_first(self):
        # 5.x numbers each ID's blocks on its own, so two IDs' blocks can share an address; which one a save
        # gives a block depends on what was shared in memory then.
        def blocks(own):
            return [
                (b"MA\0\0", 0x900, 2, b"Red\0\0\0\0\0" + pointer(0)),
                (b"DATA", 0x10, 3, pointer(0) + pointer(0)),
                (b"SC\0\0", 0xA00, 1, pointer(0x900) + struct.pack("<d", 1.5) + pointer(0)),
                (b"DATA", 0x20, 3, pointer(own) + pointer(0)),
                (b"DATA", own, 3, pointer(0) + pointer(0x20)),
            ]
        self.assertEqual(self.digest(large(blocks(0x10))), self.digest(large(blocks(0x30))))

    def test_a_new_block_changes_the_digest(self):
        blocks = scene(0x7F2B00000000)
        before = self.digest(legacy(blocks))
        self.assertNotEqual(self.digest(legacy(blocks + [(b"OB\0\0", 0x7F2B00000900, 0, b"Cube\0\0\0\0")])), before)

    def test_the_window_manager_its_data_and_the_thumbnail_are_left_out(self):
        before = self.digest(legacy(scene(0x7F2B00000000)))
        self.assertEqual(self.digest(legacy(scene(0x55AA00000000, ui=b"window 1024x76"))), before)

    def test_files_it_cannot_read_give_none(self):
        content = legacy(scene(0x7F2B00000000))
        self.assertIsNone(self.digest(b"\x28\xb5\x2f\xfd" + content[4:]), "zstd-compressed")
        self.assertIsNone(self.digest(b"BLENDER_v403" + content[12:]), "4-byte pointers")
        self.assertIsNone(self.digest(content[:-30]), "truncated: no ENDB")
        self.assertIsNone(self.digest(content.replace(b"STRC", b"STRX")), "no struct descriptions")
        self.assertIsNone(blendfile.content_digest(os.path.join(self.folder, "absent.blend")))


if __name__ == "__main__":
    unittest.main()
