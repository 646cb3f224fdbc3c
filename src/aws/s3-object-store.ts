import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  PutObjectTaggingCommand,
  paginateListObjectsV2,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { SftpctlError } from '../core/errors.js';
import { type ObjectInfo, type ObjectStore, publishConflictError } from '../core/ports.js';

const MiB = 1024 * 1024;
/** CopyObject refuses sources above 5 GiB; larger objects are copied part by part (UploadPartCopy). */
const MAX_SINGLE_COPY = 5 * 1024 * MiB;
const MAX_PARTS = 10_000;

export interface S3ObjectStoreOptions {
  /** Multipart part size in bytes (S3 minimum 5 MiB). Bodies smaller than this go up as one PutObject. Default 8 MiB. */
  partSize?: number;
  /** Parts uploaded (or copied) at once. Memory is about (queueSize + 1) × partSize. Default 2. */
  queueSize?: number;
  /** Keys per ListObjectsV2 page (S3 caps it at 1000). Default 1000. */
  listPageSize?: number;
  /** Sources larger than this are copied with UploadPartCopy. Default (and S3's maximum) 5 GiB. */
  multipartCopyThreshold?: number;
  /** Part size of a multipart copy; raised as needed to stay within 10,000 parts. Default 512 MiB. */
  copyPartSize?: number;
}

/**
 * The ObjectStore port on S3. Takes a ready SDK client, so the CLI (AwsClients) and the Lambda handlers (one client per
 * container) share it. Writes are atomic: `put` publishes only a body that ended cleanly and whose `verified` promise
 * resolved; any failure aborts the staging multipart upload before `put` rejects.
 */
export class S3ObjectStore implements ObjectStore {
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly listPageSize: number;
  private readonly multipartCopyThreshold: number;
  private readonly copyPartSize: number;

  constructor(
    private readonly client: S3Client,
    options: S3ObjectStoreOptions = {},
  ) {
    this.partSize = options.partSize ?? 8 * MiB;
    this.queueSize = options.queueSize ?? 2;
    this.listPageSize = options.listPageSize ?? 1000;
    this.multipartCopyThreshold = options.multipartCopyThreshold ?? MAX_SINGLE_COPY;
    this.copyPartSize = options.copyPartSize ?? 512 * MiB;
    if (this.partSize < 5 * MiB) throw new RangeError('S3ObjectStore: partSize must be at least 5 MiB (S3 minimum).');
    if (this.queueSize < 1) throw new RangeError('S3ObjectStore: queueSize must be at least 1.');
    if (this.multipartCopyThreshold > MAX_SINGLE_COPY)
      throw new RangeError('S3ObjectStore: multipartCopyThreshold cannot exceed 5 GiB (the CopyObject limit).');
  }

  async get(bucket: string, key: string): Promise<{ body: NodeJS.ReadableStream; info: ObjectInfo } | undefined> {
    try {
      const result = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      // In Node the SDK's body is an http.IncomingMessage (a Readable); anything else is wrapped, nothing is buffered.
      const body =
        result.Body instanceof Readable
          ? result.Body
          : Readable.from((result.Body ?? []) as AsyncIterable<Uint8Array>, { objectMode: false });
      return { body, info: objectInfo(key, result) };
    } catch (error) {
      if (isMissingObject(error)) return undefined;
      throw s3Error(error, 'GetObject', bucket, key);
    }
  }

  async head(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    const result = await this.headRaw(bucket, key);
    return result && objectInfo(key, result);
  }

