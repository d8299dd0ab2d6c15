"""Renders one render child's frames inside Blender, as Brender's worker asks.

Run by Blender: blender -b FILE --factory-startup --python-exit-code 3 \
                        --python render_frames.py -- JOB_JSON_PATH

The job JSON is written by src/worker/actions/render.ts. This script prints
`@@BRENDER {json}` lines that the worker turns into progress events; Blender's
own status lines carry the per-sample progress (on 5.x, which prints none
while a Python script renders, the render_stats handler reports it). Every frame is rendered into
a staging folder and moved into the frames folder only when complete, so a
frame that is visible is always whole.

Exit codes: 0 all frames written (Blender is then ended at once, see
leave_at_once); 3 the settings could not be applied (a
Python error); 4 a frame failed to render.
"""
import ctypes
import json
import os
import re
import resource
import shutil
import sys
import time

import bpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compositor_outputs import (  # noqa: E402 (found next to this script)
    climbs_out, compositor_tree, contained, file_output_nodes, folder_attribute, path_fields,
)
import blender_compat as compat  # noqa: E402 (API differences between Blender versions)

MARKER = "@@BRENDER "


def emit(kind, **fields):
    print(MARKER + json.dumps({"type": kind, **fields}), flush=True)


class SettingsError(Exception):
    """A requested setting cannot be applied to this file or Blender."""


def load_job():
    return json.loads(open(sys.argv[sys.argv.index("--") + 1], encoding="utf-8").read())


def names(collection):
    return ", ".join(repr(item.name) for item in collection) or "none"


def blender_version():
    return "%d.%d" % bpy.app.version[:2]


def select_scene(name):
    if not name:
        return bpy.context.scene
    scene = bpy.data.scenes.get(name)
    if scene is None:
        raise SettingsError("scene %r is not in this file (it has %s)" % (name, names(bpy.data.scenes)))
    return scene


def select_view_layer(scene, name):
    if not name:
        return
    if scene.view_layers.get(name) is None:
        raise SettingsError("view layer %r is not in scene %r (it has %s)" % (name, scene.name, names(scene.view_layers)))
    for layer in scene.view_layers:
        layer.use = layer.name == name


def select_camera(scene, name):
    if name:
        camera = bpy.data.objects.get(name)
        if camera is None or camera.type != "CAMERA":
            cameras = [obj for obj in bpy.data.objects if obj.type == "CAMERA"]
            raise SettingsError("camera %r is not in this file (cameras: %s)" % (name, names(cameras)))
        scene.camera = camera
    if scene.camera is None:
        raise SettingsError("scene %r has no active camera; pick one with the camera setting" % scene.name)


def assign(target, attribute, value, field):
    if not hasattr(target, attribute):
        raise SettingsError("%s is not supported by Blender %s" % (field, blender_version()))
    try:
        setattr(target, attribute, value)
    except (TypeError, ValueError) as error:
        raise SettingsError("%s=%r is not accepted by Blender %s: %s" % (field, value, blender_version(), error))


def set_engine(scene, engine):
    # Blender 4.2-4.4 call Eevee "BLENDER_EEVEE_NEXT"; earlier and later versions "BLENDER_EEVEE".
    if compat.set_engine(scene, engine):
        return
    raise SettingsError("render.engine=%r is not available in Blender %s" % (engine, blender_version()))


# (payload field, Blender attribute) per settings group; the target object is chosen in apply_overrides.
RENDER_FIELDS = [("compositor", "use_compositing"), ("sequencer", "use_sequencer"), ("stamp", "use_stamp")]
RESOLUTION_FIELDS = [("x", "resolution_x"), ("y", "resolution_y"), ("percentage", "resolution_percentage")]
ASPECT_FIELDS = [("x", "pixel_aspect_x"), ("y", "pixel_aspect_y")]
OUTPUT_FIELDS = [("format", "file_format"), ("colorMode", "color_mode"), ("colorDepth", "color_depth"),
                 ("compression", "compression"), ("quality", "quality"), ("exrCodec", "exr_codec")]
