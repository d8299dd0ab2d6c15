/** The major.minor release in a Blender version: "4.3" and "4.2.1 LTS" give [4, 3] and [4, 2]. */
function releaseOf(version: string): [number, number] | undefined {
  const match = /^(\d+)\.(\d+)/.exec(version.trim());
  return match ? [Number(match[1]), Number(match[2])] : undefined;
}

/**
 * The warning for a .blend saved by a newer Blender release than the one
 * reading or rendering it, else undefined. `savedWith` comes from the file's
 * header ("4.3"), `blender` from Blender itself ("3.4.1"). Patch releases do
 * not change what a file holds, so only major.minor are compared.
 */
export function newerFileWarning(savedWith: string, blender: string): string | undefined {
  const saved = releaseOf(savedWith);
  const running = releaseOf(blender);
  if (!saved || !running) return undefined;
  if (saved[0] < running[0] || (saved[0] === running[0] && saved[1] <= running[1])) return undefined;
  const runningRelease = `${running[0]}.${running[1]}`;
  return (
    `The file was saved by Blender ${savedWith}, newer than Blender ${blender} that renders it here: ` +
    `what ${runningRelease} does not know (newer nodes, modifiers, settings, and geometry or shaders built from them) ` +
    `is dropped or read with defaults, so frames may differ from ${savedWith}; render with Blender ${savedWith} or newer.`
  );
}
