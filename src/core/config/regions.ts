/**
 * The AWS regions of every partition, known offline (the same list the AWS SDK's endpoint resolver ships;
 * test/core/config/regions.test.ts keeps it in step with the installed SDK). A region outside it is refused
 * before any call, with the nearest names.
 */
export const AWS_PARTITIONS: Readonly<Record<string, readonly string[]>> = {
  aws: [
    'af-south-1',
    'ap-east-1',
    'ap-east-2',
    'ap-northeast-1',
    'ap-northeast-2',
    'ap-northeast-3',
    'ap-south-1',
    'ap-south-2',
    'ap-southeast-1',
    'ap-southeast-2',
    'ap-southeast-3',
    'ap-southeast-4',
    'ap-southeast-5',
    'ap-southeast-6',
    'ap-southeast-7',
    'ca-central-1',
    'ca-west-1',
    'eu-central-1',
    'eu-central-2',
    'eu-north-1',
    'eu-south-1',
    'eu-south-2',
    'eu-west-1',
    'eu-west-2',
    'eu-west-3',
    'il-central-1',
    'me-central-1',
    'me-south-1',
    'me-west-1',
    'mx-central-1',
    'sa-east-1',
    'sa-west-1',
    'us-east-1',
    'us-east-2',
    'us-west-1',
    'us-west-2',
  ],
  'aws-cn': ['cn-north-1', 'cn-northwest-1'],
  'aws-eusc': ['eusc-de-east-1'],
  'aws-iso': ['us-iso-east-1', 'us-iso-west-1'],
  'aws-iso-b': ['us-isob-east-1', 'us-isob-west-1'],
  'aws-iso-e': ['eu-isoe-west-1'],
  'aws-iso-f': ['us-isof-east-1', 'us-isof-south-1'],
  'aws-us-gov': ['us-gov-east-1', 'us-gov-west-1'],
};

export const AWS_REGIONS: readonly string[] = Object.values(AWS_PARTITIONS).flat();

/** The partition a region belongs to, or undefined for an unknown region. */
export function partitionOf(region: string): string | undefined {
  return Object.entries(AWS_PARTITIONS).find(([, regions]) => regions.includes(region))?.[0];
}

/**
 * Undefined for a known region; otherwise what is wrong and the nearest valid names (same area first:
 * eu-west-9 → eu-west-1, eu-west-2, eu-west-3).
 */
export function regionProblem(region: string): { message: string; hint: string } | undefined {
  if (AWS_REGIONS.includes(region)) return undefined;
  const near = nearestRegions(region);
  return {
    message: `"${region}" is not an AWS region`,
    hint: near.length > 0 ? `Did you mean ${orList(near)}?` : `Use a region code like eu-west-2 or us-east-1.`,
  };
}

/** Up to three known regions nearest to `input`: those of the same area (the name without its number) first. */
export function nearestRegions(input: string, limit = 3): string[] {
  const area = input.replace(/-\d+$/, '');
  const sameArea = AWS_REGIONS.filter((region) => region.replace(/-\d+$/, '') === area);
  if (sameArea.length > 0) return sameArea.slice(0, limit);
  return AWS_REGIONS.map((region) => ({ region, distance: distance(input, region) }))
    .filter((entry) => entry.distance <= Math.max(3, Math.floor(input.length / 3)))
    .sort((a, b) => a.distance - b.distance)
    .slice(0, limit)
    .map((entry) => entry.region);
}

function orList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