  async put(
    bucket: string,
    key: string,
    body: NodeJS.ReadableStream | AsyncIterable<Uint8Array> | Uint8Array | string,
    options: {
      metadata?: Record<string, string>;
      contentType?: string;
      verified?: Promise<unknown>;
      ifCurrent?: string | null;
    } = {},
  ): Promise<ObjectInfo> {
    const metadata = checkedMetadata(options.metadata, bucket, key);
    const verified = options.verified;
    // Observed from the start, so a rejection that comes before we await it is never "unhandled".
    verified?.catch(() => {});

    let size = 0;
    let bodyFailure: { error: unknown } | undefined;
    let uploadBody: Uint8Array | Readable;
    if (typeof body === 'string' || body instanceof Uint8Array) {
      // Already in memory: nothing to stage, so wait for the verdict before sending a byte.
      await verified;
      uploadBody = typeof body === 'string' ? Buffer.from(body) : body;
      size = uploadBody.byteLength;
    } else {
      uploadBody = Readable.from(
        gate(body, verified, {
          onBytes: (n) => {
            size += n;
          },
          onFailure: (error) => {
            bodyFailure = { error };
          },
        }),
        { objectMode: false },
      );
    }

    // lib-storage buffers the body up to partSize: a body that ends before that goes up as one PutObject, a longer one as
    // a multipart upload whose last part and CompleteMultipartUpload are sent only after `gate` ended, i.e. after the
    // source ended cleanly and `verified` resolved.
    const upload = new Upload({
      client: this.client,
      params: {
        Bucket: bucket,
        Key: key,
        Body: uploadBody,
        Metadata: metadata,
        ContentType: options.contentType,
        // S3 conditional writes: PutObject and CompleteMultipartUpload publish only over the expected object.
        ...(options.ifCurrent === null ? { IfNoneMatch: '*' } : {}),
        ...(typeof options.ifCurrent === 'string' ? { IfMatch: options.ifCurrent } : {}),
      },
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    try {
      const result = await upload.done();
      return { key, size, etag: result.ETag, lastModified: undefined, metadata };
    } catch (error) {
      // Stop reading the source (closes it) if the upload failed while the body was still flowing.
      if (uploadBody instanceof Readable) uploadBody.destroy();
      // When the body failed, lib-storage has already aborted (and awaited) the multipart upload before rejecting with
      // that same error. Any other rejection may mean the abort itself failed: make sure, so no parts stay billed.
      // (Not upload.abort(): it rejects done() at once and aborts the upload later, after put() has returned.)
      if (upload.uploadId && !(bodyFailure && error === bodyFailure.error))
        await this.abortQuietly(bucket, key, upload.uploadId);
      if (bodyFailure) throw bodyFailure.error;
      // If-Match on a key that has no current object (deleted meanwhile) is a 404, not a 412: the same conflict.
      if (typeof options.ifCurrent === 'string' && isMissingObject(error))
        throw Object.assign(publishConflictError(bucket, key), { cause: error });
      throw s3Error(error, 'PutObject', bucket, key);
    }
  }

  async copy(
    from: { bucket: string; key: string },
    to: { bucket: string; key: string },
    options: { metadata?: Record<string, string> } = {},
  ): Promise<void> {
    const metadata = options.metadata && checkedMetadata(options.metadata, to.bucket, to.key);
    const source = await this.headRaw(from.bucket, from.key);
    if (!source) {
      throw new SftpctlError(
        'S3_OBJECT_NOT_FOUND',
        `Cannot copy s3://${from.bucket}/${from.key}: it does not exist.`,
        'It may have been moved or deleted already (events can arrive twice). Nothing was copied.',
      );
    }
    const copySource = copySourceOf(from);
    if ((source.ContentLength ?? 0) > this.multipartCopyThreshold) {
      await this.multipartCopy(copySource, source, to, metadata);
      return;
    }
    try {
      await this.client.send(
        new CopyObjectCommand({
          Bucket: to.bucket,
          Key: to.key,
          CopySource: copySource,
          CopySourceIfMatch: source.ETag,
          // A copy is a new object: it starts with no tags, as every new version does (the pipeline's status tags
          // describe the upload, never its copy in raw), and needs no tagging permission on either side.
          TaggingDirective: 'REPLACE',
          ...(metadata ? { MetadataDirective: 'REPLACE', Metadata: metadata, ContentType: source.ContentType } : {}),
        }),
      );
    } catch (error) {
      throw s3Error(error, 'CopyObject', to.bucket, to.key, `from s3://${from.bucket}/${from.key}`);
    }
  }

  async delete(bucket: string, key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch (error) {
      throw s3Error(error, 'DeleteObject', bucket, key);
    }
  }

  async getTags(bucket: string, key: string): Promise<Record<string, string>> {
    try {
      const result = await this.client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
      const tags: Record<string, string> = {};
      for (const tag of result.TagSet ?? []) if (tag.Key !== undefined) tags[tag.Key] = tag.Value ?? '';
      return tags;
    } catch (error) {
      throw s3Error(error, 'GetObjectTagging', bucket, key);
    }
  }

  /**
   * With `ifEtag`, the tags go to the version that has that ETag now (HeadObject), pinned by its VersionId: a version
   * uploaded before PutObjectTagging lands keeps its own tags (the buckets are versioned). When the current version
   * has another ETag, nothing is tagged: the tags were about a version since replaced, and on the new one a status
   * such as "quarantined" would make the pipeline skip a partner's corrected re-upload.
   */
  async putTags(
    bucket: string,
    key: string,
    tags: Record<string, string>,
    options: { ifEtag?: string } = {},
  ): Promise<void> {
    const TagSet = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
    if (TagSet.length > 10) {
      throw new SftpctlError(
        'S3_TOO_MANY_TAGS',
        `Cannot tag s3://${bucket}/${key} with ${TagSet.length} tags: S3 allows at most 10 per object.`,
      );
    }
    let versionId: string | undefined;
    if (options.ifEtag !== undefined) {
      const current = await this.headRaw(bucket, key);
      if (current?.ETag !== options.ifEtag) return;
      versionId = current.VersionId;
    }
    try {
      await this.client.send(
        new PutObjectTaggingCommand({ Bucket: bucket, Key: key, VersionId: versionId, Tagging: { TagSet } }),
      );
    } catch (error) {
      throw s3Error(error, 'PutObjectTagging', bucket, key);
    }
  }

  async *list(bucket: string, prefix?: string): AsyncIterable<ObjectInfo> {
    const pages = paginateListObjectsV2(
      { client: this.client, pageSize: this.listPageSize },
      { Bucket: bucket, Prefix: prefix || undefined },
    );
    try {
      for await (const page of pages) {
        for (const object of page.Contents ?? []) {
          if (object.Key === undefined) continue;
          yield {
            key: object.Key,
            size: object.Size ?? 0,
            etag: object.ETag,
            lastModified: object.LastModified,
            metadata: {},
          };
        }
      }
    } catch (error) {
      throw s3Error(error, 'ListObjectsV2', bucket, prefix ? `${prefix}*` : undefined);
    }
  }

  private async headRaw(bucket: string, key: string): Promise<HeadObjectCommandOutput | undefined> {
    try {
      return await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    } catch (error) {
      // A HEAD response has no body, so a missing bucket is also a bare 404 here.
      if (isMissingObject(error)) return undefined;
      throw s3Error(error, 'HeadObject', bucket, key);
    }
  }

  /** Copies a source above the CopyObject limit in ranges, pinned to the source's ETag; aborts on any failure. */
  private async multipartCopy(
    copySource: string,
    source: HeadObjectCommandOutput,
    to: { bucket: string; key: string },
    metadata: Record<string, string> | undefined,
  ): Promise<void> {
    const size = source.ContentLength ?? 0;
    const partSize = Math.max(this.copyPartSize, Math.ceil(size / MAX_PARTS));
    let uploadId: string | undefined;
    try {
      const created = await this.client.send(
        new CreateMultipartUploadCommand({
          Bucket: to.bucket,
          Key: to.key,
          Metadata: metadata ?? lowerCaseKeys(source.Metadata),
          ContentType: source.ContentType,
        }),
      );
      uploadId = created.UploadId;
      const ranges: { PartNumber: number; range: string }[] = [];
      for (let start = 0, PartNumber = 1; start < size; start += partSize, PartNumber++)
        ranges.push({ PartNumber, range: `bytes=${start}-${Math.min(start + partSize, size) - 1}` });
      const parts: { PartNumber: number; ETag: string | undefined }[] = [];
      let next = 0;
      const worker = async () => {
        while (next < ranges.length) {
          const { PartNumber, range } = ranges[next++]!;
          const result = await this.client.send(
            new UploadPartCopyCommand({
              Bucket: to.bucket,
              Key: to.key,
              UploadId: uploadId,
              PartNumber,
              CopySource: copySource,
              CopySourceRange: range,
              CopySourceIfMatch: source.ETag,
            }),
          );
          parts.push({ PartNumber, ETag: result.CopyPartResult?.ETag });
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.queueSize, ranges.length) }, worker));
      parts.sort((a, b) => a.PartNumber - b.PartNumber);
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: to.bucket,
          Key: to.key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (error) {
      if (uploadId) await this.abortQuietly(to.bucket, to.key, uploadId);
      throw s3Error(error, 'UploadPartCopy', to.bucket, to.key, `from ${copySource}`);
    }
  }

  /** Best effort: a failed abort must not hide the error that caused it (the bucket's lifecycle rule is the backstop). */
  private async abortQuietly(bucket: string, key: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
    } catch {
      // NoSuchUpload: already aborted. Anything else: the abort-incomplete-multipart lifecycle rule cleans up.
    }
  }
}

