import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CostClient,
  type CostInput,
  DEFAULT_ASSUMPTIONS,
  Dec,
  estimateMonthlyCost,
} from '../../../src/core/cost/model.js';
import { resolveRegionPrices, TRANSFER_PROTOCOLS, type TransferProtocol } from '../../../src/core/cost/prices.js';
import { SftpctlError } from '../../../src/core/errors.js';

// ap-southeast-2 (Sydney): S3 Standard is the article's $0.025/GB-month; Transfer is $0.30/h and $0.04/GB.
const SYDNEY = resolveRegionPrices('ap-southeast-2');

const CLIENTS: CostClient[] = [
  { name: 'acme', memoryMb: 1024, hasUpload: true, hasDownload: true, checksum: true },
  { name: 'globex', memoryMb: 512, hasUpload: true, hasDownload: false, checksum: false },
];

function input(overrides: Partial<CostInput> & { traffic: CostInput['traffic'] }): CostInput {
  return {
    region: 'ap-southeast-2',
    protocols: ['SFTP'],
    endpointHoursPerMonth: 720,
    webAppsEnabled: 0,
    elasticIps: 2,
    clients: CLIENTS,
    daysPerMonth: 30,
    logRetentionDays: 30,
    ...overrides,
  };
}

// The article's three worked examples, as `sftpctl cost` flags would give them.
const EXAMPLE_1 = input({ traffic: { uploadGbPerDay: 0, downloadGbPerDay: 1, storageGb: 100, filesPerDay: 20 } });
const EXAMPLE_2 = input({ traffic: { uploadGbPerDay: 0, downloadGbPerDay: 50, storageGb: 1024, filesPerDay: 100 } });
const EXAMPLE_3 = input({
  protocols: ['SFTP', 'FTPS'],
  traffic: { uploadGbPerDay: 100, downloadGbPerDay: 50, storageGb: 20 * 1024, filesPerDay: 1000 },
});

const EXTRA_IDS = [
  'public-ipv4',
  'internet-egress',
  's3-requests-write',
  's3-requests-read',
  'lambda-duration',
  'lambda-requests',
  'kms-keys',
  'kms-requests',
  'secrets',
  'secrets-api-calls',
  'sqs-requests',
  'eventbridge-events',
  'logs-ingestion',
  'logs-storage',
  'cloudwatch-alarms',
];

const rows = (items: { label: string; formula: string; monthly: number }[]) =>
  items.map((i) => [i.label, i.formula, i.monthly]);

describe("the article's worked examples (--article-scope)", () => {
  it('example 1: SFTP, download 1 GB/day, 100 GB stored → $219.70', () => {
    const e = estimateMonthlyCost(EXAMPLE_1, SYDNEY, { articleScope: true });
    expect(rows(e.items)).toEqual([
      ['SFTP endpoint', '$0.30 × 24 × 30', 216],
      ['SFTP data upload/download', '$0.04 × 1 GB × 30 days', 1.2],
      ['S3 storage (Standard)', '$0.025 × 100 GB', 2.5],
    ]);
    expect(e.total).toBe(219.7);
    expect(e.cents.total).toBe(21970);
    expect(e.extraItems).toEqual([]);
    expect(e.extraTotal).toBe(0);
  });

  it('example 2: SFTP, download 50 GB/day, 1 TB stored → $301.60', () => {
    const e = estimateMonthlyCost(EXAMPLE_2, SYDNEY, { articleScope: true });
    expect(rows(e.items)).toEqual([
      ['SFTP endpoint', '$0.30 × 24 × 30', 216],
      ['SFTP data upload/download', '$0.04 × 50 GB × 30 days', 60],
      ['S3 storage (Standard)', '$0.025 × 1,024 GB', 25.6],
    ]);
    expect(e.cents.total).toBe(30160);
  });

  it('example 3: SFTP + FTPS, each 100 GB up + 50 GB down per day, 20 TB stored → $1,304.00', () => {
    const e = estimateMonthlyCost(EXAMPLE_3, SYDNEY, { articleScope: true });
    expect(e.items.map((i) => i.id)).toEqual([
      'transfer-endpoint-sftp',
      'transfer-endpoint-ftps',
      'transfer-data-sftp',
      'transfer-data-ftps',
      's3-storage',
    ]);
    expect(rows(e.items)).toEqual([
      ['SFTP endpoint', '$0.30 × 24 × 30', 216],
      ['FTPS endpoint', '$0.30 × 24 × 30', 216],
      ['SFTP data upload/download', '$0.04 × (100 GB + 50 GB) × 30 days', 180],
      ['FTPS data upload/download', '$0.04 × (100 GB + 50 GB) × 30 days', 180],
      ['S3 storage (Standard)', '$0.025 × 1,024 GB × 20', 512],
    ]);
    expect(e.total).toBe(1304);
    expect(e.cents).toEqual({ article: 130400, extra: 0, total: 130400 });
  });

  it('in us-east-1 the real S3 price ($0.023) shows, so example 1 is $219.50 there', () => {
    const e = estimateMonthlyCost({ ...EXAMPLE_1, region: 'us-east-1' }, resolveRegionPrices('us-east-1'), {
      articleScope: true,
    });
    expect(e.items.find((i) => i.id === 's3-storage')?.formula).toBe('$0.023 × 100 GB');
    expect(e.total).toBe(219.5);
  });
});

