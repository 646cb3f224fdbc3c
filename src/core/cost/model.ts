/**
 * The monthly cost model behind `sftpctl cost`. Pure: a plain input object and one region's prices in, a list of
 * line items and exact totals out. The lead command fills `CostInput` from the config and the flags.
 *
 * Money is exact: every quantity and price is a decimal (a bigint and a scale, never a binary float), each line
 * item is rounded once, half up, to the cent, and every total is the integer sum of those cents — so a total
 * always equals the sum of the items shown. docs/cost.md explains every item and assumption.
 */

import { SftpctlError } from '../errors.js';
import { formatQuantity, formatUnitPrice } from './format.js';
import { type RegionPrices, TRANSFER_PROTOCOLS, type TransferProtocol } from './prices.js';

export type { TransferProtocol } from './prices.js';

/** One partner ("client") of the platform, as far as cost goes. */
export interface CostClient {
  name: string;
  /** Memory of the client's ingress and egress functions, MB (128–10,240). */
  memoryMb: number;
  /** Has an upload user: an upload bucket, an ingress queue and function, the ingress key secret. */
  hasUpload: boolean;
  /** Has a download user: export and download buckets, an egress queue and function, the partner-key secret. */
  hasDownload: boolean;
  /** Checksum sidecars travel with every file (one more small object written and read per file). */
  checksum: boolean;
}

/**
 * Traffic. Upload, download and files are PER ENDPOINT (per protocol): every protocol in `protocols` carries
 * this much, as in the article's third example, where the SFTP and the FTPS endpoint each carry 100 GB/day up
 * and 50 GB/day down. Storage is the total stored across all buckets.
 */
export interface CostTraffic {
  /** GB uploaded by partners per day, per endpoint. */
  uploadGbPerDay: number;
  /** GB downloaded by partners per day, per endpoint. */
  downloadGbPerDay: number;
  /** GB stored in S3 Standard, all buckets together (1 TB = 1,024 GB, as the article counts). */
  storageGb: number;
  /** Files transferred per day (uploads plus downloads), per endpoint. */
  filesPerDay: number;
}

export interface CostInput {
  region: string;
  /** Protocols enabled on the server endpoint (or priced with `--protocols`); each is billed per hour. */
  protocols: TransferProtocol[];
  /** Hours each protocol is enabled per month (720 = 24 × 30). */
  endpointHoursPerMonth: number;
  /** Transfer Family web app units enabled (0 when the platform has none). */
  webAppsEnabled: number;
  /** Elastic IPs of the endpoint: one per subnet/AZ. */
  elasticIps: number;
  clients: CostClient[];
  traffic: CostTraffic;
  /** Days in the billing month (the article uses 30). */
  daysPerMonth: number;
  /** Retention of the platform's log groups, days; 0 means "never expire" (priced as a year of logs). */
  logRetentionDays: number;
  /** Overrides of the platform model's assumptions (see DEFAULT_ASSUMPTIONS). */
  assumptions?: Partial<PlatformAssumptions>;
}

/** Defaults the lead can spread under what the config and flags give. */
export const COST_INPUT_DEFAULTS = {
  endpointHoursPerMonth: 720,
  daysPerMonth: 30,
  webAppsEnabled: 0,
} as const;

/**
 * What the platform items rest on. Each one is stated in the estimate's `assumptions` with its value.
 * Throughputs come from the measurements in ARCHITECTURE.md (openpgp.js 6 streaming on one core: decrypt
 * 134 MB/s, encrypt 157 MB/s), halved for S3 streaming in and out of a Lambda function.
 */
export interface PlatformAssumptions {
  /** Ingress (PGP decrypt + checksum) throughput at one full vCPU, MB/s. */
  ingressMBps: number;
  /** Egress (checksum + PGP encrypt) throughput at one full vCPU, MB/s. */
  egressMBps: number;
  /** Lambda memory that buys one full vCPU; below it throughput scales down in proportion. */
  fullVcpuMemoryMb: number;
  /** Billed seconds per invocation besides moving bytes: secret fetch, key parse, S3 HEAD, amortised cold starts. */
  invocationOverheadSeconds: number;
  /** S3 write-class requests (PUT/COPY/POST/LIST) per uploaded file: partner PUT, raw multipart create + complete, one partner LIST. */
  ingressS3WritesPerFile: number;
  /** S3 read-class requests per uploaded file: the function's HEAD and GET. */
  ingressS3ReadsPerFile: number;
  /** S3 write-class requests per downloaded file: system PUT to export, download multipart create + complete, one partner LIST. */
  egressS3WritesPerFile: number;
  /** S3 read-class requests per downloaded file: the function's HEAD and GET, the partner's GET. */
  egressS3ReadsPerFile: number;
  /** KMS requests per file with S3 Bucket Keys on: one Decrypt of the key secret, about one amortised for S3 and SQS. */
  kmsRequestsPerFile: number;
  /** Secrets Manager GetSecretValue calls per file (one per invocation, no caching assumed). */
  secretCallsPerFile: number;
  /** SQS requests per message: send, receive, delete. */
  sqsRequestsPerMessage: number;
  /** Long-polling connections Lambda keeps open on each queue, even when idle. */
  sqsPollersPerQueue: number;
  /** Long-poll wait time, seconds: each poller makes 86,400 / this receives a day. */
  sqsPollWaitSeconds: number;
  /** Log bytes per Lambda invocation: START/END/REPORT lines plus the pipeline's structured lines. */
  lambdaLogBytesPerInvocation: number;
  /** Log bytes Transfer Family's structured logging writes per file (session, auth, open, close). */
  transferLogBytesPerFile: number;
  /** Stored (gzip + 26 B/event metadata) size of logs relative to ingested size. */
  logStoredRatio: number;
  /** Days of logs kept when retention is "never expire". */
  neverExpireLogDays: number;
}

