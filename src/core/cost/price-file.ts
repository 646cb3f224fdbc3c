/**
 * The user's price-override file for `sftpctl cost --price-file <file>`: YAML or JSON text (the caller reads the
 * file; JSON is YAML too). It can change any unit price of a built-in region, or add a region — copying the
 * prices it does not give from `basedOn: <region>`. Every problem is reported with the file's line:col and
 * the field path, all at once. Format: docs/cost.md.
 *
 *   version: acme-2026-q4          # optional label, appended to the built-in table's version
 *   takenOn: 2026-11-01            # optional: when you took these prices
 *   source: https://calculator.aws # optional: where from
 *   regions:
 *     us-east-1:
 *       s3: { standardGbMonth: 0.025 }
 *     me-central-1:
 *       basedOn: eu-central-1
 *       network: { internetEgressGb: 0.11 }
 */

import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { z } from 'zod';
import { toPlainData } from '../config/source.js';
import { SftpctlError } from '../errors.js';
import {
  BUILT_IN_PRICES,
  knownRegions,
  PRICE_FILE_FLAG,
  type PriceTable,
  type RegionPriceEntry,
  type RegionUnitPrices,
} from './prices.js';

const price = z.number().finite().nonnegative();

const endpointHour = z.strictObject({ SFTP: price, FTPS: price, FTP: price, AS2: price });
const transfer = z.strictObject({ endpointHour, dataGb: price, webAppUnitHour: price });
const s3 = z.strictObject({ standardGbMonth: price, writePer1k: price, readPer1k: price });
const network = z.strictObject({ publicIpv4Hour: price, internetEgressGb: price });
const kms = z.strictObject({ keyMonth: price, per10kRequests: price });
const secretsManager = z.strictObject({ secretMonth: price, per10kApiCalls: price });
const lambda = z.strictObject({ arm64GbSecond: price, per1MRequests: price });
const sqs = z.strictObject({ per1MRequests: price });
const eventBridge = z.strictObject({ customEventsPer1M: price });
const cloudWatch = z.strictObject({ logsIngestGb: price, logsStorageGbMonth: price, alarmMonth: price });

/** A complete set of one region's unit prices (what a new region must end up with). */
export const regionUnitPricesSchema = z.strictObject({
  transfer,
  s3,
  network,
  kms,
  secretsManager,
  lambda,
  sqs,
  eventBridge,
  cloudWatch,
});
// The schema and the hand-written interface in prices.ts must describe the same shape.
const _sameShape: z.ZodType<RegionUnitPrices> = regionUnitPricesSchema;
void _sameShape;

const REGION_NAME = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

/** One region in a price file: any subset of the unit prices, optionally on top of another region's. */
export const regionOverrideSchema = z.strictObject({
  basedOn: z.string().optional(),
  transfer: z
    .strictObject({ endpointHour: endpointHour.partial(), dataGb: price, webAppUnitHour: price })
    .partial()
    .optional(),
  s3: s3.partial().optional(),
  network: network.partial().optional(),
  kms: kms.partial().optional(),
  secretsManager: secretsManager.partial().optional(),
  lambda: lambda.partial().optional(),
  sqs: sqs.partial().optional(),
  eventBridge: eventBridge.partial().optional(),
  cloudWatch: cloudWatch.partial().optional(),
});

export const priceFileSchema = z.strictObject({
  version: z
    .union([z.string(), z.number()])
    .transform(String)
    .pipe(z.string().regex(/^[\w.+-]+$/, 'letters, digits and . _ + - only'))
    .optional(),
  takenOn: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD')
    .optional(),
  source: z.string().optional(),
  regions: z.record(z.string().regex(REGION_NAME, 'an AWS region name such as eu-west-2'), regionOverrideSchema),
});

export type RegionOverride = z.infer<typeof regionOverrideSchema>;
export type PriceFile = z.infer<typeof priceFileSchema>;

export interface LoadPriceFileOptions {
  /** How errors and the estimate's provenance name the file (usually the path as the user typed it). */
  fileName?: string;
  /** The table the file changes; the built-in one unless a test says otherwise. */
  base?: PriceTable;
}

interface Problem {
  line: number;
  col: number;
  path: string;
  message: string;
}

/**
 * Parses and validates a price file and returns `base` with the file's prices applied: changed regions get the
 * file's `takenOn` and a `source` naming the file; the table's version becomes `<base>+<file version>`.
 * Throws COST_PRICE_FILE_INVALID listing every problem as `file:line:col path: what is wrong`.
 */
