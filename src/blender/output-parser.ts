/**
 * Reads Blender's console output, one line at a time. Our bpy scripts print
 * `@@BRENDER {json}` markers for what only they know (frame started, file
 * saved, warnings); Blender itself prints status lines such as
 *   Fra:12 Mem:13.17M (Peak 14.93M) | Time:00:00.37 | ... | Sample 16/16     (Cycles)
 *   Fra:1 Mem:13.47M (Peak 14.30M) | Time:00:01.25 | Rendering 1 / 16 samples (Eevee)
 * and from Blender 5.0 with a time and log category first and spaces after the colons:
 *   00:01.430  render           | Fra: 1 | Remaining: 00:05.86 | Mem: 4M | Sample 1/16
 */
export const MARKER_PREFIX = "@@BRENDER ";

export type BlenderLine =
  | { readonly kind: "marker"; readonly payload: unknown }
  | { readonly kind: "samples"; readonly frame: number; readonly sample: number; readonly samples: number }
  | { readonly kind: "error"; readonly message: string }
  | { readonly kind: "other" };

const FRAME = /^(?:\d+:\d+\.\d+\s+\S+\s*\|\s*)?Fra:\s*(-?\d+)\s/;
const CYCLES_SAMPLES = /\|\s*Sample (\d+)\/(\d+)/;
const EEVEE_SAMPLES = /\|\s*Rendering (\d+) \/ (\d+) samples/;
const ERROR = /^(?:Error|ERROR|Traceback|.*Exception:)/;

export function parseBlenderLine(line: string): BlenderLine {
  if (line.startsWith(MARKER_PREFIX)) {
    try {
      return { kind: "marker", payload: JSON.parse(line.slice(MARKER_PREFIX.length)) };
    } catch {
      return { kind: "other" };
    }
  }
  const frame = FRAME.exec(line);
  if (frame) {
    const samples = CYCLES_SAMPLES.exec(line) ?? EEVEE_SAMPLES.exec(line);
    if (samples) {
      return { kind: "samples", frame: Number(frame[1]), sample: Number(samples[1]), samples: Number(samples[2]) };
    }
    return { kind: "other" };
  }
  if (ERROR.test(line)) return { kind: "error", message: line.trim() };
  return { kind: "other" };
}

/** Splits a stream of text chunks into lines (\n, \r\n or \r), keeping the unfinished tail. */
export class LineSplitter {
  private tail = "";

  push(chunk: string): string[] {
    const text = this.tail + chunk;
    const lines = text.split(/\r\n|\n|\r/);
    this.tail = lines.pop() ?? "";
    return lines;
  }

  end(): string[] {
    const rest = this.tail;
    this.tail = "";
    return rest.length > 0 ? [rest] : [];
  }
}
