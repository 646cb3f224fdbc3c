import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FUNCTION_BUNDLES,
  functionBundleDir,
  loadFunctionBundles,
  templateKey,
  templateUrl,
  uploadFunctionBundles,
  uploadOnce,
} from '../../src/deploy/artifacts.js';
import { startS3rver } from '../helpers/s3rver.js';

const BUCKET = 'shop-dev-assets';
let s3rver: Awaited<ReturnType<typeof startS3rver>>;
let s3: S3Client;

beforeAll(async () => {
  s3rver = await startS3rver([BUCKET]);
  s3 = new S3Client({ region: 'eu-west-2', ...s3rver.s3Overrides });
});
afterAll(async () => {
  s3?.destroy();
  await s3rver?.stop();
});

async function objectBytes(key: string): Promise<Buffer> {
  const object = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return Buffer.from(await object.Body!.transformToByteArray());
}

describe('function bundles', () => {
  it('are found in dist/lambda and checked against their manifest', async () => {
    const dir = functionBundleDir();
    expect(dir).toMatch(/dist[/\\]lambda$/);
    const bundles = await loadFunctionBundles(dir);
    expect(Object.keys(bundles)).toEqual([...FUNCTION_BUNDLES]);
    for (const name of FUNCTION_BUNDLES) {
      expect(bundles[name].key).toBe(`functions/${name}-${bundles[name].sha256.slice(0, 16)}.zip`);
      expect(bundles[name].bytes).toBeGreaterThan(10_000);
    }
  });

  it('refuses a bundle whose bytes do not match the manifest, before uploading anything', async () => {
    const copy = await mkdtemp(join(tmpdir(), 'sftpctl-bundles-'));
    try {
      await cp(functionBundleDir()!, copy, { recursive: true });
      const zip = await readFile(join(copy, 'egress.zip'));
      zip.writeUInt8(zip.readUInt8(zip.length - 30) ^ 0xff, zip.length - 30);
      await writeFile(join(copy, 'egress.zip'), zip);
      await expect(loadFunctionBundles(copy)).rejects.toMatchObject({ code: 'FUNCTION_BUNDLE_CORRUPT' });
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });

  it('says how to build them when they are missing', async () => {
    await expect(loadFunctionBundles(join(tmpdir(), 'no-such-bundles'))).rejects.toMatchObject({
      code: 'FUNCTION_BUNDLES_MISSING',
      hint: expect.stringContaining('npm run build'),
    });
  });

  it('upload to a real S3 API once: the same bytes under content-hash keys, skipped when already there', async () => {
    const bundles = await loadFunctionBundles();
    const first = await uploadFunctionBundles(s3, BUCKET, bundles);
    expect(first).toEqual(FUNCTION_BUNDLES.map((name) => ({ key: bundles[name].key, uploaded: true })));
    expect((await objectBytes(bundles.ingress.key)).equals(await readFile(bundles.ingress.file))).toBe(true);
    const again = await uploadFunctionBundles(s3, BUCKET, bundles);
    expect(again.every((result) => !result.uploaded)).toBe(true);
    // Something else under the same key (a truncated copy): replaced, not trusted.
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: bundles.egress.key, Body: 'truncated' }));
    const repaired = await uploadFunctionBundles(s3, BUCKET, bundles);
    expect(repaired).toEqual(FUNCTION_BUNDLES.map((name) => ({ key: bundles[name].key, uploaded: name === 'egress' })));
    expect((await objectBytes(bundles.egress.key)).equals(await readFile(bundles.egress.file))).toBe(true);
    // Same length, other bytes, stored without S3's SHA-256 (another tool): not trusted either.
    const forged = Buffer.alloc(bundles.ingress.bytes, 0x41);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: bundles.ingress.key, Body: forged }));
    expect((await uploadFunctionBundles(s3, BUCKET, bundles))[0]).toEqual({ key: bundles.ingress.key, uploaded: true });
    expect((await objectBytes(bundles.ingress.key)).equals(await readFile(bundles.ingress.file))).toBe(true);
  });
});

describe('templates over 51,200 bytes', () => {
  it('go to the assets bucket by content hash and deploy by a virtual-hosted TemplateURL', async () => {
    const body = `Resources:\n${'  # padding\n'.repeat(6000)}`;
    const key = templateKey('shop-dev-client-acme', 'ab'.repeat(32), 'yaml');
    expect(key).toBe(`templates/shop-dev-client-acme/${'ab'.repeat(16)}.template.yaml`);
    expect(await uploadOnce(s3, BUCKET, key, Buffer.from(body), 'text/yaml')).toEqual({ key, uploaded: true });
    expect((await objectBytes(key)).toString()).toBe(body);
    expect(templateUrl(BUCKET, 'eu-west-2', key)).toBe(`https://${BUCKET}.s3.eu-west-2.amazonaws.com/${key}`);
    expect(templateUrl('b', 'cn-north-1', 'k')).toBe('https://b.s3.cn-north-1.amazonaws.com.cn/k');
  });

  it('fail with a clear error when the bucket is not there', async () => {
    await expect(uploadOnce(s3, 'no-such-bucket', 'k', Buffer.from('x'), 'text/yaml')).rejects.toMatchObject({
      code: 'ASSET_UPLOAD_FAILED',
    });
  });
});

describe('bucket contents (destroy)', () => {
  it('finds objects, empties a bucket page by page, and deletes it once empty', async () => {
    const { CreateBucketCommand, PutObjectCommand, HeadBucketCommand } = await import('@aws-sdk/client-s3');
    const { bucketHasObjects, deleteEmptyBucket, emptyBucket } = await import('../../src/aws/bucket-contents.js');
    await s3.send(new CreateBucketCommand({ Bucket: 'shop-dev-bank-raw' }));
    expect(await bucketHasObjects(s3, 'shop-dev-bank-raw')).toBe(false);
    for (let i = 0; i < 5; i++)
      await s3.send(new PutObjectCommand({ Bucket: 'shop-dev-bank-raw', Key: `in/file-${i}.csv`, Body: `row ${i}` }));
    expect(await bucketHasObjects(s3, 'shop-dev-bank-raw')).toBe(true);
    expect(await deleteEmptyBucket(s3, 'shop-dev-bank-raw')).toBe(false);
    expect(await emptyBucket(s3, 'shop-dev-bank-raw')).toBe(5);
    expect(await bucketHasObjects(s3, 'shop-dev-bank-raw')).toBe(false);
    expect(await deleteEmptyBucket(s3, 'shop-dev-bank-raw')).toBe(true);
    await expect(s3.send(new HeadBucketCommand({ Bucket: 'shop-dev-bank-raw' }))).rejects.toThrow();
  });
});
