"""A project of many textures for the tracing benchmark.

Run by Blender: blender -b --factory-startup --python make_project.py -- FOLDER IMAGES SEQUENCE_FRAMES
Writes FOLDER/tex/t<i>.png (IMAGES of them, each its own datablock), a
SEQUENCE_FRAMES-frame sequence FOLDER/seq/s_<n>.png (one datablock) and
FOLDER/shots/shot.blend using them all with paths relative to the shot.
"""
import os
import struct
import sys
import zlib

import bpy


def tiny_png(path, value):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"\x00" + bytes([value % 256, 0, 0])
    with open(path, "wb") as handle:
        handle.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


args = sys.argv[sys.argv.index("--") + 1:]
folder, images, frames = os.path.abspath(args[0]), int(args[1]), int(args[2])
for sub in ("tex", "seq", "shots"):
    os.makedirs(os.path.join(folder, sub), exist_ok=True)
bpy.ops.wm.read_factory_settings(use_empty=True)
shot = os.path.join(folder, "shots", "shot.blend")
bpy.ops.wm.save_as_mainfile(filepath=shot)
for index in range(images):
    path = os.path.join(folder, "tex", "t%d.png" % index)
    tiny_png(path, index)
    image = bpy.data.images.load(path)
    image.filepath = "//../tex/t%d.png" % index
    image.use_fake_user = True
for frame in range(1, frames + 1):
    tiny_png(os.path.join(folder, "seq", "s_%04d.png" % frame), frame)
sequence = bpy.data.images.load(os.path.join(folder, "seq", "s_0001.png"))
sequence.source = "SEQUENCE"
sequence.filepath = "//../seq/s_0001.png"
sequence.use_fake_user = True
bpy.ops.wm.save_as_mainfile(filepath=shot, relative_remap=False)
