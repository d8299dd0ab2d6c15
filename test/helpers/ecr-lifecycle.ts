/**
 * Amazon ECR's lifecycle policy evaluation, as the ECR User Guide documents it
 * ("Lifecycle policy properties" and "How lifecycle policies work"), for the
 * rule kinds Brender's stack writes: tagged with tagPrefixList, untagged, and
 * imageCountMoreThan / sinceImagePushed. A test fixture of AWS's documented
 * behaviour, so a rule that never matches what the build pushes fails a test.
 *
 * - Rules apply in rulePriority order, lowest first.
 * - An image matches tagPrefixList when every prefix matches one of its tags.
 * - An image matched by a higher-priority rule cannot be expired by a lower one.
 * - imageCountMoreThan N keeps the N newest matching images (by push time).
 */
type Selection = {
  readonly tagStatus: "tagged" | "untagged" | "any";
  readonly tagPrefixList?: readonly string[];
  readonly countType: "imageCountMoreThan" | "sinceImagePushed";
  readonly countNumber: number;
};
export type LifecycleRule = { readonly rulePriority: number; readonly selection: Selection; readonly action: { readonly type: string } };
export type PushedImage = { readonly digest: string; readonly tags: readonly string[]; readonly pushedAt: number };

const DAY_MS = 86_400_000;

/** The images a lifecycle run leaves in the repository, at time `now` (ms). */
export function survivingImages(rules: readonly LifecycleRule[], images: readonly PushedImage[], now: number): PushedImage[] {
  const claimed = new Set<string>();
  const expired = new Set<string>();
  for (const rule of [...rules].sort((a, b) => a.rulePriority - b.rulePriority)) {
    const matching = images.filter((image) => !claimed.has(image.digest) && matches(rule.selection, image));
    const newestFirst = [...matching].sort((a, b) => b.pushedAt - a.pushedAt);
    const toExpire =
      rule.selection.countType === "imageCountMoreThan"
        ? newestFirst.slice(rule.selection.countNumber)
        : newestFirst.filter((image) => now - image.pushedAt > rule.selection.countNumber * DAY_MS);
    for (const image of toExpire) if (rule.action.type === "expire") expired.add(image.digest);
    for (const image of matching) claimed.add(image.digest);
  }
  return images.filter((image) => !expired.has(image.digest));
}

function matches(selection: Selection, image: PushedImage): boolean {
  if (selection.tagStatus === "untagged") return image.tags.length === 0;
  if (selection.tagStatus === "any") return true;
  const prefixes = selection.tagPrefixList ?? [];
  return image.tags.length > 0 && prefixes.every((prefix) => image.tags.some((tag) => tag.startsWith(prefix)));
}
