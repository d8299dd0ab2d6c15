"""What changed in Blender's Python API between 3.6 and 5.x, in one place.

Imported by Brender's other bpy scripts (they put this folder on sys.path).
Every helper detects the feature it needs instead of comparing versions, so a
Blender that back-ports or renames something keeps working. Where each change
comes from (Blender's Python API release notes and change logs):
- 4.2: Eevee Next's engine id "BLENDER_EEVEE_NEXT"; 5.0 renames it back to "BLENDER_EEVEE".
- 4.4: sequencer "sequences" become "strips" (5.0 drops the old names); actions get
  slots and layers, and 5.0 removes Action.fcurves (F-curves live in channelbags).
- 5.0: the compositor is a node group datablock, scene.compositing_node_group,
  instead of scene.node_tree (scene.use_nodes is deprecated); the Composite node
  is gone (the group's output is the picture); the File Output node has
  `directory`, `file_name` and `file_output_items` instead of `base_path` and `file_slots`
  (compositor_outputs.py finds and reads File Output nodes; this module makes them).
"""
import bpy

from compositor_outputs import folder_attribute  # the File Output node's folder, 3.x-4.x and 5.x alike


def blender_version():
    return "%d.%d.%d" % tuple(bpy.app.version[:3])


# --- Render engine ----------------------------------------------------------

EEVEE_IDS = ("BLENDER_EEVEE", "BLENDER_EEVEE_NEXT")


def set_engine(scene, engine):
    """Sets the engine; either Eevee id reaches this Blender's Eevee. False when it has no such engine."""
    candidates = [engine]
    if engine in EEVEE_IDS:
        candidates += [other for other in EEVEE_IDS if other != engine]
    for candidate in candidates:
        try:
            scene.render.engine = candidate
            return True
        except TypeError:
            continue
    return False


# --- Compositor --------------------------------------------------------------

def ensure_compositor_tree(scene):
    """The scene's compositor tree, made when missing: Render Layers into the output, as Blender's default."""
    if not hasattr(scene, "compositing_node_group"):
        scene.use_nodes = True  # 3.x/4.x make the default tree: Render Layers -> Composite
        return scene.node_tree
    if scene.compositing_node_group is None:
        tree = bpy.data.node_groups.new("Compositor", "CompositorNodeTree")
        layers = tree.nodes.new("CompositorNodeRLayers")
        tree.interface.new_socket(name="Image", in_out="OUTPUT", socket_type="NodeSocketColor")
        output = tree.nodes.new("NodeGroupOutput")
        output.location = (300, 0)
        tree.links.new(layers.outputs["Image"], output.inputs[0])
        scene.compositing_node_group = tree
    return scene.compositing_node_group


def render_layers_node(tree):
    return next(node for node in tree.nodes if node.type == "R_LAYERS")


def new_file_output(tree, name, folder, source, slot):
    """A File Output node in `tree` writing `source` as PNGs named after `slot` into `folder`."""
    node = tree.nodes.new("CompositorNodeOutputFile")
    node.name = name
    setattr(node, folder_attribute(node), folder)
    if hasattr(node, "file_output_items"):
        node.format.media_type = "IMAGE"  # 5.x starts File Output nodes as multilayer EXR
        node.format.file_format = "PNG"
        node.file_output_items.new("RGBA", slot)
        target = node.inputs[slot]
    else:
        node.file_slots[0].path = slot
        target = node.inputs[0]
    tree.links.new(source, target)
    return node


# --- Sequencer -------------------------------------------------------------

def sequencer_strip_count(scene):
    editor = scene.sequence_editor
    if editor is None:
        return 0
    strips = getattr(editor, "strips_all", None)
    if strips is None:
        strips = editor.sequences_all
    return len(strips)


# --- Animation -------------------------------------------------------------

def action_fcurves(action):
    """Every F-curve of an action: Action.fcurves before 5.0, the channelbags of its layers since 4.4."""
    if hasattr(action, "fcurves"):
        return list(action.fcurves)
    curves = []
    for layer in action.layers:
        for strip in layer.strips:
            for channelbag in strip.channelbags:
                curves.extend(channelbag.fcurves)
    return curves


# --- Data-blocks with node trees ------------------------------------------------

def ensure_nodes(datablock):
    """Node trees on a material or world; 5.x always has them (use_nodes is deprecated there)."""
    if getattr(datablock, "node_tree", None) is None:
        datablock.use_nodes = True
    return datablock.node_tree