export function loadPriceFile(text: string, options: LoadPriceFileOptions = {}): PriceTable {
  const fileName = options.fileName ?? 'price file';
  const base = options.base ?? BUILT_IN_PRICES;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const at = (offset: number): { line: number; col: number } => lineCounter.linePos(offset);

  if (doc.errors.length > 0) {
    const problems = doc.errors.map((error) => {
      const pos = error.linePos?.[0] ?? at(error.pos[0]);
      const first = (error.message.split('\n')[0] ?? error.message).replace(/ at line \d+, column \d+:?$/, '');
      return { line: pos.line, col: pos.col, path: '', message: `${first} (YAML ${error.code})` };
    });
    throw invalid(fileName, base, problems);
  }
  if (doc.contents === null) {
    throw invalid(fileName, base, [
      { line: 1, col: 1, path: '', message: 'the file is empty; it needs at least "regions:" with one region' },
    ]);
  }

  const plain = toPlainData({ document: doc });
  if (!plain.ok) {
    const { line, col } = at(plain.offset);
    throw invalid(fileName, base, [{ line, col, path: '', message: plain.message }]);
  }
  const data: unknown = plain.value;
  const parsed = priceFileSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) {
    const problems = parsed.error.issues.flatMap((issue) => describeIssue(issue, doc.contents as Node, at));
    throw invalid(fileName, base, problems);
  }

  const file = parsed.data;
  const problems: Problem[] = [];
  const regions: Record<string, RegionPriceEntry> = { ...base.regions };
  const source = `price file ${fileName}`;
  for (const [name, override] of Object.entries(file.regions)) {
    const regionPath = ['regions', name];
    const known = Object.hasOwn(base.regions, name);
    let start: RegionUnitPrices | undefined;
    if (override.basedOn !== undefined) {
      start = Object.hasOwn(base.regions, override.basedOn) ? base.regions[override.basedOn] : undefined;
      if (start === undefined) {
        const pos = locate(doc.contents as Node, [...regionPath, 'basedOn'], at);
        problems.push({
          ...pos,
          path: `regions.${name}.basedOn`,
          message: `"${override.basedOn}" is not a region of the built-in table; use one of ${knownRegions(base).join(', ')}`,
        });
        continue;
      }
    } else if (known) {
      start = base.regions[name];
    }
    const merged = mergeRegion(start, override);
    const complete = regionUnitPricesSchema.safeParse(merged);
    if (!complete.success) {
      const pos = locate(doc.contents as Node, regionPath, at, true);
      const missing = complete.error.issues.map((issue) => issue.path.join('.'));
      problems.push({
        ...pos,
        path: `regions.${name}`,
        message:
          `"${name}" is not a built-in region, so it needs every price; missing: ${missing.join(', ')}. ` +
          `Add "basedOn: <region>" to copy the prices you do not give from a built-in region`,
      });
      continue;
    }
    const takenOn = file.takenOn ?? base.takenOn;
    regions[name] = {
      ...complete.data,
      takenOn,
      source: known || override.basedOn !== undefined ? `${describeBase(start, override.basedOn)} + ${source}` : source,
    };
  }
  if (problems.length > 0) throw invalid(fileName, base, problems);

  return {
    version: `${base.version}+${file.version ?? 'price-file'}`,
    takenOn: base.takenOn,
    currency: 'USD',
    sources: { ...base.sources, ...(file.source === undefined ? {} : { priceFile: file.source }) },
    regions,
  };
}

function describeBase(start: RegionUnitPrices | undefined, basedOn: string | undefined): string {
  if (start === undefined) return 'nothing';
  return basedOn === undefined ? 'built-in' : `built-in ${basedOn}`;
}

/** `start` (a complete region, or nothing) with the override's prices laid over it, section by section. */
function mergeRegion(start: RegionUnitPrices | undefined, o: RegionOverride): unknown {
  const s: Partial<RegionUnitPrices> = start === undefined ? {} : structuredClone(start);
  const section = <K extends keyof RegionUnitPrices>(key: K, value: object | undefined): unknown =>
    value === undefined && s[key] === undefined ? undefined : { ...(s[key] ?? {}), ...(value ?? {}) };
  const transferOverride = o.transfer ?? {};
  const startTransfer = s.transfer;
  const endpoint =
    startTransfer === undefined && transferOverride.endpointHour === undefined
      ? undefined
      : { ...(startTransfer?.endpointHour ?? {}), ...(transferOverride.endpointHour ?? {}) };
  const transferMerged =
    startTransfer === undefined && o.transfer === undefined
      ? undefined
      : {
          ...(startTransfer ?? {}),
          ...transferOverride,
          ...(endpoint === undefined ? {} : { endpointHour: endpoint }),
        };
  const merged: Record<string, unknown> = {
    transfer: transferMerged,
    s3: section('s3', o.s3),
    network: section('network', o.network),
    kms: section('kms', o.kms),
    secretsManager: section('secretsManager', o.secretsManager),
    lambda: section('lambda', o.lambda),
    sqs: section('sqs', o.sqs),
    eventBridge: section('eventBridge', o.eventBridge),
    cloudWatch: section('cloudWatch', o.cloudWatch),
  };
  return merged;
}

