"""Holds a started Blender until it is told which file to open and which script to run.

Run by Blender: blender -b --factory-startup -noaudio --python-exit-code 3 --python warm_start.py

Blender's own start (libraries, Python, the bundled add-ons: about half a
second) is the same for every render; a Blender started this way does it
while the render's project is still being copied (src/blender/warm-blender.ts).
It then reads one line on stdin, JSON:
    {"blendFile": PATH, "script": PATH, "args": [ARG, ...]}
opens the file as `blender -b PATH` would, and runs the script as
`--python PATH -- ARG...` would (it reads its arguments after "--"), so the
script cannot tell the difference. Stdin closed before a line (its worker
went away): Blender ends at once, having done nothing.
"""
import json
import os
import runpy
import sys

import bpy

line = sys.stdin.readline()
if not line.strip():
    os._exit(0)
request = json.loads(line)
bpy.ops.wm.open_mainfile(filepath=request["blendFile"])
sys.argv = [sys.argv[0], "--python", request["script"], "--", *request["args"]]
runpy.run_path(request["script"], run_name="__main__")
