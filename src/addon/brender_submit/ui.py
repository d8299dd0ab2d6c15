"""The Brender panel in Properties > Output, and Render > Submit to Brender."""
import bpy

from . import collect, follow, status
from .properties import preferences, scene_frames_text


def _lines(layout, texts, icon="NONE", alert=False):
    for text in texts:
        row = layout.row()
        row.alert = alert
        row.label(text=text, icon=icon)


class BRENDER_PT_submit(bpy.types.Panel):
    bl_label = "Brender Farm"
    bl_space_type = "PROPERTIES"
    bl_region_type = "WINDOW"
    bl_context = "output"

    def draw(self, context):
        layout = self.layout
        settings = context.scene.brender
        try:
            server = preferences(context).server_url
        except Exception:  # a panel must draw even when the preferences are unreachable
            server = "(add-on preferences missing)"

        row = layout.row()
        row.label(text="Server: %s" % server, icon="URL")
        row.operator("brender.test_connection", text="", icon="FILE_REFRESH")
        text, is_error = follow.STATE["connection"]
        if text:
            _lines(layout, [text], "ERROR" if is_error else "CHECKMARK", is_error)

        row = layout.row(align=True)
        farm_label = "This Machine" if settings.farm == "local" else settings.farm
        row.operator_menu_enum("brender.choose_farm", "farm", text="Farm: %s" % farm_label, icon="NETWORK_DRIVE")
        row.operator("brender.refresh_farms", text="", icon="FILE_REFRESH")
        if settings.farm != "local":
            layout.operator_menu_enum("brender.choose_queue", "queue", text="Queue: %s" % (settings.queue or "farm default"))

        column = layout.column()
        column.prop(settings, "use_scene_frames", text="Scene Range (%s)" % _safe_scene_frames(context.scene))
        if not settings.use_scene_frames:
            column.prop(settings, "frames")
        row = column.row()
        row.prop(settings, "split", expand=True)
        column.prop(settings, "array_size" if settings.split == "CHILDREN" else "chunk_size")
        row = column.row(align=True)
        row.prop(settings, "attempts")
        row.prop(settings, "priority")
        column.prop(settings, "notify", icon="URL")

        box = layout.box()
        engine = context.scene.render.engine
        box.label(text="Render (%s)" % _engine_name(engine))
        row = box.row(align=True)
        row.prop(settings, "samples", text="Samples (0: file's %s)" % _scene_samples(context.scene))
        row.prop(settings, "percentage", text="Resolution %% (0: file's %d)" % context.scene.render.resolution_percentage)
        if engine == "CYCLES":
            row = box.row(align=True)
            denoising = getattr(getattr(context.scene, "cycles", None), "use_denoising", None)
            row.label(text="Denoise (file: %s)" % ("-" if denoising is None else "on" if denoising else "off"))
            row.prop(settings, "denoise", expand=True)
            row.prop(settings, "use_gpu")

        line, warnings = collect.describe()
        _lines(layout, [line], "FILE_BLEND")
        _lines(layout, warnings, "ERROR", alert=True)

        row = layout.row()
        row.scale_y = 1.4
        submitting = follow.STATE["submitting"]
        row.enabled = not submitting
        row.operator("brender.submit_render", text=submitting + "…" if submitting else "Submit to Brender", icon="RENDER_ANIMATION")
        row.operator("brender.estimate_render", text="Estimate", icon="TIME")

        message, is_error = follow.STATE["message"]
        if message:
            _lines(layout, [message], "ERROR" if is_error else "INFO", is_error)
        estimate = follow.STATE["estimate"]
        if estimate and estimate["text"] != message:
            # Kept in view after the submit: the render page shows it next to the actual cost.
            _lines(layout, [estimate["text"]], "TIME")
        if settings.last_render_id:
            self._draw_status(layout, settings.last_render_id)

    def _draw_status(self, layout, render_id):
        box = layout.box()
        box.label(text="Render %s" % render_id, icon="RENDER_RESULT")
        followed = follow.STATE["watch"]
        detail = follow.STATE["detail"] if followed and followed[1] == render_id else None
        if detail is None:
            box.label(text="Not followed yet" if not followed or followed[1] != render_id else "Asking the server…")
        else:
            box.label(text=status.headline(detail))
            _lines(box, status.failure_lines(detail), "ERROR", alert=True)
        if follow.STATE["error"] and followed and followed[1] == render_id:
            _lines(box, [follow.STATE["error"]], "ERROR", alert=True)
        row = box.row(align=True)
        row.operator("brender.follow_render", text="", icon="FILE_REFRESH")
        row.operator("brender.open_render_page", icon="URL")
        row.operator("brender.load_frame", icon="IMAGE_DATA")


def _safe_scene_frames(scene):
    try:
        return scene_frames_text(scene)
    except ValueError:
        return "end before start"


def _engine_name(engine):
    return {"CYCLES": "Cycles", "BLENDER_EEVEE": "Eevee", "BLENDER_EEVEE_NEXT": "Eevee", "BLENDER_WORKBENCH": "Workbench"}.get(engine, engine)


def _scene_samples(scene):
    engine = scene.render.engine
    if engine == "CYCLES" and hasattr(scene, "cycles"):
        return str(scene.cycles.samples)
    eevee = getattr(scene, "eevee", None)
    if engine.startswith("BLENDER_EEVEE") and eevee is not None and hasattr(eevee, "taa_render_samples"):
        return str(eevee.taa_render_samples)
    return "-"


def draw_render_menu(self, context):
    self.layout.separator()
    self.layout.operator("brender.submit_render", icon="RENDER_ANIMATION")


def register():
    bpy.utils.register_class(BRENDER_PT_submit)
    bpy.types.TOPBAR_MT_render.append(draw_render_menu)


def unregister():
    bpy.types.TOPBAR_MT_render.remove(draw_render_menu)
    bpy.utils.unregister_class(BRENDER_PT_submit)
