"""
Drives the installed add-on in the .blend Blender opened, as a script would:
sets the preferences and scene.brender from the JSON after "--", runs one
operator (submit or test connection), draws the panel into a recording stub
layout, and prints one JSON line with what happened.
"""
import json
import sys

import bpy

options = json.loads(sys.argv[sys.argv.index("--") + 1])
prefs = bpy.context.preferences.addons["brender_submit"].preferences
prefs.server_url = options.get("server", prefs.server_url)
prefs.token = options.get("token", "")
for key, value in options.get("scene", {}).items():
    setattr(bpy.context.scene.brender, key, value)


class StubLayout:
    """Records what a panel draws: labels, properties and operators, in order."""

    def __init__(self, record):
        self.record = record
        self.alert = False
        self.enabled = True
        self.scale_y = 1.0

    def _child(self, *args, **kwargs):
        return StubLayout(self.record)

    row = column = box = split = _child

    def label(self, text="", icon="NONE"):
        self.record.append({"label": text, "alert": self.alert})

    def prop(self, data, name, text=None, **kwargs):
        getattr(data, name)  # a wrong property name fails here, as in Blender
        self.record.append({"prop": name, "text": text})

    def operator(self, idname, text=None, **kwargs):
        module, name = idname.split(".")
        assert hasattr(getattr(bpy.ops, module), name), idname
        self.record.append({"operator": idname, "text": text})

    def operator_menu_enum(self, idname, prop, text=None, **kwargs):
        self.record.append({"menu": idname, "text": text})

    def separator(self, **kwargs):
        pass


def draw_panel():
    record = []
    panel_class = bpy.types.BRENDER_PT_submit
    panel_class.draw(type("PanelSelf", (), {"layout": StubLayout(record), "_draw_status": panel_class._draw_status})(), bpy.context)
    return record


raised = ""
# "estimate+submit" runs both in this one Blender session, as a person pressing Estimate then Submit would;
# "estimate+edit+submit" changes the scene (options["edit"]: {"render.resolution_x": 16}) in between.
for action in options["action"].split("+"):
    try:
        if action == "submit":
            result = bpy.ops.brender.submit_render(allow_missing=options.get("allow_missing", False))
        elif action == "estimate":
            result = bpy.ops.brender.estimate_render(allow_missing=options.get("allow_missing", False))
        elif action == "test":
            result = bpy.ops.brender.test_connection()
        elif action == "load":
            result = bpy.ops.brender.load_frame()
        elif action == "edit":
            # A change to the scene between two operators, as a script makes it (Blender 3.4 does not count it as unsaved).
            for path, value in options["edit"].items():
                *owners, name = path.split(".")
                target = bpy.context.scene
                for owner in owners:
                    target = getattr(target, owner)
                setattr(target, name, value)
            result = {"FINISHED"}
        else:
            result = set()
    except RuntimeError as error:
        # bpy.ops raises what an operator reported as an error, so scripts learn of it.
        result, raised = {"CANCELLED"}, str(error)
        break
from brender_submit import follow  # noqa: E402

print("BRENDER_RESULT " + json.dumps({
    "result": sorted(result),
    "raised": raised,
    "renderId": bpy.context.scene.brender.last_render_id,
    "message": follow.STATE["message"],
    "connection": follow.STATE["connection"],
    "panel": draw_panel(),
    "images": [{"name": image.name, "size": list(image.size), "filepath": image.filepath} for image in bpy.data.images if image.filepath.endswith(".png") and "brender" in image.filepath],
}))
