"""Every file a .blend needs to render, found by Blender itself, and the farm's
remapping of those paths onto the uploaded copies.

Imported by inspect_scene.py (tracing, on the submitting machine) and by
render_frames.py (remapping, on the farm, before the first frame). Standard
library and bpy only; every Blender API that differs between versions is
looked up with getattr, so this runs on Blender 3.x through 5.x.

A path is identified the same way on both machines: the file that writes it
(None for the main .blend, else the library's path as the submitting machine
resolved it) and the path exactly as written. The tracer reports, for each,
where it resolved; the submitting side decides where the uploaded copy goes
in the project (tracing knows nothing about uploads); the farm looks each
path up by that identity and points it at the copy.
"""
import json
import os
import re

import bpy

# Blender data kinds whose datablocks have one `filepath` each.
_FILE_COLLECTIONS = (
    ("sound", "sounds"),
    ("movieclip", "movieclips"),
    ("font", "fonts"),
    ("cache", "cache_files"),
    ("volume", "volumes"),
)

_WINDOWS_ABSOLUTE = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")
_DIGITS_AT_END = re.compile(r"^(.*?)(\d+)(\.[^./\\]*)?$")


class PathRef:
    """One path some datablock holds, with a way to change it (None when it cannot be changed)."""

    def __init__(self, kind, owner, library, path, setter, folder=False, sequence=False, tiles=None, packed=False, data=None):
        self.kind = kind
        self.owner = owner
        self.library = library
        self.path = path
        self.setter = setter
        self.folder = folder
        self.sequence = sequence
        self.tiles = tiles
        self.packed = packed
        self.data = data


def _library_of(datablock):
    return getattr(datablock, "library", None)


def _is_packed(datablock):
    if getattr(datablock, "packed_file", None) is not None:
        return True
    return len(getattr(datablock, "packed_files", ()) or ()) > 0


def _used(datablock):
    # Orphans (no users, no fake user) are not saved and do not render.
    return getattr(datablock, "users", 1) > 0


def _setter(target, attribute):
    def assign(value):
        setattr(target, attribute, value)
    return assign


def _label(datablock):
    return "%s \"%s\"" % (type(datablock).__name__, datablock.name)


def walk():
    """Yields a PathRef for every external path the open file (and its libraries) use."""
    for image in bpy.data.images:
        if not _used(image) or image.source not in {"FILE", "SEQUENCE", "MOVIE", "TILED"} or not image.filepath:
            continue
        tiles = [tile.number for tile in getattr(image, "tiles", ())] if image.source == "TILED" else None
        yield PathRef("image", _label(image), _library_of(image), image.filepath, _setter(image, "filepath"),
                      sequence=image.source == "SEQUENCE", tiles=tiles, packed=_is_packed(image), data=image)
    for library in bpy.data.libraries:
        yield PathRef("library", _label(library), getattr(library, "parent", None), library.filepath,
                      _setter(library, "filepath"), packed=_is_packed(library), data=library)
    for kind, collection in _FILE_COLLECTIONS:
        for datablock in getattr(bpy.data, collection, ()):
            path = getattr(datablock, "filepath", "")
            if not _used(datablock) or not path or path == "<builtin>":
                continue
            sequence = (kind == "volume" and getattr(datablock, "is_sequence", False)) or \
                       (kind == "movieclip" and getattr(datablock, "source", "") == "SEQUENCE")
            yield PathRef(kind, _label(datablock), _library_of(datablock), path, _setter(datablock, "filepath"),
                          sequence=sequence, packed=_is_packed(datablock), data=datablock)
    yield from _walk_objects()
    yield from _walk_sequencer()


def _walk_objects():
    for obj in bpy.data.objects:
        library = _library_of(obj)
        for modifier in getattr(obj, "modifiers", ()):
            owner = "%s modifier \"%s\"" % (_label(obj), modifier.name)
            if modifier.type == "FLUID":
                domain = getattr(modifier, "domain_settings", None)
                if getattr(modifier, "fluid_type", "") == "DOMAIN" and domain is not None and domain.cache_directory:
                    yield PathRef("fluid_cache", owner, library, domain.cache_directory, _setter(domain, "cache_directory"), folder=True)
            elif modifier.type == "OCEAN" and getattr(modifier, "filepath", "") and getattr(modifier, "is_cached", False):
                yield PathRef("ocean_cache", owner, library, modifier.filepath, _setter(modifier, "filepath"), folder=True)
            cache = getattr(modifier, "point_cache", None)
            if cache is not None:
                yield from _point_cache(cache, owner, library)
        for system in getattr(obj, "particle_systems", ()):
            yield from _point_cache(system.point_cache, "%s particles \"%s\"" % (_label(obj), system.name), library)


