"""
What a submission uploads: the .blend's folder as the project, laid out as
`brender render` packs it (src/packing/pack.ts, src/domain/dependencies.ts):
files inside the folder keep their place, files outside it go under
`_external/<absolute path>`, and a map (`_brender-dependencies.json`) lets
the farm point every traced path at its copy, so paths stored absolute
resolve on the farm too. No bpy here, so it is tested with plain Python.
"""
import hashlib
import json
import os
import re

# What `brender serve` refuses in an upload's paths (see its README: no "..", control characters, backslashes).
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f\\]")
# Packing's names (src/domain/dependencies.ts: EXTERNAL_PREFIX, DEPENDENCY_MAP_PATH).
EXTERNAL_PREFIX = "_external/"
DEPENDENCY_MAP_PATH = "_brender-dependencies.json"


class Layout:
    """The files to upload as (name inside the upload, path on disk), the .blend's name in it, and the farm's map (None when nothing is remapped)."""

    def __init__(self, entries, blend, outside, total_bytes, dependency_map=None):
        self.entries = entries
        self.blend = blend
        self.outside = outside
        self.total_bytes = total_bytes
        self.dependency_map = dependency_map


def _is_inside(path, root):
    return path == root or path.startswith(root.rstrip("/\\") + os.sep)


def manifest_path_of(absolute, project_root):
    """Where a file goes in the project, as packing's manifestPathOf puts it (relative inside, `_external/...` outside)."""
    if _is_inside(absolute, project_root):
        return os.path.relpath(absolute, project_root).replace("\\", "/")
    unc = re.match(r"^\\\\([^\\]+)\\(.*)$", absolute)
    if unc:
        return EXTERNAL_PREFIX + "UNC/" + unc.group(1) + "/" + unc.group(2).replace("\\", "/")
    drive = re.match(r"^([A-Za-z]):[\\/](.*)$", absolute)
    if drive:
        return EXTERNAL_PREFIX + drive.group(1).upper() + "/" + drive.group(2).replace("\\", "/")
    return EXTERNAL_PREFIX + absolute.lstrip("/")


def upload_layout(blend_path, traced, size_of=os.path.getsize):
    """
    `traced` is brender_deps.trace()'s list (packing's tracer, run in this
    Blender). The upload's top folder is the .blend's folder's name; `blend`
    is the .blend's path below it, as `settings.blend` takes it. Raises
    ValueError naming a path the server would refuse.
    """
    blend = os.path.normpath(os.path.abspath(blend_path))
    root = os.path.dirname(blend)
    top = _top_name(root, blend)
    entries = [(top + "/" + os.path.basename(blend), blend)]
    seen = {blend}
    outside = 0
    map_entries = []
    for dependency in traced:
        if dependency.get("packed") or not dependency.get("files"):
            continue
        for path in dependency["files"]:
            normal = os.path.normpath(path)
            if normal in seen:
                continue
            seen.add(normal)
            relative = manifest_path_of(normal, root)
            if _BAD_NAME.search(relative) or any(part in ("", ".", "..") for part in relative.split("/")):
                raise ValueError('the file "%s" has a name the server cannot take (control characters or backslashes): rename it, then submit again.' % path)
            if relative.startswith(EXTERNAL_PREFIX):
                outside += 1
            entries.append((top + "/" + relative, normal))
        map_entries.append({"library": dependency["library"], "path": dependency["path"], "resolved": dependency["resolved"],
                            "target": manifest_path_of(os.path.normpath(dependency["resolved"]), root)})
    total = sum(size_of(path) for _, path in entries)
    dependency_map = {"schemaVersion": 1, "entries": map_entries} if map_entries else None
    return Layout(entries, entries[0][0].split("/", 1)[1], outside, total, dependency_map)


def add_map_file(layout, folder):
    """Writes the farm's map into `folder` and adds it to the upload (packing's DEPENDENCY_MAP_PATH at the project's root)."""
    if layout.dependency_map is None:
        return layout
    path = os.path.join(folder, DEPENDENCY_MAP_PATH)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(layout.dependency_map, handle, indent=1, sort_keys=True)
    top = layout.entries[0][0].split("/", 1)[0]
    layout.entries.append((top + "/" + DEPENDENCY_MAP_PATH, path))
    return layout


def _top_name(root, blend):
    name = os.path.basename(root.rstrip("/\\"))
    if not name or _BAD_NAME.search(name) or name in (".", ".."):
        # The common root is a drive or "/": name the upload after the .blend instead.
        name = os.path.splitext(os.path.basename(blend))[0] or "project"
    return name


def format_bytes(count):
    for unit in ("bytes", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return ("%d %s" % (count, unit)) if unit == "bytes" else ("%.1f %s" % (count, unit))
        count /= 1024.0


def summary_line(layout):
    """ "Uploads shot.blend and 2 files (1 outside its folder), 3.1 MB" """
    others = len(layout.entries) - 1
    name = layout.blend.rsplit("/", 1)[-1]
    files = "" if others == 0 else " and %d file%s" % (others, "" if others == 1 else "s")
    outside = " (%d outside its folder)" % layout.outside if layout.outside else ""
    return "Uploads %s%s%s, %s" % (name, files, outside, format_bytes(layout.total_bytes))


# Hashes by (path, size, modification time): an estimate and the submit after it hash each file once.
_hashes = {}


def file_sha256(path):
    info = os.stat(path)
    key = (path, info.st_size, info.st_mtime_ns)
    known = _hashes.get(key)
    if known:
        return known
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    if len(_hashes) > 10000:
        _hashes.clear()
    _hashes[key] = digest.hexdigest()
    return _hashes[key]


def layout_digest(layout, hash_file=file_sha256):
    """One SHA-256 over every file's name and content hash: equal digests, equal uploads."""
    digest = hashlib.sha256()
    for name, path in sorted(layout.entries):
        digest.update(("%s\0%s\n" % (name, hash_file(path))).encode("utf-8"))
    return digest.hexdigest()
