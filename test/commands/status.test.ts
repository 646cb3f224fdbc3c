import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type StatusOptions, status } from '../../src/commands/status.js';
import { generateSshKeyPair } from '../../src/core/crypto/ssh-keygen.js';
import type { EnvironmentStatus } from '../../src/deploy/status.js';
import { loadConfig } from '../../src/io/config-file.js';
import { withTempDir } from '../helpers/cli.js';
import { capturingContext } from '../helpers/context.js';
import { ACCOUNT, deploy, dlqUrl, fakeWorld, functionName, SERVER_ID, type World } from '../helpers/status-world.js';

// The ingress private key is kept off this machine (it lives in Secrets Manager): status must not need it.
const CONFIG = `project: acme
defaults:
  region: eu-west-2
  vpc: { cidr: 10.42.0.0/24 }
environments:
  prod: { account: "${ACCOUNT}" }
clients:
  - name: bank
    allowedIps: [203.0.113.0/24]
    upload:
      sshKeys: [keys/bank/upload.pub]
    download:
      sshKeys: [keys/bank/download.pub]
    pgp:
      ingressPrivateKey: keys/bank/ingress.key.asc
  - name: shipper
    allowedIps: [198.51.100.7]
    upload:
      sshKeys: [keys/shipper/upload.pub]
`;

// The status command reads the real clock: key ages are counted from now.
const newWorld = (options: { account?: string } = {}) => fakeWorld({ ...options, now: new Date() });
let world: World;
beforeEach(() => {
  world = newWorld();
});
afterEach(() => world.restore());

/**
 * Writes the config and its public keys, and deploys the environment into the fake as the config says, every stack
 * last updated on 2026-10-01 and every key imported 10 days ago.
 */
async function project(dir: string) {
  const fingerprints: Record<string, string> = {};
  const keys: Record<string, { text: string; ageDays: number }[]> = {};
  for (const [client, role] of [
    ['bank', 'upload'],
    ['bank', 'download'],
    ['shipper', 'upload'],
  ] as const) {
    const pair = await generateSshKeyPair({ type: 'ed25519', comment: `${client}-${role}` });
    await mkdir(join(dir, 'keys', client), { recursive: true });
    await writeFile(join(dir, 'keys', client, `${role}.pub`), pair.publicKey);
    fingerprints[`${client}-${role}`] = pair.info.fingerprint;
    keys[`${client}-${role}`] = [{ text: pair.info.text, ageDays: 10 }];
  }
  await writeFile(join(dir, 'sftpctl.yaml'), CONFIG);
  const { config } = await loadConfig(undefined, { cwd: dir, checkKeys: false });
  deploy(world, config, { keys });
  for (const stack of world.stacks.values())
    Object.assign(stack, { StackStatus: 'UPDATE_COMPLETE', LastUpdatedTime: new Date('2026-10-01T00:00:00Z') });
  return fingerprints;
}

const run = (dir: string, options: StatusOptions = {}, json = false) => {
  const captured = capturingContext(dir, { json });
  return { result: status(options, captured.context), ...captured };
};