def _point_cache(cache, owner, library):
    if getattr(cache, "use_external", False) and cache.filepath:
        yield PathRef("point_cache", owner, library, cache.filepath, _setter(cache, "filepath"), folder=True)
    elif getattr(cache, "use_disk_cache", False):
        # Blender keeps disk caches in "blendcache_<file name>" beside the file that owns them.
        owner_file = library.filepath if library is not None else bpy.data.filepath
        stem = os.path.splitext(os.path.basename(owner_file))[0]
        yield PathRef("point_cache", owner, library, "//blendcache_%s" % stem, None, folder=True)


def _walk_sequencer():
    for scene in bpy.data.scenes:
        editor = getattr(scene, "sequence_editor", None)
        if editor is None:
            continue
        strips = getattr(editor, "strips_all", None) or getattr(editor, "sequences_all", ())
        for strip in strips:
            owner = "%s strip \"%s\"" % (_label(scene), strip.name)
            if strip.type == "IMAGE":
                yield PathRef("sequencer", owner, _library_of(scene), strip.directory, _setter(strip, "directory"),
                              folder=True, data=[element.filename for element in strip.elements])
            elif strip.type == "MOVIE" and getattr(strip, "filepath", ""):
                yield PathRef("sequencer", owner, _library_of(scene), strip.filepath, _setter(strip, "filepath"))


def is_foreign_absolute(path):
    """A Windows absolute path (C:\\..., \\\\server\\share) read on a machine that is not Windows."""
    return os.name != "nt" and bool(_WINDOWS_ABSOLUTE.match(path))


def resolve(path, base_dir, path_maps=()):
    """Where a path as written points, with the writing file in base_dir; `//` is that file's folder.

    Backslashes in relative paths (files saved on Windows) count as separators.
    A Windows absolute path on another system goes through the first matching
    path map (from, to), compared without regard to case or slash direction;
    without one it is returned as written (it cannot exist here).
    """
    if path.startswith("//"):
        relative = path[2:].replace("\\", "/") if os.name != "nt" else path[2:]
        return os.path.normpath(os.path.join(base_dir, relative))
    if is_foreign_absolute(path):
        for source, target in path_maps:
            if _starts_with_folder(path, source):
                rest = path[len(source):].replace("\\", "/").lstrip("/")
                return os.path.normpath(os.path.join(target, rest))
        return path
    for source, target in path_maps:
        if _starts_with_folder(path, source):
            return os.path.normpath(os.path.join(target, path[len(source):].lstrip("/\\")))
    return os.path.normpath(path)


def _starts_with_folder(path, folder):
    plain = lambda text: text.replace("\\", "/").rstrip("/").lower()
    head, start = plain(path), plain(folder)
    return head == start or head.startswith(start + "/")


def _base_dir(library, library_paths):
    if library is None:
        return os.path.dirname(bpy.data.filepath)
    return os.path.dirname(library_paths.get(library.name, bpy.path.abspath(library.filepath)))


def _sequence_files(resolved):
    """Every file of an image or volume sequence: the same name with any frame number."""
    folder, name = os.path.split(resolved)
    match = _DIGITS_AT_END.match(name)
    if match is None:
        return [resolved] if os.path.isfile(resolved) else []
    head, _, tail = match.groups()
    pattern = re.compile(re.escape(head) + r"\d+" + re.escape(tail or "") + "$")
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return sorted(os.path.join(folder, other) for other in names if pattern.match(other))


def _tile_files(resolved, tiles):
    files = []
    for number in tiles:
        u, v = (number - 1001) % 10 + 1, (number - 1001) // 10 + 1
        files.append(resolved.replace("<UDIM>", str(number)).replace("<UVTILE>", "u%d_v%d" % (u, v)))
    return files


def _folder_files(folder):
    found = []
    for root, _, names in os.walk(folder):
        found.extend(os.path.join(root, name) for name in names)
    return sorted(found)


