"""
Takes the README's screenshot of the add-on's panel: run Blender with a
window (e.g. under `xvfb-run`) on a .blend, with the add-on enabled, as
`blender FILE --python scripts/addon-screenshot.py -- SERVER_URL OUT.png`.
It submits the file as the panel's button does, waits for the render to
end, saves the Properties editor (Output tab, maximized, scrolled to the
panel) as OUT.png, prints what the panel followed and quits.
"""
import json
import sys

import bpy

server, out = sys.argv[sys.argv.index("--") + 1:][:2]
state = {"step": "start", "ticks": 0}


def properties_area():
    window = bpy.context.window_manager.windows[0]
    areas = [area for area in window.screen.areas if area.type == "PROPERTIES"]
    return window, max(areas, key=lambda area: area.width * area.height)


def tick():
    from brender_submit import follow, status

    state["ticks"] += 1
    window, area = properties_area()
    if state["step"] == "start":
        bpy.context.preferences.addons["brender_submit"].preferences.server_url = server
        area.spaces.active.context = "OUTPUT"
        with bpy.context.temp_override(window=window, area=area):
            bpy.ops.screen.screen_full_area()
        state["step"] = "submit"
        return 1.0
    if state["step"] == "submit":
        bpy.ops.brender.test_connection()
        # As the panel's button does: the upload runs in a thread, a modal timer watches it.
        with bpy.context.temp_override(window=window, area=area):
            bpy.ops.brender.submit_render("INVOKE_DEFAULT")
        state["step"] = "wait"
        return 1.0
    if state["step"] == "wait":
        detail = follow.STATE["detail"]
        if (detail and detail.get("status") in ("SUCCEEDED", "FAILED")) or state["ticks"] > 240:
            state["step"] = "shoot"
        return 1.0
    if state["step"] == "shoot":
        # The panel comes last in the Output tab: scroll it into view, let it draw, then shoot.
        region = next(region for region in area.regions if region.type == "WINDOW")
        with bpy.context.temp_override(window=window, area=area, region=region):
            for _ in range(6):
                bpy.ops.view2d.scroll_down(deltax=0, deltay=0, page=True)
        state["step"] = "save"
        return 1.0
    with bpy.context.temp_override(window=window, area=area):
        bpy.ops.screen.screenshot_area(filepath=out)
    detail = follow.STATE["detail"] or {}
    print("BRENDER_SCREENSHOT " + json.dumps({"renderId": bpy.context.scene.brender.last_render_id, "status": detail.get("status"),
                                               "headline": status.headline(detail) if detail else "", "message": follow.STATE["message"]}))
    bpy.ops.wm.quit_blender()
    return None


bpy.app.timers.register(tick, first_interval=2.0)