CYCLES_FIELDS = [("samples", "samples"), ("adaptiveSampling", "use_adaptive_sampling"),
                 ("noiseThreshold", "adaptive_threshold"), ("adaptiveMinSamples", "adaptive_min_samples"),
                 ("filterGlossy", "blur_glossy")]
DENOISING_FIELDS = [("enabled", "use_denoising"), ("denoiser", "denoiser"),
                    ("passes", "denoising_input_passes"), ("prefilter", "denoising_prefilter")]
BOUNCE_FIELDS = [("total", "max_bounces"), ("diffuse", "diffuse_bounces"), ("glossy", "glossy_bounces"),
                 ("transmission", "transmission_bounces"), ("transparent", "transparent_max_bounces"),
                 ("volume", "volume_bounces")]
CLAMP_FIELDS = [("direct", "sample_clamp_direct"), ("indirect", "sample_clamp_indirect")]
CAUSTICS_FIELDS = [("reflective", "caustics_reflective"), ("refractive", "caustics_refractive")]


def apply_fields(values, fields, target, prefix):
    for field, attribute in fields:
        if values.get(field) is not None:
            assign(target, attribute, values[field], prefix + field)


def apply_overrides(scene, overrides):
    render = scene.render
    if overrides.get("engine"):
        set_engine(scene, overrides["engine"])
    apply_fields(overrides, RENDER_FIELDS, render, "render.")
    if overrides.get("fps") is not None:
        assign(render, "fps", overrides["fps"], "render.fps")
        render.fps_base = 1.0
    apply_fields(overrides.get("resolution") or {}, RESOLUTION_FIELDS, render, "render.resolution.")
    apply_fields(overrides.get("pixelAspect") or {}, ASPECT_FIELDS, render, "render.pixelAspect.")
    # The format first: it decides which color modes and depths exist.
    apply_fields(overrides.get("output") or {}, OUTPUT_FIELDS, render.image_settings, "render.output.")
    cycles = overrides.get("cycles") or {}
    if cycles.get("noiseThreshold") is not None and cycles.get("adaptiveSampling") is None:
        cycles = dict(cycles, adaptiveSampling=True)  # a threshold only means something with adaptive sampling on
    apply_fields(cycles, CYCLES_FIELDS, scene.cycles, "render.cycles.")
    apply_fields(cycles.get("denoising") or {}, DENOISING_FIELDS, scene.cycles, "render.cycles.denoising.")
    apply_fields(cycles.get("bounces") or {}, BOUNCE_FIELDS, scene.cycles, "render.cycles.bounces.")
    apply_fields(cycles.get("clamp") or {}, CLAMP_FIELDS, scene.cycles, "render.cycles.clamp.")
    apply_fields(cycles.get("caustics") or {}, CAUSTICS_FIELDS, scene.cycles, "render.cycles.caustics.")
    eevee = overrides.get("eevee") or {}
    if eevee.get("samples") is not None:
        assign(scene.eevee, "taa_render_samples", eevee["samples"], "render.eevee.samples")


def enable_gpu_devices():
    """Turns on the first GPU backend that has devices; returns its name, or None."""
    preferences = bpy.context.preferences.addons["cycles"].preferences
    for backend in ("OPTIX", "CUDA", "HIP", "ONEAPI", "METAL"):
        try:
            preferences.compute_device_type = backend
        except TypeError:
            continue
        preferences.get_devices()
        if any(device.type == backend for device in preferences.devices):
            for device in preferences.devices:
                device.use = device.type == backend
            return backend
    preferences.compute_device_type = "NONE"
    return None


