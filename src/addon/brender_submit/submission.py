"""
One submission from start to end, without bpy: the settings `POST
/api/renders` takes, built from the panel's values, and the steps (ask the
server, check the farm, upload, submit) in the order that leaves nothing
half-submitted: every check runs before the first byte is uploaded.
"""
import re

from . import frames as frame_sets
from . import project
from .api import BrenderError

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


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
    email = (values.get("notify") or "").strip()
    if email:
        if not _EMAIL.match(email):
            raise BrenderError('E-mail: "%s" is not an e-mail address; write one like artist@studio.com or leave it empty.' % email)
        settings["notify"] = email
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
    step = on_step or (lambda text: None)
    step("Connecting")
    farms = client.check()
    farm_known(farms, settings.get("farm", "local"), settings.get("queue", ""))
    body = {"settings": dict(settings, blend=layout.blend)}
    key = None
    if uploads is not None:
        step("Hashing")
        key = client.server + " " + project.layout_digest(layout)
        if key in uploads:
            step("Submitting")
            try:
                return _checked(client.post("renders", dict(body, uploadId=uploads[key])))
            except BrenderError as error:
                if error.field != "uploadId":
                    raise
                del uploads[key]
    step("Uploading")
    hashes = {path: project.file_sha256(path) for _, path in layout.entries}
    upload = client.upload_blobs(layout.entries, hashes, on_bytes)
    if key is not None:
        uploads[key] = upload["uploadId"]
    step("Submitting")
    return _checked(client.post("renders", dict(body, uploadId=upload["uploadId"])))


def _checked(answer):
    if not isinstance(answer, dict) or not answer.get("renderId"):
        raise BrenderError("The server accepted the render but sent no render id: see the output of `brender serve`.")
    return answer
