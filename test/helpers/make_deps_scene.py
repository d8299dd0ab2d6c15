"""Builds a shot whose files live everywhere but next to it (for the packing tests).

Run by Blender: blender -b --factory-startup --python make_deps_scene.py -- ROOT [OUTSIDE]

Writes, under ROOT (and OUTSIDE, a folder elsewhere, for the absolute path):
  show/shots/shot.blend       the shot; Cycles, 48x32, frames 1-3
  OUTSIDE/wood.png            absolute path ("/.../wood.png")
  show/tex/checker.png        "//../tex/checker.png"
  show/assets/lib.blend       linked as "//../assets/lib.blend": collection "Prop",
                              whose material uses "//tex/libtex.png" (relative to the library)
  show/assets/tex/libtex.png
  show/udim/tile.1001.png, tile.1002.png   one UDIM image "//../udim/tile.<UDIM>.png"
  show/seq/frame_0001.png … frame_0003.png  an image sequence, one frame per scene frame
Every image is a flat colour of its own, shown through an emission shader, so
a missing one renders magenta and a wrong one a wrong colour.
"""
import os
import sys

import bpy

ARGS = sys.argv[sys.argv.index("--") + 1:]
ROOT = os.path.abspath(ARGS[0])
OUTSIDE = os.path.abspath(ARGS[1]) if len(ARGS) > 1 else os.path.join(ROOT, "outside")
SHOW = os.path.join(ROOT, "show")


def write_image(path, color, size=4):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    image = bpy.data.images.new(os.path.basename(path), size, size)
    image.pixels[:] = list(color) * (size * size)
    image.filepath_raw = path
    image.file_format = "PNG"
    image.save()
    bpy.data.images.remove(image)


def reset():
    bpy.ops.wm.read_factory_settings(use_empty=True)


def emission_material(name, image=None, image_user_frames=0):
    mat = bpy.data.materials.new(name)
    mat.use_nodes = True
    nodes = mat.node_tree.nodes
    nodes.clear()
    out = nodes.new("ShaderNodeOutputMaterial")
    emit = nodes.new("ShaderNodeEmission")
    mat.node_tree.links.new(emit.outputs["Emission"], out.inputs["Surface"])
    tex = nodes.new("ShaderNodeTexImage")
    tex.interpolation = "Closest"
    tex.image = image
    if image_user_frames:
        tex.image_user.frame_duration = image_user_frames
        tex.image_user.frame_start = 1
        tex.image_user.use_auto_refresh = True
    mat.node_tree.links.new(tex.outputs["Color"], emit.inputs["Color"])
    return mat


def plane(name, location, mat, scale=(1, 1, 1), collection=None):
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata([(-1, -1, 0), (1, -1, 0), (1, 1, 0), (-1, 1, 0)], [], [(0, 1, 2, 3)])
    uv = mesh.uv_layers.new()
    for loop, coords in zip(uv.data, [(0, 0), (1, 0), (1, 1), (0, 1)]):
        loop.uv = coords
    mesh.materials.append(mat)
    obj = bpy.data.objects.new(name, mesh)
    obj.location = location
    obj.scale = scale
    (collection or bpy.context.scene.collection).objects.link(obj)
    return obj


def make_library():
    reset()
    write_image(os.path.join(SHOW, "assets", "tex", "libtex.png"), (0.1, 0.2, 0.9, 1))
    image = bpy.data.images.load(os.path.join(SHOW, "assets", "tex", "libtex.png"))
    path = os.path.join(SHOW, "assets", "lib.blend")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    bpy.ops.wm.save_as_mainfile(filepath=path)  # relative paths need the file's own location
    image.filepath = bpy.path.relpath(image.filepath)
    prop = bpy.data.collections.new("Prop")
    bpy.context.scene.collection.children.link(prop)
    plane("LibPlane", (2.2, 1.2, 0), emission_material("LibMat", image), collection=prop)
    bpy.ops.wm.save_as_mainfile(filepath=path, relative_remap=False)


def make_shot():
    reset()
    write_image(os.path.join(OUTSIDE, "wood.png"), (0.6, 0.3, 0.1, 1))
    write_image(os.path.join(SHOW, "tex", "checker.png"), (0.2, 0.8, 0.2, 1))
    write_image(os.path.join(SHOW, "udim", "tile.1001.png"), (0.9, 0.9, 0.1, 1))
    write_image(os.path.join(SHOW, "udim", "tile.1002.png"), (1.0, 0.5, 0.0, 1))
    for frame, color in enumerate([(1, 0, 0, 1), (0, 1, 1, 1), (1, 1, 1, 1)], start=1):
        write_image(os.path.join(SHOW, "seq", "frame_%04d.png" % frame), color)

    shot = os.path.join(SHOW, "shots", "shot.blend")
    os.makedirs(os.path.dirname(shot), exist_ok=True)
    bpy.ops.wm.save_as_mainfile(filepath=shot)

    wood = bpy.data.images.load(os.path.join(OUTSIDE, "wood.png"))
    wood.filepath = os.path.join(OUTSIDE, "wood.png")  # stays absolute
    checker = bpy.data.images.load(os.path.join(SHOW, "tex", "checker.png"))
    checker.filepath = "//../tex/checker.png"
    udim = bpy.data.images.load(os.path.join(SHOW, "udim", "tile.1001.png"))
    udim.source = "TILED"
    udim.filepath = "//../udim/tile.<UDIM>.png"
    udim.tiles.new(tile_number=1002)
    seq = bpy.data.images.load(os.path.join(SHOW, "seq", "frame_0001.png"))
    seq.source = "SEQUENCE"
    seq.filepath = "//../seq/frame_0001.png"

    plane("Wood", (-2.2, 1.2, 0), emission_material("WoodMat", wood))
    plane("Checker", (0, 1.2, 0), emission_material("CheckerMat", checker))
    udim_plane = plane("Udim", (-1.1, -1.2, 0), emission_material("UdimMat", udim), scale=(2, 1, 1))
    for loop in udim_plane.data.uv_layers[0].data:
        loop.uv = (loop.uv[0] * 2, loop.uv[1])  # spans tiles 1001 and 1002
    plane("Seq", (2.2, -1.2, 0), emission_material("SeqMat", seq, image_user_frames=3))

    with bpy.data.libraries.load(os.path.join(SHOW, "assets", "lib.blend"), link=True, relative=True) as (source, target):
        target.collections = ["Prop"]
    holder = bpy.data.objects.new("PropInstance", None)
    holder.instance_type = "COLLECTION"
    holder.instance_collection = target.collections[0]
    bpy.context.scene.collection.objects.link(holder)

    camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
    camera.data.type = "ORTHO"
    camera.data.ortho_scale = 7.5
    camera.location = (0, 0, 10)
    bpy.context.scene.collection.objects.link(camera)
    scene = bpy.context.scene
    scene.camera = camera
    scene.render.engine = "CYCLES"
    scene.cycles.samples = 2
    scene.cycles.use_denoising = False
    scene.render.resolution_x, scene.render.resolution_y = 48, 32
    scene.render.resolution_percentage = 100
    scene.frame_start, scene.frame_end = 1, 3
    scene.render.image_settings.file_format = "PNG"
    bpy.ops.wm.save_as_mainfile(filepath=shot, relative_remap=False)


make_library()
make_shot()
