/**
 * The built-in, versioned price table for `sftpctl cost`.
 *
 * HONESTY NOTE — prices drift. Every figure below was compiled on 2026-11-24 (`takenOn`) from the public
 * AWS pricing pages listed in `sources`, as AWS published them up to that date. sftpctl never fetches
 * prices live, so the table is only as fresh as the release you run. The us-east-1 figures are the ones AWS
 * itself quotes in its worked examples; the other regions' figures (S3, internet egress, CloudWatch Logs
 * especially) were transcribed with less certainty. Check them with the AWS Pricing Calculator before you
 * commit to a budget, and override any of them with a price file (`--price-file`, see docs/cost.md).
 *
 * All prices are USD, on-demand, first pricing tier, without free tiers, taxes, Savings Plans or credits.
 * Bump `version` whenever a figure changes; tests and `--json` output carry it.
 */

import { SftpctlError } from '../errors.js';

/** Transfer Family protocols that can be enabled on a server endpoint; each is billed per hour while enabled. */
export type TransferProtocol = 'SFTP' | 'FTPS' | 'FTP' | 'AS2';
export const TRANSFER_PROTOCOLS: readonly TransferProtocol[] = ['SFTP', 'FTPS', 'FTP', 'AS2'];

/** Unit prices of one region. Every field is USD for the unit named in its field name. */
export interface RegionUnitPrices {
  transfer: {
    /** Per protocol enabled on a server endpoint, per hour, whether or not anything is transferred. */
    endpointHour: Record<TransferProtocol, number>;
    /** Per GB uploaded or downloaded through a server endpoint. */
    dataGb: number;
    /** Per web app unit, per hour the web app is enabled. */
    webAppUnitHour: number;
  };
  s3: {
    /** S3 Standard, per GB-month, first 50 TB/month tier. */
    standardGbMonth: number;
    /** PUT, COPY, POST, LIST requests, per 1,000 requests (S3 Standard). */
    writePer1k: number;
    /** GET, SELECT and all other requests, per 1,000 requests (S3 Standard). */
    readPer1k: number;
  };
  network: {
    /** Public IPv4 address (an Elastic IP in use or idle), per IP-hour. */
    publicIpv4Hour: number;
    /** Data transfer out to the internet, per GB, first 10 TB/month tier (after the 100 GB/month free allowance). */
    internetEgressGb: number;
  };
  kms: {
    /** Customer managed key, per key-month (before rotation surcharges; see docs/cost.md). */
    keyMonth: number;
    /** Symmetric cryptographic requests, per 10,000 requests. */
    per10kRequests: number;
  };
  secretsManager: {
    /** Per secret stored, per month. */
    secretMonth: number;
    /** Per 10,000 API calls (GetSecretValue and friends). */
    per10kApiCalls: number;
  };
  lambda: {
    /** Duration on Arm (Graviton), per GB-second, first tier. */
    arm64GbSecond: number;
    /** Per 1,000,000 invocation requests. */
    per1MRequests: number;
  };
  sqs: {
    /** Standard queues, per 1,000,000 requests (each 64 KB chunk of a payload is one request). */
    per1MRequests: number;
  };
  eventBridge: {
    /** Custom and partner events published to an event bus, per 1,000,000 events. AWS service events to the
     *  default bus are free — which is how Transfer Family's and S3's events reach this platform's queues. */
    customEventsPer1M: number;
  };
  cloudWatch: {
    /** CloudWatch Logs standard-class ingestion, per GB. */
    logsIngestGb: number;
    /** CloudWatch Logs archived storage, per GB-month (billed on the compressed size). */
    logsStorageGbMonth: number;
    /** Standard-resolution metric alarm, per alarm-month. */
    alarmMonth: number;
  };
}

/** One region's entry in a price table: its unit prices, and where/when a price file changed them. */
export interface RegionPriceEntry extends RegionUnitPrices {
  /** Set when a price file changed or added this region: the date that file says its prices were taken. */
  takenOn?: string;
  /** 'built-in', or a description of the price file that changed or added this region. */
  source?: string;
}

export interface PriceTable {
  /** Changes whenever any figure changes. A price file appends its own version: `2026.11.1+acme-q4`. */
  version: string;
  /** YYYY-MM-DD: the date the built-in figures were compiled. */
  takenOn: string;
  currency: 'USD';
  /** The AWS pricing pages the figures come from, by service. */
  sources: Record<string, string>;
  regions: Record<string, RegionPriceEntry>;
}

