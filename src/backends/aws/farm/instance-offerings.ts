/**
 * Are the farm's instance families sold in the region? A managed compute
 * environment naming a family the region does not offer fails to create, and
 * the whole stack rolls back; asked first (EC2 DescribeInstanceTypeOfferings),
 * the deploy stops with the families to drop instead.
 */
import { DescribeInstanceTypeOfferingsCommand, type EC2Client } from "@aws-sdk/client-ec2";

/** The entries of `wanted` (families like "g6" or types like "m7i.2xlarge") with no offering in the client's region. */
export async function unofferedInstanceTypes(ec2: EC2Client, wanted: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const entry of wanted) {
    // A family matches its sizes through the filter's wildcard; one offering is enough.
    const value = entry.includes(".") ? entry : `${entry}.*`;
    const answer = await ec2.send(
      new DescribeInstanceTypeOfferingsCommand({ LocationType: "region", Filters: [{ Name: "instance-type", Values: [value] }], MaxResults: 5 }),
    );
    if ((answer?.InstanceTypeOfferings ?? []).length === 0) missing.push(entry);
  }
  return missing;
}
