import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AwsClients } from '../../src/aws/clients.js';
import { generateSshKeyPair } from '../../src/core/crypto/ssh-keygen.js';
import { parseSshPublicKey } from '../../src/core/crypto/ssh-public-key.js';
import { loadConfig } from '../../src/io/config-file.js';
import { reconcileClientKeys } from '../../src/workflows/ssh-key-reconcile.js';
import { fakeAws } from '../helpers/aws-fakes.js';
import { withTempDir } from '../helpers/cli.js';

const fingerprintOf = (text: string) => {
  const parsed = parseSshPublicKey(text.trim());
  if (!parsed.ok) throw new Error('test key does not parse');
  return parsed.key.fingerprint;
};

let aws: ReturnType<typeof fakeAws>;
beforeEach(() => {
  aws = fakeAws();
});
afterEach(() => aws.restore());

async function setup(dir: string, rotation: (keptFingerprint: string) => string) {
  const [kept, added, stale] = await Promise.all(
    ['kept', 'added', 'stale'].map((comment) => generateSshKeyPair({ type: 'ed25519', comment })),
  );
  await mkdir(join(dir, 'keys'), { recursive: true });
  await writeFile(join(dir, 'keys/kept.pub'), kept!.publicKey);
  await writeFile(join(dir, 'keys/added.pub'), added!.publicKey);
  await writeFile(
    join(dir, 'sftpctl.yaml'),
    `project: shop
defaults: { region: eu-west-2, vpc: { cidr: 10.42.0.0/24 } }
environments: { dev: {} }
clients:
  - name: bank
    allowedIps: [203.0.113.0/24]
    upload:
      sshKeys: [keys/kept.pub, keys/added.pub]${rotation(fingerprintOf(kept!.publicKey))}
    download: null
`,
  );
  aws.addUser('bank-upload', [kept!.publicKey.trim(), stale!.publicKey.trim()]);
  const { config, keys } = await loadConfig(join(dir, 'sftpctl.yaml'), { cwd: dir, checkKeys: true });
  return { config, keys: keys!, client: config.clients[0]! };
}

/** Reconciles the set-up client's keys against the fake Transfer server. */
const reconcile = (project: Awaited<ReturnType<typeof setup>>, now: Date) =>
  reconcileClientKeys({
    ...project,
    clients: new AwsClients({ region: 'eu-west-2', profile: undefined }),
    serverId: 's-0123456789abcdef0',
    now,
  });

describe('reconcileClientKeys', () => {
  it('imports and confirms missing keys before deleting keys the config no longer lists', async () => {
    await withTempDir(async (dir) => {
      const project = await setup(dir, () => '');
      const result = await reconcile(project, new Date('2026-11-24T00:00:00Z'));
      expect(aws.calls()).toEqual(['DescribeUser', 'ImportSshPublicKey', 'DescribeUser', 'DeleteSshPublicKey']);
      expect(result.steps.map((step) => step.action)).toEqual(['imported', 'deleted']);
      expect(aws.users.get('bank-upload')).toHaveLength(2);
      expect(result.keys).toEqual({ 'bank-upload': 2 });
      expect(result.warnings).toEqual([]);
    });
  });

  it('deletes nothing when an import does not show up', async () => {
    await withTempDir(async (dir) => {
      const project = await setup(dir, () => '');
      aws.failNext('ImportSshPublicKey', Object.assign(new Error('Throttled'), { name: 'ThrottlingException' }));
      await expect(reconcile(project, new Date())).rejects.toThrow('Throttled');
      expect(aws.calls()).not.toContain('DeleteSshPublicKey');
    });
  });

  it('warns when a rotation grace period is over and the retiring key still works', async () => {
    await withTempDir(async (dir) => {
      const project = await setup(
        dir,
        (kept) =>
          `\n      rotation: { since: "2026-11-01T00:00:00Z", until: "2026-11-08T00:00:00Z", retiring: ["${kept}"] }`,
      );
      const result = await reconcile(project, new Date('2026-11-24T00:00:00Z'));
      expect(result.warnings[0]).toContain('sftpctl keys rotate bank --ssh upload --finish');
    });
  });
});
