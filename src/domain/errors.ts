/**
 * Errors a user can act on. The CLI prints `message` on one line and exits
 * with `exitCode`; nothing else (no stack) unless BRENDER_DEBUG is set.
 *
 * Exit codes are part of the CLI contract: 0 success, 1 the job failed,
 * 2 bad input or usage.
 */
export class BrenderError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** Bad input: a wrong argument, file or setting. Says what is wrong and how to fix it. Exit code 2. */
export class UserInputError extends BrenderError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 2, options);
  }
}

/** The work itself failed (Blender crashed, a frame is missing, an upload failed). Exit code 1. */
export class JobFailedError extends BrenderError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 1, options);
  }
}
