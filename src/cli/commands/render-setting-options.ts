import type { Command } from "commander";

/** The render settings `render` and `estimate` share: one list, so the two commands take the same flags. */
export function withRenderSettingOptions(command: Command, arraySizeHelp = "split the frames across N render children"): Command {
  return command
    .option("--blend <rel>", "the .blend inside a project folder")
    .option("--frames <set>", "frames, e.g. 1-250, 1-250:5, 1-10,15 (default: the scene's range)")
    .option("--engine <engine>", "cycles, eevee or workbench (default: the file's)")
    .option("--samples <n>", "render samples (Cycles or Eevee)")
    .option("--resolution <WxH>", "output size, e.g. 1920x1080")
    .option("--percentage <n>", "resolution percentage")
    .option("--format <format>", "output format: PNG, JPEG, OPEN_EXR, TIFF, ...")
    .option("--scene <name>", "the scene to render (default: the file's active scene)")
    .option("--layer <name>", "render only this view layer")
    .option("--camera <name>", "the camera to render through")
    .option("--gpu", "render on the GPU when there is one")
    .option("--array-size <n>", arraySizeHelp)
    .option("--chunk-size <n>", "N frames per render child");
}
