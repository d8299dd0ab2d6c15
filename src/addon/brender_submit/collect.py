"""
The files a .blend uses, as this Blender reports them (bpy.utils.blend_paths),
for upload beside it. Missing files are listed, not skipped: submitting
without them would render pink textures on the farm.
"""
import glob
import json
import os
import time

import bpy

from . import project

# Not files on disk: Blender's own font and the like.
_BUILTIN = ("<builtin>",)
_cache = {"key": None, "at": 0.0, "value": None}


def _expand(path):
    """A UDIM pattern becomes its tiles; a folder (caches) becomes its files."""
    if "<UDIM>" in path or "<UVTILE>" in path:
        pattern = path.replace("<UDIM>", "[0-9][0-9][0-9][0-9]").replace("<UVTILE>", "u*_v*")
        return sorted(glob.glob(pattern)) or [path]
    if os.path.isdir(path):
        return [os.path.join(folder, name) for folder, _, names in os.walk(path) for name in sorted(names)]
    return [path]


def dependencies():
    """(existing files, missing paths, paths stored absolute) the current file uses, the .blend itself excluded."""
    blend = os.path.normpath(bpy.data.filepath)
    found, missing, absolute = [], [], []
    for stored in bpy.utils.blend_paths(absolute=False, packed=False, local=False):
        if not stored or stored in _BUILTIN:
            continue
        if not stored.startswith("//"):
            absolute.append(stored)
        for path in _expand(os.path.normpath(bpy.path.abspath(stored))):
            if path == blend:
                continue
            if os.path.isfile(path):
                if path not in found:
                    found.append(path)
            elif path not in missing:
                missing.append(path)
    return found, missing, absolute


def describe():
    """(summary line, warning lines) for the panel; recomputed at most every 3 s while it is drawn."""
    key = (bpy.data.filepath, bpy.data.is_dirty)
    now = time.monotonic()
    if _cache["key"] == key and now - _cache["at"] < 3.0:
        return _cache["value"]
    if not bpy.data.filepath:
        value = ("Save the .blend first: the farm renders the saved file", [])
    else:
        found, missing, absolute = dependencies()
        warnings = []
        if missing:
            warnings.append("%d missing file%s: %s" % (len(missing), "" if len(missing) == 1 else "s", ", ".join(os.path.basename(p) for p in missing[:3])))
        if absolute:
            warnings.append("%d absolute path%s (File > External Data > Make Paths Relative)" % (len(absolute), "" if len(absolute) == 1 else "s"))
        try:
            line = project.summary_line(project.upload_layout(bpy.data.filepath, found))
        except (ValueError, OSError) as error:
            line = "Cannot upload: %s" % error
        value = (line, warnings)
    _cache.update(key=key, at=now, value=value)
    return value


# Uploads already on each server, by their files' digest (see submission.submit); kept across Blender sessions.
_UPLOADS_FILE = "brender_uploads.json"
_UPLOADS_KEPT = 200


def _uploads_path():
    if __package__.startswith("bl_ext.") and hasattr(bpy.utils, "extension_path_user"):
        # Installed as an extension (4.2+): its own user folder, as extensions should.
        folder = bpy.utils.extension_path_user(__package__, create=True)
    else:
        folder = bpy.utils.user_resource("CONFIG", path="brender", create=True)
    return os.path.join(folder, _UPLOADS_FILE)


def load_uploads():
    try:
        with open(_uploads_path(), encoding="utf-8") as handle:
            value = json.load(handle)
        return value if isinstance(value, dict) else {}
    except (OSError, ValueError):
        return {}  # none yet, or unreadable: the next submission uploads again and writes it anew


def save_uploads(uploads):
    kept = dict(list(uploads.items())[-_UPLOADS_KEPT:])
    path = _uploads_path()
    try:
        with open(path + ".part", "w", encoding="utf-8") as handle:
            json.dump(kept, handle)
        os.replace(path + ".part", path)
    except OSError:
        pass  # only a cache: failing to keep it costs one upload next time
