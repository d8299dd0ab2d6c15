/**
 * Render notifications through Amazon SES v2, as the farm's upload job sends
 * them: with the farm's success/failure template when one is named, else the
 * same subject, text and HTML the outbox copy has (composeRenderEmail).
 */
import { SESv2Client, SendEmailCommand, type SendEmailCommandInput } from "@aws-sdk/client-sesv2";
import { JobFailedError } from "../errors.ts";
import { composeRenderEmail, formatDuration, formatFrameRanges, type RenderReport } from "./render-report.ts";

export type SesOptions = {
  /** The verified sender: "renders@example.com" or "Brender <renders@example.com>". */
  readonly from: string;
  readonly region: string;
  /** An SES-compatible endpoint instead of AWS's (tests, moto). */
  readonly endpoint?: string;
  /** SES template names (created by the farm); without one, the composed e-mail is sent as is. */
  readonly successTemplate?: string;
  readonly failureTemplate?: string;
  /** Explicit credentials; otherwise the standard AWS chain (the job role on AWS). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
};

/**
 * The variables a farm template can use ({{project}}, {{#if succeeded}}…).
 * Every value is a string or boolean; absent facts are empty strings, so a
 * template never prints "undefined".
 */
export type RenderTemplateData = {
  readonly renderId: string;
  readonly project: string;
  readonly blendFile: string;
  /** "succeeded" or "failed". */
  readonly status: string;
  readonly succeeded: boolean;
  readonly reason: string;
  /** "12 of 12". */
  readonly frames: string;
  readonly framesRendered: string;
  readonly framesExpected: string;
  /** "3-5,9", or "" when none are missing. */
  readonly missingFrames: string;
  /** "1h 02m 03s", or "" when unknown. */
  readonly duration: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly location: string;
  readonly framesLink: string;
  readonly zipLink: string;
  readonly thumbnailLink: string;
  readonly previewLink: string;
  readonly logLink: string;
  /** When the links stop working (ISO time), or "" when they do not expire. */
  readonly linksExpireAt: string;
  readonly instanceType: string;
  readonly spot: boolean;
  /** "spot", "on-demand", or "" when unknown. */
  readonly capacity: string;
  readonly warnings: string;
};

// A mail is read, not parsed: past this many ranges the list says "… (+N more frames)".
const MAX_RANGES = 40;

/** The template variables for a report (pure). */
export function renderTemplateData(report: RenderReport): RenderTemplateData {
  const seconds =
    report.renderSeconds ??
    (report.startedAt !== undefined ? (Date.parse(report.finishedAt) - Date.parse(report.startedAt)) / 1000 : undefined);
  const spot = report.host?.spot;
  return {
    renderId: report.renderId,
    project: report.project,
    blendFile: report.blendFile,
    status: report.status,
    succeeded: report.status === "succeeded",
    reason: report.reason ?? "",
    frames: `${report.framesRendered} of ${report.framesExpected}`,
    framesRendered: String(report.framesRendered),
    framesExpected: String(report.framesExpected),
    missingFrames: formatFrameRanges(report.missingFrames, MAX_RANGES),
    duration: seconds !== undefined && Number.isFinite(seconds) && seconds >= 0 ? formatDuration(seconds) : "",
    startedAt: report.startedAt ?? "",
    finishedAt: report.finishedAt,
    location: report.outputs.location,
    framesLink: report.outputs.frames ?? "",
    zipLink: report.outputs.zip ?? "",
    thumbnailLink: report.outputs.thumbnail ?? "",
    previewLink: report.outputs.preview ?? "",
    logLink: report.logLink ?? "",
    linksExpireAt: report.outputs.linksExpireAt ?? "",
    instanceType: report.host?.instanceType ?? "",
    spot: spot === true,
    capacity: spot === undefined ? "" : spot ? "spot" : "on-demand",
    warnings: report.warnings.join("\n"),
  };
}

/** The SendEmail request for a report (pure): the matching template when named, else the composed content. */
export function sesSendEmailInput(report: RenderReport, to: string, options: SesOptions): SendEmailCommandInput {
  const template = report.status === "succeeded" ? options.successTemplate : options.failureTemplate;
  const headers = [{ Name: "X-Brender-Render-Id", Value: report.renderId }];
  if (template) {
    return {
      FromEmailAddress: options.from,
      Destination: { ToAddresses: [to] },
      Content: { Template: { TemplateName: template, TemplateData: JSON.stringify(renderTemplateData(report)), Headers: headers } },
    };
  }
  const email = composeRenderEmail(report);
  return {
    FromEmailAddress: options.from,
    Destination: { ToAddresses: [to] },
    Content: {
      Simple: {
        Subject: { Data: email.subject, Charset: "UTF-8" },
        Body: { Text: { Data: email.text, Charset: "UTF-8" }, Html: { Data: email.html, Charset: "UTF-8" } },
        Headers: headers,
      },
    },
  };
}

/**
 * Sends the notification for `report` to `to` through SES v2 and returns
 * SES's message id. A refusal or an unreachable SES throws JobFailedError
 * with one line naming the sender, region (and template) and what to check.
 */
export async function sendWithSes(
  report: RenderReport,
  to: string,
  options: SesOptions,
): Promise<{ messageId: string; template?: string }> {
  const input = sesSendEmailInput(report, to, options);
  const template = input.Content?.Template?.TemplateName;
  const client = new SESv2Client({
    region: options.region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  });
  try {
    const answer = await client.send(new SendEmailCommand(input));
    return { messageId: answer.MessageId ?? "", ...(template ? { template } : {}) };
  } catch (error) {
    const what = `from ${options.from} in ${options.region}${template ? ` with template "${template}"` : ""}`;
    throw new JobFailedError(
      `could not send the render notification through SES ${what} (${describe(error)}): ${hint(error, options, template)}`,
      { cause: error },
    );
  } finally {
    client.destroy();
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const text = error.message.includes(error.name) ? error.message : `${error.name}: ${error.message}`;
  return text.replace(/\s+/g, " ").trim();
}

function hint(error: unknown, options: SesOptions, template: string | undefined): string {
  const name = error instanceof Error ? error.name : "";
  const code = (error as { code?: string } | undefined)?.code;
  const region = options.region;
  switch (name) {
    case "MessageRejected":
      return `check that ${options.from} (or its domain) is a verified identity in SES in ${region} and, while the account is in the SES sandbox, that the recipient is verified too (or request production access)`;
    case "MailFromDomainNotVerifiedException":
      return `check the custom MAIL FROM domain of ${options.from} in SES in ${region}`;
    case "NotFoundException":
      return template
        ? `check that the template "${template}" exists in SES in ${region} (the farm creates it; redeploy the farm)`
        : `check the sender identity ${options.from} in SES in ${region}`;
    case "AccountSuspendedException":
    case "SendingPausedException":
      return `sending is paused for this account in ${region}; check the SES account dashboard`;
    case "AccessDeniedException":
    case "AccessDenied":
      return `check that the job role allows ses:SendEmail on ${options.from} in ${region}`;
    case "CredentialsProviderError":
      return "check the AWS credentials (the job role on AWS, AWS_PROFILE or AWS_ACCESS_KEY_ID locally)";
    case "TooManyRequestsException":
    case "LimitExceededException":
      return `SES throttled the request; check the sending quota in ${region}`;
  }
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "ETIMEDOUT" || name === "TimeoutError") {
    return `check AWS_REGION (${region})${options.endpoint ? ` and the endpoint ${options.endpoint}` : ""} and that the job can reach SES`;
  }
  return `check that ${options.from} is a verified SES identity in ${region}, the recipient is allowed (SES sandbox) and the job role allows ses:SendEmail`;
}
