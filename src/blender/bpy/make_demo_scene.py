"""Builds Brender's demo scene (and the test scenes) from nothing.

Run by Blender: blender -b --factory-startup --python make_demo_scene.py -- OPTIONS_JSON
OPTIONS_JSON keys (all optional): output (path of the .blend to write),
frames [start, end], resolution [x, y], samples, engine, denoise (bool),
texture (path of an image to put on the floor, stored relative to the .blend),
extra_cameras (int), extra_scene (name of a second scene), compress (bool),
file_output (bool: add a compositor File Output node), file_output_slot (the
path of its input, "Image" by default), nested_file_output (the base path of a
File Output node inside a node group inside another node group).
"""
import json
import math
import os
import sys

import bpy

# Our helpers for API differences between Blender versions live beside this script.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import blender_compat as compat  # noqa: E402


def options():
    argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else []
    return json.loads(argv[0]) if argv else {}


def clear_scene():
    for obj in list(bpy.data.objects):
        bpy.data.objects.remove(obj, do_unlink=True)


def material(name, color, roughness=0.4, metallic=0.0):
    mat = bpy.data.materials.new(name)
    bsdf = compat.ensure_nodes(mat).nodes["Principled BSDF"]
    bsdf.inputs["Base Color"].default_value = (*color, 1.0)
    bsdf.inputs["Roughness"].default_value = roughness
    bsdf.inputs["Metallic"].default_value = metallic
    return mat


def floor_material(texture_path):
    mat = material("Floor", (0.8, 0.8, 0.8), roughness=0.8)
    if texture_path:
        nodes = mat.node_tree.nodes
        tex = nodes.new("ShaderNodeTexImage")
        tex.image = bpy.data.images.load(texture_path)
        mat.node_tree.links.new(tex.outputs["Color"], nodes["Principled BSDF"].inputs["Base Color"])
    return mat


def add_objects(texture_path):
    bpy.ops.mesh.primitive_plane_add(size=20, location=(0, 0, 0))
    bpy.context.object.data.materials.append(floor_material(texture_path))
    colors = [(0.9, 0.25, 0.1), (0.1, 0.5, 0.9), (0.95, 0.8, 0.1)]
    for index, color in enumerate(colors):
        angle = index * 2 * math.pi / len(colors)
        bpy.ops.mesh.primitive_uv_sphere_add(radius=0.8, location=(2 * math.cos(angle), 2 * math.sin(angle), 0.8))
        bpy.ops.object.shade_smooth()
        bpy.context.object.data.materials.append(material(f"Ball{index}", color, metallic=0.3 * index))
    bpy.ops.mesh.primitive_monkey_add(size=1.4, location=(0, 0, 1.2))
    monkey = bpy.context.object
    bpy.ops.object.shade_smooth()
    monkey.data.materials.append(material("Monkey", (0.6, 0.6, 0.65), roughness=0.2, metallic=0.8))
    return monkey


def add_light():
    bpy.ops.object.light_add(type="SUN", location=(4, -4, 8))
    sun = bpy.context.object
    sun.data.energy = 4.0
    sun.rotation_euler = (math.radians(40), math.radians(10), math.radians(30))


def add_camera(name, location, target):
    bpy.ops.object.camera_add(location=location)
    camera = bpy.context.object
    camera.name = name
    constraint = camera.constraints.new("TRACK_TO")
    constraint.target = target
    return camera


def animate(monkey, start, end):
    monkey.rotation_euler = (0, 0, 0)
    monkey.keyframe_insert("rotation_euler", frame=start)
    monkey.rotation_euler = (0, 0, 2 * math.pi)
    monkey.keyframe_insert("rotation_euler", frame=end + 1)
    for fcurve in compat.action_fcurves(monkey.animation_data.action):
        for point in fcurve.keyframe_points:
            point.interpolation = "LINEAR"