export const DEFAULT_ASSUMPTIONS: Readonly<PlatformAssumptions> = {
  ingressMBps: 67,
  egressMBps: 78,
  fullVcpuMemoryMb: 1769,
  invocationOverheadSeconds: 0.25,
  ingressS3WritesPerFile: 4,
  ingressS3ReadsPerFile: 2,
  egressS3WritesPerFile: 4,
  egressS3ReadsPerFile: 3,
  kmsRequestsPerFile: 2,
  secretCallsPerFile: 1,
  sqsRequestsPerMessage: 3,
  sqsPollersPerQueue: 5,
  sqsPollWaitSeconds: 20,
  lambdaLogBytesPerInvocation: 1500,
  transferLogBytesPerFile: 1200,
  logStoredRatio: 0.2,
  neverExpireLogDays: 365,
};

export type LineItemScope = 'article' | 'platform';

export interface LineItem {
  /** Stable id: `transfer-endpoint-sftp`, `transfer-data-ftps`, `s3-storage`, `lambda-duration`, … */
  id: string;
  label: string;
  /** In `unit`s; `monthly` = `quantity` × `unitPrice`, rounded to the cent. */
  quantity: number;
  unit: string;
  /** USD per `unit`. */
  unitPrice: number;
  /** USD, rounded to the cent. */
  monthly: number;
  /** The same amount in integer cents (exact; sum these). */
  monthlyCents: number;
  /** Human calculation, in the article's style: `$0.30 × 24 × 30`. */
  formula: string;
  scope: LineItemScope;
  /** What the item covers or leaves out, when that is not obvious. */
  note?: string;
}

export interface CostEstimate {
  region: string;
  currency: 'USD';
  priceVersion: string;
  takenOn: string;
  /** Where the prices came from: 'built-in', or the price file that changed them. */
  priceSource: string;
  /** True when only the article's items were priced (`--article-scope`). */
  articleScope: boolean;
  /** All priced items, the article's first. */
  items: LineItem[];
  articleItems: LineItem[];
  /** The platform's items the article leaves out (empty with `--article-scope`). */
  extraItems: LineItem[];
  /** USD. */
  articleTotal: number;
  extraTotal: number;
  total: number;
  /** The same totals in integer cents: `article + extra === total`, and each is the sum of its items' cents. */
  cents: { article: number; extra: number; total: number };
  assumptions: string[];
}

export interface CostOptions {
  /** Price only the article's items: endpoint hours, data uploaded/downloaded, S3 storage, web apps. */
  articleScope: boolean;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Exact decimals                                                                                               */
/* ------------------------------------------------------------------------------------------------------------ */

const TEN = 10n;
const pow10 = (n: number): bigint => TEN ** BigInt(n);

/** A decimal number: `units / 10^scale`. Immutable; only what the model needs. */
export class Dec {
  private constructor(
    readonly units: bigint,
    readonly scale: number,
  ) {}

  static readonly ZERO = new Dec(0n, 0);

  /** The decimal a number is written as (`0.1` is exactly one tenth, not the binary float nearest to it). */
  static of(value: number | bigint | string): Dec {
    if (typeof value === 'bigint') return new Dec(value, 0);
    const text = typeof value === 'number' ? String(value) : value.trim();
    const match = /^(-)?(\d+)(?:\.(\d*))?(?:e([+-]?\d+))?$/i.exec(text);
    if (match === null) throw new RangeError(`not a finite decimal number: ${text}`);
    const [, sign, whole = '0', fraction = '', exponent = '0'] = match;
    let units = BigInt(whole + fraction);
    let scale = fraction.length - Number(exponent);
    if (scale < 0) {
      units *= pow10(-scale);
      scale = 0;
    }
    return new Dec(sign === '-' ? -units : units, scale).normalized();
  }

  private normalized(): Dec {
    let { units, scale } = this;
    while (scale > 0 && units % TEN === 0n) {
      units /= TEN;
      scale -= 1;
    }
    return units === this.units ? this : new Dec(units, scale);
  }

  private at(scale: number): bigint {
    return this.units * pow10(scale - this.scale);
  }

  add(other: Dec): Dec {
    const scale = Math.max(this.scale, other.scale);
    return new Dec(this.at(scale) + other.at(scale), scale).normalized();
  }

