"""
Whether Estimate and Submit must save the .blend before uploading it, decided
from the data the render depends on rather than from `bpy.data.is_dirty`
alone, so Estimate then Submit behaves the same on every Blender.

Why not is_dirty alone: Blender 4.3 and 5.x in background mode report a
file written by 4.3+ as unsaved from the moment it is opened, and still
after saving it; and 4.3 and 5.x write different bytes on two saves of
unchanged data (see blendfile.py). Saving on is_dirty there made the Submit after an
Estimate save again, send the .blend again and leave the estimate out. The
other way round, Blender 3.4 does not count a script's change (`scene.render
.resolution_x = 16`) as an edit, so trusting is_dirty could render the file
on disk without that change.

So: each time the add-on saves (or finds the file saved), it records a
digest of the data as it then was: a copy written to a temporary file and
read by blendfile.content_digest (pointers replaced by what they point to,
the UI left out). The next Estimate or Submit writes such a copy again: the same digest
means nothing the render uses changed, and the file on disk (already
uploaded) is used as it is; any other digest, or one that cannot be made,
saves the file first. The panel's own settings (scene.brender) are left out
of the copies: they travel in the request, not in the .blend, so changing
them does not make the file count as edited.

The first Estimate or Submit for a file in a session has no recorded digest
and trusts is_dirty, as before; so does one after the file was written by
something else (another save changes its size or time).
"""
import hashlib
import os
import tempfile

import bpy

from . import blendfile

# Per .blend path: {"digest": data digest when the file on disk was last known to hold that data, "file": (size, mtime) then}.
_known = {}


def _file_state(path):
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_size, info.st_mtime_ns)


def _lift_panel_settings():
    """Unsets scene.brender on every local scene; returns what to put back."""
    lifted = []
    for scene in bpy.data.scenes:
        if scene.library is None and scene.is_property_set("brender"):
            group = scene.brender
            values = {name: getattr(group, name) for name in group.bl_rna.properties.keys() if name != "rna_type" and group.is_property_set(name)}
            lifted.append((scene, values))
            scene.property_unset("brender")
    return lifted


def _put_back(lifted):
    for scene, values in lifted:
        for name, value in values.items():
            setattr(scene.brender, name, value)


def data_digest():
    """The digest of the open file's data as it is now (panel settings left out), or None when it cannot be made."""
    # One path per file and session: the copy's own path is written into it, so copies compare only at the same path.
    name = hashlib.sha256(("%d %s" % (os.getpid(), bpy.data.filepath)).encode("utf-8")).hexdigest()[:16]
    copy = os.path.join(tempfile.gettempdir(), "brender-snapshot-%s.blend" % name)
    lifted = _lift_panel_settings()
    try:
        # Uncompressed (blendfile reads no zstd) and paths as they are in memory; the open file and its state stay as they are.
        bpy.ops.wm.save_as_mainfile(filepath=copy, copy=True, compress=False, relative_remap=False, check_existing=False)
        return blendfile.content_digest(copy)
    except RuntimeError:
        return None
    finally:
        _put_back(lifted)
        for leftover in (copy, copy + "1"):  # "1": the backup Blender may keep of the previous copy
            if os.path.exists(leftover):
                os.remove(leftover)


def save_if_edited():
    """Saves the open .blend when its data differs from what the file on disk holds; returns whether it saved. Raises RuntimeError when saving fails."""
    path = bpy.data.filepath
    known = _known.get(path)
    if known is not None and known["file"] == _file_state(path):
        digest = data_digest()
        edited = digest is None or digest != known["digest"]
    else:
        digest = None
        edited = bpy.data.is_dirty
    _known.pop(path, None)
    if edited:
        bpy.ops.wm.save_mainfile()
    if digest is None:
        digest = data_digest()
    if digest is not None:
        _known[path] = {"digest": digest, "file": _file_state(path)}
    return edited
