// The errors live in the domain (it imports nothing outside itself); this path stays for the rest of the code.
export * from "./domain/errors.ts";
