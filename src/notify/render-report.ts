import { z } from "zod";
import { renderCostSchema } from "../domain/cost/cost-record.ts";
import { costLine } from "../domain/cost/cost-words.ts";
import { formatDuration } from "../domain/duration.ts";

export { formatDuration };

const isoTimestamp = z.iso.datetime({ offset: true });
const frameCount = z.number().int().nonnegative();

/** What the upload job knows about a finished render, successful or not. */
export const renderReportSchema = z.object({
  renderId: z.string().min(1),
  project: z.string(),
  blendFile: z.string(),
  status: z.enum(["succeeded", "failed"]),
  /** Why the render failed, e.g. "Blender exited with code 139 while rendering frame 12". */
  reason: z.string().optional(),
  framesExpected: frameCount,
  framesRendered: frameCount,
  missingFrames: z.array(z.number().int()),
  startedAt: isoTimestamp.optional(),
  finishedAt: isoTimestamp,
  renderSeconds: z.number().nonnegative().optional(),
  outputs: z.object({
    /** Where everything went: s3://bucket/prefix or a folder path. */
    location: z.string(),
    frames: z.string().optional(),
    zip: z.string().optional(),
    thumbnail: z.string().optional(),
    preview: z.string().optional(),
    /** When the zip, thumbnail and preview links stop working (the earliest of them); absent when they do not expire. */
    linksExpireAt: isoTimestamp.optional(),
  }),
  warnings: z.array(z.string()),
  host: z
    .object({
      instanceType: z.string().optional(),
      spot: z.boolean().optional(),
    })
    .optional(),
  logLink: z.string().optional(),
  /** The estimate made before submitting and what the render actually cost (AWS) or took in CPU time (local). */
  cost: renderCostSchema.optional(),
});

export type RenderReport = z.infer<typeof renderReportSchema>;

export type RenderEmail = { subject: string; text: string; html: string };

/** A labelled value; `link` marks values that are worth making clickable. */
type Row = { label: string; value: string; link?: boolean };
type Section = { title: string; rows: Row[]; list?: boolean };

// Beyond this many ranges a missing-frame list stops being readable in a mail.
const MAX_RANGES_SHOWN = 40;

/**
 * Compresses frame numbers into sorted, de-duplicated ranges: [9, 3, 4, 5] -> "3-5,9".
 * Returns "" for an empty list. With `maxRanges`, the tail is summarised as "… (+N more frames)".
 */
export function formatFrameRanges(frames: readonly number[], maxRanges = Number.POSITIVE_INFINITY): string {
  const sorted = [...new Set(frames)].sort((a, b) => a - b);
  const ranges: Array<[number, number]> = [];
  for (const frame of sorted) {
    const last = ranges[ranges.length - 1];
    if (last !== undefined && frame === last[1] + 1) last[1] = frame;
    else ranges.push([frame, frame]);
  }
  const shown = ranges.slice(0, maxRanges);
  const text = shown.map(([from, to]) => (from === to ? `${from}` : `${from}-${to}`)).join(",");
  if (shown.length === ranges.length) return text;
  const hiddenFrames = ranges.slice(maxRanges).reduce((sum, [from, to]) => sum + (to - from + 1), 0);
  return `${text},… (+${hiddenFrames} more frames)`;
}

/** Render time if the job measured it, else the wall-clock time between start and finish. */
function durationSeconds(report: RenderReport): number | undefined {
  if (report.renderSeconds !== undefined) return report.renderSeconds;
  if (report.startedAt === undefined) return undefined;
  const ms = Date.parse(report.finishedAt) - Date.parse(report.startedAt);
  return Number.isFinite(ms) && ms >= 0 ? ms / 1000 : undefined;
}

// A subject is one header line: control characters (newlines above all) must not reach it.
function oneLine(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
}

function composeSubject(report: RenderReport, missingCount: number): string {
  const project = `"${oneLine(report.project)}"`;
  if (report.status === "succeeded") {
    return `Brender: ${project} rendered ${report.framesRendered}/${report.framesExpected} frames`;
  }
  if (missingCount > 0) {
    return `Brender: ${project} FAILED — ${missingCount} of ${report.framesExpected} frames missing`;
  }
  // Every frame is there but something else (e.g. the upload) failed.
  return `Brender: ${project} FAILED — ${report.framesRendered}/${report.framesExpected} frames rendered`;
}

