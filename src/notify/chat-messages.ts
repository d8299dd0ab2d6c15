import { costLine } from "../domain/cost/cost-words.ts";
import type { RenderEvent } from "../domain/render-event.ts";
import { formatDuration, formatFrameRanges } from "./render-report.ts";

/**
 * Slack and Discord messages for a render event, in each service's own
 * incoming-webhook format. Pure. Limits are the services' documented ones:
 * Slack header text 150 characters, section text 3000, a field 2000, at most
 * 10 fields; Discord content 2000, embed title 256, description 4096, a field
 * value 1024, at most 25 fields.
 */

type Line = { readonly label: string; readonly value: string };

const STATUS_WORD: Record<RenderEvent["render"]["status"], string> = {
  running: "started",
  succeeded: "succeeded",
  failed: "FAILED",
  cancelled: "cancelled",
};

// Discord embed colours (decimal RGB): green, red, grey, blue.
const DISCORD_COLOR: Record<RenderEvent["render"]["status"], number> = {
  succeeded: 0x1a7f37,
  failed: 0xcf222e,
  cancelled: 0x6e7781,
  running: 0x0969da,
};

function title(event: RenderEvent): string {
  if (event.type === "frame.failed") return `Brender: frame ${event.frame?.number ?? "?"} of ${event.render.project} failed`;
  return `Brender: ${event.render.project} ${STATUS_WORD[event.render.status]}`;
}

function lines(event: RenderEvent): Line[] {
  const { render } = event;
  const result: Line[] = [
    { label: "Status", value: STATUS_WORD[render.status] },
    { label: "Frames", value: `${render.frames.done}/${render.frames.total} done${render.frames.failed > 0 ? `, ${render.frames.failed} failed` : ""}` },
  ];
  if (render.seconds !== undefined) result.push({ label: "Time", value: formatDuration(render.seconds) });
  const cost = costLine(render.cost);
  if (cost !== undefined) result.push({ label: "Cost", value: cost });
  result.push({ label: "Render", value: render.id });
  if (render.missingFrames !== undefined && render.missingFrames.length > 0) {
    result.push({ label: "Missing frames", value: formatFrameRanges(render.missingFrames, 20) });
  }
  return result;
}

function summaryText(event: RenderEvent): string {
  const { render } = event;
  const time = render.seconds !== undefined ? ` in ${formatDuration(render.seconds)}` : "";
  return `${title(event)}: ${render.frames.done}/${render.frames.total} frames${time}`;
}

/** Only web links are worth a click in chat; s3:// and folder paths are shown as text. */
function isWebLink(value: string | undefined): value is string {
  return value !== undefined && /^https?:\/\//i.test(value);
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

// Slack's mrkdwn treats only &, < and > as control characters.
function slackEscape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

// A "|" or ">" inside a Slack link's URL would end it early.
function slackLink(url: string, label: string): string {
  return `<${url.replace(/\|/g, "%7C").replace(/>/g, "%3E")}|${slackEscape(label)}>`;
}

function links(event: RenderEvent): Array<{ label: string; url: string }> {
  const { render } = event;
  const result: Array<{ label: string; url: string }> = [];
  if (isWebLink(render.url)) result.push({ label: "Open the render", url: render.url });
  if (isWebLink(render.outputs?.zip)) result.push({ label: "Download the frames (zip)", url: render.outputs.zip });
  if (isWebLink(render.outputs?.preview)) result.push({ label: "Preview video", url: render.outputs.preview });
  return result;
}

/** A Slack incoming-webhook body: `text` (the notification fallback) and Block Kit `blocks`. */
export function slackMessage(event: RenderEvent): Record<string, unknown> {
  const { render } = event;
  const section: Record<string, unknown> = {
    type: "section",
    fields: lines(event).slice(0, 10).map((line) => ({ type: "mrkdwn", text: clip(`*${line.label}*\n${slackEscape(line.value)}`, 2000) })),
  };
  if (isWebLink(render.outputs?.thumbnail)) {
    section.accessory = { type: "image", image_url: render.outputs.thumbnail, alt_text: `thumbnail of ${clip(render.project, 100)}` };
  }
  const blocks: Array<Record<string, unknown>> = [{ type: "header", text: { type: "plain_text", text: clip(title(event), 150) } }, section];
  const reason = event.frame?.reason ?? render.reason;
  if (reason !== undefined) blocks.push({ type: "section", text: { type: "mrkdwn", text: clip(`*Reason*\n${slackEscape(reason)}`, 3000) } });
  const linkTexts = links(event).map((link) => slackLink(link.url, link.label));
  const where = linkTexts.length > 0 ? linkTexts.join(" · ") : `Outputs: ${slackEscape(render.outputs?.location ?? "not yet published")}`;
  blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: clip(where, 3000) }] });
  return { text: slackEscape(summaryText(event)), blocks };
}

/** A Discord execute-webhook body: `content` plus one rich embed; no mentions are ever resolved. */
export function discordMessage(event: RenderEvent): Record<string, unknown> {
  const { render } = event;
  const reason = event.frame?.reason ?? render.reason;
  const extra = links(event).filter((link) => link.url !== render.url);
  const descriptionParts = [
    ...(reason !== undefined ? [`**Reason:** ${reason}`] : []),
    ...extra.map((link) => `[${link.label}](${link.url})`),
    ...(extra.length === 0 && render.outputs ? [`Outputs: ${render.outputs.location}`] : []),
  ];
  const embed: Record<string, unknown> = {
    title: clip(title(event), 256),
    color: DISCORD_COLOR[render.status],
    fields: lines(event).slice(0, 25).map((line) => ({ name: clip(line.label, 256), value: clip(line.value, 1024), inline: line.label !== "Missing frames" })),
    timestamp: render.finishedAt ?? event.createdAt,
    footer: { text: clip(`Brender · ${event.type}`, 2048) },
  };
  if (descriptionParts.length > 0) embed.description = clip(descriptionParts.join("\n"), 4096);
  if (isWebLink(render.url)) embed.url = render.url;
  if (isWebLink(render.outputs?.thumbnail)) embed.thumbnail = { url: render.outputs.thumbnail };
  // A project named "@everyone" must not ping a whole server.
  return { content: clip(summaryText(event), 2000), embeds: [embed], allowed_mentions: { parse: [] } };
}