  mul(other: Dec | number): Dec {
    const o = other instanceof Dec ? other : Dec.of(other);
    return new Dec(this.units * o.units, this.scale + o.scale).normalized();
  }

  /** Division rounded half away from zero to `digits` decimals (exact whenever the quotient terminates sooner). */
  div(other: Dec | number, digits = 24): Dec {
    const o = other instanceof Dec ? other : Dec.of(other);
    if (o.units === 0n) throw new RangeError('division by zero');
    const numerator = this.units * pow10(digits + o.scale);
    const denominator = o.units * pow10(this.scale);
    return new Dec(divRound(numerator, denominator), digits).normalized();
  }

  /** Divides by 10^n exactly. */
  shift(n: number): Dec {
    return new Dec(this.units, this.scale + n).normalized();
  }

  min(other: Dec): Dec {
    return this.cmp(other) <= 0 ? this : other;
  }

  cmp(other: Dec): number {
    const scale = Math.max(this.scale, other.scale);
    const a = this.at(scale);
    const b = other.at(scale);
    return a < b ? -1 : a > b ? 1 : 0;
  }

  isZero(): boolean {
    return this.units === 0n;
  }

  /** Rounded half away from zero to `scale` decimals, as an integer of that many decimals. */
  roundedUnits(scale: number): bigint {
    if (this.scale <= scale) return this.at(scale);
    return divRound(this.units, pow10(this.scale - scale));
  }

  /** Whole cents, rounded half up. */
  cents(): bigint {
    return this.roundedUnits(2);
  }

  toNumber(): number {
    return Number(this.toString());
  }

  /** Plain decimal notation, no exponent. */
  toString(): string {
    const negative = this.units < 0n;
    const digits = (negative ? -this.units : this.units).toString().padStart(this.scale + 1, '0');
    const whole = digits.slice(0, digits.length - this.scale);
    const fraction = digits.slice(digits.length - this.scale);
    return `${negative ? '-' : ''}${whole}${fraction === '' ? '' : `.${fraction}`}`;
  }
}

function divRound(numerator: bigint, denominator: bigint): bigint {
  const negative = numerator < 0n !== denominator < 0n;
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  let q = n / d;
  if ((n % d) * 2n >= d) q += 1n;
  return negative ? -q : q;
}

/* ------------------------------------------------------------------------------------------------------------ */
/* Validation                                                                                                   */
/* ------------------------------------------------------------------------------------------------------------ */

const FLAG_OF: Record<string, string> = {
  'traffic.uploadGbPerDay': '--upload-gb-day',
  'traffic.downloadGbPerDay': '--download-gb-day',
  'traffic.storageGb': '--storage-gb',
  'traffic.filesPerDay': '--files-day',
  endpointHoursPerMonth: '--hours-per-month',
};

function badInput(code: string, field: string, message: string, hint: string): SftpctlError {
  const flag = FLAG_OF[field];
  const where = flag === undefined ? field : `${flag} (${field})`;
  return new SftpctlError(code, `${where}: ${message}`, hint, { kind: flag === undefined ? 'user' : 'usage' });
}

function checkNumber(
  field: string,
  value: unknown,
  rules: { integer?: boolean; min?: number; max?: number; positive?: boolean } = {},
): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw badInput(
      'COST_INVALID_INPUT',
      field,
      `expected a finite number, got ${JSON.stringify(value) ?? String(value)}.`,
      'Give a plain number such as 50 or 0.5.',
    );
  }
  if (value < 0) {
    throw badInput(
      'COST_NEGATIVE_INPUT',
      field,
      `is ${value}; it cannot be negative.`,
      'Give zero or more: traffic, storage, counts and hours are amounts, not changes.',
    );
  }
  if (rules.positive === true && value === 0) {
    throw badInput('COST_INVALID_INPUT', field, 'must be more than zero.', 'Give a positive number.');
  }
  if (rules.integer === true && !Number.isInteger(value)) {
    throw badInput('COST_INVALID_INPUT', field, `is ${value}; it must be a whole number.`, 'Give a whole number.');
  }
  if (rules.min !== undefined && value < rules.min) {
    throw badInput(
      'COST_INVALID_INPUT',
      field,
      `is ${value}; the least allowed is ${rules.min}.`,
      `Give ${rules.min} or more.`,
    );
  }
  if (rules.max !== undefined && value > rules.max) {
    throw badInput(
      'COST_INVALID_INPUT',
      field,
      `is ${value}; the most allowed is ${rules.max}.`,
      `Give at most ${rules.max}.`,
    );
  }
}

