import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, withTempDir } from '../helpers/cli.js';

const config = (region: string) => `project: acme
defaults:
  region: ${region}
  vpc: { cidr: 10.42.0.0/24 }
environments:
  prod: {}
clients:
  - name: bank
    allowedIps: [203.0.113.0/24]
    upload: {}
    download: {}
`;

async function cost(args: string[], region = 'ap-southeast-2', files: Record<string, string> = {}) {
  return withTempDir(async (dir) => {
    await writeFile(join(dir, 'sftpctl.yaml'), config(region));
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    return runCli(['cost', ...args], { cwd: dir });
  });
}

const EXAMPLES: [string, string[], string, number][] = [
  [
    'Example 1: SFTP, download 1 GB/day, 100 GB storage',
    ['--download-gb-day', '1', '--storage-gb', '100'],
    '$219.70',
    21970,
  ],
  [
    'Example 2: SFTP, download 50 GB/day, 1 TB storage',
    ['--download-gb-day', '50', '--storage-gb', '1024'],
    '$301.60',
    30160,
  ],
  [
    'Example 3: SFTP + FTPS, 100 up + 50 down GB/day each, 20 TB',
    ['--protocols', 'SFTP,FTPS', '--upload-gb-day', '100', '--download-gb-day', '50', '--storage-gb', '20480'],
    '$1,304.00',
    130400,
  ],
];

describe("sftpctl cost reproduces the article's worked examples", () => {
  it.each(EXAMPLES)('%s', async (_name, args, total, cents) => {
    const scoped = await cost([...args, '--article-scope']);
    expect(scoped.code, scoped.stderr).toBe(0);
    expect(scoped.stdout).toMatch(new RegExp(`Total monthly bill\\s+\\${total.replace('.', '\\.')}`));

    const full = JSON.parse((await cost([...args, '--json'])).stdout);
    expect(full.cents.article).toBe(cents);
    expect(full.extraItems.length).toBeGreaterThan(5);
    expect(full.extraItems.map((item: { id: string }) => item.id)).toEqual(
      expect.arrayContaining([
        'public-ipv4',
        'kms-keys',
        'secrets',
        'lambda-duration',
        'sqs-requests',
        'logs-ingestion',
      ]),
    );
    expect(full.cents.total).toBe(full.cents.article + full.cents.extra);
    expect(full.cents.extra).toBe(
      full.extraItems.reduce((sum: number, item: { monthlyCents: number }) => sum + item.monthlyCents, 0),
    );
  });
});

describe('sftpctl cost refuses bad input clearly', () => {
  it('negative traffic', async () => {
    const result = await cost(['--upload-gb-day=-5']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(
      /option '--upload-gb-day <n>' argument '-5' is invalid\. Give a number of zero or more, like 10 or 2\.5\./,
    );
  });

  it('a flag that is not a number', async () => {
    const result = await cost(['--storage-gb', 'lots']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/option '--storage-gb <n>' argument 'lots' is invalid/);
  });

  it('a region without prices and no price file', async () => {
    const result = await cost([], 'me-central-1');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/COST_UNKNOWN_REGION/);
    expect(result.stderr).toMatch(/--price-file/);
  });

  it('a malformed price file, with line:col', async () => {
    const result = await cost(['--price-file', 'prices.yaml'], 'ap-southeast-2', {
      'prices.yaml': 'regions:\n  ap-southeast-2:\n    transfer:\n      dataGb: cheap\n',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/COST_PRICE_FILE_INVALID/);
    expect(result.stderr).toMatch(/prices.yaml:4:\d+/);
  });

  it('a price file that adds a region makes it work', async () => {
    const result = await cost(['--price-file', 'prices.yaml', '--json'], 'me-central-1', {
      'prices.yaml': 'regions:\n  me-central-1:\n    basedOn: eu-west-2\n    transfer: { dataGb: 0.05 }\n',
    });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).region).toBe('me-central-1');
  });
});