/**
 * Passes the source through chunk by chunk (backpressure intact) and ends only after `verified` resolved. If the source
 * fails, or `verified` rejects (even before the source ended), it throws that error so the upload never completes.
 */
async function* gate(
  source: NodeJS.ReadableStream | AsyncIterable<Uint8Array>,
  verified: Promise<unknown> | undefined,
  hooks: { onBytes: (n: number) => void; onFailure: (error: unknown) => void },
): AsyncGenerator<Buffer> {
  let rejected: { error: unknown } | undefined;
  verified?.then(undefined, (error: unknown) => {
    rejected = { error };
  });
  // An error thrown in at `yield` is the consumer tearing the stream down (lib-storage does when a request fails),
  // not a failure of the body: it must not mask the consumer's own error.
  let atYield = false;
  try {
    for await (const chunk of source as AsyncIterable<Uint8Array | string>) {
      if (rejected) throw rejected.error;
      const bytes = toBuffer(chunk);
      hooks.onBytes(bytes.byteLength);
      atYield = true;
      yield bytes;
      atYield = false;
    }
    await verified;
  } catch (error) {
    if (!atYield) hooks.onFailure(error);
    throw error;
  }
}

function toBuffer(chunk: Uint8Array | string): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk);
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** CopySource is `bucket/key`, URL-encoded per key segment (`+` must be %2B, or S3 reads it as a space). */
function copySourceOf(from: { bucket: string; key: string }): string {
  return `${from.bucket}/${from.key.split('/').map(encodeURIComponent).join('/')}`;
}

