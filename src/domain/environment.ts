/** Whether two environments agree on every variable `considered` accepts: set in both to one value, or unset in both. */
export function sameVariables(
  a: Readonly<Record<string, string | undefined>>,
  b: Readonly<Record<string, string | undefined>>,
  considered: (name: string) => boolean,
): boolean {
  const names = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...names].every((name) => !considered(name) || a[name] === b[name]);
}
