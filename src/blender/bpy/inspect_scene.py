"""Describes a .blend file for Brender's render form, as JSON.

Run by Blender: blender -b FILE --factory-startup --python inspect_scene.py -- OUTPUT_JSON [PATH_MAPS_JSON]
PATH_MAPS_JSON: [[from, to], ...], where files written with paths from
another machine (C:\\textures) are found here. Reads only; never saves the
file. Python in the file does not run (no -y).
"""
import json
import os
import sys

import bpy

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import brender_deps  # noqa: E402  (beside this script)
from compositor_outputs import (  # noqa: E402 (found next to this script)
    climbs_out, compositor_tree, file_output_nodes, folder_attribute, input_fields, path_fields,
)
import blender_compat as compat  # noqa: E402 (API differences between Blender versions)


def output_path():
    return sys.argv[sys.argv.index("--") + 1]


def path_maps():
    args = sys.argv[sys.argv.index("--") + 1:]
    return [tuple(pair) for pair in json.loads(args[1])] if len(args) > 1 else []


def inside(path, folder):
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # on another drive (Windows)
        return False


def file_output_info(node, groups):
    """A File Output node as saved: where each input's images go (resolved like
    Blender does, relative to the .blend) and whether any would land outside the
    .blend's folder (an absolute folder, or paths climbing with "..")."""
    base = getattr(node, folder_attribute(node))
    folder = os.path.normpath(bpy.path.abspath(base or "//"))
    project = os.path.dirname(os.path.abspath(bpy.data.filepath))
    inputs = [getattr(owner, attribute) for owner, attribute in input_fields(node)]
    writes_to = [os.path.normpath(os.path.join(folder, path)) for path in inputs]
    climbing = any(climbs_out(getattr(owner, attribute)) for owner, attribute in path_fields(node))
    return {
        "node": node.name,
        "groups": list(groups),
        "basePath": base,
        "path": folder,
        "writesTo": writes_to,
        "escapes": climbing or not all(inside(path, project) for path in [folder] + writes_to),
        "format": node.format.file_format,
        "inputs": inputs,
    }


def scene_info(scene):
    render = scene.render
    image = render.image_settings
    tree = compositor_tree(scene)
    file_outputs = [file_output_info(node, groups) for node, groups in file_output_nodes(tree)] if tree is not None else []
    cycles = getattr(scene, "cycles", None)
    return {
        "name": scene.name,
        "frameStart": scene.frame_start,
        "frameEnd": scene.frame_end,
        "frameStep": scene.frame_step,
        "frameCurrent": scene.frame_current,
        "fps": round(render.fps / render.fps_base, 3),
        "engine": render.engine,
        "resolution": {"x": render.resolution_x, "y": render.resolution_y, "percentage": render.resolution_percentage},
        "pixelAspect": {"x": render.pixel_aspect_x, "y": render.pixel_aspect_y},
        "output": {
            "format": image.file_format,
            "colorMode": image.color_mode,
            "colorDepth": image.color_depth or None,
            "filepath": render.filepath,
        },
        "camera": scene.camera.name if scene.camera else None,
        "cameras": sorted(obj.name for obj in scene.objects if obj.type == "CAMERA"),
        "viewLayers": [{"name": layer.name, "use": layer.use} for layer in scene.view_layers],
        "compositor": {"enabled": bool(render.use_compositing and tree is not None), "fileOutputs": file_outputs},
        "sequencer": bool(render.use_sequencer and compat.sequencer_strip_count(scene) > 0),
        "cycles": None if cycles is None else {
            "samples": cycles.samples,
            "adaptiveSampling": cycles.use_adaptive_sampling,
            "noiseThreshold": round(cycles.adaptive_threshold, 6),  # float32: 0.01 reads back as 0.009999999776
            "denoising": cycles.use_denoising,
            "denoiser": cycles.denoiser,
            "device": cycles.device,
            "maxBounces": cycles.max_bounces,
            "clampDirect": round(cycles.sample_clamp_direct, 6),
            "clampIndirect": round(cycles.sample_clamp_indirect, 6),
            "causticsReflective": cycles.caustics_reflective,
            "causticsRefractive": cycles.caustics_refractive,
            "filterGlossy": round(cycles.blur_glossy, 6),
        },
    }


def file_entry(kind, datablock, path, packed=False):
    absolute = bpy.path.abspath(path, library=datablock.library) if path else ""
    absolute = os.path.normpath(absolute) if absolute else ""
    return {
        "type": kind,
        "name": datablock.name,
        "path": path,
        "absolutePath": absolute,
        "packed": packed,
        "exists": packed or (bool(absolute) and os.path.exists(absolute)),
    }


def external_files():
    files = []
    for image in bpy.data.images:
        if image.source in {"FILE", "SEQUENCE", "MOVIE", "TILED"} and image.filepath:
            path = image.filepath
            if image.source == "TILED":
                path = path.replace("<UDIM>", "1001")  # the first tile stands for the set
            files.append(file_entry("image", image, path, packed=image.packed_file is not None))
    for library in bpy.data.libraries:
        files.append(file_entry("library", library, library.filepath, packed=library.packed_file is not None))
    for cache in bpy.data.cache_files:
        files.append(file_entry("cache", cache, cache.filepath))
    for sound in bpy.data.sounds:
        files.append(file_entry("sound", sound, sound.filepath, packed=sound.packed_file is not None))
    for clip in bpy.data.movieclips:
        files.append(file_entry("movieclip", clip, clip.filepath))
    for font in bpy.data.fonts:
        if font.filepath and font.filepath != "<builtin>":
            files.append(file_entry("font", font, font.filepath, packed=font.packed_file is not None))
    for volume in getattr(bpy.data, "volumes", []):
        files.append(file_entry("volume", volume, volume.filepath, packed=volume.packed_file is not None))
    return files


def main():
    result = {
        "blenderVersion": bpy.app.version_string,
        "fileVersion": "%d.%d.%d" % tuple(bpy.data.version),
        "activeScene": bpy.context.scene.name,
        "scenes": [scene_info(scene) for scene in bpy.data.scenes],
        "cameras": sorted(obj.name for obj in bpy.data.objects if obj.type == "CAMERA"),
        "externalFiles": external_files(),
        "dependencies": brender_deps.trace(path_maps()),
    }
    with open(output_path(), "w", encoding="utf-8") as handle:
        json.dump(result, handle)


main()