def choose_device(scene, want_gpu, require_gpu=False):
    if scene.render.engine != "CYCLES":
        return None
    if not want_gpu:
        scene.cycles.device = "CPU"
        return None
    backend = enable_gpu_devices()
    if backend is None and require_gpu:
        # A GPU host (paid for its GPU) that Blender cannot use: rendering on its CPU would be slow and costly.
        raise SettingsError("a GPU was asked for on a GPU host, but Blender %s finds no usable OptiX or CUDA device "
                            "(check the host's NVIDIA driver and that the job asked for a GPU)" % blender_version())
    if backend is None:
        scene.cycles.device = "CPU"
        emit("warning", message="GPU rendering was asked for, but this machine has no CUDA/OptiX/HIP/oneAPI/Metal device; rendered on the CPU.")
    else:
        scene.cycles.device = "GPU"
    return backend


def has_openimagedenoise():
    try:
        import _cycles
        return bool(getattr(_cycles, "with_openimagedenoise", False))
    except ImportError:
        return False


def check_denoising(scene, gpu_backend):
    """Renders without a denoiser this Blender lacks instead of failing, and says so."""
    if scene.render.engine != "CYCLES" or not scene.cycles.use_denoising:
        return
    # A build without OpenImageDenoise (and no OptiX) offers no denoiser at all: the setting reads "".
    wants_optix = scene.cycles.denoiser == "OPTIX"
    if wants_optix and gpu_backend == "OPTIX":
        return
    if has_openimagedenoise():
        if wants_optix:
            scene.cycles.denoiser = "OPENIMAGEDENOISE"
            emit("warning", message="The file asks for OptiX denoising, which needs an NVIDIA GPU with OptiX; used OpenImageDenoise instead.")
        return
    scene.cycles.use_denoising = False
    wanted = "OptiX denoising, which needs an NVIDIA GPU with OptiX," if wants_optix else "OpenImageDenoise denoising, but"
    emit("warning", message="The file asks for %s this Blender %s build has no OpenImageDenoise; rendered without denoising (use a Blender build with OpenImageDenoise for clean frames)." % (wanted, blender_version()))


def safe_name(text):
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text) or "file_output"


def redirect_file_outputs(scene, folder):
    """Points every compositor File Output node, in node groups too, at its own
    folder under the render's output folder, and flattens input paths that are
    absolute or climb with "..": no image is written anywhere else."""
    tree = compositor_tree(scene)
    if tree is None or not scene.render.use_compositing:
        return
    used = set()
    for node, groups in file_output_nodes(tree):
        # A top-level node keeps its own name; one in a group is named after the node groups too.
        base = safe_name("-".join(groups + (node.name,)))
        name, count = base, 1
        while name in used:
            count += 1
            name = "%s_%d" % (base, count)
        used.add(name)
        setattr(node, folder_attribute(node), os.path.join(folder, name) + os.sep)
        for owner, attribute in path_fields(node):
            path = getattr(owner, attribute)
            if climbs_out(path):
                setattr(owner, attribute, contained(path))
                where = " (in group %r)" % " > ".join(groups) if groups else ""
                emit("warning", message="File Output node %r%s writes to %r, outside its folder; wrote it to compositor/%s/%s instead."
                     % (node.name, where, path, name, contained(path)))


def report_settings(scene, gpu_backend):
    render = scene.render
    emit("render_settings", scene=scene.name, engine=render.engine, fps=render.fps / render.fps_base,
         resolution={"x": render.resolution_x, "y": render.resolution_y, "percentage": render.resolution_percentage},
         format=render.image_settings.file_format, device="GPU" if gpu_backend else "CPU",
         blender=bpy.app.version_string,
         **({"gpuBackend": gpu_backend} if gpu_backend else {}))


