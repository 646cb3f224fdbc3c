import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfigText } from '../../../src/core/config/validate.js';
import { SftpctlError } from '../../../src/core/errors.js';
import { classifyFault } from '../../../src/core/pipeline/faults.js';
import { FUNCTION_ENV, pipelineEnvironment, settingsFromEnvironment } from '../../../src/core/pipeline/function-env.js';
import { ingest } from '../../../src/core/pipeline/ingest.js';
import { isTemporaryName } from '../../../src/core/pipeline/names.js';
import { pipelineSettingsFor } from '../../../src/core/pipeline/settings.js';
import { fileReaderAt } from '../../../src/io/files.js';
import { withTempDir } from '../../helpers/cli.js';
import { fsDeps, gnupgHome, memoryKeys, SETTINGS } from '../../helpers/pipeline.js';

const gnupg = gnupgHome();
let ecc: ReturnType<typeof gnupg.generate>;
beforeAll(() => {
  ecc = gnupg.generate('Ingress ECC <ecc@example.com>', 'future-default');
}, 60_000);
afterAll(() => gnupg.close());

async function upload(root: string, key: string, data: Buffer | string) {
  const path = join(root, SETTINGS.buckets.upload, ...key.split('/'));
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, data);
}

describe('fault classes', () => {
  it.each([
    [Object.assign(new Error('disk full'), { code: 'ENOSPC' }), 'transient'],
    [Object.assign(new Error('io'), { code: 'EIO' }), 'transient'],
    [Object.assign(new Error('slow down'), { name: 'SlowDown' }), 'transient'],
    [Object.assign(new Error('throttled'), { $metadata: { httpStatusCode: 429 } }), 'transient'],
    [new Error('wrapped', { cause: Object.assign(new Error('reset'), { code: 'ECONNRESET' }) }), 'transient'],
    [Object.assign(new Error('integrity'), { code: 'PGP_INTEGRITY' }), 'permanent'],
    [new Error('a bug'), 'permanent'],
  ] as const)('%s → %s', (error, expected) => {
    expect(classifyFault(error)).toBe(expected);
  });

  it.each([
    ['S3_ACCESS_DENIED', 'a role missing a permission'],
    ['S3_WRITE_FAILED', 'S3 failing a write'],
    ['PGP_TIMEOUT', 'an input that stopped, or an invocation out of time'],
  ])('%s (%s) is the deployment or the service, not the file: transient', (code) => {
    expect(classifyFault(new SftpctlError(code, code))).toBe('transient');
  });

  it('UPLOAD_REPLACED (the version changed while it was processed) is no verdict on a file: transient', () => {
    expect(classifyFault(new SftpctlError('UPLOAD_REPLACED', 'replaced'))).toBe('transient');
  });

  it('past the invocation deadline a decrypt fails PGP_TIMEOUT, transient: no record, no tag, nothing published', async () => {
    await withTempDir(async (root) => {
      await upload(
        root,
        'late.csv.gpg',
        gnupg.gpg(['--encrypt', '-r', ecc.fingerprint], Buffer.from('x'.repeat(1000))),
      );
      const deps = { ...fsDeps(root, memoryKeys([ecc.privateKey])), deadline: () => Date.now() - 1 };
      await expect(ingest(deps, SETTINGS, 'late.csv.gpg')).rejects.toMatchObject({
        code: 'PGP_TIMEOUT',
        fault: 'transient',
      });
      expect(await deps.store.getTags(SETTINGS.buckets.upload, 'late.csv.gpg')).toEqual({});
      expect(await deps.store.head(SETTINGS.buckets.raw, 'late.csv')).toBeUndefined();
      expect(await deps.store.head(SETTINGS.buckets.raw, '.sftpctl-quarantine/late.csv.gpg.json')).toBeUndefined();
    });
  });

  it('a key store that cannot be read is transient: no record, no tag', async () => {
    await withTempDir(async (root) => {
      await upload(root, 'k.csv.gpg', gnupg.gpg(['--encrypt', '-r', ecc.fingerprint], Buffer.from('x')));
      const deps = fsDeps(root, {
        ingressPrivateKeys: async () => {
          throw Object.assign(new Error('secret not loaded yet'), { code: 'SECRET_NOT_FOUND' });
        },
        partnerPublicKey: async () => '',
      });
      await expect(ingest(deps, SETTINGS, 'k.csv.gpg')).rejects.toMatchObject({
        code: 'KEY_STORE_UNAVAILABLE',
        fault: 'transient',
        quarantined: false,
      });
      expect(await deps.store.getTags(SETTINGS.buckets.upload, 'k.csv.gpg')).toEqual({});
      expect(await deps.store.head(SETTINGS.buckets.raw, '.sftpctl-quarantine/k.csv.gpg.json')).toBeUndefined();
    });
  });

  it('an output that would outgrow the free staging space waits for space (transient), a bomb past the limit is quarantined', async () => {
    await withTempDir(async (root) => {
      const plain = Buffer.alloc(8 << 20, 'a');
      await upload(root, 'z.csv.gpg', gnupg.gpg(['--encrypt', '-r', ecc.fingerprint, '-z', '9'], plain));
      const deps = { ...fsDeps(root, memoryKeys([ecc.privateKey])), freeSpace: async () => 64 * 1024 * 1024 + 1024 };
      await expect(ingest(deps, SETTINGS, 'z.csv.gpg')).rejects.toMatchObject({
        code: 'NO_SPACE_FOR_FILE',
        fault: 'transient',
      });
      expect(await deps.store.getTags(SETTINGS.buckets.upload, 'z.csv.gpg')).toEqual({});
      deps.freeSpace = async () => 1024 ** 4;
      await expect(ingest(deps, { ...SETTINGS, maxDecompressedBytes: 1 << 20 }, 'z.csv.gpg')).rejects.toMatchObject({
        code: 'PGP_DECOMPRESSION_LIMIT',
        fault: 'permanent',
        quarantined: true,
      });
    });
  });
});

