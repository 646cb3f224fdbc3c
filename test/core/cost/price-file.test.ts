import { describe, expect, it } from 'vitest';
import { type CostInput, estimateMonthlyCost } from '../../../src/core/cost/model.js';
import { loadPriceFile } from '../../../src/core/cost/price-file.js';
import { BUILT_IN_PRICES, knownRegions, resolveRegionPrices } from '../../../src/core/cost/prices.js';
import { SftpctlError } from '../../../src/core/errors.js';

function failure(fn: () => unknown): SftpctlError {
  try {
    fn();
  } catch (error) {
    if (error instanceof SftpctlError) return error;
    throw error;
  }
  throw new Error('expected an SftpctlError');
}

const EXAMPLE_1: CostInput = {
  region: 'us-east-1',
  protocols: ['SFTP'],
  endpointHoursPerMonth: 720,
  webAppsEnabled: 0,
  elasticIps: 2,
  clients: [],
  traffic: { uploadGbPerDay: 0, downloadGbPerDay: 1, storageGb: 100, filesPerDay: 20 },
  daysPerMonth: 30,
  logRetentionDays: 30,
};

describe('the built-in table', () => {
  it('is versioned and dated, and has a handful of regions', () => {
    expect(BUILT_IN_PRICES.version).toMatch(/^\d{4}\.\d{1,2}\.\d+$/);
    expect(BUILT_IN_PRICES.takenOn).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(knownRegions()).toEqual(expect.arrayContaining(['us-east-1', 'eu-west-2', 'ap-southeast-2']));
    const east = resolveRegionPrices('us-east-1');
    expect(east).toMatchObject({ region: 'us-east-1', source: 'built-in', takenOn: BUILT_IN_PRICES.takenOn });
    expect(east.s3.standardGbMonth).toBe(0.023);
    expect(east.transfer.endpointHour.SFTP).toBe(0.3);
    expect(resolveRegionPrices('ap-southeast-2').s3.standardGbMonth).toBe(0.025);
  });

  it('hands out copies: changing resolved prices does not change the table', () => {
    const east = resolveRegionPrices('us-east-1');
    east.s3.standardGbMonth = 99;
    expect(resolveRegionPrices('us-east-1').s3.standardGbMonth).toBe(0.023);
  });

  it('an unknown region without a price file is an error naming the known regions and the flag', () => {
    const e = failure(() => resolveRegionPrices('mars-north-1'));
    expect(e.code).toBe('COST_UNKNOWN_REGION');
    expect(e.message).toContain('mars-north-1');
    for (const region of knownRegions()) expect(e.message).toContain(region);
    expect(e.hint).toContain('--price-file');
  });
});

