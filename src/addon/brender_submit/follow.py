"""
Following a render without freezing Blender: a timer asks a background
thread to fetch GET /api/renders/ID every few seconds and redraws the panel
when the answer changes. bpy is only touched from the timer (main thread).
"""
import threading

import bpy

from . import status
from .api import BrenderError

POLL_SECONDS = 2.0

# Module state, not scene properties: following a render must not mark the file as changed.
STATE = {
    "connection": ("", False),  # the last connection test: (text, is_error)
    "message": ("", False),  # the last submission's outcome or failure
    "submitting": "",  # what a submission in flight is doing ("Uploading 40 %")
    "estimate": None,  # the last estimate: {settings, digest, stored, text}; sent with a submit of the same project and settings
    "farms": None,  # GET /api/farms, after Refresh or a connection test
    "watch": None,  # (server, token, render_id) being followed
    "detail": None,  # its latest GET /api/renders/ID
    "error": "",  # why the latest fetch failed
    "busy": False,
    "changed": False,
}


def set_message(text, is_error=False):
    STATE["message"] = (text, is_error)
    redraw()


def redraw():
    window_manager = getattr(bpy.context, "window_manager", None)
    for window in getattr(window_manager, "windows", []):
        for area in window.screen.areas:
            if area.type in ("PROPERTIES", "PREFERENCES"):
                area.tag_redraw()


def watch(client, render_id):
    """Starts following `render_id` (replacing any render followed before)."""
    STATE.update(watch=(client, render_id), detail=None, error="", changed=True)
    if bpy.app.background:
        return  # no event loop runs timers; scripts ask the server themselves
    if not bpy.app.timers.is_registered(_tick):
        bpy.app.timers.register(_tick, first_interval=0.1, persistent=True)


def _fetch(client, render_id):
    try:
        detail = client.get("renders/" + render_id)
        if STATE["watch"] and STATE["watch"][1] == render_id:
            STATE.update(detail=detail, error="", changed=True)
    except BrenderError as error:
        STATE.update(error=str(error), changed=True)
    finally:
        STATE["busy"] = False


def _tick():
    followed = STATE["watch"]
    if followed is None:
        return None
    if STATE["changed"]:
        STATE["changed"] = False
        redraw()
    detail = STATE["detail"]
    if detail is not None and status.is_final(detail) and not STATE["busy"]:
        return None  # the final answer is in: nothing more will change
    if not STATE["busy"]:
        STATE["busy"] = True
        threading.Thread(target=_fetch, args=followed, daemon=True).start()
    return POLL_SECONDS


def stop():
    STATE.update(watch=None, busy=False)
    if bpy.app.timers.is_registered(_tick):
        bpy.app.timers.unregister(_tick)
