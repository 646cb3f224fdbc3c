import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AWS_PARTITIONS, nearestRegions, regionProblem } from '../../../src/core/config/regions.js';
import { ROOT } from '../../helpers/cli.js';
import { rows, validateYaml } from '../../helpers/config.js';

const dir = mkdtempSync(join(tmpdir(), 'sftpctl-risky-'));
const files: Record<string, string> = {};
const sshKey = (name: string) => {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', join(dir, name)]);
  return readFileSync(join(dir, `${name}.pub`), 'utf8');
};

beforeAll(async () => {
  files['keys/a.pub'] = sshKey('a');
  files['keys/b.pub'] = sshKey('b');
  files['keys/c.pub'] = sshKey('c');
  const now = new Date('2026-11-01T00:00:00Z');
  for (const name of ['ingress-bank', 'ingress-shop', 'partner']) {
    const pair = await openpgp.generateKey({
      type: 'ecc',
      curve: 'curve25519Legacy',
      userIDs: [{ name }],
      date: now,
      format: 'armored',
    });
    files[`keys/${name}.pub.asc`] = pair.publicKey;
    files[`keys/${name}.key.asc`] = pair.privateKey;
  }
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = (bank: string, shop: string) => `project: acme
defaults:
  region: eu-west-2
  vpc: { cidr: 10.42.0.0/24 }
environments:
  dev: {}
  prod: {}
clients:
  - name: bank
${bank}
  - name: shop
${shop}`;

const pgp = (ingress: string, partner: string) => `    pgp:
      ingressPublicKey: keys/${ingress}.pub.asc
      ingressPrivateKey: keys/${ingress}.key.asc
      partnerPublicKey: keys/${partner}.pub.asc`;

describe('risky configs are warnings (and only warnings)', () => {
  it('a sound pair of partners has none', async () => {
    const result = await validateYaml(
      config(
        `    allowedIps: [203.0.113.0/28]\n    upload: { sshKeys: [keys/a.pub] }\n    download: { sshKeys: [keys/b.pub] }\n${pgp('ingress-bank', 'partner')}`,
        `    allowedIps: [198.51.100.0/24]\n    upload: { sshKeys: [keys/c.pub] }\n${pgp('ingress-shop', 'partner').split('\n').slice(0, 3).join('\n')}`,
      ),
      files,
    );
    expect(rows(result)).toEqual([]);
    expect(rows(result, 'warning')).toEqual([]);
  });

  it('the same SSH key on two partners, and on two users of one partner', async () => {
    const result = await validateYaml(
      config(
        `    allowedIps: [203.0.113.0/28]\n    upload: { sshKeys: [keys/a.pub] }\n    download: { sshKeys: [keys/a.pub] }`,
        `    allowedIps: [198.51.100.0/24]\n    upload: { sshKeys: ["${files['keys/a.pub']?.trim()}"] }`,
      ),
      files,
    );
    expect(rows(result)).toEqual([]);
    const shared = rows(result, 'warning').filter((row) => row.code === 'SSH_KEY_SHARED');
    expect(shared).toEqual([
      {
        code: 'SSH_KEY_SHARED',
        field: 'clients[0].download.sshKeys[0]',
        at: '12:27',
        message: expect.stringMatching(
          /^SSH key SHA256:\S+ also logs in as user "bank-upload" \(clients\[0\].upload.sshKeys\[0\]\)$/,
        ),
      },
      {
        code: 'SSH_KEY_SHARED',
        field: 'clients[1].upload.sshKeys[0]',
        at: expect.any(String),
        message: expect.stringMatching(/also logs in as user "bank-upload"/),
      },
    ]);
    expect(result.warnings.find((warning) => warning.code === 'SSH_KEY_SHARED')?.hint).toMatch(/its own key pair/);
  });

  it("a partner key that is our own ingress key (the same client's or another's)", async () => {
    const result = await validateYaml(
      config(
        `    allowedIps: [203.0.113.0/28]\n    download: { sshKeys: [keys/b.pub] }\n${pgp('ingress-bank', 'ingress-bank')}`,
        `    allowedIps: [198.51.100.0/24]\n    download: { sshKeys: [keys/c.pub] }\n${pgp('ingress-shop', 'ingress-bank')}`,
      ),
      files,
    );
    expect(rows(result)).toEqual([]);
    expect(rows(result, 'warning').filter((row) => row.code === 'PGP_EGRESS_TO_OWN_KEY')).toEqual([
      {
        code: 'PGP_EGRESS_TO_OWN_KEY',
        field: 'clients[0].pgp.partnerPublicKey',
        at: expect.any(String),
        message: expect.stringMatching(
          /^the partner key [0-9A-F]{40} is our own ingress key: exports would be encrypted to us/,
        ),
      },
      {
        code: 'PGP_EGRESS_TO_OWN_KEY',
        field: 'clients[1].pgp.partnerPublicKey',
        at: expect.any(String),
        message: expect.stringMatching(/is our own ingress key \(of client "bank"\)/),
      },
    ]);
  });

  it('duplicate and overlapping CIDRs across partners that share an environment', async () => {
    const result = await validateYaml(
      config(
        '    allowedIps: [203.0.113.0/24, 198.51.100.7]\n    upload: { sshKeys: [] }',
        '    allowedIps: [203.0.113.16/28, 198.51.100.7, 192.0.2.1]\n    upload: { sshKeys: [] }',
      ),
    );
    expect(rows(result)).toEqual([]);
    expect(rows(result, 'warning').filter((row) => row.code.startsWith('CIDR_'))).toEqual([
      {
        code: 'CIDR_OVERLAP',
        field: 'clients[1].allowedIps[0]',
        at: '13:18',
        message: '203.0.113.16/28 overlaps 203.0.113.0/24 of client "bank" (clients[0].allowedIps[0])',
      },
      {
        code: 'CIDR_SHARED',
        field: 'clients[1].allowedIps[1]',
        at: '13:35',
        message: '198.51.100.7/32 is also allowed for client "bank" (clients[0].allowedIps[1])',
      },
    ]);
  });

  it('no overlap warning between partners that never share an environment', async () => {
    const result = await validateYaml(
      config(
        '    allowedIps: [203.0.113.0/24]\n    upload: { sshKeys: [] }\n    environments: [dev]',
        '    allowedIps: [203.0.113.0/24]\n    upload: { sshKeys: [] }\n    environments: [prod]',
      ),
    );
    expect(rows(result, 'warning').filter((row) => row.code.startsWith('CIDR_'))).toEqual([]);
  });
});

describe('regions, offline', () => {
  it('an unknown region is a config error at its line, with the nearest names', async () => {
    const result = await validateYaml(
      'project: acme\ndefaults:\n  region: eu-west-9\n  vpc: { cidr: 10.42.0.0/24 }\nenvironments:\n  dev: {}\n  prod: { region: us-est-1 }\nclients: []\n',
    );
    expect(rows(result)).toEqual([
      {
        code: 'REGION_UNKNOWN',
        field: 'defaults.region',
        at: '3:11',
        message: '"eu-west-9" is not an AWS region',
      },
      {
        code: 'REGION_UNKNOWN',
        field: 'environments.prod.region',
        at: '7:19',
        message: '"us-est-1" is not an AWS region',
      },
    ]);
    expect(result.errors[0]?.hint).toBe('Did you mean eu-west-1, eu-west-2 or eu-west-3?');
    expect(result.errors[1]?.hint).toMatch(/us-east-1/);
  });

  it('knows every partition (GovCloud, China, the European Sovereign Cloud)', () => {
    for (const region of ['us-gov-west-1', 'cn-northwest-1', 'eusc-de-east-1', 'mx-central-1', 'ap-southeast-7'])
      expect(regionProblem(region)).toBeUndefined();
    expect(nearestRegions('ap-southeast-9')).toEqual(['ap-southeast-1', 'ap-southeast-2', 'ap-southeast-3']);
  });

  it('matches the region list of the installed AWS SDK (so it cannot drift silently)', () => {
    const source = readFileSync(join(ROOT, 'node_modules/@aws-sdk/core/dist-cjs/submodules/client/index.js'), 'utf8');
    const start = source.indexOf('"partitions": [');
    expect(start).toBeGreaterThan(0);
    const sdk: Record<string, string[]> = {};
    const block = source.slice(start);
    for (const match of block.matchAll(/"id": "(aws[a-z-]*)"[\s\S]*?"regions": \{([\s\S]*?)\n {12}\}/g)) {
      const id = match[1] as string;
      sdk[id] ??= [...(match[2] ?? '').matchAll(/^ {16}"([a-z0-9-]+)": \{/gm)]
        .map((region) => region[1] as string)
        .filter((region) => !region.endsWith('-global'))
        .sort();
    }
    expect(Object.keys(sdk).sort()).toEqual(Object.keys(AWS_PARTITIONS).sort());
    for (const [id, regions] of Object.entries(AWS_PARTITIONS)) expect([...regions].sort()).toEqual(sdk[id]);
  });
});
