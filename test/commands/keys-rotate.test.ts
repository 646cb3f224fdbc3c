import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type KeysRotateOptions, keysRotate } from '../../src/commands/keys-rotate.js';
import { secretNames } from '../../src/core/config/naming.js';
import { generatePgpKeyPair } from '../../src/core/crypto/pgp-keygen.js';
import { generateSshKeyPair } from '../../src/core/crypto/ssh-keygen.js';
import { parseIngressKeysSecret } from '../../src/core/secrets.js';
import { fakeAws } from '../helpers/aws-fakes.js';
import { withTempDir } from '../helpers/cli.js';
import { capturingContext } from '../helpers/context.js';

const CONFIG = `# partners of acme
project: acme
defaults:
  region: eu-west-2
  vpc: { cidr: 10.42.0.0/24 }
environments:
  prod: { account: "111122223333" }
clients:
  - name: bank
    allowedIps: [203.0.113.0/24]
    upload:
      sshKeys: [keys/bank/upload.pub]   # the partner's key
    download:
      sshKeys: [keys/bank/download.pub]
    pgp:
      ingressPublicKey: keys/bank/ingress.pub.asc
      ingressPrivateKey: keys/bank/ingress.key.asc
`;

let aws: ReturnType<typeof fakeAws>;
beforeEach(() => {
  aws = fakeAws();
});
afterEach(() => aws.restore());

async function project(dir: string) {
  await mkdir(join(dir, 'keys/bank'), { recursive: true });
  const upload = await generateSshKeyPair({ type: 'ed25519', comment: 'old-upload' });
  const download = await generateSshKeyPair({ type: 'ed25519', comment: 'download' });
  const fresh = await generateSshKeyPair({ type: 'ed25519', comment: 'new-upload' });
  const ingress = await generatePgpKeyPair({ name: 'old ingress', type: 'curve25519' });
  await writeFile(join(dir, 'keys/bank/upload.pub'), upload.publicKey);
  await writeFile(join(dir, 'keys/bank/download.pub'), download.publicKey);
  await writeFile(join(dir, 'new-upload.pub'), fresh.publicKey);
  await writeFile(join(dir, 'keys/bank/ingress.pub.asc'), ingress.publicKey);
  await writeFile(join(dir, 'keys/bank/ingress.key.asc'), ingress.privateKey, { mode: 0o600 });
  await writeFile(join(dir, 'sftpctl.yaml'), CONFIG);
  aws.addUser('bank-upload', [upload.publicKey.trim()]);
  aws.addUser('bank-download', [download.publicKey.trim()]);
  aws.secrets.set(secretNames('acme', 'prod', 'bank').ingressPrivateKeys, []);
  return { upload, fresh, ingress };
}

const rotate = (dir: string, options: Partial<KeysRotateOptions>) =>
  keysRotate('bank', { grace: '7d', ...options }, capturingContext(dir).context);
const serverFingerprints = (user: string) => (aws.users.get(user) ?? []).map((key) => key.body.split(' ')[1]);