/** Throws COST_NEGATIVE_INPUT / COST_INVALID_INPUT for input the model cannot price. */
export function validateCostInput(input: CostInput): void {
  if (typeof input.region !== 'string' || input.region.trim() === '') {
    throw badInput('COST_INVALID_INPUT', 'region', 'is empty.', 'Set the region in the config or with --region.');
  }
  if (!Array.isArray(input.protocols) || input.protocols.length === 0) {
    throw new SftpctlError(
      'COST_INVALID_INPUT',
      'No endpoint protocol to price: the server has none enabled and --protocols gave none.',
      `Enable a protocol in the config or pass --protocols ${TRANSFER_PROTOCOLS.join(',')} (any of them).`,
      { kind: 'usage' },
    );
  }
  const seen = new Set<string>();
  for (const protocol of input.protocols) {
    if (!TRANSFER_PROTOCOLS.includes(protocol)) {
      throw new SftpctlError(
        'COST_INVALID_INPUT',
        `Unknown protocol "${String(protocol)}".`,
        `Use ${TRANSFER_PROTOCOLS.join(', ')} (comma-separated with --protocols).`,
        { kind: 'usage' },
      );
    }
    if (seen.has(protocol)) {
      throw new SftpctlError(
        'COST_INVALID_INPUT',
        `Protocol ${protocol} is listed twice.`,
        'List each protocol once: one endpoint protocol is billed once per hour.',
        { kind: 'usage' },
      );
    }
    seen.add(protocol);
  }
  checkNumber('daysPerMonth', input.daysPerMonth, { positive: true, max: 31 });
  checkNumber('endpointHoursPerMonth', input.endpointHoursPerMonth, { max: 744 });
  checkNumber('webAppsEnabled', input.webAppsEnabled, { integer: true });
  checkNumber('elasticIps', input.elasticIps, { integer: true });
  checkNumber('logRetentionDays', input.logRetentionDays);
  const traffic = input.traffic;
  checkNumber('traffic.uploadGbPerDay', traffic?.uploadGbPerDay);
  checkNumber('traffic.downloadGbPerDay', traffic?.downloadGbPerDay);
  checkNumber('traffic.storageGb', traffic?.storageGb);
  checkNumber('traffic.filesPerDay', traffic?.filesPerDay);
  if (!Array.isArray(input.clients)) {
    throw badInput('COST_INVALID_INPUT', 'clients', 'must be a list.', 'Pass the config clients (possibly none).');
  }
  for (const [i, client] of input.clients.entries()) {
    checkNumber(`clients[${i}] (${client.name}).memoryMb`, client.memoryMb, { min: 128, max: 10240 });
  }
  const assumptions = resolveAssumptions(input);
  for (const [key, value] of Object.entries(assumptions)) {
    const positive = ['ingressMBps', 'egressMBps', 'fullVcpuMemoryMb', 'sqsPollWaitSeconds'].includes(key);
    checkNumber(`assumptions.${key}`, value, { positive });
  }
}

function resolveAssumptions(input: CostInput): PlatformAssumptions {
  return { ...DEFAULT_ASSUMPTIONS, ...(input.assumptions ?? {}) };
}

/* ------------------------------------------------------------------------------------------------------------ */
/* The model                                                                                                    */
/* ------------------------------------------------------------------------------------------------------------ */

const GIB_BYTES = Dec.of(1024 ** 3);
const q = (n: Dec, digits = 2): string => formatQuantity(n.toString(), digits);
const money = (price: number): string => formatUnitPrice(price);

interface ItemSpec {
  id: string;
  label: string;
  scope: LineItemScope;
  quantity: Dec;
  unit: string;
  unitPrice: number;
  formula: string;
  note?: string;
}

function makeItem(spec: ItemSpec): LineItem {
  const cents = spec.quantity.mul(Dec.of(spec.unitPrice)).cents();
  const item: LineItem = {
    id: spec.id,
    label: spec.label,
    quantity: spec.quantity.toNumber(),
    unit: spec.unit,
    unitPrice: spec.unitPrice,
    monthly: Number(cents) / 100,
    monthlyCents: Number(cents),
    formula: spec.formula,
    scope: spec.scope,
  };
  if (spec.note !== undefined) item.note = spec.note;
  return item;
}

/**
 * Estimates one month of the platform. With `articleScope` only the article's items are priced (endpoint hours
 * per protocol, data uploaded/downloaded per protocol, S3 storage, web apps when enabled); otherwise the platform's
 * own items follow (public IPv4, internet egress, S3 requests, KMS, Secrets Manager, Lambda, SQS, EventBridge,
 * CloudWatch Logs and alarms). Throws SftpctlError on input it cannot price.
 */
