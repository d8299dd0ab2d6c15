"""Times brender_deps.trace() on the open file; prints one JSON line.

Run by Blender: blender -b FILE --factory-startup --python time_trace.py -- BPY_SCRIPTS_FOLDER
"""
import json
import sys
import time

sys.path.insert(0, sys.argv[sys.argv.index("--") + 1])
import brender_deps  # noqa: E402

started = time.perf_counter()
dependencies = brender_deps.trace()
print("@@TRACE " + json.dumps({"seconds": time.perf_counter() - started, "dependencies": len(dependencies),
                              "files": sum(len(d["files"]) for d in dependencies)}), flush=True)
