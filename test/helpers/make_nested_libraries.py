"""A shot linking a library that links another library (for the packing tests).

Run by Blender: blender -b --factory-startup --python make_nested_libraries.py -- ROOT
Writes ROOT/shot/shot.blend linking collection "Outer" from "//../assets/lib1.blend";
lib1.blend's material uses an absolute path (ROOT/abs/t1.png) and it links
"Inner" from "//../other/lib2.blend", whose material uses "//t2.png".
"""
import os
import sys

import bpy

R = os.path.abspath(sys.argv[sys.argv.index("--") + 1])
def img(path, color):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    i = bpy.data.images.new("x", 4, 4); i.pixels[:] = list(color) * 16; i.filepath_raw = path; i.file_format = "PNG"; i.save(); bpy.data.images.remove(i)
def mat(name, image):
    m = bpy.data.materials.new(name); m.use_nodes = True; n = m.node_tree.nodes; n.clear()
    o = n.new("ShaderNodeOutputMaterial"); e = n.new("ShaderNodeEmission"); t = n.new("ShaderNodeTexImage"); t.image = image
    m.node_tree.links.new(e.outputs[0], o.inputs[0]); m.node_tree.links.new(t.outputs[0], e.inputs[0]); return m
def plane(name, loc, m, coll):
    me = bpy.data.meshes.new(name); me.from_pydata([(-1,-1,0),(1,-1,0),(1,1,0),(-1,1,0)], [], [(0,1,2,3)]); uv = me.uv_layers.new()
    me.materials.append(m); ob = bpy.data.objects.new(name, me); ob.location = loc; coll.objects.link(ob)
def reset(): bpy.ops.wm.read_factory_settings(use_empty=True)
# inner library
reset(); img(R + "/other/t2.png", (0.3, 0.9, 0.6, 1)); bpy.ops.wm.save_as_mainfile(filepath=R + "/other/lib2.blend")
i2 = bpy.data.images.load(R + "/other/t2.png"); i2.filepath = "//t2.png"
c = bpy.data.collections.new("Inner"); bpy.context.scene.collection.children.link(c); plane("P2", (1.2, 0, 0), mat("M2", i2), c)
bpy.ops.wm.save_as_mainfile(filepath=R + "/other/lib2.blend", relative_remap=False)
# outer library: absolute texture, links Inner
os.makedirs(R + "/assets", exist_ok=True); os.makedirs(R + "/shot", exist_ok=True)
reset(); img(R + "/abs/t1.png", (0.9, 0.4, 0.2, 1)); bpy.ops.wm.save_as_mainfile(filepath=R + "/assets/lib1.blend")
i1 = bpy.data.images.load(R + "/abs/t1.png"); i1.filepath = R + "/abs/t1.png"
c = bpy.data.collections.new("Outer"); bpy.context.scene.collection.children.link(c); plane("P1", (-1.2, 0, 0), mat("M1", i1), c)
with bpy.data.libraries.load(R + "/other/lib2.blend", link=True, relative=True) as (src, dst): dst.collections = ["Inner"]
c.children.link(dst.collections[0])
bpy.ops.wm.save_as_mainfile(filepath=R + "/assets/lib1.blend", relative_remap=False)
# shot
reset(); bpy.ops.wm.save_as_mainfile(filepath=R + "/shot/shot.blend")
with bpy.data.libraries.load(R + "/assets/lib1.blend", link=True, relative=True) as (src, dst): dst.collections = ["Outer"]
h = bpy.data.objects.new("Holder", None); h.instance_type = "COLLECTION"; h.instance_collection = dst.collections[0]; bpy.context.scene.collection.objects.link(h)
cam = bpy.data.objects.new("Cam", bpy.data.cameras.new("Cam")); cam.data.type = "ORTHO"; cam.data.ortho_scale = 5; cam.location = (0, 0, 10); bpy.context.scene.collection.objects.link(cam)
s = bpy.context.scene; s.camera = cam; s.render.engine = "CYCLES"; s.cycles.samples = 2; s.cycles.use_denoising = False
s.render.resolution_x, s.render.resolution_y = 32, 16; s.frame_start = s.frame_end = 1
bpy.ops.wm.save_as_mainfile(filepath=R + "/shot/shot.blend", relative_remap=False)
