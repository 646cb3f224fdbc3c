import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { S3Client } from '@aws-sdk/client-s3';
import { SftpctlError } from '../core/errors.js';
import { partitionOf } from '../templates/cfn.js';

/** A function bundle as `npm run build` leaves it in dist/lambda: a deterministic zip named by its content hash. */
export interface FunctionBundle {
  file: string;
  bytes: number;
  sha256: string;
  /** Its key in the assets bucket: `functions/<name>-<first 16 hex of sha256>.zip`. */
  key: string;
}

/** The bundles scripts/build-lambda.mjs builds; a template names one as `<name>-function`. */
export const FUNCTION_BUNDLES = ['ingress', 'egress', 'identity', 'close-default-sg'] as const;
export type FunctionBundleName = (typeof FUNCTION_BUNDLES)[number];
export type FunctionArtifacts = Record<FunctionBundleName, FunctionBundle>;

/** Where the bundles are: $SFTPCTL_FUNCTION_BUNDLES, else the nearest dist/lambda above this module. */
export function functionBundleDir(): string | undefined {
  if (process.env.SFTPCTL_FUNCTION_BUNDLES) return process.env.SFTPCTL_FUNCTION_BUNDLES;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'dist', 'lambda');
    if (existsSync(join(candidate, 'manifest.json'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Reads the bundle manifest and checks every zip against its recorded hash. */
export async function loadFunctionBundles(dir = functionBundleDir()): Promise<FunctionArtifacts> {
  const missing = new SftpctlError(
    'FUNCTION_BUNDLES_MISSING',
    'The function bundles (dist/lambda) are not built.',
    'Run npm run build in the sftpctl folder, or set SFTPCTL_FUNCTION_BUNDLES to a folder holding them.',
  );
  if (!dir || !existsSync(join(dir, 'manifest.json'))) throw missing;
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Record<
    string,
    { file: string; bytes: number; sha256: string; key: string }
  >;
  const bundles = {} as FunctionArtifacts;
  for (const name of FUNCTION_BUNDLES) {
    const entry = manifest[name];
    if (!entry) throw missing;
    const file = join(dir, `${name}.zip`);
    const data = await readFile(file).catch(() => {
      throw missing;
    });
    const sha256 = createHash('sha256').update(data).digest('hex');
    if (sha256 !== entry.sha256 || !entry.key.includes(sha256.slice(0, 16))) {
      throw new SftpctlError(
        'FUNCTION_BUNDLE_CORRUPT',
        `${file} does not match its manifest (sha256 ${sha256.slice(0, 16)}…, manifest says ${entry.sha256.slice(0, 16)}…).`,
        'Rebuild it: npm run build. Nothing was uploaded.',
      );
    }
    bundles[name] = { file, bytes: data.length, sha256, key: entry.key };
  }
  return bundles;
}

export interface UploadResult {
  key: string;
  uploaded: boolean;
}

/**
 * Puts `data` under a content-addressed key unless it is already there with S3's SHA-256 of exactly these bytes: then
 * it is the same upload and is left alone. S3 checks the SHA-256 on arrival.
 */
export async function uploadOnce(
  s3: S3Client,
  bucket: string,
  key: string,
  data: Uint8Array,
  contentType: string,
): Promise<UploadResult> {
  const { HeadObjectCommand, PutObjectCommand } = await import('@aws-sdk/client-s3');
  const sha256 = createHash('sha256').update(data).digest('base64');
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
    // The key names the bytes, but what sits under it is trusted only with S3's own SHA-256 of it (verified by S3
    // when it was stored): a truncated or altered object, or one stored without that checksum, is uploaded again
    // rather than deployed as function code with no change set showing it.
    if (head.ContentLength === data.length && head.ChecksumSHA256 === sha256) return { key, uploaded: false };
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    // 403: reading the checksum of an SSE-KMS object needs kms:Decrypt; without it, uploading again is the safe way.
    if ((error as Error).name !== 'NotFound' && status !== 404 && status !== 403) {
      throw new SftpctlError(
        'ASSET_UPLOAD_FAILED',
        `Could not read s3://${bucket}/${key}: ${(error as Error).message}`,
        'Check that these credentials may read and write the assets bucket (and use its KMS key).',
        { cause: error },
      );
    }
  }
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: data,
        ContentType: contentType,
        ChecksumSHA256: sha256,
      }),
    );
  } catch (error) {
    throw new SftpctlError(
      'ASSET_UPLOAD_FAILED',
      `Could not upload s3://${bucket}/${key}: ${(error as Error).message}`,
      'Check that these credentials may write the assets bucket and use its KMS key. Nothing was deployed.',
      { cause: error },
    );
  }
  return { key, uploaded: true };
}

export async function uploadFunctionBundles(
  s3: S3Client,
  bucket: string,
  bundles: FunctionArtifacts,
): Promise<UploadResult[]> {
  const results: UploadResult[] = [];
  for (const bundle of Object.values(bundles)) {
    results.push(await uploadOnce(s3, bucket, bundle.key, await readFile(bundle.file), 'application/zip'));
  }
  return results;
}

/** The key of a template in the assets bucket: its stack and content hash. */
export function templateKey(stack: string, hash: string, format: string): string {
  return `templates/${stack}/${hash.slice(0, 32)}.template.${format}`;
}

/** The virtual-hosted URL CloudFormation fetches a template from. */
export function templateUrl(bucket: string, region: string, key: string): string {
  const domain = partitionOf(region) === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://${bucket}.s3.${region}.${domain}/${key}`;
}