function sections(report: RenderReport, missingCount: number): Section[] {
  const summary: Row[] = [
    { label: "Project", value: report.project },
    { label: "Blend file", value: report.blendFile },
    { label: "Render", value: report.renderId },
    { label: "Status", value: report.status === "succeeded" ? "succeeded" : "FAILED" },
  ];
  if (report.reason !== undefined) summary.push({ label: "Reason", value: report.reason });
  summary.push({ label: "Frames", value: `${report.framesRendered} of ${report.framesExpected} rendered` });
  if (missingCount > 0) {
    summary.push({
      label: "Missing frames",
      value: `${formatFrameRanges(report.missingFrames, MAX_RANGES_SHOWN)} (${missingCount})`,
    });
  }
  const seconds = durationSeconds(report);
  if (seconds !== undefined) summary.push({ label: "Render time", value: formatDuration(seconds) });
  if (report.startedAt !== undefined) summary.push({ label: "Started", value: report.startedAt });
  summary.push({ label: "Finished", value: report.finishedAt });
  const cost = costLine(report.cost);
  if (cost !== undefined) summary.push({ label: "Cost", value: cost });

  const { outputs } = report;
  const outputRows: Row[] = [{ label: "Location", value: outputs.location, link: true }];
  const optionalOutputs: Array<[string, string | undefined]> = [
    ["Frames", outputs.frames],
    ["Zip", outputs.zip],
    ["Thumbnail", outputs.thumbnail],
    ["Preview", outputs.preview],
    ["Log", report.logLink],
  ];
  for (const [label, value] of optionalOutputs) {
    if (value !== undefined) outputRows.push({ label, value, link: true });
  }
  if (outputs.linksExpireAt !== undefined) outputRows.push({ label: "Links work until", value: outputs.linksExpireAt });

  const result: Section[] = [
    { title: "Summary", rows: summary },
    { title: "Outputs", rows: outputRows },
  ];
  if (report.warnings.length > 0) {
    result.push({ title: "Warnings", rows: report.warnings.map((w) => ({ label: "", value: w })), list: true });
  }
  const host = report.host;
  if (host !== undefined && (host.instanceType !== undefined || host.spot !== undefined)) {
    const hostRows: Row[] = [];
    if (host.instanceType !== undefined) hostRows.push({ label: "Instance type", value: host.instanceType });
    if (host.spot !== undefined) hostRows.push({ label: "Spot", value: host.spot ? "yes" : "no" });
    result.push({ title: "Host", rows: hostRows });
  }
  return result;
}

function headline(report: RenderReport): string {
  return report.status === "succeeded"
    ? `Render ${report.renderId} of ${report.project} succeeded.`
    : `Render ${report.renderId} of ${report.project} FAILED.`;
}

function toText(report: RenderReport, all: Section[]): string {
  const lines: string[] = [headline(report), ""];
  for (const section of all) {
    lines.push(section.title);
    const width = Math.max(...section.rows.map((r) => r.label.length));
    for (const row of section.rows) {
      lines.push(section.list ? `  - ${row.value}` : `  ${`${row.label}:`.padEnd(width + 1)} ${row.value}`);
    }
    lines.push("");
  }
  return lines.join("\n");
}

/** Escapes text for HTML element content and double- or single-quoted attributes. */
function escapeHtml(value: string): string {
  return value
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

// Only web links become anchors: s3:// and folder paths are not clickable, and
// javascript: or data: URLs must never become one.
function htmlValue(row: Row): string {
  const escaped = escapeHtml(row.value);
  if (row.link === true && /^https?:\/\//i.test(row.value)) return `<a href="${escaped}">${escaped}</a>`;
  return escaped;
}

function toHtml(report: RenderReport, all: Section[]): string {
  const color = report.status === "succeeded" ? "#1a7f37" : "#cf222e";
  const parts: string[] = [
    "<!DOCTYPE html>",
    `<html><head><meta charset="utf-8"><title>${escapeHtml(composeSubject(report, countMissing(report)))}</title></head>`,
    '<body style="font-family: sans-serif">',
    `<p style="color: ${color}; font-weight: bold">${escapeHtml(headline(report))}</p>`,
  ];
  for (const section of all) {
    parts.push(`<h3>${escapeHtml(section.title)}</h3>`);
    if (section.list) {
      parts.push(`<ul>${section.rows.map((r) => `<li>${escapeHtml(r.value)}</li>`).join("")}</ul>`);
      continue;
    }
    parts.push("<table>");
    for (const row of section.rows) {
      parts.push(
        `<tr><th style="text-align: left; padding-right: 1em; vertical-align: top">${escapeHtml(row.label)}</th>` +
          `<td style="white-space: pre-wrap">${htmlValue(row)}</td></tr>`,
      );
    }
    parts.push("</table>");
  }
  parts.push("</body></html>", "");
  return parts.join("\n");
}

function countMissing(report: RenderReport): number {
  return new Set(report.missingFrames).size;
}

/**
 * Builds the notification mail for a finished render: a one-line subject, a plain-text body
 * and the same content as escaped HTML. Pure: no clock, no I/O.
 */
export function composeRenderEmail(report: RenderReport): RenderEmail {
  const missingCount = countMissing(report);
  const all = sections(report, missingCount);
  return {
    subject: composeSubject(report, missingCount),
    text: toText(report, all),
    html: toHtml(report, all),
  };
}