def configure_render(scene, opts):
    start, end = opts.get("frames", [1, 24])
    scene.frame_start, scene.frame_end = start, end
    scene.render.resolution_x, scene.render.resolution_y = opts.get("resolution", [320, 180])
    scene.render.resolution_percentage = 100
    scene.render.image_settings.file_format = "PNG"
    engine = opts.get("engine", "CYCLES")
    if not compat.set_engine(scene, engine):
        raise SystemExit("make_demo_scene.py: Blender %s has no render engine %r" % (compat.blender_version(), engine))
    scene.cycles.device = "CPU"
    scene.cycles.samples = opts.get("samples", 16)
    scene.cycles.use_adaptive_sampling = False
    scene.cycles.use_denoising = bool(opts.get("denoise", False))
    scene.eevee.taa_render_samples = opts.get("samples", 16)
    scene.world = scene.world or bpy.data.worlds.new("World")
    scene.world.color = (0.05, 0.06, 0.08)
    # Worlds render through their nodes when they have them (always on 5.x): the same color there.
    background = scene.world.node_tree.nodes.get("Background") if scene.world.node_tree else None
    if background is not None:
        background.inputs["Color"].default_value = (0.05, 0.06, 0.08, 1.0)


def add_file_output(scene, output_dir, slot_path=None):
    tree = compat.ensure_compositor_tree(scene)
    source = compat.render_layers_node(tree).outputs["Image"]
    compat.new_file_output(tree, "Beauty Copy", output_dir, source, slot_path or "Image")


def add_group_input(group, name):
    if hasattr(group, "interface"):  # Blender 4.0+
        group.interface.new_socket(name, in_out="INPUT", socket_type="NodeSocketColor")
    else:
        group.inputs.new("NodeSocketColor", name)


def group_node(tree, group):
    """A group node using `group` in `tree`, and the group's input node."""
    node = tree.nodes.new("CompositorNodeGroup")
    node.node_tree = group
    return node, group.nodes.new("NodeGroupInput")


def add_nested_file_output(scene, base_path):
    """Render Layers -> group "Outer" -> group "Inner" -> File Output "Nested Copy"."""
    tree = compat.ensure_compositor_tree(scene)
    outer = bpy.data.node_groups.new("Outer", "CompositorNodeTree")
    inner = bpy.data.node_groups.new("Inner", "CompositorNodeTree")
    for group in (outer, inner):
        add_group_input(group, "Image")
    outer_node, outer_input = group_node(tree, outer)
    tree.links.new(compat.render_layers_node(tree).outputs["Image"], outer_node.inputs[0])
    inner_node, inner_input = group_node(outer, inner)
    outer.links.new(outer_input.outputs[0], inner_node.inputs[0])
    compat.new_file_output(inner, "Nested Copy", base_path, inner_input.outputs[0], "Image")


def main():
    opts = options()
    scene = bpy.context.scene
    scene.name = "Demo"
    clear_scene()
    monkey = add_objects(opts.get("texture"))
    add_light()
    target = bpy.data.objects.new("CameraTarget", None)
    scene.collection.objects.link(target)
    target.location = (0, 0, 0.8)
    scene.camera = add_camera("MainCamera", (7, -7, 4.5), target)
    for index in range(opts.get("extra_cameras", 0)):
        add_camera(f"SideCamera{index + 1}", (0, -9 - 2 * index, 2), target)
    configure_render(scene, opts)
    animate(monkey, scene.frame_start, scene.frame_end)
    if opts.get("file_output"):
        add_file_output(scene, "//file_output/", opts.get("file_output_slot"))
    if opts.get("nested_file_output"):
        add_nested_file_output(scene, opts["nested_file_output"])
    if opts.get("extra_scene"):
        extra = scene.copy()  # shares the objects, has its own render settings
        extra.name = opts["extra_scene"]
        extra.use_fake_user = True  # a copied scene has no user and would not be saved
        extra.frame_start, extra.frame_end = 1, 3
        # Half the size, so a render tells which scene it came from.
        extra.render.resolution_x = scene.render.resolution_x // 2
        extra.render.resolution_y = scene.render.resolution_y // 2
    bpy.ops.wm.save_as_mainfile(
        filepath=opts.get("output", "demo.blend"),
        compress=bool(opts.get("compress", False)),
        relative_remap=True,
    )


main()
