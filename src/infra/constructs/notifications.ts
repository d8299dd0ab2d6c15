/**
 * Render notifications: the SES templates the upload job sends with (their
 * variables are RenderTemplateData's, see src/notify/ses.ts) and, when the
 * farm has a sender address, its SES e-mail identity (creating it starts
 * SES's verification mail).
 */
import { Stack } from "aws-cdk-lib";
import * as ses from "aws-cdk-lib/aws-ses";
import { Construct } from "constructs";

export type NotificationsProps = {
  /** The sender address the jobs may send from. @default none (templates only, no sending permission) */
  readonly senderEmail?: string;
  /** Create senderEmail's SES identity here (false: it exists outside the stack). @default true */
  readonly createIdentity?: boolean;
};

/** One SES template's parts (Handlebars, as SES renders them). */
export type EmailTemplateParts = { readonly subject: string; readonly html: string; readonly text: string };

export class Notifications extends Construct {
  readonly successTemplate: ses.CfnTemplate;
  readonly failureTemplate: ses.CfnTemplate;
  readonly identity: ses.CfnEmailIdentity | undefined;
  readonly senderEmail: string | undefined;

  constructor(scope: Construct, id: string, props: NotificationsProps = {}) {
    super(scope, id);
    // Names are left to CloudFormation: SES caps them at 64 characters and the stack outputs them anyway.
    this.successTemplate = new ses.CfnTemplate(this, "SuccessTemplate", { template: toCfn(SUCCESS_TEMPLATE) });
    this.failureTemplate = new ses.CfnTemplate(this, "FailureTemplate", { template: toCfn(FAILURE_TEMPLATE) });
    this.senderEmail = props.senderEmail;
    this.identity =
      props.senderEmail && (props.createIdentity ?? true)
        ? new ses.CfnEmailIdentity(this, "Sender", { emailIdentity: props.senderEmail })
        : undefined;
  }

  /**
   * ARNs that sending a templated notification is checked against: the
   * sender identity, both templates and, while the account is in the SES
   * sandbox, the recipient's identity too ("in the sandbox IAM is also
   * checked against the recipient"), hence every identity of the account in
   * this region. sendCondition() keeps the sender fixed.
   */
  sendResources(): string[] {
    if (this.senderEmail === undefined) return [];
    const stack = Stack.of(this);
    return [
      stack.formatArn({ service: "ses", resource: "identity", resourceName: this.senderEmail }),
      stack.formatArn({ service: "ses", resource: "identity", resourceName: "*" }),
      stack.formatArn({ service: "ses", resource: "template", resourceName: this.successTemplate.ref }),
      stack.formatArn({ service: "ses", resource: "template", resourceName: this.failureTemplate.ref }),
    ];
  }
}

/** The condition on sending: only from the farm's sender address (SES's ses:FromAddress condition key). */
export function sendCondition(senderEmail: string): Record<string, Record<string, string>> {
  return { StringEquals: { "ses:FromAddress": senderEmail } };
}

function toCfn(parts: EmailTemplateParts): ses.CfnTemplate.TemplateProperty {
  return { subjectPart: parts.subject, htmlPart: parts.html, textPart: parts.text };
}

// Shared body rows; {{…}} HTML-escapes in the HTML part.
const DETAILS_TEXT = [
  "Project: {{project}}",
  "Blend file: {{blendFile}}",
  "Render: {{renderId}}",
  "Frames: {{frames}} rendered",
  "{{#if missingFrames}}Missing frames: {{missingFrames}}\n{{/if}}{{#if duration}}Render time: {{duration}}\n{{/if}}{{#if startedAt}}Started: {{startedAt}}\n{{/if}}Finished: {{finishedAt}}",
  "",
  "Outputs: {{location}}",
  "{{#if framesLink}}Frames: {{framesLink}}\n{{/if}}{{#if zipLink}}Zip: {{zipLink}}\n{{/if}}{{#if thumbnailLink}}Thumbnail: {{thumbnailLink}}\n{{/if}}{{#if previewLink}}Preview: {{previewLink}}\n{{/if}}{{#if logLink}}Log: {{logLink}}\n{{/if}}{{#if linksExpireAt}}Links work until: {{linksExpireAt}}\n{{/if}}",
  "{{#if instanceType}}Instance type: {{instanceType}}\n{{/if}}{{#if capacity}}Capacity: {{capacity}}\n{{/if}}{{#if warnings}}\nWarnings:\n{{warnings}}\n{{/if}}",
].join("\n");

function detailsHtml(): string {
  const row = (label: string, variable: string) => `<tr><th align="left">${label}</th><td>{{${variable}}}</td></tr>`;
  const optionalRow = (label: string, variable: string) => `{{#if ${variable}}}${row(label, variable)}{{/if}}`;
  const link = (label: string, variable: string) =>
    `{{#if ${variable}}}<tr><th align="left">${label}</th><td><a href="{{${variable}}}">${label.toLowerCase()}</a></td></tr>{{/if}}`;
  return [
    "<table>",
    row("Project", "project"),
    row("Blend file", "blendFile"),
    row("Render", "renderId"),
    row("Frames", "frames"),
    optionalRow("Missing frames", "missingFrames"),
    optionalRow("Render time", "duration"),
    optionalRow("Started", "startedAt"),
    row("Finished", "finishedAt"),
    row("Outputs", "location"),
    link("Frames", "framesLink"),
    link("Zip", "zipLink"),
    link("Thumbnail", "thumbnailLink"),
    link("Preview", "previewLink"),
    link("Log", "logLink"),
    optionalRow("Links work until", "linksExpireAt"),
    optionalRow("Instance type", "instanceType"),
    optionalRow("Capacity", "capacity"),
    "</table>",
    '{{#if warnings}}<h3>Warnings</h3><pre>{{warnings}}</pre>{{/if}}',
  ].join("\n");
}

export const SUCCESS_TEMPLATE: EmailTemplateParts = {
  subject: 'Brender: "{{project}}" rendered {{framesRendered}}/{{framesExpected}} frames',
  text: `Your render finished.\n\n${DETAILS_TEXT}`,
  html: `<html><body><h2>Render finished: {{project}}</h2>\n${detailsHtml()}\n</body></html>`,
};

export const FAILURE_TEMPLATE: EmailTemplateParts = {
  subject: 'Brender: "{{project}}" FAILED ({{frames}} frames rendered)',
  text: `Your render failed: {{reason}}\n\n${DETAILS_TEXT}`,
  html: `<html><body><h2>Render FAILED: {{project}}</h2>\n<p>{{reason}}</p>\n${detailsHtml()}\n</body></html>`,
};