function invalid(fileName: string, base: PriceTable, problems: Problem[]): SftpctlError {
  const lines = problems
    .sort((a, b) => a.line - b.line || a.col - b.col)
    .map((p) => `${fileName}:${p.line}:${p.col} ${p.path === '' ? '' : `${p.path}: `}${p.message}`);
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  return new SftpctlError(
    'COST_PRICE_FILE_INVALID',
    `The price file ${fileName} cannot be used (${count}):\n  ${lines.join('\n  ')}`,
    `Fix the lines above (the format is in docs/cost.md), or run without ${PRICE_FILE_FLAG} to use the built-in ` +
      `prices (version ${base.version}, taken on ${base.takenOn}). Nothing was changed.`,
    { details: lines },
  );
}

type Issue = z.core.$ZodIssue;

function describeIssue(issue: Issue, root: Node, at: (offset: number) => { line: number; col: number }): Problem[] {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  const dotted = (segments: readonly (string | number)[]): string => segments.join('.');
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => {
        const allowed = allowedKeys(path);
        const hint = closest(key, allowed);
        return {
          ...locate(root, [...path, key], at, true),
          path: dotted([...path, key]),
          message:
            `unknown field "${key}"` +
            (hint === undefined ? '.' : ` — did you mean "${hint}"?`) +
            (allowed.length > 0 ? ` Allowed here: ${allowed.join(', ')}` : ''),
        };
      });
    case 'invalid_key':
      return [
        {
          ...locate(root, path, at, true),
          path: dotted(path),
          message: `"${String(path[path.length - 1])}" is not an AWS region name (like eu-west-2)`,
        },
      ];
    case 'invalid_type': {
      const got = describeInput(issue.input);
      const what =
        issue.expected === 'number'
          ? 'a price in USD (a number such as 0.025)'
          : `${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}`;
      const message = got === 'nothing' ? `missing; expected ${what}` : `expected ${what}, got ${got}`;
      return [{ ...locate(root, path, at), path: dotted(path), message }];
    }
    case 'too_small':
      return [
        {
          ...locate(root, path, at),
          path: dotted(path),
          message: `a price cannot be negative (got ${describeInput(issue.input)}); give zero or more`,
        },
      ];
    case 'invalid_format':
      return [
        {
          ...locate(root, path, at),
          path: dotted(path),
          message: `expected ${issue.message}, got ${describeInput(issue.input)}`,
        },
      ];
    default:
      return [{ ...locate(root, path, at), path: dotted(path), message: issue.message }];
  }
}

function describeInput(input: unknown): string {
  if (input === undefined) return 'nothing';
  if (input === null) return 'an empty value';
  if (typeof input === 'string') return `the text "${input}"`;
  if (typeof input === 'number') return String(input);
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  return String(input);
}

/** Field names the schema accepts at a path (for "did you mean"). */
function allowedKeys(path: readonly (string | number)[]): string[] {
  let schema: z.ZodType = priceFileSchema;
  for (const segment of path) {
    const next = childSchema(schema, segment);
    if (next === undefined) return [];
    schema = next;
  }
  const object = unwrap(schema);
  return object instanceof z.ZodObject ? Object.keys(object.shape) : [];
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  while (current instanceof z.ZodOptional) current = current.unwrap() as z.ZodType;
  return current;
}

function childSchema(schema: z.ZodType, segment: string | number): z.ZodType | undefined {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodObject) {
    const shape = inner.shape as Record<string, z.ZodType>;
    return Object.hasOwn(shape, String(segment)) ? shape[String(segment)] : undefined;
  }
  if (inner instanceof z.ZodRecord) return inner.valueType as z.ZodType;
  return undefined;
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      bestDistance = d;
      best = candidate;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * Where a path points in the document: a scalar value's own position, or the key of a mapping entry (for
 * collections, and whenever `atKey`). A path that leaves the document stops at the deepest node that exists.
 */
function locate(
  root: Node,
  path: readonly (string | number)[],
  at: (offset: number) => { line: number; col: number },
  atKey = false,
): { line: number; col: number } {
  let node: unknown = root;
  let offset = root.range?.[0] ?? 0;
  for (const [index, segment] of path.entries()) {
    const last = index === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(segment));
      if (pair === undefined) break;
      const keyOffset = isScalar(pair.key) ? (pair.key.range?.[0] ?? offset) : offset;
      const value = pair.value;
      offset = isScalar(value) && !(last && atKey) ? (value.range?.[0] ?? keyOffset) : keyOffset;
      node = value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (item === undefined) break;
      offset = (item as Node).range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return at(offset);
}
