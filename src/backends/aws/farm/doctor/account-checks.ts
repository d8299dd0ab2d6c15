/**
 * What the account must allow beyond the stack: SES sending (sandbox or
 * production, the daily quota, the farm's sender verified) and the
 * service-linked roles Batch, ECS and EC2 Spot act through. None of these is
 * made by the stack, and each fails quietly: mail that never arrives,
 * compute environments that go INVALID, spot requests refused.
 */
import { GetAccountCommand, type GetAccountResponse, type SESv2Client } from "@aws-sdk/client-sesv2";
import { GetRoleCommand, type IAMClient } from "@aws-sdk/client-iam";
import { identityVerification } from "../../ses-sandbox.ts";
import { blocked, guarded, ok, warn, type DoctorCheck } from "./check.ts";

/** SES's account-level state for the farm's region (pure). */
export function sesAccountCheck(account: GetAccountResponse, region: string): DoctorCheck {
  const id = "ses-account";
  const quota = account.SendQuota;
  const usage = quota?.Max24HourSend !== undefined ? `${quota.SentLast24Hours ?? 0} of ${quota.Max24HourSend} e-mails sent in the last 24 h` : "send quota unknown";
  if (account.SendingEnabled === false) {
    return warn(id, `SES sending is paused for this account in ${region} (${account.EnforcementStatus ?? "no reason given"}): render e-mails will not go out.`, "Open the SES console's Account dashboard to see why and resume sending.");
  }
  if (account.ProductionAccessEnabled === false) {
    return warn(
      id,
      `SES in ${region} is in the sandbox: render e-mails reach only verified addresses (${usage}).`,
      `Request production access (SES console, Account dashboard), or verify each recipient: aws sesv2 create-email-identity --email-identity ADDRESS --region ${region}`,
    );
  }
  if (quota?.Max24HourSend !== undefined && quota.Max24HourSend >= 0 && (quota.SentLast24Hours ?? 0) >= quota.Max24HourSend) {
    return warn(id, `SES in ${region} has used its daily quota (${usage}): more render e-mails fail until it frees up.`, "Ask for a higher sending quota in the SES console (Account dashboard).");
  }
  return ok(id, `SES in ${region}: production access, ${usage}.`);
}

/** The farm's sender as SES sees it (pure). */
export function senderCheck(sender: string, address: "verified" | "pending" | "missing", domain: "verified" | "pending" | "missing", farm: string, region: string): DoctorCheck {
  const id = "ses-sender";
  if (address === "verified" || domain === "verified") return ok(id, `The sender ${sender} is verified in SES (${region}).`);
  if (address === "pending") {
    return warn(id, `The sender ${sender} is not verified yet: render e-mails cannot be sent.`, `Open the link in the e-mail AWS sent to ${sender} (to send it again: aws sesv2 delete-email-identity --email-identity ${sender} --region ${region}, then 'brender farm deploy ${farm} --email ${sender}').`);
  }
  return warn(id, `The sender ${sender} is not an SES identity in ${region}: render e-mails cannot be sent.`, `Run 'brender farm deploy ${farm} --email ${sender}' (it asks SES to verify it), then open the link AWS mails.`);
}

export async function sesChecks(ses: SESv2Client, sender: string | undefined, farm: string, region: string): Promise<DoctorCheck[]> {
  if (!sender) return [ok("ses", `The farm sends no e-mail ('brender farm deploy ${farm} --email ADDRESS' adds a sender).`)];
  const account = await guarded("ses-account", `the SES account of ${region}`, ["ses:GetAccount"], farm, async () =>
    sesAccountCheck(await ses.send(new GetAccountCommand({})), region),
  );
  const identity = await guarded("ses-sender", `the SES identity ${sender}`, ["ses:GetEmailIdentity"], farm, async () => {
    const address = await identityVerification(ses, sender);
    const domain = address === "verified" ? address : await identityVerification(ses, sender.slice(sender.lastIndexOf("@") + 1));
    return senderCheck(sender, address, domain, farm, region);
  });
  return [...account, ...identity];
}

/** A service-linked role the farm's AWS services act through, and when the farm needs it. */
type ServiceLinkedRole = { readonly id: string; readonly role: string; readonly service: string; readonly why: string; readonly neededBy: (queues: FarmShape) => boolean };
type FarmShape = { readonly spot: boolean };

/**
 * Batch runs the compute environments through AWSServiceRoleForBatch (they
 * name no service role), ECS the hosts' clusters through
 * AWSServiceRoleForECS, and EC2 starts spot hosts through
 * AWSServiceRoleForEC2Spot. AWSServiceRoleForEC2SpotFleet is not needed: the
 * spot environments use SPOT_PRICE_CAPACITY_OPTIMIZED, not a spot fleet role.
 */
export const SERVICE_LINKED_ROLES: readonly ServiceLinkedRole[] = [
  { id: "batch", role: "AWSServiceRoleForBatch", service: "batch.amazonaws.com", why: "Batch manages the compute environments with it", neededBy: () => true },
  { id: "ecs", role: "AWSServiceRoleForECS", service: "ecs.amazonaws.com", why: "the hosts' ECS clusters run with it", neededBy: () => true },
  { id: "spot", role: "AWSServiceRoleForEC2Spot", service: "spot.amazonaws.com", why: "EC2 starts the spot hosts with it", neededBy: (farm) => farm.spot },
];

export function serviceRoleCheck(entry: ServiceLinkedRole, exists: boolean): DoctorCheck {
  const id = `service-role:${entry.id}`;
  if (exists) return ok(id, `${entry.role} exists (${entry.why}).`);
  return blocked(id, `${entry.role} is missing: ${entry.why}, so its hosts cannot start.`, `aws iam create-service-linked-role --aws-service-name ${entry.service}`);
}

export async function serviceRoleChecks(iam: IAMClient, farm: FarmShape, name: string): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  for (const entry of SERVICE_LINKED_ROLES.filter((candidate) => candidate.neededBy(farm))) {
    checks.push(...(await guarded(`service-role:${entry.id}`, `the role ${entry.role}`, ["iam:GetRole"], name, async () => serviceRoleCheck(entry, await roleExists(iam, entry.role)))));
  }
  return checks;
}

async function roleExists(iam: IAMClient, role: string): Promise<boolean> {
  try {
    await iam.send(new GetRoleCommand({ RoleName: role }));
    return true;
  } catch (error) {
    if (error instanceof Error && error.name === "NoSuchEntityException") return false;
    throw error;
  }
}
