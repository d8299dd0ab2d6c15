/**
 * How messages name a compositor File Output node: "Beauty", or "Copy" (in
 * group "Outer > Inner"). Apart from the inspection's schemas so that the CLI
 * can format with it without loading them (zod) on every command's start.
 */
export function fileOutputName(node: { readonly node: string; readonly groups?: readonly string[] }): string {
  return `"${node.node}"${node.groups?.length ? ` (in group "${node.groups.join(" > ")}")` : ""}`;
}