export function estimateMonthlyCost(input: CostInput, prices: RegionPrices, options: CostOptions): CostEstimate {
  validateCostInput(input);
  if (prices.region !== input.region) {
    throw new SftpctlError(
      'COST_REGION_MISMATCH',
      `The prices given are for ${prices.region}, but the estimate is for ${input.region}.`,
      `Resolve the prices for ${input.region} (resolveRegionPrices) before estimating.`,
      { kind: 'internal' },
    );
  }
  const a = resolveAssumptions(input);
  const days = Dec.of(input.daysPerMonth);
  const endpoints = input.protocols.length;
  const assumptions: string[] = [];

  // ---- the article's items ----
  const articleItems: LineItem[] = [];
  const hours = Dec.of(input.endpointHoursPerMonth);
  const fullMonthHours = days.mul(24);
  const hoursText = hours.cmp(fullMonthHours) === 0 ? `24 × ${q(days)}` : `${q(hours)} h`;
  const up = Dec.of(input.traffic.uploadGbPerDay);
  const down = Dec.of(input.traffic.downloadGbPerDay);
  for (const protocol of input.protocols) {
    const price = prices.transfer.endpointHour[protocol];
    articleItems.push(
      makeItem({
        id: `transfer-endpoint-${protocol.toLowerCase()}`,
        label: `${protocol} endpoint`,
        scope: 'article',
        quantity: hours,
        unit: 'h',
        unitPrice: price,
        formula: `${money(price)} × ${hoursText}`,
      }),
    );
  }
  for (const protocol of input.protocols) {
    const perDay = up.add(down);
    const gbText =
      !up.isZero() && !down.isZero() ? `(${q(up)} GB + ${q(down)} GB)` : `${q(up.isZero() ? down : up)} GB`;
    articleItems.push(
      makeItem({
        id: `transfer-data-${protocol.toLowerCase()}`,
        label: `${protocol} data upload/download`,
        scope: 'article',
        quantity: perDay.mul(days),
        unit: 'GB',
        unitPrice: prices.transfer.dataGb,
        formula: `${money(prices.transfer.dataGb)} × ${gbText} × ${q(days)} days`,
      }),
    );
  }
  const storage = Dec.of(input.traffic.storageGb);
  const tb = storage.div(1024, 0);
  const storageText =
    tb.mul(1024).cmp(storage) === 0 && tb.cmp(Dec.of(2)) >= 0 ? `1,024 GB × ${q(tb)}` : `${q(storage)} GB`;
  articleItems.push(
    makeItem({
      id: 's3-storage',
      label: 'S3 storage (Standard)',
      scope: 'article',
      quantity: storage,
      unit: 'GB-month',
      unitPrice: prices.s3.standardGbMonth,
      formula: `${money(prices.s3.standardGbMonth)} × ${storageText}`,
      note: 'Everything stored in every bucket: upload, raw, export and download copies and noncurrent versions.',
    }),
  );
  if (input.webAppsEnabled > 0) {
    const units = Dec.of(input.webAppsEnabled);
    articleItems.push(
      makeItem({
        id: 'transfer-web-app',
        label: `Transfer Family web app (${input.webAppsEnabled} unit${input.webAppsEnabled === 1 ? '' : 's'})`,
        scope: 'article',
        quantity: units.mul(hours),
        unit: 'unit-h',
        unitPrice: prices.transfer.webAppUnitHour,
        formula: `${money(prices.transfer.webAppUnitHour)} × ${q(units)} × ${hoursText}`,
      }),
    );
  }

  assumptions.push(
    `Upload, download and files per day are per endpoint: each of the ${endpoints} protocol endpoint(s) ` +
      `(${input.protocols.join(', ')}) carries them, as in the article's third example; storage is the total.`,
    `A month is ${q(days)} days; endpoints are billed ${q(hours)} h per protocol.`,
    'Storage is S3 Standard at the first-50-TB tier price (1 TB = 1,024 GB, as the article counts); above ' +
      '50 TB AWS charges a little less per GB, so large stores are slightly overestimated.',
    'Each line is rounded to the cent (half up) and totals are sums of those cents; AWS rounds per bill line, so ' +
      'a real bill can differ by a few cents.',
  );

  // ---- the platform's items ----
  const extraItems: LineItem[] = [];
  if (!options.articleScope) {
    extraItems.push(...platformItems(input, prices, a, assumptions));
  }

  const sum = (items: LineItem[]): number => items.reduce((total, item) => total + item.monthlyCents, 0);
  const articleCents = sum(articleItems);
  const extraCents = sum(extraItems);
  const totalCents = articleCents + extraCents;
  return {
    region: input.region,
    currency: 'USD',
    priceVersion: prices.version,
    takenOn: prices.takenOn,
    priceSource: prices.source,
    articleScope: options.articleScope,
    items: [...articleItems, ...extraItems],
    articleItems,
    extraItems,
    articleTotal: articleCents / 100,
    extraTotal: extraCents / 100,
    total: totalCents / 100,
    cents: { article: articleCents, extra: extraCents, total: totalCents },
    assumptions,
  };
}

interface Direction {
  name: 'ingress' | 'egress';
  files: Dec;
  gb: Dec;
  clients: CostClient[];
  mbps: number;
  writesPerFile: number;
  readsPerFile: number;
}

