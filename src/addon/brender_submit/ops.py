"""The add-on's operators: submit, test the connection, choose a farm, follow, open and load results."""
import os
import shutil
import tempfile
import threading

import bpy
from bpy.props import BoolProperty, EnumProperty

from . import collect, follow, project, saving, status, submission
from .api import BrenderError, render_page_url
from .properties import client, panel_values


class _ProjectRequest:
    """
    Save, check, upload the project, then one request about it (submit or
    estimate): blocking from scripts (execute), in a thread watched by a timer
    from the panel (invoke). Subclasses give `_request` (runs in the thread:
    no bpy) and `_finish` (main thread).
    """

    def _prepare(self, context):
        """Everything that can fail before uploading: (client, layout, settings)."""
        if not bpy.data.filepath:
            raise BrenderError("Save the .blend first (File > Save As): the farm renders the saved file.")
        try:
            # Saves only when the data differs from the file on disk (not on is_dirty alone: see saving.py), so the
            # Submit after an Estimate sends nothing again and keeps the estimate, on every Blender.
            saving.save_if_edited()
        except RuntimeError as error:
            raise BrenderError("Cannot save the .blend before submitting (%s): save it yourself, then submit again." % str(error).strip()) from None
        found, missing, _ = collect.dependencies()
        if missing and not self.allow_missing:
            names = ", ".join(missing[:3]) + (" and %d more" % (len(missing) - 3) if len(missing) > 3 else "")
            raise BrenderError("%d file%s the .blend uses %s missing: %s. Find them (File > External Data > Find Missing Files), then submit again."
                               % (len(missing), "" if len(missing) == 1 else "s", "is" if len(missing) == 1 else "are", names))
        self._map_folder = tempfile.mkdtemp(prefix="brender-map-")
        try:
            layout = project.add_map_file(project.upload_layout(bpy.data.filepath, found), self._map_folder)
        except (ValueError, OSError) as error:
            raise BrenderError("Cannot upload: %s" % error) from None
        settings = submission.render_settings(panel_values(context.scene))
        self._settings = settings
        return client(context), layout, settings

    def _remove_map_folder(self):
        """The path map is uploaded with the project; its temporary folder is not needed after the submit ends, either way."""
        folder = getattr(self, "_map_folder", None)
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
            self._map_folder = None

    def _done(self, context, server_client, answer):
        self._remove_map_folder()
        self._finish(context, server_client, answer)

    def _fail(self, text):
        self._remove_map_folder()
        follow.STATE["submitting"] = ""
        follow.set_message(text, is_error=True)
        self.report({"ERROR"}, text)
        return {"CANCELLED"}

    def execute(self, context):
        """Blocking: what scripts and background mode (`blender -b file --python-expr ...`) call."""
        try:
            server_client, layout, settings = self._prepare(context)
            uploads = collect.load_uploads()
            answer = self._request(server_client, layout, settings, None, None, uploads)
        except (BrenderError, OSError) as error:
            return self._fail(str(error))
        collect.save_uploads(uploads)
        self._done(context, server_client, answer)
        return {"FINISHED"}

    def invoke(self, context, event):
        """From the panel: the upload runs in a thread, a timer watches it, so Blender stays responsive."""
        try:
            server_client, layout, settings = self._prepare(context)
        except BrenderError as error:
            return self._fail(str(error))
        job = {"done": False, "answer": None, "error": None, "sent": 0, "step": "Connecting", "uploads": collect.load_uploads()}
        self._job, self._client = job, server_client
        total = max(1, layout.total_bytes)

        def on_bytes(count):
            job["sent"] += count

        def work():
            try:
                job["answer"] = self._request(server_client, layout, settings, lambda text: job.update(step=text), on_bytes, job["uploads"])
            except BrenderError as error:
                job["error"] = str(error)
            except Exception as error:  # a bug must still end the modal operator, with a message rather than a hang
                job["error"] = "The Brender add-on failed: %r" % error
            finally:
                job["done"] = True

        self._total = total
        threading.Thread(target=work, daemon=True).start()
        window_manager = context.window_manager
        self._timer = window_manager.event_timer_add(0.25, window=context.window)
        window_manager.modal_handler_add(self)
        follow.STATE["submitting"] = "Connecting"
        follow.redraw()
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        job = self._job
        step = job["step"]
        if step == "Uploading":
            step = "Uploading %d %%" % min(100, job["sent"] * 100 // self._total)
        follow.STATE["submitting"] = step
        follow.redraw()
        if not job["done"]:
            return {"PASS_THROUGH"}
        context.window_manager.event_timer_remove(self._timer)
        if job["error"]:
            return self._fail(job["error"])
        follow.STATE["submitting"] = ""
        collect.save_uploads(job["uploads"])
        self._done(context, self._client, job["answer"])
        return {"FINISHED"}


class BRENDER_OT_submit_render(_ProjectRequest, bpy.types.Operator):
    """Save the file, upload it with the files it uses and render it on the Brender farm"""

    bl_idname = "brender.submit_render"
    bl_label = "Submit to Brender"
    bl_options = {"REGISTER"}

    allow_missing: BoolProperty(name="Allow Missing Files", description="Submit even when files the .blend uses are missing", default=False)

    def _request(self, server_client, layout, settings, on_step, on_bytes, uploads):
        # The panel's estimate travels with the render when it was made for exactly this project and these settings.
        made = follow.STATE["estimate"]
        if made and made["settings"] == settings and made["digest"] == project.layout_digest(layout):
            settings = dict(settings, estimate=made["stored"])
        return submission.submit(server_client, layout, settings, on_step, on_bytes, uploads)

    def _finish(self, context, server_client, answer):
        render_id = answer["renderId"]
        context.scene.brender.last_render_id = render_id
        follow.watch(server_client, render_id)
        for warning in answer.get("warnings") or []:
            self.report({"WARNING"}, warning)
        text = "Submitted render %s to %s" % (render_id, server_client.server)
        follow.set_message(text)
        self.report({"INFO"}, text)


class BRENDER_OT_estimate_render(_ProjectRequest, bpy.types.Operator):
    """Upload the project and have the server render a few sample frames at these settings: how long the render will take (and cost, on AWS)"""

    bl_idname = "brender.estimate_render"
    bl_label = "Estimate"
    bl_options = {"REGISTER"}

    allow_missing: BoolProperty(name="Allow Missing Files", description="Estimate even when files the .blend uses are missing", default=False)

    def _request(self, server_client, layout, settings, on_step, on_bytes, uploads):
        answer = submission.estimate(server_client, layout, settings, on_step, on_bytes, uploads)
        return {"answer": answer, "digest": project.layout_digest(layout)}

    def _finish(self, context, server_client, result):
        answer = result["answer"]
        text = submission.describe_estimate(answer)
        follow.STATE["estimate"] = {"settings": self._settings, "digest": result["digest"], "stored": answer.get("stored"), "text": text}
        follow.set_message(text)
        self.report({"INFO"}, text)


class BRENDER_OT_test_connection(bpy.types.Operator):
    """Ask the server in the preferences whether it can take renders from this add-on"""

    bl_idname = "brender.test_connection"
    bl_label = "Test Connection"

    def execute(self, context):
        try:
            server_client = client(context, timeout=5.0)
            farms = server_client.check()
        except BrenderError as error:
            follow.STATE["connection"] = (str(error), True)
            follow.redraw()
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        follow.STATE["farms"] = farms
        aws = len(farms.get("aws") or [])
        text = "Connected to %s: this machine's farm (%d cores)%s" % (
            server_client.server, farms.get("local", {}).get("cores", 0), " and %d AWS farm%s" % (aws, "" if aws == 1 else "s") if aws else "")
        follow.STATE["connection"] = (text, False)
        follow.redraw()
        self.report({"INFO"}, text)
        return {"FINISHED"}


class BRENDER_OT_refresh_farms(bpy.types.Operator):
    """List the farms the server knows"""

    bl_idname = "brender.refresh_farms"
    bl_label = "Refresh Farms"

    def execute(self, context):
        try:
            follow.STATE["farms"] = client(context, timeout=5.0).check()
        except BrenderError as error:
            follow.set_message(str(error), is_error=True)
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        return {"FINISHED"}


# Enum items must stay referenced while Blender shows them.
_farm_items = []
_queue_items = []


def _farms_enum(self, context):
    _farm_items[:] = [("local", "This Machine", "The server's own machine")]
    for entry in (follow.STATE["farms"] or {}).get("aws") or []:
        _farm_items.append((entry["farm"], "%s (AWS %s)" % (entry["farm"], entry.get("region", "")), "An AWS farm deployed with `brender farm deploy`"))
    return _farm_items


def _queues_enum(self, context):
    farm = context.scene.brender.farm
    queues = []
    for entry in (follow.STATE["farms"] or {}).get("aws") or []:
        if entry.get("farm") == farm:
            queues = entry.get("queues") or []
    _queue_items[:] = [("", "Farm Default", "The farm's default queue (spot-cpu)")] + [(queue, queue, "") for queue in queues]
    return _queue_items


class BRENDER_OT_choose_farm(bpy.types.Operator):
    """Render on this farm"""

    bl_idname = "brender.choose_farm"
    bl_label = "Choose Farm"
    bl_property = "farm"

    farm: EnumProperty(items=_farms_enum)

    def execute(self, context):
        settings = context.scene.brender
        if settings.farm != self.farm:
            settings.queue = ""
        settings.farm = self.farm
        return {"FINISHED"}


class BRENDER_OT_choose_queue(bpy.types.Operator):
    """Run the render children in this queue of the AWS farm"""

    bl_idname = "brender.choose_queue"
    bl_label = "Choose Queue"
    bl_property = "queue"

    queue: EnumProperty(items=_queues_enum)

    def execute(self, context):
        context.scene.brender.queue = self.queue
        return {"FINISHED"}


class _OnLastRender:
    """For the operators that act on the scene's last submitted render: greyed out until there is one."""

    @classmethod
    def poll(cls, context):
        return bool(context.scene.brender.last_render_id)


class BRENDER_OT_open_render_page(_OnLastRender, bpy.types.Operator):
    """Open the render's page in the Brender web UI"""

    bl_idname = "brender.open_render_page"
    bl_label = "Open Render Page"

    def execute(self, context):
        try:
            server_client = client(context)
        except BrenderError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        bpy.ops.wm.url_open(url=render_page_url(server_client.server, context.scene.brender.last_render_id, server_client.token))
        return {"FINISHED"}


class BRENDER_OT_follow_render(_OnLastRender, bpy.types.Operator):
    """Follow the last render submitted from this scene in the panel"""

    bl_idname = "brender.follow_render"
    bl_label = "Follow Render"

    def execute(self, context):
        try:
            follow.watch(client(context), context.scene.brender.last_render_id)
        except BrenderError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        return {"FINISHED"}


class BRENDER_OT_load_frame(_OnLastRender, bpy.types.Operator):
    """Download a rendered frame (the current one when rendered, else the last) and show it in an Image Editor"""

    bl_idname = "brender.load_frame"
    bl_label = "Load Frame"

    def execute(self, context):
        render_id = context.scene.brender.last_render_id
        try:
            server_client = client(context)
            detail = server_client.get("renders/" + render_id)
            outputs = status.frame_outputs(detail)
            frame = status.pick_frame(outputs, context.scene.frame_current)
            if frame is None:
                raise BrenderError("Render %s has no frames yet: wait for the first one, then load again." % render_id)
            url = outputs[frame]
            # Not bpy.app.tempdir: Blender deletes it on quit, and the image would go missing with it.
            folder = os.path.join(tempfile.gettempdir(), "brender-frames", render_id)
            os.makedirs(folder, exist_ok=True)
            target = server_client.download(url, os.path.join(folder, url.rsplit("/", 1)[-1].split("?")[0]))
        except (BrenderError, OSError) as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        image = bpy.data.images.load(target, check_existing=True)
        image.reload()
        shown = False
        for area in getattr(context.screen, "areas", []):
            if area.type == "IMAGE_EDITOR":
                area.spaces.active.image = image
                shown = True
        self.report({"INFO"}, "Loaded frame %d of %s as image \"%s\"%s" % (frame, render_id, image.name, "" if shown else "; open an Image Editor to see it"))
        return {"FINISHED"}


CLASSES = (
    BRENDER_OT_submit_render,
    BRENDER_OT_estimate_render,
    BRENDER_OT_test_connection,
    BRENDER_OT_refresh_farms,
    BRENDER_OT_choose_farm,
    BRENDER_OT_choose_queue,
    BRENDER_OT_open_render_page,
    BRENDER_OT_follow_render,
    BRENDER_OT_load_frame,
)


def register():
    for cls in CLASSES:
        bpy.utils.register_class(cls)


def unregister():
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
