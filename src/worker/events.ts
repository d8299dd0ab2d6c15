import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { ProgressEvent, ProgressEventBody } from "../domain/progress-events.ts";

export type EmitEvent = (event: ProgressEventBody) => void;

/**
 * Writes progress events as JSON lines to the worker's stdout (the job log,
 * CloudWatch on AWS) and appends them to a file in the work folder, where
 * monitors and the upload job read them. Appends are synchronous so an event
 * is on disk before the worker moves on: a crash loses nothing reported.
 */
export function eventSink(file: string, stdout: (line: string) => void = (line) => process.stdout.write(line)): EmitEvent {
  mkdirSync(dirname(file), { recursive: true });
  return (body) => {
    const event = { ...body, at: new Date().toISOString() } as ProgressEvent;
    const line = `${JSON.stringify(event)}\n`;
    appendFileSync(file, line);
    stdout(line);
  };
}
