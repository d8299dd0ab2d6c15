"""
Brender: render on the farm from inside Blender. Talks to `brender serve`
over its HTTP API with Python's standard library only, so the same add-on
works with this machine's server or a studio's shared one.

Blender 3.x to 4.1 read `bl_info` ("Install add-on"); 4.2 and later read
blender_manifest.toml and install it as an extension. Both name the same
version as the Brender that wrote the zip.
"""

bl_info = {
    "name": "Brender Farm",
    "author": "Brender",
    "version": (0, 1, 0),
    "blender": (3, 0, 0),
    "location": "Properties > Output > Brender Farm; Render > Submit to Brender",
    "description": "Submit renders to a Brender farm (brender serve) and follow them",
    "category": "Render",
}

from . import follow, ops, properties, ui  # noqa: E402  (bl_info must come first for Blender's scan)

_MODULES = (properties, ops, ui)


def register():
    for module in _MODULES:
        module.register()


def unregister():
    follow.stop()
    for module in reversed(_MODULES):
        module.unregister()