describe('the full model: the same inputs plus what the article leaves out', () => {
  for (const [name, example, articleCents] of [
    ['example 1', EXAMPLE_1, 21970],
    ['example 2', EXAMPLE_2, 30160],
    ['example 3', EXAMPLE_3, 130400],
  ] as const) {
    it(`${name}: the article's items are unchanged and the extra items are listed and summed separately`, () => {
      const e = estimateMonthlyCost(example, SYDNEY, { articleScope: false });
      expect(e.cents.article).toBe(articleCents);
      expect(e.articleItems.every((i) => i.scope === 'article')).toBe(true);
      expect(e.extraItems.map((i) => i.id)).toEqual(EXTRA_IDS);
      expect(e.extraItems.every((i) => i.scope === 'platform')).toBe(true);
      expect(e.cents.extra).toBe(e.extraItems.reduce((s, i) => s + i.monthlyCents, 0));
      expect(e.cents.extra).toBeGreaterThan(0);
      expect(e.cents.article + e.cents.extra).toBe(e.cents.total);
      expect(e.articleTotal + e.extraTotal).toBeCloseTo(e.total, 10);
      expect(e.items).toEqual([...e.articleItems, ...e.extraItems]);
      expect(e.assumptions.length).toBeGreaterThan(5);
    });
  }

  it('example 3 in detail (Sydney): the extra items and their sum', () => {
    const e = estimateMonthlyCost(EXAMPLE_3, SYDNEY, { articleScope: false });
    const byId = Object.fromEntries(e.extraItems.map((i) => [i.id, i]));
    // 2 EIPs × 720 h × $0.005
    expect(byId['public-ipv4']?.monthly).toBe(7.2);
    // 50 GB/day × 30 days × 2 endpoints = 3,000 GB × $0.114
    expect(byId['internet-egress']?.quantity).toBe(3000);
    expect(byId['internet-egress']?.monthly).toBe(342);
    // one key per client, one secret per upload user and per download user, one alarm per queue
    expect(byId['kms-keys']?.monthly).toBe(2);
    expect(byId.secrets?.quantity).toBe(3);
    expect(byId.secrets?.monthly).toBe(1.2);
    expect(byId['cloudwatch-alarms']?.quantity).toBe(3);
    expect(byId['eventbridge-events']?.monthly).toBe(0);
    expect(byId['eventbridge-events']?.note).toMatch(/AWS service events .* free/);
    for (const item of e.extraItems) {
      expect(item.monthlyCents).toBeGreaterThanOrEqual(0);
      expect(item.monthly).toBe(item.monthlyCents / 100);
    }
    expect(e.cents.total).toBe(130400 + e.cents.extra);
  });

  it('lists the web app only when one is enabled, as an article item', () => {
    const e = estimateMonthlyCost({ ...EXAMPLE_1, webAppsEnabled: 1 }, SYDNEY, { articleScope: true });
    const web = e.items.find((i) => i.id === 'transfer-web-app');
    expect(web).toMatchObject({ monthly: 360, scope: 'article', formula: '$0.50 × 1 × 24 × 30' });
    expect(e.total).toBe(579.7);
  });

  it('prices endpoints for partial months by hours', () => {
    const e = estimateMonthlyCost({ ...EXAMPLE_1, endpointHoursPerMonth: 100 }, SYDNEY, { articleScope: true });
    expect(e.items[0]).toMatchObject({ formula: '$0.30 × 100 h', monthly: 30 });
  });

  it('notes that traffic without clients is not processed', () => {
    const e = estimateMonthlyCost({ ...EXAMPLE_3, clients: [] }, SYDNEY, { articleScope: false });
    expect(e.assumptions.join('\n')).toMatch(/No client has an upload user/);
    expect(e.extraItems.find((i) => i.id === 'lambda-duration')?.monthly).toBe(0);
  });

  it('more memory below one vCPU does not change GB-seconds for the bytes, only for the overhead', () => {
    const one = (memoryMb: number) =>
      estimateMonthlyCost(
        {
          ...EXAMPLE_3,
          clients: [{ name: 'a', memoryMb, hasUpload: true, hasDownload: true, checksum: false }],
          assumptions: { invocationOverheadSeconds: 0 },
        },
        SYDNEY,
        { articleScope: false },
      ).extraItems.find((i) => i.id === 'lambda-duration')?.quantity;
    expect(one(512)).toBeCloseTo(one(1024) ?? 0, 6);
    expect(one(3538)).toBeGreaterThan(one(1769) ?? 0);
  });
});

