import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { secretsLoad } from '../../src/commands/secrets-load.js';
import { secretNames } from '../../src/core/config/naming.js';
import { generatePgpKeyPair } from '../../src/core/crypto/pgp-keygen.js';
import { parseIngressKeysSecret, parsePartnerKeySecret } from '../../src/core/secrets.js';
import { fakeAws } from '../helpers/aws-fakes.js';
import { withTempDir } from '../helpers/cli.js';
import { capturingContext } from '../helpers/context.js';

const names = secretNames('acme', 'prod', 'bank');
let aws: ReturnType<typeof fakeAws>;
beforeEach(() => {
  aws = fakeAws();
  aws.secrets.set(names.ingressPrivateKeys, []);
  aws.secrets.set(names.partnerPublicKey, []);
  delete process.env.SFTPCTL_PASSPHRASE;
});
afterEach(() => aws.restore());

async function project(dir: string, options: { passphrase?: string; ingressOf?: 'other' } = {}) {
  await mkdir(join(dir, 'keys'), { recursive: true });
  const ingress = await generatePgpKeyPair({
    name: 'ingress',
    type: 'curve25519',
    ...(options.passphrase ? { passphrase: options.passphrase } : {}),
  });
  const other = await generatePgpKeyPair({ name: 'other', type: 'curve25519' });
  const partner = await generatePgpKeyPair({ name: 'partner', type: 'rsa' });
  await writeFile(join(dir, 'keys/ingress.pub.asc'), ingress.publicKey);
  await writeFile(
    join(dir, 'keys/ingress.key.asc'),
    options.ingressOf === 'other' ? other.privateKey : ingress.privateKey,
  );
  await writeFile(join(dir, 'keys/partner.pub.asc'), partner.publicKey);
  await writeFile(
    join(dir, 'sftpctl.yaml'),
    `project: acme
defaults: { region: eu-west-2, vpc: { cidr: 10.42.0.0/24 } }
environments:
  prod: { account: "111122223333" }
clients:
  - name: bank
    allowedIps: [203.0.113.0/24]
    upload: {}
    download: {}
    pgp:
      ingressPublicKey: keys/ingress.pub.asc
      ingressPrivateKey: keys/ingress.key.asc
      partnerPublicKey: keys/partner.pub.asc
`,
  );
  return { ingress, partner };
}

describe('secrets load', () => {
  it('validates, then writes the ingress keys and the partner key to the declared secrets; prints no key material', async () => {
    await withTempDir(async (dir) => {
      const { ingress, partner } = await project(dir);
      const run = capturingContext(dir);
      expect(await secretsLoad('bank', {}, run.context)).toBe(0);
      expect(aws.calls()).toEqual(['GetCallerIdentity', 'PutSecretValue', 'PutSecretValue']);
      expect(aws.log.slice(1).map((entry) => entry.input.SecretId)).toEqual([
        names.ingressPrivateKeys,
        names.partnerPublicKey,
      ]);
      const stored = parseIngressKeysSecret(aws.secrets.get(names.ingressPrivateKeys)![0]!);
      expect(stored.keys).toEqual([
        {
          fingerprint: ingress.fingerprint,
          role: 'current',
          armoredPrivateKey: expect.stringMatching(/PGP PRIVATE KEY BLOCK/),
        },
      ]);
      expect(parsePartnerKeySecret(aws.secrets.get(names.partnerPublicKey)![0]!).fingerprint).toBe(partner.fingerprint);
      expect(run.stdout() + run.stderr()).not.toMatch(/BEGIN PGP|-----/);
      expect(run.stdout()).toContain(ingress.fingerprint);
    });
  });

  it('--dry-run validates and calls no AWS API', async () => {
    await withTempDir(async (dir) => {
      await project(dir);
      const run = capturingContext(dir, { json: true });
      expect(await secretsLoad('bank', { dryRun: true }, run.context)).toBe(0);
      expect(aws.calls()).toEqual([]);
      expect(JSON.parse(run.stdout()).secrets.map((entry: { secret: string }) => entry.secret)).toEqual([
        names.ingressPrivateKeys,
        names.partnerPublicKey,
      ]);
      expect(run.stdout()).not.toMatch(/PRIVATE KEY/);
    });
  });

  it('unlocks a passphrase-protected private key with $SFTPCTL_PASSPHRASE and stores it unlocked', async () => {
    await withTempDir(async (dir) => {
      await project(dir, { passphrase: 'correct horse battery' });
      await expect(secretsLoad('bank', {}, capturingContext(dir).context)).rejects.toMatchObject({
        code: 'PASSPHRASE_REQUIRED',
      });
      expect(aws.calls()).toEqual([]);
      process.env.SFTPCTL_PASSPHRASE = 'wrong';
      await expect(secretsLoad('bank', {}, capturingContext(dir).context)).rejects.toMatchObject({
        code: 'PGP_PASSPHRASE_WRONG',
      });
      expect(aws.calls()).toEqual([]);
      process.env.SFTPCTL_PASSPHRASE = 'correct horse battery';
      expect(await secretsLoad('bank', {}, capturingContext(dir).context)).toBe(0);
      expect(aws.calls()).toEqual(['GetCallerIdentity', 'PutSecretValue', 'PutSecretValue']);
    });
  });

  it('refuses a private key that is not the half of the published public key, before any AWS call', async () => {
    await withTempDir(async (dir) => {
      await project(dir, { ingressOf: 'other' });
      await expect(secretsLoad('bank', {}, capturingContext(dir).context)).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
      });
      expect(aws.calls()).toEqual([]);
    });
  });

  it('says to deploy first when the secret does not exist', async () => {
    await withTempDir(async (dir) => {
      await project(dir);
      aws.secrets.delete(names.ingressPrivateKeys);
      await expect(secretsLoad('bank', {}, capturingContext(dir).context)).rejects.toMatchObject({
        code: 'SECRET_NOT_DEPLOYED',
      });
    });
  });

  it('refuses the wrong account before writing anything', async () => {
    aws.restore();
    aws = fakeAws({ account: '999999999999' });
    await withTempDir(async (dir) => {
      await project(dir);
      await expect(secretsLoad('bank', {}, capturingContext(dir).context)).rejects.toMatchObject({
        code: 'AWS_ACCOUNT_MISMATCH',
      });
      expect(aws.calls()).toEqual(['GetCallerIdentity']);
    });
  });
});
