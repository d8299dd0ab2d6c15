import { UserInputError } from "../domain/errors.ts";

/** The render is in a state that forbids the action (retry while running, cancel once ended). Exit 2 in the CLI, 409 over HTTP. */
export class RenderConflictError extends UserInputError {}

/** No render by that id on this machine (locally, or recorded from an AWS submission). */
export function noSuchRender(id: string): UserInputError {
  return new UserInputError(`No render "${id}" on this machine; 'brender jobs' lists them.`);
}
