"""
The files a .blend uses, traced by packing's own tracer (brender_deps.py,
shipped in the add-on's zip from src/blender/bpy/: one set of rules for
`brender render` and the add-on, image sequences and UDIM tiles included).
Missing files are listed, not skipped: submitting without them would render
pink textures on the farm.
"""
import json
import os
import time

import bpy

from . import brender_deps
from . import project

_cache = {"key": None, "at": 0.0, "value": None}


def _is_missing(dependency):
    # As packing's isMissing (src/domain/dependencies.ts).
    if dependency["packed"]:
        return False
    return bool(dependency["missing"]) or (not dependency["files"] and not (dependency["folder"] and dependency["kind"] == "point_cache"))


def dependencies():
    """(traced dependencies, missing paths, paths stored absolute) of the current file."""
    traced = brender_deps.trace()
    missing, absolute = [], []
    for dependency in traced:
        if _is_missing(dependency):
            for path in dependency["missing"] or [dependency["resolved"]]:
                if path not in missing:
                    missing.append(path)
        if not dependency["packed"] and not dependency["path"].startswith("//") and dependency["path"] not in absolute:
            absolute.append(dependency["path"])
    return traced, missing, absolute


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
            warnings.append("%d absolute path%s: uploaded and remapped on the farm" % (len(absolute), "" if len(absolute) == 1 else "s"))
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