/** The prices the cost model uses: one region's unit prices plus the provenance the estimate reports. */
export interface RegionPrices extends RegionUnitPrices {
  region: string;
  version: string;
  takenOn: string;
  source: string;
}

/** The AWS pricing pages each figure below was taken from. */
export const PRICE_SOURCES: Readonly<Record<string, string>> = {
  transfer: 'https://aws.amazon.com/aws-transfer-family/pricing/',
  s3: 'https://aws.amazon.com/s3/pricing/',
  publicIpv4: 'https://aws.amazon.com/vpc/pricing/',
  internetEgress: 'https://aws.amazon.com/ec2/pricing/on-demand/#Data_Transfer',
  kms: 'https://aws.amazon.com/kms/pricing/',
  secretsManager: 'https://aws.amazon.com/secrets-manager/pricing/',
  lambda: 'https://aws.amazon.com/lambda/pricing/',
  sqs: 'https://aws.amazon.com/sqs/pricing/',
  eventBridge: 'https://aws.amazon.com/eventbridge/pricing/',
  cloudWatch: 'https://aws.amazon.com/cloudwatch/pricing/',
  article: 'Serverless SFTP on AWS Transfer Family article, "Pricing Model" table (the figures its examples use)',
};

/** Figures that are the same in every region of this table (as of `takenOn`). */
function uniform(): Omit<RegionUnitPrices, 's3' | 'network' | 'cloudWatch'> {
  return {
    // AWS Transfer Family pricing page: $0.30 per hour for each protocol enabled on an endpoint (SFTP, FTPS,
    // FTP and AS2 alike), $0.04 per GB uploaded or downloaded, $0.50 per web app unit-hour. The article's
    // "Pricing Model" table quotes the same three figures.
    transfer: {
      endpointHour: { SFTP: 0.3, FTPS: 0.3, FTP: 0.3, AS2: 0.3 },
      dataGb: 0.04,
      webAppUnitHour: 0.5,
    },
    // AWS KMS pricing page: $1 per customer managed key per month; $0.03 per 10,000 symmetric requests.
    kms: { keyMonth: 1, per10kRequests: 0.03 },
    // AWS Secrets Manager pricing page: $0.40 per secret per month; $0.05 per 10,000 API calls.
    secretsManager: { secretMonth: 0.4, per10kApiCalls: 0.05 },
    // AWS Lambda pricing page: Arm $0.0000133334 per GB-second (first 7.5 billion GB-s/month);
    // $0.20 per 1M requests.
    lambda: { arm64GbSecond: 0.0000133334, per1MRequests: 0.2 },
    // Amazon SQS pricing page: standard queues $0.40 per 1M requests (after the first 1M/month free).
    sqs: { per1MRequests: 0.4 },
    // Amazon EventBridge pricing page: custom and partner events $1.00 per 1M; AWS service events delivered
    // to the default event bus are free.
    eventBridge: { customEventsPer1M: 1 },
  };
}

/**
 * Per-region figures. `uniform()` above holds what every region here shares; each entry states its S3,
 * network and CloudWatch figures explicitly.
 *
 * - S3 (S3 pricing page, S3 Standard first 50 TB/month, PUT/COPY/POST/LIST and GET per 1,000): us-east-1 is
 *   $0.023/GB-month. The article's $0.025/GB is the figure of ap-southeast-2 (Sydney) and of a few other
 *   regions — that is the region the article's worked examples reproduce exactly (see docs/cost.md).
 * - Public IPv4 (VPC pricing page): $0.005 per IP-hour in every region since 2024-02-01, in use or idle.
 * - Internet egress (EC2 on-demand pricing page, "Data Transfer OUT from Amazon EC2 to Internet", next 9.999 TB).
 * - CloudWatch (CloudWatch pricing page): Logs standard ingestion per GB, archived storage per GB-month,
 *   standard-resolution alarm per alarm-month. Non-US logs figures are the least certain in this table.
 */
function region(
  s3: RegionUnitPrices['s3'],
  internetEgressGb: number,
  cloudWatch: RegionUnitPrices['cloudWatch'],
): RegionPriceEntry {
  return { ...uniform(), s3, network: { publicIpv4Hour: 0.005, internetEgressGb }, cloudWatch };
}

