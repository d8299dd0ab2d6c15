import { createRequire } from "node:module";

// mailparser ships no type declarations; describe just the part the tests read.
export type ParsedAddress = { text: string; value: Array<{ address?: string; name: string }> };
export type ParsedMail = {
  subject?: string;
  text?: string;
  html?: string | false;
  from?: ParsedAddress;
  to?: ParsedAddress | ParsedAddress[];
  messageId?: string;
  headers: Map<string, unknown>;
};

/** Parses an RFC 822 message (an outbox .eml or what an SMTP sink received). */
export const { simpleParser } = createRequire(import.meta.url)("mailparser") as {
  simpleParser: (source: Buffer | string) => Promise<ParsedMail>;
};