describe('sftpctl status', () => {
  it('a healthy environment: sections for stacks, server, users, queues and functions; exit 0', async () => {
    await withTempDir(async (dir) => {
      await project(dir);
      const { result, stdout } = run(dir);
      expect(await result).toBe(0);
      const text = stdout();
      expect(text).toMatch(/^acme-prod in account 111122223333, eu-west-2 \(/);
      expect(text).toMatch(/acme-prod-client-shipper\s+UPDATE_COMPLETE\s+2026-10-01 00:00\s+off/);
      expect(text).toContain(`Server ${SERVER_ID}  ONLINE`);
      expect(text).toContain('IPs       203.0.113.10, 203.0.113.11');
      expect(text).toContain('policy    TransferSecurityPolicy-2025-03 (SFTP)');
      expect(text).toMatch(/bank\s+download\s+bank-download\s+1\/1\s+10d/);
      expect(text).toMatch(/Dead-letter queues\n.*\n.*\nbank\s+ingress\s+0\n/);
      expect(text).toMatch(/shipper\s+ingress\s+acme-prod-shipper-ingress\s+0/);
      expect(text).toMatch(/✔ No problems found\.\n$/);
      expect(text).not.toContain('\u001b[');
    });
  });

  it('--json prints exactly the EnvironmentStatus object on stdout', async () => {
    await withTempDir(async (dir) => {
      const fingerprints = await project(dir);
      const { result, stdout, stderr } = run(dir, {}, true);
      expect(await result).toBe(0);
      const report = JSON.parse(stdout()) as EnvironmentStatus;
      expect(Object.keys(report)).toEqual([
        'project',
        'environment',
        'region',
        'account',
        'checkedAt',
        'stacks',
        'server',
        'users',
        'queues',
        'functionErrors',
        'alarms',
        'problems',
      ]);
      expect(report.stacks[0]).toEqual({
        name: 'acme-prod-assets',
        kind: 'assets',
        status: 'UPDATE_COMPLETE',
        lastUpdated: '2026-10-01T00:00:00.000Z',
        terminationProtection: false,
      });
      expect(report.users[0]).toEqual({
        client: 'bank',
        role: 'upload',
        userName: 'bank-upload',
        expected: 1,
        keys: [
          {
            fingerprint: fingerprints['bank-upload'],
            ageDays: 10,
            importedAt: expect.any(String),
            inConfig: true,
          },
        ],
      });
      expect(report.queues[0]).toEqual({
        client: 'bank',
        chain: 'ingress',
        deadLetterUrl: dlqUrl('bank', 'ingress'),
        depth: 0,
      });
      expect(report.problems).toEqual([]);
      // --json: the JSON carries the verdict; stderr is kept for real errors.
      expect(stderr()).toBe('');
    });
  });

  it('dead letters and function errors: listed as problems, exit 1 (with --json too)', async () => {
    await withTempDir(async (dir) => {
      await project(dir);
      world.depths.set(dlqUrl('bank', 'egress'), 2);
      world.errors.set(functionName('bank', 'ingress'), [1, 0, 3]);
      const human = run(dir);
      expect(await human.result).toBe(1);
      expect(human.stdout()).toMatch(/bank\s+egress\s+2\n/);
      expect(human.stdout()).toContain(
        [
          '✖ 2 problems:',
          "  - the egress dead-letter queue of bank holds 2 messages: events that failed processing (see the egress function's logs)",
          '  - function acme-prod-bank-ingress (bank ingress) had 4 errors in the last 24 h',
        ].join('\n'),
      );

      const json = run(dir, {}, true);
      expect(await json.result).toBe(1);
      expect((JSON.parse(json.stdout()) as EnvironmentStatus).problems).toHaveLength(2);
      expect(json.stderr()).toBe('');
    });
  });

  it('the GetMetricData query names each function, over the last 24 hours', async () => {
    await withTempDir(async (dir) => {
      await project(dir);
      const before = Date.now();
      await run(dir).result;
      const input = world.inputs('GetMetricData')[0] as {
        MetricDataQueries: { MetricStat: { Metric: { Dimensions: { Value: string }[] } } }[];
        StartTime: Date;
        EndTime: Date;
      };
      expect(input.MetricDataQueries.map((query) => query.MetricStat.Metric.Dimensions)).toEqual([
        [{ Name: 'FunctionName', Value: 'acme-prod-bank-ingress' }],
        [{ Name: 'FunctionName', Value: 'acme-prod-bank-egress' }],
        [{ Name: 'FunctionName', Value: 'acme-prod-shipper-ingress' }],
      ]);
      expect(input.EndTime.getTime() - input.StartTime.getTime()).toBe(24 * 3_600_000);
      expect(input.EndTime.getTime()).toBeGreaterThanOrEqual(before);
    });
  });

  it('a key on the server that the config does not list is a problem', async () => {
    await withTempDir(async (dir) => {
      await project(dir);
      const stranger = await generateSshKeyPair({ type: 'ed25519', comment: 'stranger' });
      world.users.get('shipper-upload')!.push({ body: stranger.info.text, imported: world.importedAgo(10) });
      const { result, stdout } = run(dir);
      expect(await result).toBe(1);
      expect(stdout()).toMatch(/shipper\s+upload\s+shipper-upload\s+2\/1\s+10d, 10d/);
      expect(stdout()).toContain(`user shipper-upload has a key not in the config: ${stranger.info.fingerprint}`);
    });
  });

  it('an environment that is not deployed: exit 1, every stack NOT_DEPLOYED, no server', async () => {
    await withTempDir(async (dir) => {
      await project(dir);
      world.stacks.clear();
      const { result, stdout } = run(dir);
      expect(await result).toBe(1);
      expect(stdout()).toMatch(/acme-prod-server\s+NOT_DEPLOYED\s+-\s+-/);
      expect(stdout()).toContain('Server not deployed');
      expect(stdout()).toContain('  - environment prod is not deployed: none of its 5 stacks exist');
      expect(world.calls()).not.toContain('DescribeServer');
    });
  });

  it('--client (repeatable or comma-separated) narrows the report; --region overrides the config', async () => {
    await withTempDir(async (dir) => {
      await project(dir);
      const { result, stdout } = run(dir, { client: ['shipper'], region: 'eu-central-1' }, true);
      expect(await result).toBe(0);
      const report = JSON.parse(stdout()) as EnvironmentStatus;
      expect(report.region).toBe('eu-central-1');
      expect(report.users.map((user) => user.userName)).toEqual(['shipper-upload']);
      expect(world.calls()).not.toContain('ListStacks');

      const both = run(dir, { client: ['shipper,bank'] }, true);
      expect(await both.result).toBe(0);
      expect((JSON.parse(both.stdout()) as EnvironmentStatus).users).toHaveLength(3);
      await expect(run(dir, { client: ['nobody'] }).result).rejects.toMatchObject({ code: 'CLIENT_NOT_IN_ENV' });
    });
  });

  it('refuses credentials of another account before reading anything', async () => {
    world.restore();
    world = newWorld({ account: '999999999999' });
    await withTempDir(async (dir) => {
      await project(dir);
      const { result, stdout } = run(dir);
      await expect(result).rejects.toMatchObject({
        code: 'AWS_ACCOUNT_MISMATCH',
        message: `These credentials are for account 999999999999, but environment prod is account ${ACCOUNT}.`,
      });
      expect(world.calls()).toEqual(['GetCallerIdentity']);
      expect(stdout()).toBe('');
    });
  });
});