function objectInfo(
  key: string,
  result: {
    ContentLength?: number;
    ETag?: string;
    LastModified?: Date;
    Metadata?: Record<string, string>;
  },
): ObjectInfo {
  return {
    key,
    size: result.ContentLength ?? 0,
    etag: result.ETag,
    lastModified: result.LastModified,
    metadata: lowerCaseKeys(result.Metadata),
  };
}

function lowerCaseKeys(record: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(record ?? {})) out[name.toLowerCase()] = value;
  return out;
}

/** S3 user metadata travels as HTTP headers: lower-case token names, printable ASCII values, 2 KB in all. */
function checkedMetadata(
  metadata: Record<string, string> | undefined,
  bucket: string,
  key: string,
): Record<string, string> {
  const out = lowerCaseKeys(metadata);
  let bytes = 0;
  for (const [name, value] of Object.entries(out)) {
    bytes += name.length + value.length;
    if (!/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name) || !/^[\x20-\x7e]*$/.test(value)) {
      throw new SftpctlError(
        'S3_METADATA_INVALID',
        `Metadata "${name}" for s3://${bucket}/${key} cannot be sent as an S3 header.`,
        'Use ASCII names (letters, digits, - _ .) and printable ASCII values; encode anything else (e.g. percent-encoding).',
        { kind: 'internal' },
      );
    }
  }
  if (bytes > 2048) {
    throw new SftpctlError(
      'S3_METADATA_INVALID',
      `Metadata for s3://${bucket}/${key} is ${bytes} bytes; S3 allows 2 KB of user metadata.`,
      undefined,
      { kind: 'internal' },
    );
  }
  return out;
}

interface AwsErrorShape {
  name?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string; extendedRequestId?: string };
}

