#!/usr/bin/env python3
"""A stand-in for BLENDER_EXECUTABLE that runs the real Blender and crashes it.

When the real Blender reports that it started rendering frame CRASH_AT_FRAME
(our @@BRENDER frame_started marker), both Blender and this wrapper die with
SIGSEGV, as a real Blender crash would look to the worker.
"""
import json
import os
import signal
import subprocess
import sys

# Without CRASH_AT_FRAME (e.g. a `--version` probe from a process that does not carry it) it is plain Blender.
crash_at = int(os.environ.get("CRASH_AT_FRAME", "0"))
blender = subprocess.Popen(["blender", *sys.argv[1:]], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
for line in blender.stdout:
    sys.stdout.write(line)
    sys.stdout.flush()
    if line.startswith("@@BRENDER "):
        event = json.loads(line[len("@@BRENDER "):])
        if event.get("type") == "frame_started" and event.get("frame") == crash_at:
            blender.kill()
            blender.wait()
            os.kill(os.getpid(), signal.SIGSEGV)
sys.exit(blender.wait())
