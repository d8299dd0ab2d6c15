"""
One submission from start to end, without bpy: the settings `POST
/api/renders` takes, built from the panel's values, and the steps (ask the
server, check the farm, upload, submit) in the order that leaves nothing
half-submitted: every check runs before the first byte is uploaded.
"""
import re
import urllib.parse

from . import frames as frame_sets
from . import project
from .api import BrenderError

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def notify_targets(text):
    """
    The Notify field's e-mail addresses and webhook URLs, split at commas,
    semicolons and spaces, repeats dropped. Each is checked here so a typo
    stops the submission before the upload; the server checks the rest (one
    e-mail address, at most 10 webhooks) and its 400 is shown as is.
    """
    targets = []
    for part in re.split(r"[\s,;]+", text):
        if not part or part in targets:
            continue
        problem = _target_problem(part)
        if problem:
            raise BrenderError("Notify: %s" % problem)
        targets.append(part)
    return targets


def _target_problem(part):
    """Why one target is unusable (never echoing a URL's path or query, where webhooks keep their secret), or None."""
    if "://" not in part:
        if _EMAIL.match(part):
            return None
        return '"%s" is neither an e-mail address nor a URL; write artist@studio.com or https://… or leave it empty.' % part
    url = urllib.parse.urlsplit(part)
    shown = "%s://%s/…" % (url.scheme, url.hostname or "")
    if url.scheme not in ("http", "https") or not url.hostname:
        return "%s is not a web address; webhooks are https:// URLs." % shown
    if url.scheme == "http" and not _loopback(url.hostname):
        return "%s is plain http; webhooks must use https:// (http only for localhost or 127.x.x.x)." % shown
    return None


def _loopback(host):
    host = host.lower()
    return host == "localhost" or host.endswith(".localhost") or host == "::1" or re.match(r"^127(\.\d{1,3}){3}$", host) is not None


def render_settings(values):
    """
    The `settings` object from the panel's values: frames, split ("CHILDREN"
    with array_size or "CHUNK" with chunk_size), attempts, priority, notify,
    samples and percentage (0: the file's), gpu, denoise ("FILE", "ON",
    "OFF"), farm and queue (AWS farms only), project.
    """
    try:
        frames = frame_sets.check_frames(values["frames"])
    except ValueError as error:
        raise BrenderError("Frames: %s" % error) from None
    settings = {"frames": frames, "attempts": int(values.get("attempts", 1)), "priority": int(values.get("priority", 0))}
    if values.get("split") == "CHUNK":
        settings["chunkSize"] = int(values["chunk_size"])
    elif int(values.get("array_size", 1)) > 1:
        settings["arraySize"] = int(values["array_size"])
    targets = notify_targets(values.get("notify") or "")
    if targets:
        settings["notify"] = targets
    if int(values.get("samples", 0)) > 0:
        settings["samples"] = int(values["samples"])
    if values.get("gpu"):
        settings["gpu"] = True
    if int(values.get("percentage", 0)) > 0:
        settings["percentage"] = int(values["percentage"])
    if values.get("denoise") in ("ON", "OFF"):
        settings["render"] = {"cycles": {"denoising": {"enabled": values["denoise"] == "ON"}}}
    farm = values.get("farm") or "local"
    settings["farm"] = farm
    if farm != "local" and values.get("queue"):
        settings["queue"] = values["queue"]
    if values.get("project"):
        settings["project"] = values["project"]
    return settings


def farm_known(farms, farm, queue=""):
    """Raises the worded reason when the server no longer knows the farm (or its queue)."""
    if farm == "local":
        return
    for entry in farms.get("aws") or []:
        if entry.get("farm") == farm:
            if queue and queue not in (entry.get("queues") or []):
                raise BrenderError('The farm "%s" has no queue "%s" any more: pick another queue in the Brender panel.' % (farm, queue))
            return
    raise BrenderError('The server no longer knows the farm "%s" (removed?): pick another farm in the Brender panel (Refresh lists them).' % farm)


def submit(client, layout, settings, on_step=None, on_bytes=None, uploads=None):
    """
    Checks the server and farm, uploads the layout's files, submits; returns
    the server's answer ({renderId, warnings?}). `uploads` ({server and
    digest: uploadId}, kept by the caller) lets an unchanged project be
    submitted again without uploading it: the server keeps uploads renders
    came from; when it no longer has one, the files are uploaded again.
    """
    return _checked(_send(client, "renders", layout, settings, on_step, on_bytes, uploads))


def estimate(client, layout, settings, on_step=None, on_bytes=None, uploads=None):
    """
    What a render of the layout with these settings will take (and cost, on
    an AWS farm): the server renders a few sample frames (`POST
    /api/estimate`). The upload is kept in `uploads`, so the submit that
    usually follows sends nothing again.
    """
    answer = _send(client, "estimate", layout, settings, on_step, on_bytes, uploads)
    if not isinstance(answer, dict) or not isinstance(answer.get("seconds"), dict):
        raise BrenderError("The server sent no estimate: see the output of `brender serve`.")
    return answer


def _send(client, route, layout, settings, on_step, on_bytes, uploads):
    """POSTs {uploadId, settings} to `route` after the checks and the upload (skipped when `uploads` knows it)."""
    step = on_step or (lambda text: None)
    step("Connecting")
    farms = client.check()
    farm_known(farms, settings.get("farm", "local"), settings.get("queue", ""))
    body = {"settings": dict(settings, blend=layout.blend)}
    working = "Estimating" if route == "estimate" else "Submitting"
    key = None
    if uploads is not None:
        step("Hashing")
        key = client.server + " " + project.layout_digest(layout)
        if key in uploads:
            step(working)
            try:
                return client.post(route, dict(body, uploadId=uploads[key]))
            except BrenderError as error:
                if error.field != "uploadId":
                    raise
                del uploads[key]
    step("Uploading")
    hashes = {path: project.file_sha256(path) for _, path in layout.entries}
    upload = client.upload_blobs(layout.entries, hashes, on_bytes)
    if key is not None:
        uploads[key] = upload["uploadId"]
    step(working)
    return client.post(route, dict(body, uploadId=upload["uploadId"]))


def describe_estimate(answer):
    """One line for the panel: "Estimate: about 2 min (1 min 40 s to 2 min 30 s), $0.42 ($0.30 to $0.55)"."""
    seconds = answer["seconds"]
    text = "Estimate: about %s (%s to %s)" % (_duration(seconds["expected"]), _duration(seconds["low"]), _duration(seconds["high"]))
    usd = answer.get("usd")
    if usd:
        text += ", $%.2f ($%.2f to $%.2f)" % (usd["expected"], usd["low"], usd["high"])
    elif answer.get("cpuHours"):
        text += ", %.2f CPU-hours" % answer["cpuHours"]["expected"]
    return text


def _duration(seconds):
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return "%d s" % seconds
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return "%d min %d s" % (minutes, seconds) if seconds else "%d min" % minutes
    hours, minutes = divmod(minutes, 60)
    return "%d h %d min" % (hours, minutes)


def _checked(answer):
    if not isinstance(answer, dict) or not answer.get("renderId"):
        raise BrenderError("The server accepted the render but sent no render id: see the output of `brender serve`.")
    return answer