def peak_memory_mb():
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def cpu_seconds():
    """Blender's CPU time so far: user + system of every thread, from the kernel's own accounting."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return round(usage.ru_utime + usage.ru_stime, 3)


SAMPLES = re.compile(r"Sample (\d+)/(\d+)|Rendering (\d+) / (\d+) samples")
rendering = {"frame": None}


def report_samples(*args):
    """Blender 5.x passes its status line to this handler and no longer prints it during a
    render started from Python; earlier versions print the line themselves and pass None."""
    stats = args[0] if args else None
    if not isinstance(stats, str) or rendering["frame"] is None:
        return
    found = SAMPLES.search(stats)
    if found:
        sample, samples = [int(group) for group in found.groups() if group is not None]
        emit("frame_progress", frame=rendering["frame"], sample=sample, samples=samples)


def render_frame(scene, item):
    frame = item["frame"]
    rendering["frame"] = frame
    emit("frame_started", frame=frame)
    started = time.monotonic()
    scene.frame_set(frame)
    # Each frame renders as a one-frame animation, as `blender -b FILE -a` renders it: Blender 5.x
    # File Output nodes number their files only in animations (a still would overwrite one file).
    scene.frame_end = max(scene.frame_end, frame)
    scene.frame_start = frame
    scene.frame_end = frame
    scene.render.filepath = item["partialBase"]
    scene.render.use_overwrite = True
    try:
        bpy.ops.render.render(animation=True, scene=scene.name)
    except RuntimeError as error:
        emit("frame_failed", frame=frame, reason=str(error).strip())
        return False
    produced = scene.render.frame_path(frame=frame)
    if not os.path.isfile(produced):
        emit("frame_failed", frame=frame, reason="Blender finished frame %d but wrote no image" % frame)
        return False
    final = os.path.join(item["finalFolder"], os.path.basename(item["partialBase"]) + scene.render.file_extension)
    os.replace(produced, final)
    emit("frame_finished", frame=frame, file=final, seconds=round(time.monotonic() - started, 3), peakMemoryMb=peak_memory_mb(), cpuSeconds=cpu_seconds())
    return True


def remap_dependencies(job):
    """Points the file's paths at the copies uploaded with the project (brender_deps.py); saves nothing."""
    mapping = job.get("dependencyMap")
    if not mapping:
        return
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import brender_deps
    remapped, unresolved = brender_deps.remap(mapping["file"], mapping["projectRoot"], lambda message: emit("warning", message=message))
    print("Brender: %d path(s) pointed at the uploaded copies" % remapped, flush=True)
    if unresolved:
        emit("warning", message="%d file(s) the .blend uses were not found on the farm and render without them: %s" % (len(unresolved), "; ".join(unresolved[:5])))


def main():
    job = load_job()
    bpy.app.handlers.render_stats.append(report_samples)
    remap_dependencies(job)
    try:
        scene = select_scene(job.get("scene"))
        select_view_layer(scene, job.get("viewLayer"))
        select_camera(scene, job.get("camera"))
        apply_overrides(scene, job.get("overrides") or {})
        backend = choose_device(scene, bool(job.get("gpu")), bool(job.get("requireGpu")))
        check_denoising(scene, backend)
        scene.render.use_file_extension = True
        redirect_file_outputs(scene, job["compositorFolder"])
        report_settings(scene, backend)
    except SettingsError as error:
        emit("settings_error", message=str(error))
        sys.exit(3)
    for item in job["frames"]:
        os.makedirs(os.path.dirname(item["partialBase"]), exist_ok=True)
        os.makedirs(item["finalFolder"], exist_ok=True)
        if not render_frame(scene, item):
            sys.exit(4)
    leave_at_once()


def leave_at_once():
    """Ends Blender as soon as every frame is written and reported.

    Blender's own quit frees the scene, the render engine and its modules one
    by one: 50 to 100 ms after the last frame that nobody waits for (the
    render child ends only when Blender has). Everything that matters is on
    disk already; what the quit would have cleaned up is done here: its
    session temp folder (only when it is one: Blender falls back to the temp
    folder itself when it cannot make one) and C's buffered output.
    """
    session = bpy.app.tempdir.rstrip(os.sep)
    if os.path.basename(session).startswith("blender_"):
        shutil.rmtree(session, ignore_errors=True)
    sys.stdout.flush()
    sys.stderr.flush()
    ctypes.CDLL(None).fflush(None)
    os._exit(0)


main()