describe('price files', () => {
  it('overrides one price of a built-in region and keeps the rest', () => {
    const table = loadPriceFile(
      'version: article\ntakenOn: 2025-10-01\nregions:\n  us-east-1:\n    s3: { standardGbMonth: 0.025 }\n',
      {
        fileName: 'article.yaml',
      },
    );
    const east = resolveRegionPrices('us-east-1', table);
    expect(east.s3).toEqual({ standardGbMonth: 0.025, writePer1k: 0.005, readPer1k: 0.0004 });
    expect(east.transfer.dataGb).toBe(0.04);
    expect(east.version).toBe(`${BUILT_IN_PRICES.version}+article`);
    expect(east.takenOn).toBe('2025-10-01');
    expect(east.source).toBe('built-in + price file article.yaml');
    // untouched regions keep their provenance
    expect(resolveRegionPrices('eu-west-2', table)).toMatchObject({
      source: 'built-in',
      takenOn: BUILT_IN_PRICES.takenOn,
    });
    // the built-in table itself is unchanged
    expect(BUILT_IN_PRICES.regions['us-east-1']?.s3.standardGbMonth).toBe(0.023);

    // ... and with it the article's example 1 is exact in us-east-1 too
    const e = estimateMonthlyCost(EXAMPLE_1, east, { articleScope: true });
    expect(e.total).toBe(219.7);
    expect(e.priceVersion).toBe(`${BUILT_IN_PRICES.version}+article`);
  });

  it('adds a region based on a built-in one (JSON works too)', () => {
    const table = loadPriceFile(
      JSON.stringify({
        regions: { 'me-central-1': { basedOn: 'eu-central-1', transfer: { endpointHour: { SFTP: 0.33 } } } },
      }),
      { fileName: 'me.json' },
    );
    const me = resolveRegionPrices('me-central-1', table);
    expect(me.transfer.endpointHour).toEqual({ SFTP: 0.33, FTPS: 0.3, FTP: 0.3, AS2: 0.3 });
    expect(me.s3.standardGbMonth).toBe(0.0245);
    expect(me.source).toBe('built-in eu-central-1 + price file me.json');
  });

  it('a new region without basedOn must give every price', () => {
    const e = failure(() =>
      loadPriceFile('regions:\n  me-central-1:\n    s3: { standardGbMonth: 0.03 }\n', { fileName: 'p.yaml' }),
    );
    expect(e.code).toBe('COST_PRICE_FILE_INVALID');
    expect(e.message).toContain('p.yaml:2:3 regions.me-central-1');
    expect(e.message).toContain('transfer');
    expect(e.message).toContain('basedOn');
  });

  it('a wrong value is reported with line:col and field path', () => {
    const text = ['version: x', 'regions:', '  us-east-1:', '    s3:', '      standardGbMonth: cheap', ''].join('\n');
    const e = failure(() => loadPriceFile(text, { fileName: 'prices.yaml' }));
    expect(e.code).toBe('COST_PRICE_FILE_INVALID');
    expect(e.message).toContain('prices.yaml:5:24 regions.us-east-1.s3.standardGbMonth');
    expect(e.message).toContain('the text "cheap"');
    expect(e.details).toHaveLength(1);
    expect(e.hint).toContain('--price-file');
    expect(e.hint).toContain(BUILT_IN_PRICES.version);
  });

  it('reports every problem at once: negative price, unknown field with a suggestion, bad region name', () => {
    const text = [
      'regions:',
      '  us-east-1:',
      '    kms: { keyMonth: -1 }',
      '    lamda: { per1MRequests: 0.2 }',
      '  Frankfurt:',
      '    basedOn: eu-central-1',
      'colour: blue',
      '',
    ].join('\n');
    const e = failure(() => loadPriceFile(text, { fileName: 'p.yaml' }));
    expect(e.details).toHaveLength(4);
    expect(e.message).toMatch(/p\.yaml:3:22 regions\.us-east-1\.kms\.keyMonth: a price cannot be negative/);
    expect(e.message).toMatch(/p\.yaml:4:5 regions\.us-east-1\.lamda: unknown field "lamda" — did you mean "lambda"\?/);
    expect(e.message).toMatch(/p\.yaml:5:3 regions\.Frankfurt: "Frankfurt" is not an AWS region name/);
    expect(e.message).toMatch(/p\.yaml:7:1 colour: unknown field/);
  });

  it('a basedOn region that does not exist is an error at its line', () => {
    const e = failure(() => loadPriceFile('regions:\n  me-central-1:\n    basedOn: eu-nowhere-1\n'));
    expect(e.message).toContain('price file:3:14 regions.me-central-1.basedOn');
    expect(e.message).toContain('us-east-1');
  });

  it('malformed YAML is an error with line:col', () => {
    const e = failure(() =>
      loadPriceFile('regions:\n  us-east-1:\n    s3: { standardGbMonth: 0.025\n', { fileName: 'bad.yaml' }),
    );
    expect(e.code).toBe('COST_PRICE_FILE_INVALID');
    expect(e.message).toMatch(/bad\.yaml:\d+:\d+ /);
  });

  it('malformed JSON is an error with line:col', () => {
    const e = failure(() =>
      loadPriceFile('{"regions": {"us-east-1": {"s3": {"standardGbMonth": 0.025,}}', { fileName: 'bad.json' }),
    );
    expect(e.message).toMatch(/bad\.json:1:\d+ /);
  });

  it('duplicate keys and an empty file are errors', () => {
    expect(failure(() => loadPriceFile('regions: {}\nregions: {}\n')).message).toMatch(/2:1 .*unique/i);
    expect(failure(() => loadPriceFile('')).message).toContain('empty');
    expect(failure(() => loadPriceFile('- 1\n- 2\n')).message).toContain('1:1');
  });

  it('a region a price file does not add is still unknown, and the error says so', () => {
    const table = loadPriceFile('regions:\n  us-east-1: { sqs: { per1MRequests: 0.5 } }\n');
    const e = failure(() => resolveRegionPrices('mars-north-1', table));
    expect(e.code).toBe('COST_UNKNOWN_REGION');
    expect(e.message).toContain('+price-file');
  });
});
