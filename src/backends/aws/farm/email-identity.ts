/**
 * The SES identity of a farm's notification address: deploy creates it
 * (tagged, so destroy knows it made it) and starts its verification;
 * destroy deletes it only when deploy created it for that farm.
 */
import {
  CreateEmailIdentityCommand,
  DeleteEmailIdentityCommand,
  GetEmailIdentityCommand,
  type SESv2Client,
} from "@aws-sdk/client-sesv2";
import type { Report } from "./clients.ts";
import { SES_IDENTITY_TAG } from "./settings.ts";

/** Where the notification address's verification stands after deploy. */
export type EmailVerification = "verification-sent" | "pending" | "verified";

/**
 * Starts SES verification of the notification address. When the identity
 * exists already (the stack declares it, or the user made it) this only
 * reports whether it is verified.
 */
export async function startEmailVerification(
  ses: SESv2Client,
  address: string,
  name: string,
  report: Report,
  askedNow: boolean,
): Promise<EmailVerification> {
  try {
    await ses.send(new CreateEmailIdentityCommand({ EmailIdentity: address, Tags: [{ Key: SES_IDENTITY_TAG, Value: name }] }));
    report(`  SES sent a verification e-mail to ${address}: check your inbox and click the link, so the farm can send from it.`);
    return "verification-sent";
  } catch (error) {
    if (!(error instanceof Error && error.name === "AlreadyExistsException")) throw error;
  }
  const identity = await ses.send(new GetEmailIdentityCommand({ EmailIdentity: address }));
  if (identity?.VerifiedForSendingStatus) {
    report(`  ${address} is verified in SES`);
    return "verified";
  }
  report(`  ${address} is not verified yet: check your inbox for the e-mail from AWS${askedNow ? "" : " (sent at an earlier deploy)"}.`);
  return "pending";
}

/** Deletes the SES identity only when deploy created it for this farm (its tag says so). */
export async function deleteOwnEmailIdentity(ses: SESv2Client, address: string | undefined, name: string, report: Report): Promise<string | undefined> {
  if (!address) return undefined;
  let tags: readonly { Key?: string; Value?: string }[];
  try {
    tags = (await ses.send(new GetEmailIdentityCommand({ EmailIdentity: address })))?.Tags ?? [];
  } catch (error) {
    if (error instanceof Error && error.name === "NotFoundException") return undefined;
    throw error;
  }
  if (!tags.some((tag) => tag.Key === SES_IDENTITY_TAG && tag.Value === name)) {
    // Either the user's own identity, or the stack's (deleted with it).
    return undefined;
  }
  report(`==> Deleting the SES identity ${address} (created by 'farm deploy')`);
  await ses.send(new DeleteEmailIdentityCommand({ EmailIdentity: address }));
  return address;
}
