/**
 * Will the notification e-mail arrive? While an account is in the SES
 * sandbox, SES delivers only to verified addresses (and checks the sender's
 * IAM permission against the recipient's identity too); a render's e-mail to
 * anyone else silently never arrives. Asked before submitting, so the user
 * is warned with the fix instead.
 */
import { GetAccountCommand, GetEmailIdentityCommand, type SESv2Client } from "@aws-sdk/client-sesv2";

/** The warning for e-mailing `recipient` from this account and region, or undefined when it will be delivered (or SES cannot tell). */
export async function notificationDeliveryWarning(ses: SESv2Client, recipient: string, region: string): Promise<string | undefined> {
  let productionAccess: boolean | undefined;
  try {
    productionAccess = (await ses.send(new GetAccountCommand({}))).ProductionAccessEnabled;
  } catch {
    // No permission to ask (or SES unreachable): the render goes on; the upload job records a failed send.
    return undefined;
  }
  if (productionAccess !== false) return undefined;
  const domain = recipient.slice(recipient.lastIndexOf("@") + 1);
  for (const identity of [recipient, domain]) {
    if (await verified(ses, identity)) return undefined;
  }
  return (
    `SES in ${region} is in the sandbox, which delivers only to verified addresses, and ${recipient} is not verified: the notification will not arrive. ` +
    `Verify it (aws sesv2 create-email-identity --email-identity ${recipient} --region ${region}, then open the link SES mails), ` +
    `or request production access (SES console, Account dashboard).`
  );
}

async function verified(ses: SESv2Client, identity: string): Promise<boolean> {
  try {
    return (await identityVerification(ses, identity)) === "verified";
  } catch {
    return false;
  }
}

/**
 * Whether SES may send from (or, in the sandbox, to) an address or domain:
 * "verified", "pending" (created, the link not opened yet, or failed) or
 * "missing" (no such identity). Other errors (no permission) are thrown.
 */
export async function identityVerification(ses: SESv2Client, identity: string): Promise<"verified" | "pending" | "missing"> {
  try {
    const answer = await ses.send(new GetEmailIdentityCommand({ EmailIdentity: identity }));
    // VerificationStatus is the newer field; either one saying so is enough.
    return answer.VerifiedForSendingStatus === true || answer.VerificationStatus === "SUCCESS" ? "verified" : "pending";
  } catch (error) {
    if (error instanceof Error && error.name === "NotFoundException") return "missing";
    throw error;
  }
}
