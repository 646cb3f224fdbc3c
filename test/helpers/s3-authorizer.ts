import { type Decision, evaluate, type PolicyDocument } from './iam-policy.js';
import type { KoaContext, S3rverInstance } from './s3rver.js';

/** One S3 authorisation: which principal asked for which action on which resource, and what IAM said. */
export interface S3Check {
  principal: string;
  operation: string;
  action: string;
  resource: string;
  decision: Decision;
}

interface SubresourceStore {
  getSubresource(bucket: string, key: string, type: string): Promise<unknown>;
  putSubresource(bucket: string, key: string, resource: unknown): Promise<void>;
  deleteSubresource(bucket: string, key: string, type: string): Promise<void>;
}

type Ctx = KoaContext & { headers: Record<string, string | string[] | undefined>; body: unknown };

const has = (ctx: KoaContext, name: string) => name in ctx.query;

/** `/bucket/key…` of a path-style request, decoded; key is undefined for a bucket request. */
function target(path: string): { bucket: string; key: string | undefined } {
  const [, bucket = '', ...rest] = path.split('/');
  const key = rest.map(decodeURIComponent).join('/');
  // `/bucket` and `/bucket/` are both bucket requests (the SDK lists with the trailing slash).
  return { bucket: decodeURIComponent(bucket), key: key === '' ? undefined : key };
}

