"""
What the panel says about a render, from GET /api/renders/ID: status,
frames done of total, ETA and failures, as short lines. No bpy here.
"""

FINAL_STATUSES = ("SUCCEEDED", "FAILED")
_WAITING = ("SUBMITTED", "PENDING", "RUNNABLE", "STARTING")


def format_duration(seconds):
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return "%d s" % seconds
    if seconds < 3600:
        return "%d min %02d s" % divmod(seconds, 60)
    hours, rest = divmod(seconds, 3600)
    return "%d h %02d min" % (hours, rest // 60)


def headline(detail):
    """One line: "Rendering: 3/6 frames, ETA 12 s" and the like."""
    status = detail.get("status", "UNKNOWN")
    progress = detail.get("progress") or {}
    done = progress.get("framesDone", 0)
    total = progress.get("framesTotal", 0)
    frames = "%d/%d frames" % (done, total) if total else "frames not counted yet"
    if status in _WAITING:
        return "Queued (%s): %s" % (status.lower(), frames)
    if status == "RUNNING":
        eta = progress.get("etaSeconds")
        stage = detail.get("stage")
        if stage and stage != "render":
            return "Running (%s): %s" % (stage, frames)
        return "Rendering: %s%s" % (frames, ", ETA %s" % format_duration(eta) if isinstance(eta, (int, float)) else "")
    if status == "SUCCEEDED":
        return "Done: %s" % frames
    if status == "FAILED":
        reason = detail.get("reason")
        return "Failed: %s%s" % (frames, " (%s)" % reason if reason else "")
    return "%s: %s" % (status.capitalize(), frames)


def failure_lines(detail, limit=3):
    """The failed frames, at most `limit` lines, then how many more."""
    failed = (detail.get("progress") or {}).get("failedFrames") or []
    lines = ["Frame %s failed: %s" % (item.get("frame"), item.get("reason", "no reason given")) for item in failed[:limit]]
    if len(failed) > limit:
        lines.append("… and %d more failed frames (see the render's page)" % (len(failed) - limit))
    return lines


def is_final(detail):
    return detail.get("status") in FINAL_STATUSES


def frame_outputs(detail):
    """The rendered frames as {frame number: url}, from the outputs under frames/."""
    found = {}
    for output in detail.get("outputs") or []:
        name = output.get("name", "")
        if not name.startswith("frames/"):
            continue
        digits = "".join(ch for ch in name.rsplit("/", 1)[-1].rsplit(".", 1)[0] if ch.isdigit())
        if digits:
            found[int(digits)] = output.get("url")
    return found


def pick_frame(outputs, wanted):
    """The frame to show: `wanted` when rendered, else the last one rendered; None when none is."""
    if not outputs:
        return None
    return wanted if wanted in outputs else max(outputs)
