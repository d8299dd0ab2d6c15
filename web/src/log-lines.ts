/**
 * A worker's log as lines a person reads: the worker writes pino JSON
 * (level, time, msg) and progress events (JSON, one per line) among
 * Blender's own output. Each becomes time, level and a message in words;
 * other lines stay as they are. Pure, so it is tested without a browser.
 */

export type LogLine = { readonly time?: string; readonly level: string; readonly message: string };

const PINO_LEVELS: Record<number, string> = { 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" };
/** pino's own fields, and the ones every line of a job carries: shown by the panel's heading, not per line. */
const PINO_PLUMBING = new Set(["level", "time", "pid", "hostname", "msg", "action", "child", "v"]);

/** "14:03:09", in the reader's time zone. */
export function clockOf(date: Date): string {
  return [date.getHours(), date.getMinutes(), date.getSeconds()].map((part) => String(part).padStart(2, "0")).join(":");
}

function valueText(value: unknown): string {
  if (typeof value === "string") return value;
  if (value && typeof value === "object" && "message" in value && typeof (value as { message: unknown }).message === "string") return (value as { message: string }).message;
  return JSON.stringify(value);
}

function seconds(value: unknown): string {
  return typeof value === "number" ? `${value < 10 ? value.toFixed(1) : Math.round(value)} s` : "";
}

/** A progress event in words, or undefined when the object is not one. */
function eventInWords(event: Record<string, unknown>): { level: string; message: string } | undefined {
  const e = event as Record<string, any>;
  switch (e.type) {
    case "child_started":
      return { level: "info", message: `child ${e.child} started: frames ${e.frames} (${e.frameCount} frame${e.frameCount === 1 ? "" : "s"})` };
    case "render_settings":
      return {
        level: "info",
        message: `rendering scene ${e.scene} with ${e.engine} on the ${e.device}, ${e.resolution?.x}x${e.resolution?.y} at ${e.resolution?.percentage}%, ${e.format}, ${e.fps} fps`,
      };
    case "frame_started":
      return { level: "info", message: `frame ${e.frame} started` };
    case "frame_progress":
      return { level: "info", message: `frame ${e.frame}: sample ${e.sample}/${e.samples}` };
    case "frame_finished":
      if (e.reused) return { level: "info", message: `frame ${e.frame} kept from an earlier attempt` };
      return { level: "info", message: `frame ${e.frame} done${e.seconds !== undefined ? ` in ${seconds(e.seconds)}` : ""}${e.peakMemoryMb !== undefined ? `, peak memory ${Math.round(e.peakMemoryMb)} MB` : ""}` };
    case "file_published":
      return { level: "info", message: `published ${e.key}` };
    case "frame_failed":
      return { level: "error", message: `frame ${e.frame} failed: ${e.reason}` };
    case "warning":
      return { level: "warn", message: String(e.message) };
    case "child_finished":
      return {
        level: e.status === "failed" ? "error" : "info",
        message: `child ${e.child} ${e.status}: ${e.framesDone} frame${e.framesDone === 1 ? "" : "s"} in ${seconds(e.seconds)}${e.reason ? ` (${e.reason})` : ""}`,
      };
    default:
      return undefined;
  }
}

/** One line of a log, readable. */
export function readableLine(line: string, clock: (date: Date) => string = clockOf): LogLine {
  const trimmed = line.trim();
  if (!trimmed.startsWith("{")) return { level: "", message: line };
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return { level: "", message: line };
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) return { level: "", message: line };
  const object = value as Record<string, unknown>;
  if (typeof object.type === "string") {
    const words = eventInWords(object);
    if (words) {
      const at = typeof object.at === "string" ? new Date(object.at) : undefined;
      return { ...(at && !Number.isNaN(at.getTime()) ? { time: clock(at) } : {}), ...words };
    }
  }
  if (typeof object.level === "number" && (typeof object.msg === "string" || object.err !== undefined)) {
    const extra = Object.entries(object)
      .filter(([key]) => !PINO_PLUMBING.has(key))
      .map(([key, field]) => (key === "err" ? valueText(field) : `${key}=${valueText(field)}`));
    const message = [typeof object.msg === "string" ? object.msg : "", ...extra].filter(Boolean).join(" · ");
    return { ...(typeof object.time === "number" ? { time: clock(new Date(object.time)) } : {}), level: PINO_LEVELS[object.level] ?? String(object.level), message };
  }
  return { level: "", message: line };
}

/**
 * A whole log, readable. A frame's sample-by-sample progress folds into its
 * last line (the samples reached), so the log reads frame by frame.
 */
export function readableLog(text: string, clock: (date: Date) => string = clockOf): LogLine[] {
  const lines: LogLine[] = [];
  let progressFrame: string | undefined;
  for (const raw of text.split("\n")) {
    if (raw.trim() === "") continue;
    const line = readableLine(raw, clock);
    const frame = /^frame (-?\d+): sample /.exec(line.message)?.[1];
    if (frame !== undefined && frame === progressFrame) lines[lines.length - 1] = line;
    else lines.push(line);
    progressFrame = frame;
  }
  return lines;
}