describe('bad input', () => {
  it('rejects negative traffic, naming the flag', () => {
    const bad = { ...EXAMPLE_1, traffic: { ...EXAMPLE_1.traffic, uploadGbPerDay: -5 } };
    expect(() => estimateMonthlyCost(bad, SYDNEY, { articleScope: true })).toThrow(SftpctlError);
    try {
      estimateMonthlyCost(bad, SYDNEY, { articleScope: true });
    } catch (error) {
      const e = error as SftpctlError;
      expect(e.code).toBe('COST_NEGATIVE_INPUT');
      expect(e.message).toContain('--upload-gb-day');
      expect(e.message).toContain('-5');
      expect(e.hint).toBeTruthy();
    }
  });

  it.each([
    ['storage', { traffic: { ...EXAMPLE_1.traffic, storageGb: -1 } }, 'COST_NEGATIVE_INPUT'],
    ['files', { traffic: { ...EXAMPLE_1.traffic, filesPerDay: -1 } }, 'COST_NEGATIVE_INPUT'],
    ['hours', { endpointHoursPerMonth: -1 }, 'COST_NEGATIVE_INPUT'],
    ['hours over a month', { endpointHoursPerMonth: 800 }, 'COST_INVALID_INPUT'],
    ['NaN download', { traffic: { ...EXAMPLE_1.traffic, downloadGbPerDay: Number.NaN } }, 'COST_INVALID_INPUT'],
    ['no protocol', { protocols: [] }, 'COST_INVALID_INPUT'],
    ['unknown protocol', { protocols: ['HTTP' as TransferProtocol] }, 'COST_INVALID_INPUT'],
    ['duplicate protocol', { protocols: ['SFTP', 'SFTP'] as TransferProtocol[] }, 'COST_INVALID_INPUT'],
    ['fractional EIPs', { elasticIps: 1.5 }, 'COST_INVALID_INPUT'],
    ['tiny memory', { clients: [{ ...CLIENTS[0]!, memoryMb: 64 }] }, 'COST_INVALID_INPUT'],
    ['negative assumption', { assumptions: { kmsRequestsPerFile: -1 } }, 'COST_NEGATIVE_INPUT'],
    ['zero throughput', { assumptions: { ingressMBps: 0 } }, 'COST_INVALID_INPUT'],
  ] as const)('rejects %s', (_name, patch, code) => {
    expect(() => estimateMonthlyCost({ ...EXAMPLE_1, ...patch } as CostInput, SYDNEY, { articleScope: false })).toThrow(
      expect.objectContaining({ code }),
    );
  });

  it('refuses prices of another region', () => {
    expect(() => estimateMonthlyCost({ ...EXAMPLE_1, region: 'eu-west-2' }, SYDNEY, { articleScope: true })).toThrow(
      expect.objectContaining({ code: 'COST_REGION_MISMATCH' }),
    );
  });
});

