"""
What a submission uploads: the .blend and the files it uses, laid out as a
folder under their common root, so the relative paths stored in the .blend
(`//../textures/wood.png`) still resolve on the farm without remapping
anything in the user's file. No bpy here, so it is tested with plain Python.
"""
import hashlib
import os
import re

# What `brender serve` refuses in an upload's paths (see its README: no "..", control characters, backslashes).
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f\\]")


class Layout:
    """The files to upload as (name inside the upload, path on disk), and the .blend's name in it."""

    def __init__(self, entries, blend, outside, total_bytes):
        self.entries = entries
        self.blend = blend
        self.outside = outside
        self.total_bytes = total_bytes


def upload_layout(blend_path, dependencies, size_of=os.path.getsize):
    """
    `dependencies` are absolute paths of existing files. The upload's top
    folder is the common root's name; `blend` is the .blend's path below it,
    as `settings.blend` takes it. Raises ValueError naming a path the server
    would refuse, or files with no common root (different drives).
    """
    blend = os.path.normpath(os.path.abspath(blend_path))
    files = [blend]
    for path in dependencies:
        normal = os.path.normpath(os.path.abspath(path))
        if normal not in files:
            files.append(normal)
    try:
        root = os.path.commonpath([os.path.dirname(path) for path in files])
    except ValueError:
        drives = sorted({os.path.splitdrive(path)[0] for path in files})
        raise ValueError("the .blend uses files on several drives (%s): copy them onto the .blend's drive, then submit again." % ", ".join(drives)) from None
    top = _top_name(root, blend)
    entries = []
    for path in files:
        relative = os.path.relpath(path, root).replace(os.sep, "/")
        if _BAD_NAME.search(relative) or any(part in ("", ".", "..") for part in relative.split("/")):
            raise ValueError('the file "%s" has a name the server cannot take (control characters or backslashes): rename it, then submit again.' % path)
        entries.append((top + "/" + relative, path))
    folder = os.path.dirname(blend)
    outside = sum(1 for path in files[1:] if os.path.commonpath([folder, path]) != folder)
    total = sum(size_of(path) for path in files)
    return Layout(entries, entries[0][0].split("/", 1)[1], outside, total)


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


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def layout_digest(layout, hash_file=file_sha256):
    """One SHA-256 over every file's name and content hash: equal digests, equal uploads."""
    digest = hashlib.sha256()
    for name, path in sorted(layout.entries):
        digest.update(("%s\0%s\n" % (name, hash_file(path))).encode("utf-8"))
    return digest.hexdigest()