function isMissingObject(error: unknown): boolean {
  const { name, $metadata } = (error ?? {}) as AwsErrorShape;
  if (name === 'NoSuchBucket') return false;
  return name === 'NoSuchKey' || name === 'NotFound' || $metadata?.httpStatusCode === 404;
}

const CREDENTIAL_ERRORS = new Set([
  'CredentialsProviderError',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'TokenRefreshRequired',
  'InvalidToken',
]);

const READS = new Set(['GetObject', 'HeadObject', 'GetObjectTagging', 'ListObjectsV2']);

/**
 * An AWS error as an SftpctlError naming the operation, bucket and key. The SDK error is not kept as the cause: some
 * (SignatureDoesNotMatch, InvalidAccessKeyId) carry the access key id and the string that was signed. The cause keeps
 * only name, message and request ids.
 */
function s3Error(error: unknown, operation: string, bucket: string, key: string | undefined, extra = ''): SftpctlError {
  if (error instanceof SftpctlError) return error;
  const { name = 'Error', message = String(error), $metadata } = (error ?? {}) as AwsErrorShape;
  const status = $metadata?.httpStatusCode;
  const where = key === undefined ? `s3://${bucket}` : `s3://${bucket}/${key}`;
  const what = `${operation} ${where}${extra ? ` ${extra}` : ''}`;
  const cause = Object.assign(new Error(redact(message)), {
    name,
    $metadata: {
      httpStatusCode: status,
      requestId: $metadata?.requestId,
      extendedRequestId: $metadata?.extendedRequestId,
    },
  });
  const write = !READS.has(operation);
  const reassure = write ? ' Nothing was published.' : '';
  if (CREDENTIAL_ERRORS.has(name)) {
    return new SftpctlError(
      'AWS_CREDENTIALS',
      `${what} was refused: the AWS credentials are missing, invalid or expired (${name}).`,
      `Sign in again (aws sso login, or set AWS_PROFILE / --profile).${reassure}`,
      { cause },
    );
  }
  // A put's conditional write (If-Match / If-None-Match) found another object: 412, or 409 when two raced each other.
  // (A copy's 412 is about its source, CopySourceIfMatch: a failed write.)
  const conditional = name === 'PreconditionFailed' || name === 'ConditionalRequestConflict' || status === 412;
  if (operation === 'PutObject' && conditional)
    return Object.assign(publishConflictError(bucket, key ?? ''), { cause });
  if (name === 'NoSuchBucket') {
    return new SftpctlError(
      'S3_BUCKET_NOT_FOUND',
      `${what} failed: bucket ${bucket} does not exist.`,
      `Check the bucket name and region, and that the client's stack is deployed (sftpctl deploy).${reassure}`,
      { cause },
    );
  }
  if (name === 'AccessDenied' || name === 'Forbidden' || status === 403) {
    return new SftpctlError(
      'S3_ACCESS_DENIED',
      `${what} was denied (${name}): ${redact(message)}`,
      `The role needs s3:${permissionFor(operation)} on ${where} and kms:${write ? 'GenerateDataKey' : 'Decrypt'} on the bucket's KMS key. Without s3:ListBucket, S3 also answers AccessDenied for a key that does not exist.${reassure}`,
      { cause },
    );
  }
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) {
    return new SftpctlError(
      'S3_OBJECT_NOT_FOUND',
      `${what} failed: the object does not exist.`,
      `It may have been moved or deleted already (events can arrive twice).${reassure}`,
      { cause },
    );
  }
  return new SftpctlError(
    write ? 'S3_WRITE_FAILED' : 'S3_READ_FAILED',
    `${what} failed (${name}${status ? `, HTTP ${status}` : ''}): ${redact(message)}`,
    `It is safe to retry.${reassure}`,
    { cause },
  );
}

function permissionFor(operation: string): string {
  switch (operation) {
    case 'HeadObject':
      return 'GetObject';
    case 'ListObjectsV2':
      return 'ListBucket';
    case 'CopyObject':
    case 'UploadPartCopy':
      return 'GetObject on the source and s3:PutObject';
    default:
      return operation;
  }
}

/** Access key ids (AKIA…/ASIA…) never reach a message. */
function redact(text: string): string {
  return text.replace(/\b(?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{12,}\b/g, '[redacted]');
}
