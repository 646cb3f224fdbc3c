import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  status: number;
  type: string;
  body: unknown;
  get(header: string): string;
  set(header: string, value: string): void;
}
interface S3rverStore {
  listObjects(
    bucket: string,
    options: { startAfter?: string; maxKeys?: number },
  ): Promise<{
    objects: { key: string; size: number; lastModifiedDate: Date; metadata: { etag?: string } }[];
    isTruncated: boolean;
  }>;
}
export interface S3rverInstance {
  middleware: ((ctx: KoaContext, next: () => Promise<void>) => Promise<void>)[];
  store: S3rverStore;
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
const S3rver = createRequire(import.meta.url)('s3rver') as new (options: object) => S3rverInstance;

const xml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * s3rver has no versioning, so ListObjectVersions (GET ?versions) answers 405. This answers it as S3 does for a
 * bucket whose objects each have one version, "null" (an unversioned bucket): enough for code that empties buckets.
 */
function withListObjectVersions(server: S3rverInstance): void {
  server.middleware.unshift(async (ctx, next) => {
    if (ctx.method !== 'GET' || !('versions' in ctx.query)) return next();
    const bucket = decodeURIComponent(ctx.path.split('/')[1] ?? '');
    const maxKeys = Number(ctx.query['max-keys'] ?? 1000);
    const marker = String(ctx.query['key-marker'] ?? '');
    const { objects, isTruncated } = await server.store.listObjects(bucket, { startAfter: marker, maxKeys });
    const last = objects.at(-1)?.key ?? '';
    ctx.status = 200;
    ctx.type = 'application/xml';
    ctx.body = `<?xml version="1.0" encoding="UTF-8"?>
<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${xml(bucket)}</Name><Prefix></Prefix><KeyMarker>${xml(marker)}</KeyMarker><VersionIdMarker></VersionIdMarker><MaxKeys>${maxKeys}</MaxKeys><IsTruncated>${isTruncated}</IsTruncated>${
      isTruncated ? `<NextKeyMarker>${xml(last)}</NextKeyMarker><NextVersionIdMarker>null</NextVersionIdMarker>` : ''
    }${objects
      .map(
        (object) =>
          `<Version><Key>${xml(object.key)}</Key><VersionId>null</VersionId><IsLatest>true</IsLatest><LastModified>${object.lastModifiedDate.toISOString()}</LastModified><ETag>${xml(object.metadata.etag ?? '""')}</ETag><Size>${object.size}</Size><StorageClass>STANDARD</StorageClass></Version>`,
      )
      .join('')}</ListVersionsResult>`;
  });
}

/**
 * s3rver predates S3's flexible checksums: it ignores `x-amz-checksum-sha256` on PUT and never returns it. This keeps
 * the checksum a PUT carried and returns it on HEAD/GET with `x-amz-checksum-mode: ENABLED`, as S3 does (S3 also
 * verifies it on arrival; the SDK computed it from the same bytes here). A PUT without one clears it.
 */
function withChecksums(server: S3rverInstance): void {
  const checksums = new Map<string, string>();
  server.middleware.unshift(async (ctx, next) => {
    // An object request: /bucket/key, with no sub-resource query (the SDK adds only `x-id`).
    const isObject =
      ctx.path.split('/').filter(Boolean).length >= 2 && Object.keys(ctx.query).every((name) => name === 'x-id');
    await next();
    if (!isObject) return;
    if (ctx.method === 'PUT' && ctx.status < 300) {
      const sent = ctx.get('x-amz-checksum-sha256');
      if (sent) checksums.set(ctx.path, sent);
      else checksums.delete(ctx.path);
    } else if (ctx.method === 'DELETE') checksums.delete(ctx.path);
    else if ((ctx.method === 'HEAD' || ctx.method === 'GET') && ctx.get('x-amz-checksum-mode') === 'ENABLED') {
      const stored = checksums.get(ctx.path);
      if (stored) ctx.set('x-amz-checksum-sha256', stored);
    }
  });
}

/**
 * A real S3 HTTP API (s3rver) on a free port, with the given buckets; `stop` removes its folder. `extend` adds
 * middleware (for what s3rver lacks) before the server starts.
 */
export async function startS3rver(
  buckets: string[],
  options: { extend?: (server: S3rverInstance, root: string) => void } = {},
) {
  const root = await mkdtemp(join(tmpdir(), 'sftpctl-s3rver-'));
  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    directory: root,
    silent: true,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  withListObjectVersions(server);
  withChecksums(server);
  options.extend?.(server, root);
  const { port } = await server.run();
  return {
    root,
    endpoint: `http://127.0.0.1:${port}`,
    /** Client settings for AwsClients' `overrides.s3`. */
    s3Overrides: {
      endpoint: `http://127.0.0.1:${port}`,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    },
    async stop() {
      await server.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}