export const BUILT_IN_PRICES: PriceTable = {
  version: '2026.11.1',
  takenOn: '2026-11-24',
  currency: 'USD',
  sources: PRICE_SOURCES,
  regions: {
    // US East (N. Virginia)
    'us-east-1': region({ standardGbMonth: 0.023, writePer1k: 0.005, readPer1k: 0.0004 }, 0.09, {
      logsIngestGb: 0.5,
      logsStorageGbMonth: 0.03,
      alarmMonth: 0.1,
    }),
    // US East (Ohio)
    'us-east-2': region({ standardGbMonth: 0.023, writePer1k: 0.005, readPer1k: 0.0004 }, 0.09, {
      logsIngestGb: 0.5,
      logsStorageGbMonth: 0.03,
      alarmMonth: 0.1,
    }),
    // US West (Oregon)
    'us-west-2': region({ standardGbMonth: 0.023, writePer1k: 0.005, readPer1k: 0.0004 }, 0.09, {
      logsIngestGb: 0.5,
      logsStorageGbMonth: 0.03,
      alarmMonth: 0.1,
    }),
    // Canada (Central)
    'ca-central-1': region({ standardGbMonth: 0.025, writePer1k: 0.0055, readPer1k: 0.00044 }, 0.09, {
      logsIngestGb: 0.55,
      logsStorageGbMonth: 0.033,
      alarmMonth: 0.1,
    }),
    // Europe (Ireland)
    'eu-west-1': region({ standardGbMonth: 0.023, writePer1k: 0.005, readPer1k: 0.0004 }, 0.09, {
      logsIngestGb: 0.57,
      logsStorageGbMonth: 0.03,
      alarmMonth: 0.1,
    }),
    // Europe (London)
    'eu-west-2': region({ standardGbMonth: 0.024, writePer1k: 0.0053, readPer1k: 0.00042 }, 0.09, {
      logsIngestGb: 0.5985,
      logsStorageGbMonth: 0.0315,
      alarmMonth: 0.1,
    }),
    // Europe (Frankfurt)
    'eu-central-1': region({ standardGbMonth: 0.0245, writePer1k: 0.0054, readPer1k: 0.00043 }, 0.09, {
      logsIngestGb: 0.63,
      logsStorageGbMonth: 0.0324,
      alarmMonth: 0.1,
    }),
    // Asia Pacific (Singapore)
    'ap-southeast-1': region({ standardGbMonth: 0.025, writePer1k: 0.005, readPer1k: 0.0004 }, 0.12, {
      logsIngestGb: 0.7,
      logsStorageGbMonth: 0.033,
      alarmMonth: 0.1,
    }),
    // Asia Pacific (Sydney) — S3 Standard here is the article's $0.025/GB-month.
    'ap-southeast-2': region({ standardGbMonth: 0.025, writePer1k: 0.0055, readPer1k: 0.00044 }, 0.114, {
      logsIngestGb: 0.57,
      logsStorageGbMonth: 0.033,
      alarmMonth: 0.1,
    }),
    // Asia Pacific (Tokyo)
    'ap-northeast-1': region({ standardGbMonth: 0.025, writePer1k: 0.0047, readPer1k: 0.00037 }, 0.114, {
      logsIngestGb: 0.76,
      logsStorageGbMonth: 0.033,
      alarmMonth: 0.1,
    }),
  },
};

/** The flag that points `sftpctl cost` at a price file; error hints name it. */
export const PRICE_FILE_FLAG = '--price-file';

/** Regions a table has prices for, sorted. */
export function knownRegions(table: PriceTable = BUILT_IN_PRICES): string[] {
  return Object.keys(table.regions).sort();
}

/**
 * Picks one region's prices out of a table (the built-in one, or one a price file changed).
 * Throws COST_UNKNOWN_REGION, naming the known regions and the override flag, when the table has no such region.
 */
export function resolveRegionPrices(region: string, table: PriceTable = BUILT_IN_PRICES): RegionPrices {
  const entry = Object.hasOwn(table.regions, region) ? table.regions[region] : undefined;
  if (entry === undefined) {
    throw new SftpctlError(
      'COST_UNKNOWN_REGION',
      `No prices for region "${region}" in price table ${table.version} (taken on ${table.takenOn}). ` +
        `Known regions: ${knownRegions(table).join(', ')}.`,
      `Give its prices in a price file with ${PRICE_FILE_FLAG} <file> (add the region under "regions:", e.g. with ` +
        '"basedOn: us-east-1" and the prices that differ; see docs/cost.md), or estimate for one of the known regions.',
    );
  }
  const { takenOn, source, ...units } = entry;
  return {
    ...structuredClone(units),
    region,
    version: table.version,
    takenOn: takenOn ?? table.takenOn,
    source: source ?? 'built-in',
  };
}