describe('names and settings', () => {
  it('temporary names (defaults and configured) are never processed', async () => {
    expect(['a.filepart', 'dir/a.csv.part', 'a.tmp', 'a.csv~'].every((key) => isTemporaryName(key))).toBe(true);
    expect(['a.csv', 'a.partial.csv', 'tmp/a.csv', 'a.gpg'].some((key) => isTemporaryName(key))).toBe(false);
    expect(isTemporaryName('upload.inprogress', ['*.inprogress'])).toBe(true);
    expect(isTemporaryName('a.tmp', ['*.inprogress'])).toBe(false);
    await withTempDir(async (root) => {
      await upload(root, 'x.csv.filepart', 'half');
      const deps = fsDeps(root, memoryKeys([]));
      expect(await ingest(deps, SETTINGS, 'x.csv.filepart')).toMatchObject({ status: 'skipped' });
      expect(await deps.store.getTags(SETTINGS.buckets.upload, 'x.csv.filepart')).toEqual({});
    });
  });

  it('checksumPolicy none: a sidecar-named upload is an ordinary file', async () => {
    await withTempDir(async (root) => {
      await upload(root, 'x.csv', 'data\n');
      await upload(root, 'x.csv.sha256', `${'0'.repeat(64)}  x.csv\n`);
      const deps = fsDeps(root, memoryKeys([]));
      const none = { ...SETTINGS, checksumPolicy: 'none' as const };
      expect(await ingest(deps, none, 'x.csv')).toMatchObject({ status: 'processed', checksum: null });
      expect(await ingest(deps, none, 'x.csv.sha256')).toMatchObject({ status: 'processed' });
    });
  });

  it('config fields reach the pipeline settings and the functions environment, with the documented defaults', async () => {
    const text = `project: acme
defaults: { region: eu-west-2, vpc: { cidr: 10.42.0.0/24 } }
environments: { dev: {} }
clients:
  - name: bank
    allowedIps: [203.0.113.0/24]
    upload: {}
  - name: shop
    allowedIps: [203.0.113.0/24]
    upload: {}
    allowEmpty: true
    maxDecompressedSize: 2GiB
    checksumPolicy: required
    checksumDeadlineMinutes: 30
    temporaryNames: ['*.inprogress']
    exportQuietSeconds: 10
`;
    const { config, errors } = await validateConfigText(text, 'sftpctl.yaml', { files: fileReaderAt('/tmp') });
    expect(errors).toEqual([]);
    const [bank, shop] = config!.clients.map((client) => pipelineSettingsFor(config!, 'dev', client));
    expect(bank).toMatchObject({
      allowEmpty: false,
      maxDecompressedBytes: 16 * 1024 ** 3,
      checksumPolicy: 'verify-if-present',
      checksumDeadlineMs: 3_600_000,
      temporaryNames: ['*.filepart', '*.part', '*.tmp', '*~'],
      exportQuietMs: 2000,
    });
    expect(shop).toMatchObject({
      allowEmpty: true,
      maxDecompressedBytes: 2 * 1024 ** 3,
      checksumPolicy: 'required',
      checksumDeadlineMs: 1_800_000,
      temporaryNames: ['*.inprogress'],
      exportQuietMs: 10_000,
    });
    const env = {
      [FUNCTION_ENV.client]: 'shop',
      [FUNCTION_ENV.uploadBucket]: 'u',
      [FUNCTION_ENV.rawBucket]: 'r',
      [FUNCTION_ENV.ingressPrivateKeysSecretArn]: 'arn',
      [FUNCTION_ENV.encryptedExtensions]: 'gpg',
      ...pipelineEnvironment(shop!),
    };
    expect(settingsFromEnvironment(env, 'ingress')).toMatchObject({
      allowEmpty: true,
      maxDecompressedBytes: 2 * 1024 ** 3,
      checksumPolicy: 'required',
      checksumDeadlineMs: 1_800_000,
      temporaryNames: ['*.inprogress'],
    });
    expect(() => settingsFromEnvironment({ ...env, [FUNCTION_ENV.checksumPolicy]: 'maybe' }, 'ingress')).toThrow(
      /SFTPCTL_CHECKSUM_POLICY/,
    );
    const bad = await validateConfigText(text.replace('2GiB', 'lots'), 'sftpctl.yaml', { files: fileReaderAt('/tmp') });
    expect(bad.errors.map((error) => error.message).join('\n')).toMatch(/a size is like 16GiB/);
  });
});
