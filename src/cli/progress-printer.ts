import { parseProgressEventLine } from "../domain/progress-events.ts";

/**
 * Turns the worker's JSON event lines into short human lines. Lines that are
 * not events (a custom script's own output) are passed through when `verbose`.
 */
export function progressPrinter(write: (text: string) => void, { verbose = false } = {}): (line: string) => void {
  return (chunk: string) => {
    for (const line of chunk.split("\n")) {
      if (line.trim() === "") continue;
      const event = parseProgressEventLine(line);
      if (!event) {
        if (verbose) write(`${line}\n`);
        continue;
      }
      switch (event.type) {
        case "child_started":
          if (event.frameCount > 0) write(`render child ${event.child}: frames ${event.frames}\n`);
          break;
        case "render_settings":
          write(`  ${event.engine} on ${event.device}, ${event.resolution.x}x${event.resolution.y} at ${event.resolution.percentage}%, ${event.format}\n`);
          break;
        case "frame_finished":
          write(event.reused ? `  frame ${event.frame} already rendered, kept\n` : `  frame ${event.frame} done in ${event.seconds?.toFixed(2) ?? "?"} s\n`);
          break;
        case "frame_failed":
          write(`  frame ${event.frame} FAILED: ${event.reason}\n`);
          break;
        case "warning":
          write(`  warning: ${event.message}\n`);
          break;
        case "child_finished":
          if (event.status === "failed") write(`render child ${event.child} FAILED: ${event.reason ?? "unknown reason"}\n`);
          break;
      }
    }
  };
}