def _files_of(ref, resolved):
    """(files that exist, files that should but do not)."""
    if ref.folder:
        if ref.kind == "sequencer":
            wanted = [os.path.join(resolved, name) for name in ref.data]
        else:
            return (_folder_files(resolved), []) if os.path.isdir(resolved) else ([], [] if ref.setter is None else [resolved])
    elif ref.tiles is not None:
        wanted = _tile_files(resolved, ref.tiles)
    elif ref.sequence:
        found = _sequence_files(resolved)
        return (found, []) if found else ([], [resolved])
    else:
        wanted = [resolved]
    existing = [path for path in wanted if os.path.isfile(path)]
    return existing, [path for path in wanted if not os.path.isfile(path)]


def _parents_first(library_refs):
    ordered, seen, pending = [], set(), list(library_refs)
    while pending:
        ready = [ref for ref in pending if ref.library is None or ref.library.name in seen or
                 all(other.data.name != ref.library.name for other in pending)]
        if not ready:
            ready = pending[:1]
        for ref in ready:
            ordered.append(ref)
            seen.add(ref.data.name)
            pending.remove(ref)
    return ordered


def trace(path_maps=()):
    """The dependency list of the open file, as JSON-ready dicts (see src/packing/dependencies.ts)."""
    library_paths = {}
    refs = list(walk())
    # Libraries first, parents before children: the files a library uses
    # resolve relative to where the library itself was found.
    for ref in _parents_first([ref for ref in refs if ref.kind == "library"]):
        library_paths[ref.data.name] = resolve(ref.path, _base_dir(ref.library, library_paths), path_maps)
    dependencies = []
    for ref in refs:
        resolved = resolve(ref.path, _base_dir(ref.library, library_paths), path_maps)
        files, missing = ([], []) if ref.packed else _files_of(ref, resolved)
        dependencies.append({
            "kind": ref.kind,
            "owner": ref.owner,
            "library": None if ref.library is None else library_paths.get(ref.library.name),
            "path": ref.path,
            "resolved": resolved,
            "folder": ref.folder,
            "packed": ref.packed,
            "files": files,
            "missing": missing,
        })
    return dependencies


def _already_at(ref, target):
    """Whether the path already resolves to the uploaded copy here (a file inside the project, written relative)."""
    try:
        here = bpy.path.abspath(ref.path, library=ref.library)
    except (TypeError, ValueError):
        return False
    return os.path.normpath(here) == os.path.normpath(target)


def remap(map_path, project_root, warn):
    """Points every traced path at the uploaded copy, as the submitting machine's map says.

    Changes only the data in memory (never saves). Libraries are remapped and
    reloaded first, repeatedly, since a reloaded library can bring libraries
    of its own. Returns (paths remapped, paths the map did not cover that do
    not resolve here).
    """
    with open(map_path, encoding="utf-8") as handle:
        entries = json.load(handle)["entries"]
    targets = {(entry["library"], entry["path"]): entry for entry in entries}
    client_paths = {}  # library name -> where the submitting machine found it
    remapped = set()
    unresolved = []

    def identity(ref):
        library = None if ref.library is None else client_paths.get(ref.library.name)
        return targets.get((library, ref.path))

    for _ in range(64):
        changed = False
        for ref in walk():
            if ref.kind != "library" or ref.data.name in client_paths:
                continue
            if ref.library is not None and ref.library.name not in client_paths:
                continue  # its parent first: the path is written relative to the parent
            changed = True
            entry = identity(ref)
            client_paths[ref.data.name] = entry["resolved"] if entry else bpy.path.abspath(ref.path)
            target = None if entry is None else os.path.join(project_root, *entry["target"].split("/"))
            if target and not ref.packed and not _already_at(ref, target):
                ref.setter(target)
                reload = getattr(ref.data, "reload", None)
                if reload is not None:
                    reload()
                remapped.add(("library", ref.data.name))
        if not changed:
            break

    for ref in walk():
        if ref.kind == "library" or ref.packed:
            continue
        entry = identity(ref)
        if entry is None:
            here = bpy.path.abspath(ref.path, library=ref.library) if ref.path.startswith("//") else ref.path
            if not os.path.exists(here.replace("<UDIM>", "1001")) and ref.kind != "point_cache":
                unresolved.append("%s: %s" % (ref.owner, ref.path))
            continue
        target = os.path.join(project_root, *entry["target"].split("/"))
        if ref.setter is None or _already_at(ref, target):
            continue
        if ref.folder and ref.kind == "sequencer":
            target = target.rstrip("/") + "/"
        try:
            ref.setter(target)
            remapped.add((ref.kind, ref.owner))
        except (AttributeError, TypeError, ValueError) as error:
            warn("could not point %s at the uploaded %s: %s" % (ref.owner, entry["target"], error))
    return len(remapped), unresolved
