"""The compositor's File Output nodes, for render_frames.py and inspect_scene.py.

File Output nodes write images wherever their paths say, also from inside
node groups, so both scripts find them the same way: every one, at any depth.
Feature detection, not version checks:
- the compositor tree: scene.compositing_node_group (Blender 5.0+), else
  scene.node_tree when scene.use_nodes;
- a node's folder: node.directory (5.0+), else node.base_path;
- the paths under it: node.file_output_items[].name and node.file_name (5.0+),
  else node.file_slots[].path.
"""
import re

# A Windows drive ("C:") or leading separator makes a path absolute; ".." climbs out.
SEPARATORS = re.compile(r"[\\/]+")
DRIVE = re.compile(r"^[A-Za-z]:")


def compositor_tree(scene):
    """The node tree the compositor runs for this scene, or None."""
    tree = getattr(scene, "compositing_node_group", None)
    if tree is not None:
        return tree
    if not getattr(scene, "use_nodes", False):
        return None
    return getattr(scene, "node_tree", None)


def file_output_nodes(tree):
    """Yields (node, groups) for each File Output node in tree and in the node
    groups it uses, at any depth; groups names the node groups leading to it.
    A node group used twice holds one set of nodes, so it is visited once."""
    visited = set()

    def walk(current, groups):
        for node in current.nodes:
            if node.type == "OUTPUT_FILE":
                yield node, groups
            elif node.type == "GROUP" and node.node_tree is not None:
                key = node.node_tree.as_pointer()
                if key not in visited:
                    visited.add(key)
                    yield from walk(node.node_tree, groups + (node.node_tree.name,))

    visited.add(tree.as_pointer())
    yield from walk(tree, ())


def folder_attribute(node):
    return "directory" if hasattr(node, "directory") else "base_path"


def input_fields(node):
    """(owner, attribute) of each per-input path, joined to the node's folder when writing."""
    if hasattr(node, "file_output_items"):
        return [(item, "name") for item in node.file_output_items]
    return [(slot, "path") for slot in node.file_slots]


def path_fields(node):
    """Every path the node joins to its folder: the inputs', and the file name on 5.0+."""
    fields = input_fields(node)
    if hasattr(node, "file_name"):
        fields.append((node, "file_name"))
    return fields


def climbs_out(path):
    """True when a path joined to a folder could land outside it."""
    return path.startswith(("/", "\\")) or bool(DRIVE.match(path)) or ".." in SEPARATORS.split(path)


def contained(path):
    """The path without its root and its "." and ".." parts: joined to a folder, it stays inside."""
    parts = [part for part in SEPARATORS.split(DRIVE.sub("", path)) if part not in ("", ".", "..")]
    flat = "/".join(parts)
    if flat and path[-1:] in ("/", "\\"):
        flat += "/"  # a trailing separator means "a folder, files named by frame number only"
    return flat
