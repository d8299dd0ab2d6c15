"""The add-on's preferences (server, token) and the per-scene submission settings (scene.brender)."""
import bpy
from bpy.props import BoolProperty, EnumProperty, IntProperty, StringProperty

from . import api, follow

PACKAGE = __package__


class BrenderPreferences(bpy.types.AddonPreferences):
    bl_idname = PACKAGE

    server_url: StringProperty(name="Server URL", description="Where `brender serve` runs", default=api.DEFAULT_SERVER)
    # PASSWORD: drawn as dots; stored with the other add-on preferences, never printed.
    token: StringProperty(name="Token", description="The token `brender serve` printed (only for servers that need one)", subtype="PASSWORD", default="")

    def draw(self, context):
        layout = self.layout
        layout.prop(self, "server_url")
        layout.prop(self, "token")
        row = layout.row()
        row.operator("brender.test_connection", icon="URL")
        text, is_error = follow.STATE["connection"]
        if text:
            row = layout.row()
            row.alert = is_error
            row.label(text=text, icon="ERROR" if is_error else "CHECKMARK")


def preferences(context=None):
    addon = (context or bpy.context).preferences.addons.get(PACKAGE)
    if addon is None:
        raise api.BrenderError("The Brender add-on is not enabled: enable it in Edit > Preferences > Add-ons.")
    return addon.preferences


def client(context=None, timeout=15.0):
    """A client for the server in the preferences, refusing a remote one when Blender may not go online (4.2+)."""
    prefs = preferences(context)
    server = api.normalize_server(prefs.server_url)
    if not getattr(bpy.app, "online_access", True) and not api.is_loopback(server):
        raise api.BrenderError("Blender's online access is off (Preferences > System > Network > Allow Online Access): allow it to reach %s." % server)
    return api.Client(server, prefs.token, timeout=timeout)


class BrenderSceneSettings(bpy.types.PropertyGroup):
    farm: StringProperty(name="Farm", description='"local" (the server\'s machine) or an AWS farm the server knows', default="local")
    queue: StringProperty(name="Queue", description="AWS farms: where the render children run (empty: the farm's default)", default="")
    use_scene_frames: BoolProperty(name="Scene Range", description="Render the scene's frame range and step", default=True)
    frames: StringProperty(name="Frames", description='Frames to render, like "1-250", "1-250:5" or "1-10,15"', default="1-250")
    split: EnumProperty(
        name="Split",
        items=[("CHILDREN", "Children", "Split the frames across a number of render children"), ("CHUNK", "Chunk Size", "A render child per this many frames")],
        default="CHILDREN",
    )
    array_size: IntProperty(name="Children", description="Render children the frames are split across", default=1, min=1, max=10000)
    chunk_size: IntProperty(name="Frames per Child", default=10, min=1, max=100000)
    attempts: IntProperty(name="Attempts", description="Tries per frame chunk before it counts as failed", default=1, min=1, max=10)
    priority: IntProperty(name="Priority", description="Higher runs first", default=0, min=-1000, max=1000)
    notify: StringProperty(
        name="Notify (e-mail or webhook URL)",
        description="E-mail addresses and Slack, Discord or https:// webhook URLs told the result, separated by commas or spaces (empty: none)",
        default="",
    )
    samples: IntProperty(name="Samples", description="Render samples (0: the file's own)", default=0, min=0, max=1 << 24)
    percentage: IntProperty(name="Resolution %", description="Resolution percentage (0: the file's)", default=0, min=0, max=10000)
    denoise: EnumProperty(
        name="Denoise",
        description="Cycles denoising on the farm",
        items=[("FILE", "File's", "As the file says"), ("ON", "On", "Denoise every frame"), ("OFF", "Off", "No denoising")],
        default="FILE",
    )
    use_gpu: BoolProperty(name="GPU", description="Render on the farm's GPUs (Cycles)", default=False)
    last_render_id: StringProperty(name="Last Render", description="The render submitted last from this scene", default="")


def scene_frames_text(scene):
    from . import frames

    return frames.scene_frames(scene.frame_start, scene.frame_end, scene.frame_step)


def panel_values(scene):
    """The values submission.render_settings takes, from scene.brender and the scene itself."""
    settings = scene.brender
    return {
        "frames": scene_frames_text(scene) if settings.use_scene_frames else settings.frames,
        "split": settings.split,
        "array_size": settings.array_size,
        "chunk_size": settings.chunk_size,
        "attempts": settings.attempts,
        "priority": settings.priority,
        "notify": settings.notify,
        "samples": settings.samples,
        "gpu": settings.use_gpu,
        "percentage": settings.percentage,
        "denoise": settings.denoise if scene.render.engine == "CYCLES" else "FILE",
        "farm": settings.farm,
        "queue": settings.queue,
        "project": bpy.path.display_name_from_filepath(bpy.data.filepath) if bpy.data.filepath else "",
    }


CLASSES = (BrenderPreferences, BrenderSceneSettings)


def register():
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.brender = bpy.props.PointerProperty(type=BrenderSceneSettings)


def unregister():
    del bpy.types.Scene.brender
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
