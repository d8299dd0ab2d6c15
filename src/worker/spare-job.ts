import { z } from "zod";
import { UserInputError } from "../errors.ts";

/** What the local farm's runner writes as the first line on a spare worker's stdin (see spare.ts). */
export const spareJobSchema = z.object({ env: z.record(z.string(), z.string()), logFile: z.string().min(1) });
export type SpareJob = z.infer<typeof spareJobSchema>;

const FORMAT = 'the runner sends {"env": {...}, "logFile": "..."}';

export function parseSpareJob(line: string): SpareJob {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new UserInputError(`--job-on-stdin: the first line on stdin is not JSON; ${FORMAT}`);
  }
  const parsed = spareJobSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "job"}: ${issue.message}`).join("; ");
    throw new UserInputError(`--job-on-stdin: the job on stdin is invalid (${problems}); ${FORMAT}`);
  }
  return parsed.data;
}