/** `x-amz-copy-source`: `bucket/key` (optionally `/bucket/key`, `?versionId=`), URL-encoded. */
function copySource(header: string): { bucket: string; key: string } {
  const [path = ''] = header.replace(/^\//, '').split('?');
  const [bucket = '', ...rest] = path.split('/');
  return { bucket: decodeURIComponent(bucket), key: rest.map(decodeURIComponent).join('/') };
}

const arnOf = (bucket: string, key?: string) => `arn:aws:s3:::${bucket}${key === undefined ? '' : `/${key}`}`;

/**
 * The S3 actions one REST request needs, as S3's authorisation documents them ("Actions, resources and condition keys
 * for Amazon S3" and each API's "Permissions" section). Copy requests need actions on two resources, and the tag
 * copy only when the source has tags and the directive is COPY (the default).
 */
async function requiredActions(
  ctx: Ctx,
  store: SubresourceStore,
): Promise<{ operation: string; needs: { action: string; resource: string }[] }> {
  const { bucket, key } = target(ctx.path);
  const header = (name: string) => ctx.get(name);
  if (key === undefined) {
    if (ctx.method === 'GET' && has(ctx, 'versions'))
      return { operation: 'ListObjectVersions', needs: [{ action: 's3:ListBucketVersions', resource: arnOf(bucket) }] };
    if (ctx.method === 'GET' && has(ctx, 'uploads'))
      return {
        operation: 'ListMultipartUploads',
        needs: [{ action: 's3:ListBucketMultipartUploads', resource: arnOf(bucket) }],
      };
    if (ctx.method === 'GET' || ctx.method === 'HEAD')
      return { operation: 'ListObjects', needs: [{ action: 's3:ListBucket', resource: arnOf(bucket) }] };
    if (ctx.method === 'POST' && has(ctx, 'delete'))
      return { operation: 'DeleteObjects', needs: [{ action: 's3:DeleteObject', resource: arnOf(bucket, '*') }] };
    return {
      operation: `${ctx.method} bucket`,
      needs: [{ action: 's3:UnmodelledBucketRequest', resource: arnOf(bucket) }],
    };
  }
  const object = arnOf(bucket, key);
  if (has(ctx, 'tagging')) {
    // On one version (?versionId=), S3 authorises the tagging calls as their *VersionTagging actions.
    const version = has(ctx, 'versionId') ? 'Version' : '';
    const action = {
      GET: `s3:GetObject${version}Tagging`,
      PUT: `s3:PutObject${version}Tagging`,
      DELETE: `s3:DeleteObject${version}Tagging`,
    }[ctx.method];
    return { operation: `${ctx.method} tagging`, needs: [{ action: action ?? 's3:Unmodelled', resource: object }] };
  }
  if (ctx.method === 'GET' && has(ctx, 'uploadId'))
    return { operation: 'ListParts', needs: [{ action: 's3:ListMultipartUploadParts', resource: object }] };
  if (ctx.method === 'DELETE' && has(ctx, 'uploadId'))
    return { operation: 'AbortMultipartUpload', needs: [{ action: 's3:AbortMultipartUpload', resource: object }] };
  if (ctx.method === 'DELETE')
    return { operation: 'DeleteObject', needs: [{ action: 's3:DeleteObject', resource: object }] };
  if (ctx.method === 'GET' || ctx.method === 'HEAD')
    return {
      operation: ctx.method === 'GET' ? 'GetObject' : 'HeadObject',
      needs: [{ action: has(ctx, 'versionId') ? 's3:GetObjectVersion' : 's3:GetObject', resource: object }],
    };
  if (ctx.method === 'POST')
    return {
      operation: has(ctx, 'uploads') ? 'CreateMultipartUpload' : 'CompleteMultipartUpload',
      needs: [{ action: 's3:PutObject', resource: object }],
    };
  if (ctx.method === 'PUT') {
    const needs = [{ action: 's3:PutObject', resource: object }];
    if (header('x-amz-tagging')) needs.push({ action: 's3:PutObjectTagging', resource: object });
    const copyHeader = header('x-amz-copy-source');
    if (!copyHeader) return { operation: has(ctx, 'partNumber') ? 'UploadPart' : 'PutObject', needs };
    const source = copySource(copyHeader);
    needs.push({ action: 's3:GetObject', resource: arnOf(source.bucket, source.key) });
    const part = has(ctx, 'partNumber');
    if (!part && (header('x-amz-tagging-directive') || 'COPY').toUpperCase() === 'COPY') {
      const tags = await sourceTags(store, source);
      if (tags > 0) {
        needs.push({ action: 's3:GetObjectTagging', resource: arnOf(source.bucket, source.key) });
        needs.push({ action: 's3:PutObjectTagging', resource: object });
      }
    }
    return { operation: part ? 'UploadPartCopy' : 'CopyObject', needs };
  }
  return { operation: `${ctx.method} object`, needs: [{ action: 's3:Unmodelled', resource: object }] };
}

async function sourceTags(store: SubresourceStore, source: { bucket: string; key: string }): Promise<number> {
  const config = (await store.getSubresource(source.bucket, source.key, 'tagging').catch(() => undefined)) as
    | { toXML(): string }
    | undefined;
  return config ? (config.toXML().match(/<Tag>/g) ?? []).length : 0;
}

function deny(ctx: Ctx, check: { principal: string; action: string; resource: string; reason: string }): void {
  ctx.status = 403;
  ctx.type = 'application/xml';
  const message = `User: ${check.principal} is not authorized to perform: ${check.action} on resource: "${check.resource}" because ${check.reason}`;
  ctx.body =
    ctx.method === 'HEAD'
      ? ''
      : `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>${message.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</Message><RequestId>HARNESS</RequestId></Error>`;
}

/**
 * Enforces IAM identity policies on every request to s3rver, per principal. A request signed with a session token
 * names its principal (the functions run with `AWS_SESSION_TOKEN=<role id>`, as Lambda gives them a role's session);
 * requests without one are the test's own (the partner's uploads, the assertions) and pass. Also makes s3rver do
 * what S3 does and it does not: CopyObject copies the source's tags unless told otherwise, and a GET/HEAD of a
 * missing key is 403 (not 404) for a principal without s3:ListBucket on the bucket.
 */
export function enforcePolicies(
  server: S3rverInstance,
  policiesOf: (principal: string) => PolicyDocument[] | undefined,
  record: (check: S3Check) => void,
): void {
  const store = server.store as unknown as SubresourceStore;
  server.middleware.unshift(async (koa, next) => {
    const ctx = koa as Ctx;
    const principal = ctx.get('x-amz-security-token');
    const { operation, needs } = await requiredActions(ctx, store);
    if (principal) {
      const policies = policiesOf(principal);
      for (const need of needs) {
        const decision = policies
          ? evaluate(policies, { ...need, context: { 'aws:SecureTransport': 'true' } })
          : { allowed: false, reason: `the principal ${principal} has no policies` };
        record({ principal, operation, ...need, decision });
        if (!decision.allowed) {
          deny(ctx, { principal, ...need, reason: decision.reason });
          return;
        }
      }
    }
    // s3rver reads x-amz-copy-source with decodeURI, which leaves %2B, %26, %3D… encoded (S3 decodes them): hand
    // it the source in the form it decodes correctly. (s3rver does not verify SigV4, so the signature is unaffected.)
    const copyHeader = ctx.get('x-amz-copy-source');
    if (copyHeader) {
      const source = copySource(copyHeader);
      (ctx as unknown as { req: { headers: Record<string, string> } }).req.headers['x-amz-copy-source'] =
        `${encodeURI(source.bucket)}/${encodeURI(source.key)}`;
    }
    try {
      await next();
    } catch (error) {
      // Without s3:ListBucket, S3 answers a GET/HEAD of a missing key with 403, not 404.
      const missing = (error as { status?: number }).status === 404;
      if (principal && missing && (operation === 'GetObject' || operation === 'HeadObject')) {
        const { bucket } = target(ctx.path);
        const list = evaluate(policiesOf(principal) ?? [], { action: 's3:ListBucket', resource: arnOf(bucket) });
        record({ principal, operation, action: 's3:ListBucket', resource: arnOf(bucket), decision: list });
        if (!list.allowed) {
          deny(ctx, { principal, action: 's3:GetObject', resource: needs[0]!.resource, reason: list.reason });
          return;
        }
      }
      throw error;
    }
    // S3 binds tags to an object version: a new object has none, unless a copy brought its source's along.
    if (ctx.status === 200 && ['PutObject', 'CompleteMultipartUpload', 'CopyObject'].includes(operation)) {
      const { bucket, key } = target(ctx.path);
      const directive = (ctx.get('x-amz-tagging-directive') || 'COPY').toUpperCase();
      const source =
        operation === 'CopyObject' && directive === 'COPY' ? copySource(ctx.get('x-amz-copy-source')) : undefined;
      const tags = source && (await store.getSubresource(source.bucket, source.key, 'tagging').catch(() => null));
      if (tags) await store.putSubresource(bucket, key!, tags);
      else await store.deleteSubresource(bucket, key!, 'tagging');
    }
  });
}