describe('Dec (exact decimals)', () => {
  it('adds and multiplies decimals exactly and rounds half up to the cent', () => {
    expect(Dec.of(0.1).add(Dec.of(0.2)).toString()).toBe('0.3');
    expect(Dec.of(0.025).mul(1024).mul(20).toString()).toBe('512');
    expect(Dec.of(1.005).cents()).toBe(101n);
    expect(Dec.of(0.004999).cents()).toBe(0n);
    expect(Dec.of(0.005).cents()).toBe(1n);
    expect(Dec.of(1e-7).toString()).toBe('0.0000001');
    expect(Dec.of(1.5e21).toString()).toBe('1500000000000000000000');
    expect(Dec.of(1).div(3, 4).toString()).toBe('0.3333');
    expect(Dec.of(2).div(3, 4).toString()).toBe('0.6667');
    expect(
      Dec.of(1500)
        .div(Dec.of(1024 ** 3))
        .toString(),
    ).toBe('0.000001396983861923217773');
  });
});

describe('properties', () => {
  const protocolsArb = fc.subarray([...TRANSFER_PROTOCOLS], { minLength: 1 });
  const amount = fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1e5, noNaN: true, noDefaultInfinity: true }));
  const clientArb = fc.record({
    name: fc.string({ minLength: 1, maxLength: 8 }),
    memoryMb: fc.integer({ min: 128, max: 10240 }),
    hasUpload: fc.boolean(),
    hasDownload: fc.boolean(),
    checksum: fc.boolean(),
  });
  const inputArb = fc.record({
    region: fc.constantFrom('ap-southeast-2', 'us-east-1', 'eu-west-2'),
    protocols: protocolsArb,
    endpointHoursPerMonth: fc.integer({ min: 0, max: 744 }),
    webAppsEnabled: fc.integer({ min: 0, max: 3 }),
    elasticIps: fc.integer({ min: 0, max: 3 }),
    clients: fc.array(clientArb, { maxLength: 5 }),
    traffic: fc.record({ uploadGbPerDay: amount, downloadGbPerDay: amount, storageGb: amount, filesPerDay: amount }),
    daysPerMonth: fc.constantFrom(28, 30, 31),
    logRetentionDays: fc.constantFrom(0, 1, 30, 365),
  });

  it('the total is the sum of the items, article + extra = total, and nothing is negative', () => {
    fc.assert(
      fc.property(inputArb, fc.boolean(), (costInput, articleScope) => {
        const e = estimateMonthlyCost(costInput, resolveRegionPrices(costInput.region), { articleScope });
        const sum = e.items.reduce((s, i) => s + i.monthlyCents, 0);
        expect(e.cents.total).toBe(sum);
        expect(e.cents.article + e.cents.extra).toBe(e.cents.total);
        expect(e.total).toBe(sum / 100);
        expect(e.total).toBeGreaterThanOrEqual(0);
        for (const item of e.items) {
          expect(Number.isInteger(item.monthlyCents)).toBe(true);
          expect(item.monthlyCents).toBeGreaterThanOrEqual(0);
          expect(item.quantity).toBeGreaterThanOrEqual(0);
        }
        if (articleScope) expect(e.extraItems).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });

  it('the article scope total is the full model minus the extra items', () => {
    fc.assert(
      fc.property(inputArb, (costInput) => {
        const prices = resolveRegionPrices(costInput.region);
        const scoped = estimateMonthlyCost(costInput, prices, { articleScope: true });
        const full = estimateMonthlyCost(costInput, prices, { articleScope: false });
        expect(full.cents.article).toBe(scoped.cents.total);
        expect(full.cents.total - full.cents.extra).toBe(scoped.cents.total);
      }),
      { numRuns: 100 },
    );
  });

  it('default assumptions are all non-negative', () => {
    for (const value of Object.values(DEFAULT_ASSUMPTIONS)) expect(value).toBeGreaterThanOrEqual(0);
  });
});
