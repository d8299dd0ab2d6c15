"""Installs and enables the add-on zip given after "--" into the user config Blender was started with, then saves the preferences."""
import json
import sys

import bpy

zip_path = sys.argv[sys.argv.index("--") + 1]
bpy.ops.preferences.addon_install(filepath=zip_path)
bpy.ops.preferences.addon_enable(module="brender_submit")
bpy.ops.wm.save_userpref()
print(json.dumps({"installed": "brender_submit" in bpy.context.preferences.addons}))
