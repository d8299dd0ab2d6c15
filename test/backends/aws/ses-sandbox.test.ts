/** The SES sandbox check before a render is submitted, with SES's documented GetAccount and GetEmailIdentity answers as fixtures. */
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mockClient } from "aws-sdk-client-mock";
import { GetAccountCommand, GetEmailIdentityCommand, SESv2Client } from "@aws-sdk/client-sesv2";
import { notificationDeliveryWarning } from "../../../src/backends/aws/ses-sandbox.ts";

const ses = new SESv2Client({ region: "eu-west-1", credentials: { accessKeyId: "test", secretAccessKey: "test" } });
const mock = mockClient(ses);
afterEach(() => mock.reset());

const notFound = () => Object.assign(new Error("Email identity artist@studio.example does not exist."), { name: "NotFoundException" });

describe("notificationDeliveryWarning", () => {
  it("warns, with both fixes, when the account is in the sandbox and neither the address nor its domain is verified", async () => {
    mock.on(GetAccountCommand).resolves({ ProductionAccessEnabled: false, SendingEnabled: true, EnforcementStatus: "HEALTHY" });
    mock.on(GetEmailIdentityCommand).rejects(notFound());
    const warning = await notificationDeliveryWarning(ses, "artist@studio.example", "eu-west-1");
    assert.match(warning ?? "", /SES in eu-west-1 is in the sandbox.*artist@studio\.example is not verified: the notification will not arrive/);
    assert.match(warning ?? "", /aws sesv2 create-email-identity --email-identity artist@studio\.example --region eu-west-1/);
    assert.match(warning ?? "", /request production access/);
    assert.deepEqual(mock.commandCalls(GetEmailIdentityCommand).map((call) => call.args[0].input.EmailIdentity), ["artist@studio.example", "studio.example"]);
  });

  it("is quiet when the recipient, or its whole domain, is verified, or the account has production access", async () => {
    mock.on(GetAccountCommand).resolves({ ProductionAccessEnabled: false });
    mock.on(GetEmailIdentityCommand, { EmailIdentity: "artist@studio.example" }).resolves({ VerifiedForSendingStatus: true, IdentityType: "EMAIL_ADDRESS" });
    assert.equal(await notificationDeliveryWarning(ses, "artist@studio.example", "eu-west-1"), undefined);
    mock.reset();
    mock.on(GetAccountCommand).resolves({ ProductionAccessEnabled: false });
    mock.on(GetEmailIdentityCommand, { EmailIdentity: "artist@studio.example" }).rejects(notFound());
    mock.on(GetEmailIdentityCommand, { EmailIdentity: "studio.example" }).resolves({ VerifiedForSendingStatus: true, IdentityType: "DOMAIN" });
    assert.equal(await notificationDeliveryWarning(ses, "artist@studio.example", "eu-west-1"), undefined);
    mock.reset();
    mock.on(GetAccountCommand).resolves({ ProductionAccessEnabled: true });
    assert.equal(await notificationDeliveryWarning(ses, "anyone@elsewhere.example", "eu-west-1"), undefined);
    assert.equal(mock.commandCalls(GetEmailIdentityCommand).length, 0);
  });

  it("does not block a render when SES cannot be asked", async () => {
    mock.on(GetAccountCommand).rejects(Object.assign(new Error("not authorized to perform ses:GetAccount"), { name: "AccessDeniedException" }));
    assert.equal(await notificationDeliveryWarning(ses, "artist@studio.example", "eu-west-1"), undefined);
  });
});