function platformItems(
  input: CostInput,
  prices: RegionPrices,
  a: PlatformAssumptions,
  assumptions: string[],
): LineItem[] {
  const items: LineItem[] = [];
  const days = Dec.of(input.daysPerMonth);
  const endpoints = Dec.of(input.protocols.length);
  const up = Dec.of(input.traffic.uploadGbPerDay);
  const down = Dec.of(input.traffic.downloadGbPerDay);
  const upMonth = up.mul(days).mul(endpoints);
  const downMonth = down.mul(days).mul(endpoints);
  const filesMonth = Dec.of(input.traffic.filesPerDay).mul(days).mul(endpoints);
  const dataPerDay = up.add(down);
  // Files split between the directions in proportion to their GB (evenly when no GB is given).
  const upFiles = dataPerDay.isZero() ? filesMonth.div(2) : filesMonth.mul(up).div(dataPerDay);
  const downFiles = dataPerDay.isZero() ? filesMonth.div(2) : filesMonth.mul(down).div(dataPerDay);
  const uploaders = input.clients.filter((c) => c.hasUpload);
  const downloaders = input.clients.filter((c) => c.hasDownload);
  const directions: Direction[] = [
    {
      name: 'ingress',
      files: upFiles,
      gb: upMonth,
      clients: uploaders,
      mbps: a.ingressMBps,
      writesPerFile: a.ingressS3WritesPerFile,
      readsPerFile: a.ingressS3ReadsPerFile,
    },
    {
      name: 'egress',
      files: downFiles,
      gb: downMonth,
      clients: downloaders,
      mbps: a.egressMBps,
      writesPerFile: a.egressS3WritesPerFile,
      readsPerFile: a.egressS3ReadsPerFile,
    },
  ];

  // Public IPv4: every Elastic IP is billed every hour of the month, attached or not.
  const ips = Dec.of(input.elasticIps);
  items.push(
    makeItem({
      id: 'public-ipv4',
      label: `Public IPv4 (${input.elasticIps} Elastic IP${input.elasticIps === 1 ? '' : 's'}, one per AZ)`,
      scope: 'platform',
      quantity: ips.mul(days).mul(24),
      unit: 'IP-h',
      unitPrice: prices.network.publicIpv4Hour,
      formula: `${money(prices.network.publicIpv4Hour)} × ${q(ips)} IPs × 24 × ${q(days)}`,
    }),
  );

  // Internet egress: what partners download leaves AWS; uploads (data in) are free.
  items.push(
    makeItem({
      id: 'internet-egress',
      label: 'Data transfer out to the internet (downloads)',
      scope: 'platform',
      quantity: downMonth,
      unit: 'GB',
      unitPrice: prices.network.internetEgressGb,
      formula: `${money(prices.network.internetEgressGb)} × ${q(down)} GB × ${q(days)} days × ${q(endpoints)} endpoint(s)`,
      note: 'Standard AWS data transfer out, on top of Transfer Family’s per-GB fee; data in is free.',
    }),
  );

  // S3 requests.
  let writes = Dec.ZERO;
  let reads = Dec.ZERO;
  for (const d of directions) {
    writes = writes.add(d.files.mul(d.writesPerFile));
    reads = reads.add(d.files.mul(d.readsPerFile));
    const share = d.clients.length === 0 ? Dec.ZERO : d.files.div(d.clients.length);
    const sidecarFiles = d.clients.filter((c) => c.checksum).reduce((acc) => acc.add(share), Dec.ZERO);
    writes = writes.add(sidecarFiles);
    reads = reads.add(sidecarFiles);
  }
  items.push(
    makeItem({
      id: 's3-requests-write',
      label: 'S3 PUT/COPY/POST/LIST requests',
      scope: 'platform',
      quantity: writes.shift(3),
      unit: '1k requests',
      unitPrice: prices.s3.writePer1k,
      formula: `${money(prices.s3.writePer1k)} per 1,000 × ${q(writes, 0)} requests`,
    }),
    makeItem({
      id: 's3-requests-read',
      label: 'S3 GET/HEAD requests',
      scope: 'platform',
      quantity: reads.shift(3),
      unit: '1k requests',
      unitPrice: prices.s3.readPer1k,
      formula: `${money(prices.s3.readPer1k)} per 1,000 × ${q(reads, 0)} requests`,
    }),
  );

  // Processing: invocations, GB-seconds, messages — only for files some client's function processes.
  let processedFiles = Dec.ZERO;
  let invocations = Dec.ZERO;
  let gbSeconds = Dec.ZERO;
  const gbSecondsBy: string[] = [];
  let queues = 0;
  for (const d of directions) {
    queues += d.clients.length;
    if (d.clients.length === 0) {
      if (!d.files.isZero() || !d.gb.isZero()) {
        assumptions.push(
          `No client has ${d.name === 'ingress' ? 'an upload' : 'a download'} user, so no ${d.name} function ` +
            `processes the ${d.name === 'ingress' ? 'uploaded' : 'downloaded'} traffic: its processing is not priced.`,
        );
      }
      continue;
    }
    const n = d.clients.length;
    const filesEach = d.files.div(n);
    const mbEach = d.gb.mul(1024).div(n);
    let directionGbs = Dec.ZERO;
    for (const client of d.clients) {
      const memoryGb = Dec.of(client.memoryMb).div(1024);
      const cpuShare = Dec.of(client.memoryMb).div(a.fullVcpuMemoryMb).min(Dec.of(1));
      const throughput = Dec.of(d.mbps).mul(cpuShare);
      // Checksum clients' partners upload a sidecar too: one more (short) invocation per uploaded file.
      const clientInvocations = d.name === 'ingress' && client.checksum ? filesEach.mul(2) : filesEach;
      const seconds = clientInvocations.mul(a.invocationOverheadSeconds).add(mbEach.div(throughput));
      directionGbs = directionGbs.add(memoryGb.mul(seconds));
      invocations = invocations.add(clientInvocations);
    }
    processedFiles = processedFiles.add(d.files);
    gbSeconds = gbSeconds.add(directionGbs);
    gbSecondsBy.push(`${d.name} ${q(directionGbs)} GB-s`);
  }
  items.push(
    makeItem({
      id: 'lambda-duration',
      label: 'Lambda duration (arm64, ingress + egress)',
      scope: 'platform',
      quantity: gbSeconds,
      unit: 'GB-s',
      unitPrice: prices.lambda.arm64GbSecond,
      formula: `${money(prices.lambda.arm64GbSecond)} × ${q(gbSeconds)} GB-s`,
      note: gbSecondsBy.length > 0 ? gbSecondsBy.join(' + ') : 'no client functions process traffic',
    }),
    makeItem({
      id: 'lambda-requests',
      label: 'Lambda requests',
      scope: 'platform',
      quantity: invocations.shift(6),
      unit: '1M requests',
      unitPrice: prices.lambda.per1MRequests,
      formula: `${money(prices.lambda.per1MRequests)} per 1M × ${q(invocations, 0)} invocations`,
    }),
  );

  // KMS: one customer managed key per client.
  const keys = Dec.of(input.clients.length);
  items.push(
    makeItem({
      id: 'kms-keys',
      label: `KMS customer managed keys (one per client)`,
      scope: 'platform',
      quantity: keys,
      unit: 'key-month',
      unitPrice: prices.kms.keyMonth,
      formula: `${money(prices.kms.keyMonth)} × ${q(keys)} keys`,
      note: 'Yearly rotation adds $1/month per key after each of the first two rotations (from month 13).',
    }),
  );
  const kmsRequests = processedFiles.mul(a.kmsRequestsPerFile);
  items.push(
    makeItem({
      id: 'kms-requests',
      label: 'KMS requests',
      scope: 'platform',
      quantity: kmsRequests.shift(4),
      unit: '10k requests',
      unitPrice: prices.kms.per10kRequests,
      formula: `${money(prices.kms.per10kRequests)} per 10,000 × ${q(kmsRequests, 0)} requests`,
    }),
  );

  // Secrets Manager: the ingress private key (upload) and the partner's public key (download), per client.
  const secrets = Dec.of(uploaders.length + downloaders.length);
  items.push(
    makeItem({
      id: 'secrets',
      label: 'Secrets Manager secrets (PGP keys)',
      scope: 'platform',
      quantity: secrets,
      unit: 'secret-month',
      unitPrice: prices.secretsManager.secretMonth,
      formula: `${money(prices.secretsManager.secretMonth)} × ${q(secrets)} secrets`,
    }),
  );
  const secretCalls = processedFiles.mul(a.secretCallsPerFile);
  items.push(
    makeItem({
      id: 'secrets-api-calls',
      label: 'Secrets Manager API calls',
      scope: 'platform',
      quantity: secretCalls.shift(4),
      unit: '10k calls',
      unitPrice: prices.secretsManager.per10kApiCalls,
      formula: `${money(prices.secretsManager.per10kApiCalls)} per 10,000 × ${q(secretCalls, 0)} calls`,
    }),
  );

  // SQS: per message (send, receive, delete) plus Lambda's idle long polling on every queue.
  let messages = Dec.ZERO;
  for (const d of directions) {
    if (d.clients.length === 0) continue;
    const share = d.files.div(d.clients.length);
    for (const client of d.clients) {
      messages = messages.add(d.name === 'ingress' && client.checksum ? share.mul(2) : share);
    }
  }
  const polls = Dec.of(queues).mul(a.sqsPollersPerQueue).mul(Dec.of(86400).div(a.sqsPollWaitSeconds)).mul(days);
  const sqsRequests = messages.mul(a.sqsRequestsPerMessage).add(polls);
  items.push(
    makeItem({
      id: 'sqs-requests',
      label: `SQS requests (${queues} queue${queues === 1 ? '' : 's'} + DLQs)`,
      scope: 'platform',
      quantity: sqsRequests.shift(6),
      unit: '1M requests',
      unitPrice: prices.sqs.per1MRequests,
      formula:
        `${money(prices.sqs.per1MRequests)} per 1M × (${q(messages, 0)} messages × ${a.sqsRequestsPerMessage} ` +
        `+ ${q(polls, 0)} idle polls)`,
    }),
  );

  // EventBridge: Transfer Family's "upload completed" and S3's object events are AWS service events on the
  // default bus — free, and so are their rules' deliveries to SQS. Listed so the reader sees it was considered.
  const serviceEvents = messages;
  items.push(
    makeItem({
      id: 'eventbridge-events',
      label: 'EventBridge custom events',
      scope: 'platform',
      quantity: Dec.ZERO,
      unit: '1M events',
      unitPrice: prices.eventBridge.customEventsPer1M,
      formula: `${money(prices.eventBridge.customEventsPer1M)} per 1M × 0 custom events`,
      note: `${q(serviceEvents, 0)} Transfer/S3 events a month are AWS service events on the default bus: free.`,
    }),
  );

  // CloudWatch Logs: Lambda and Transfer Family logs; storage at steady state for the retention period.
  const transferFiles = filesMonth;
  const logBytes = invocations.mul(a.lambdaLogBytesPerInvocation).add(transferFiles.mul(a.transferLogBytesPerFile));
  const ingestGb = logBytes.div(GIB_BYTES);
  items.push(
    makeItem({
      id: 'logs-ingestion',
      label: 'CloudWatch Logs ingestion (Lambda + Transfer)',
      scope: 'platform',
      quantity: ingestGb,
      unit: 'GB',
      unitPrice: prices.cloudWatch.logsIngestGb,
      formula: `${money(prices.cloudWatch.logsIngestGb)} × ${q(ingestGb, 4)} GB`,
    }),
  );
  const retentionDays = input.logRetentionDays === 0 ? a.neverExpireLogDays : input.logRetentionDays;
  const storedGb = ingestGb.mul(retentionDays).div(days).mul(a.logStoredRatio);
  items.push(
    makeItem({
      id: 'logs-storage',
      label: `CloudWatch Logs storage (${retentionDays} days kept)`,
      scope: 'platform',
      quantity: storedGb,
      unit: 'GB-month',
      unitPrice: prices.cloudWatch.logsStorageGbMonth,
      formula:
        `${money(prices.cloudWatch.logsStorageGbMonth)} × ${q(ingestGb, 4)} GB × ${retentionDays}/${q(days)} ` +
        `× ${a.logStoredRatio} compressed`,
    }),
  );

  // CloudWatch alarms: one per queue (on its dead-letter queue).
  const alarms = Dec.of(queues);
  items.push(
    makeItem({
      id: 'cloudwatch-alarms',
      label: 'CloudWatch alarms (one per queue)',
      scope: 'platform',
      quantity: alarms,
      unit: 'alarm-month',
      unitPrice: prices.cloudWatch.alarmMonth,
      formula: `${money(prices.cloudWatch.alarmMonth)} × ${q(alarms)} alarms`,
    }),
  );

  assumptions.push(
    'Free tiers (Lambda, SQS, KMS requests, 100 GB/month of internet egress, …) are ignored: they are ' +
      'account-wide and usually already used by something else.',
    `Files are split between uploads and downloads in proportion to their GB, and evenly between the clients ` +
      `that have each direction. Files per month: ${q(filesMonth, 0)}.`,
    `Lambda (arm64): one invocation per file (SQS batch size 1), ${a.invocationOverheadSeconds} s overhead each, ` +
      `bytes at ${a.ingressMBps} MB/s (ingress decrypt) and ${a.egressMBps} MB/s (egress encrypt) at one full vCPU ` +
      `(${a.fullVcpuMemoryMb} MB), scaled down in proportion below that — half the measured openpgp.js streaming ` +
      'speeds (decrypt 134 MB/s, encrypt 157 MB/s), for S3 streaming in and out.',
    `S3 requests per uploaded file: ${a.ingressS3WritesPerFile} write-class, ${a.ingressS3ReadsPerFile} read-class; ` +
      `per downloaded file: ${a.egressS3WritesPerFile} and ${a.egressS3ReadsPerFile}; a checksum sidecar adds one ` +
      'of each. Multipart UploadPart requests of large files are not counted.',
    `KMS: ${a.kmsRequestsPerFile} requests per processed file, with S3 Bucket Keys on (without them S3 calls KMS ` +
      'on every object PUT and GET). One key per client at $1/month before rotation surcharges.',
    `Secrets Manager: one secret per upload user (ingress private key) and per download user (partner public key); ` +
      `${a.secretCallsPerFile} GetSecretValue call(s) per processed file.`,
    `SQS: ${a.sqsRequestsPerMessage} requests per message (send, receive, delete) plus ${a.sqsPollersPerQueue} ` +
      `idle long-polling connections per queue (${a.sqsPollWaitSeconds} s waits) from Lambda; DLQs stay empty.`,
    'EventBridge: Transfer Family and S3 events are AWS service events on the default bus, which are free; the ' +
      'platform publishes no custom events.',
    `CloudWatch Logs: ${a.lambdaLogBytesPerInvocation} B per invocation and ${a.transferLogBytesPerFile} B of ` +
      `Transfer structured logs per file; stored at ${a.logStoredRatio} of the ingested size for ` +
      `${retentionDays} days${input.logRetentionDays === 0 ? ' ("never expire" priced as a year)' : ''}.`,
    'Not priced: the Transfer server’s VPC endpoint (no separate charge), AS2 messages, Transfer workflows and ' +
      'connectors, CloudWatch metrics and dashboards, Logs Insights queries, Lambda ephemeral storage above 512 MB.',
  );
  return items;
}
