"""Points the open file's paths at the copies uploaded with the project, before a custom script runs.

Run by Blender ahead of the user's script: blender -b FILE --python remap_paths.py --python SCRIPT
with BRENDER_DEPENDENCY_MAP (the packing map) and BRENDER_PROJECT_ROOT set.
Changes the data in memory only; never saves. See brender_deps.remap.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import brender_deps  # noqa: E402  (beside this script)

remapped, unresolved = brender_deps.remap(
    os.environ["BRENDER_DEPENDENCY_MAP"], os.environ["BRENDER_PROJECT_ROOT"], lambda message: print("Brender warning: " + message, flush=True)
)
print("Brender: %d path(s) pointed at the uploaded copies" % remapped, flush=True)
if unresolved:
    print("Brender warning: not found on the farm: %s" % "; ".join(unresolved[:5]), flush=True)