describe('keys rotate --ssh', () => {
  it('imports the new key, confirms it, then records it; the old key keeps working until --finish', async () => {
    await withTempDir(async (dir) => {
      const { upload, fresh } = await project(dir);
      expect(await rotate(dir, { ssh: 'upload', publicKey: 'new-upload.pub' })).toBe(0);
      expect(aws.calls()).toEqual([
        'GetCallerIdentity',
        'DescribeStacks',
        'DescribeUser',
        'ImportSshPublicKey',
        'DescribeUser',
      ]);
      expect(aws.log[3]?.input).toEqual({
        ServerId: 's-0123456789abcdef0',
        UserName: 'bank-upload',
        SshPublicKeyBody: fresh.info.text,
      });
      expect(serverFingerprints('bank-upload')).toHaveLength(2);

      const text = await readFile(join(dir, 'sftpctl.yaml'), 'utf8');
      expect(text).toContain('# partners of acme');
      expect(text).toContain("# the partner's key");
      expect(text).toMatch(/sshKeys: \[keys\/bank\/upload.pub, new-upload.pub\]/);
      const rotation = (
        parse(text) as { clients: { upload: { rotation: { since: string; until: string; retiring: string[] } } }[] }
      ).clients[0]?.upload.rotation;
      expect(rotation?.retiring).toEqual([upload.info.fingerprint]);
      expect(Date.parse(rotation!.until) - Date.parse(rotation!.since)).toBe(7 * 86_400_000);
    });
  });

  it('--finish before the grace period ends is refused and deletes nothing', async () => {
    await withTempDir(async (dir) => {
      await project(dir);
      await rotate(dir, { ssh: 'upload', publicKey: 'new-upload.pub' });
      aws.log.length = 0;
      await expect(rotate(dir, { ssh: 'upload', finish: true })).rejects.toMatchObject({
        code: 'ROTATION_GRACE_NOT_OVER',
      });
      expect(aws.calls()).not.toContain('DeleteSshPublicKey');
      expect(serverFingerprints('bank-upload')).toHaveLength(2);
    });
  });

  it('--finish --force deletes the old key only after seeing the new one, then drops it from the config', async () => {
    await withTempDir(async (dir) => {
      const { fresh } = await project(dir);
      await rotate(dir, { ssh: 'upload', publicKey: 'new-upload.pub' });
      aws.log.length = 0;
      expect(await rotate(dir, { ssh: 'upload', finish: true, force: true })).toBe(0);
      expect(aws.calls()).toEqual(['GetCallerIdentity', 'DescribeStacks', 'DescribeUser', 'DeleteSshPublicKey']);
      expect(serverFingerprints('bank-upload')).toEqual([fresh.info.text.split(' ')[1]]);
      const text = await readFile(join(dir, 'sftpctl.yaml'), 'utf8');
      expect(text).toMatch(/sshKeys: \[new-upload.pub\]/);
      expect(text).not.toMatch(/rotation:/);
    });
  });

  it('a failed import leaves the config untouched and the old key on the server: the partner can still log in', async () => {
    await withTempDir(async (dir) => {
      await project(dir);
      const before = await readFile(join(dir, 'sftpctl.yaml'), 'utf8');
      aws.failNext('ImportSshPublicKey', Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
      await expect(rotate(dir, { ssh: 'upload', publicKey: 'new-upload.pub' })).rejects.toThrow(/Rate exceeded/);
      expect(await readFile(join(dir, 'sftpctl.yaml'), 'utf8')).toBe(before);
      expect(serverFingerprints('bank-upload')).toHaveLength(1);
      expect(await rotate(dir, { ssh: 'upload', publicKey: 'new-upload.pub' })).toBe(0);
    });
  });

  it('--finish re-imports a new key missing from the server before deleting, and keeps the old one if that fails', async () => {
    await withTempDir(async (dir) => {
      const { fresh } = await project(dir);
      await rotate(dir, { ssh: 'upload', publicKey: 'new-upload.pub' });
      const users = aws.users.get('bank-upload')!;
      aws.users.set(
        'bank-upload',
        users.filter((key) => key.body !== fresh.info.text),
      );
      aws.failNext('ImportSshPublicKey', new Error('InternalServiceError'));
      aws.log.length = 0;
      await expect(rotate(dir, { ssh: 'upload', finish: true, force: true })).rejects.toThrow(/InternalServiceError/);
      expect(aws.calls()).toEqual(['GetCallerIdentity', 'DescribeStacks', 'DescribeUser', 'ImportSshPublicKey']);
      expect(serverFingerprints('bank-upload')).toHaveLength(1);

      aws.log.length = 0;
      expect(await rotate(dir, { ssh: 'upload', finish: true, force: true })).toBe(0);
      expect(aws.calls()).toEqual([
        'GetCallerIdentity',
        'DescribeStacks',
        'DescribeUser',
        'ImportSshPublicKey',
        'DescribeUser',
        'DeleteSshPublicKey',
      ]);
      expect(serverFingerprints('bank-upload')).toEqual([fresh.info.text.split(' ')[1]]);
    });
  });

  it('refuses another account before touching Transfer', async () => {
    aws.restore();
    aws = fakeAws({ account: '999999999999' });
    await withTempDir(async (dir) => {
      await project(dir);
      await expect(rotate(dir, { ssh: 'upload', publicKey: 'new-upload.pub' })).rejects.toMatchObject({
        code: 'AWS_ACCOUNT_MISMATCH',
      });
      expect(aws.calls()).toEqual(['GetCallerIdentity']);
    });
  });

  it('--generate writes a test pair 0600 under keys/<client>/', async () => {
    await withTempDir(async (dir) => {
      await project(dir);
      expect(await rotate(dir, { ssh: 'download', generate: true })).toBe(0);
      const text = await readFile(join(dir, 'sftpctl.yaml'), 'utf8');
      const added = /sshKeys: \[keys\/bank\/download.pub, (keys\/bank\/download-[\d-]+\.pub)\]/.exec(text)?.[1];
      expect(added).toBeDefined();
      expect((await stat(join(dir, added!.replace(/\.pub$/, '')))).mode & 0o777).toBe(0o600);
    });
  });
});

describe('keys rotate --pgp', () => {
  it('new pair; the secret holds new and old, so uploads encrypted to the old key still decrypt; --finish keeps only the new', async () => {
    await withTempDir(async (dir) => {
      const { ingress } = await project(dir);
      const secret = secretNames('acme', 'prod', 'bank').ingressPrivateKeys;
      expect(await rotate(dir, { pgp: true })).toBe(0);
      expect(aws.calls()).toEqual(['GetCallerIdentity', 'PutSecretValue']);
      const during = parseIngressKeysSecret(aws.secrets.get(secret)!.at(-1)!);
      expect(during.keys.map((key) => key.role)).toEqual(['current', 'retiring']);
      expect(during.keys[1]?.fingerprint).toBe(ingress.fingerprint);

      const message = await openpgp.encrypt({
        message: await openpgp.createMessage({ text: 'old partner file' }),
        encryptionKeys: await openpgp.readKey({ armoredKey: ingress.publicKey }),
      });
      const decryptionKeys = await Promise.all(
        during.keys.map((key) => openpgp.readPrivateKey({ armoredKey: key.armoredPrivateKey })),
      );
      const { data } = await openpgp.decrypt({
        message: await openpgp.readMessage({ armoredMessage: message as string }),
        decryptionKeys,
      });
      expect(data).toBe('old partner file');

      const text = await readFile(join(dir, 'sftpctl.yaml'), 'utf8');
      const newPublic = /ingressPublicKey: (keys\/bank\/ingress-[\d-]+\.pub\.asc)/.exec(text)?.[1];
      expect(newPublic).toBeDefined();
      expect((await stat(join(dir, newPublic!.replace('.pub.asc', '.key.asc')))).mode & 0o777).toBe(0o600);
      expect(text).toMatch(
        /retiring:\n\s+- since: .*\n\s+until: .*\n\s+publicKey: keys\/bank\/ingress.pub.asc\n\s+privateKey: keys\/bank\/ingress.key.asc/,
      );

      aws.log.length = 0;
      expect(await rotate(dir, { pgp: true, finish: true, force: true })).toBe(0);
      expect(aws.calls()).toEqual(['GetCallerIdentity', 'PutSecretValue']);
      expect(parseIngressKeysSecret(aws.secrets.get(secret)!.at(-1)!).keys.map((key) => key.role)).toEqual(['current']);
      expect(await readFile(join(dir, 'sftpctl.yaml'), 'utf8')).not.toMatch(/retiring/);
    });
  });

  it('when the secret write fails, says the old key still decrypts and how to retry', async () => {
    await withTempDir(async (dir) => {
      await project(dir);
      aws.failNext('PutSecretValue', new Error('AccessDenied'));
      await expect(rotate(dir, { pgp: true })).rejects.toMatchObject({
        hint: expect.stringMatching(/still holds the previous key.*sftpctl secrets load bank/),
      });
    });
  });
});
