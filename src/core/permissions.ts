/**
 * The one permission model of a partner's SFTP users. AWS enforces it through the IAM role the templates give each
 * Transfer user (`iamStatementsFor`); the local SFTP server enforces the same `permissionsFor` itself. Change it here
 * and both follow.
 *
 * What OpenSSH's sftp client does, and what each step needs:
 * - `put file`      stat the target directory (list), open with WRITE|CREAT|TRUNC and write (write), close.
 * - `reput file`    stat the remote file for its size (read: S3's HeadObject is authorised by s3:GetObject),
 *                   then open without TRUNC and write from that offset (write). S3 objects cannot be appended to,
 *                   so Transfer Family on S3 refuses the resumed write; the local server (a filesystem) honours it.
 * - `rename a b`    on S3 a rename is CopyObject + DeleteObject: it needs read and write (the copy) and delete.
 *                   Partners commonly upload to a temporary name and rename when done, so upload users get it.
 * - `mkdir d`       S3 has no directories: Transfer writes a zero-byte `d/` object (write).
 * - `ls`            ListObjectsV2 (list).
 *
 * A download user only lists and reads: it cannot overwrite, delete or rename what the platform published.
 * Object versions are never addressed through SFTP, so no `*Version` action is granted: a partner's delete leaves
 * a delete marker, and the bucket's lifecycle (not the partner) decides when old versions go.
 */

export const SFTP_ACTIONS = ['list', 'read', 'write', 'delete', 'rename', 'mkdir'] as const;
export type SftpAction = (typeof SFTP_ACTIONS)[number];

export type SftpRole = 'upload' | 'download';

const UPLOAD: readonly SftpAction[] = ['list', 'read', 'write', 'delete', 'rename', 'mkdir'];
const DOWNLOAD: readonly SftpAction[] = ['list', 'read'];

/** What a user of this role may do in its (single, chrooted) bucket. A fresh set: callers cannot widen the model. */
export function permissionsFor(role: SftpRole): ReadonlySet<SftpAction> {
  return new Set(role === 'upload' ? UPLOAD : DOWNLOAD);
}

/** True when `role` may perform `action`: the check the local SFTP server makes per request. */
export function isAllowed(role: SftpRole, action: SftpAction): boolean {
  return permissionsFor(role).has(action);
}

/**
 * The S3 actions each SFTP action needs, on the bucket (`bucket`) or on its objects (`object`). `rename` and `mkdir`
 * add no action of their own: S3 does them with the actions of read, write and delete.
 */
export const S3_ACTIONS: Readonly<Record<SftpAction, { bucket: readonly string[]; object: readonly string[] }>> = {
  list: { bucket: ['s3:ListBucket'], object: [] },
  read: { bucket: [], object: ['s3:GetObject'] },
  write: { bucket: [], object: ['s3:PutObject'] },
  delete: { bucket: [], object: ['s3:DeleteObject'] },
  rename: { bucket: [], object: [] },
  mkdir: { bucket: [], object: [] },
};

/** SFTP actions that S3 carries out with other actions; the model refuses a role that has one without them. */
export const IMPLIED_BY: Readonly<Partial<Record<SftpAction, readonly SftpAction[]>>> = {
  rename: ['read', 'write', 'delete'],
  mkdir: ['write'],
};

/**
 * KMS actions on the bucket's key (SSE-KMS with a bucket key): reading decrypts, writing generates data keys and
 * (for multipart uploads, which Transfer uses) decrypts them again to complete the upload.
 */
const KMS_ACTIONS: Readonly<Partial<Record<SftpAction, readonly string[]>>> = {
  read: ['kms:Decrypt'],
  write: ['kms:Decrypt', 'kms:GenerateDataKey'],
};

/** An ARN as a string or as any CloudFormation value that yields one (`{ "Fn::GetAtt": [...] }`). */
export type ArnValue = string | { readonly [intrinsic: string]: unknown };

export interface IamStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: ArnValue[];
}

/**
 * IAM statements granting exactly `permissionsFor(role)` on one bucket and its key. `bucketArn` is the plain
 * bucket ARN (`arn:aws:s3:::name`): ListBucket gets the bucket itself and nothing wider, object actions get
 * `<bucketArn>/*`. No action or resource is a wildcard.
 */
export function iamStatementsFor(role: SftpRole, bucketArn: string, keyArn: ArnValue): IamStatement[] {
  if (!/^arn:[a-z-]+:s3:::[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(bucketArn)) {
    throw new Error(`iamStatementsFor: "${bucketArn}" is not a plain S3 bucket ARN`);
  }
  const allowed = [...permissionsFor(role)];
  const collect = (pick: (action: SftpAction) => readonly string[]) => [...new Set(allowed.flatMap(pick))].sort();
  const bucketActions = collect((action) => S3_ACTIONS[action].bucket);
  const objectActions = collect((action) => S3_ACTIONS[action].object);
  const kmsActions = collect((action) => KMS_ACTIONS[action] ?? []);

  const statements: IamStatement[] = [];
  if (bucketActions.length > 0) {
    statements.push({ Sid: 'ListHomeBucket', Effect: 'Allow', Action: bucketActions, Resource: [bucketArn] });
  }
  if (objectActions.length > 0) {
    statements.push({ Sid: 'HomeBucketObjects', Effect: 'Allow', Action: objectActions, Resource: [`${bucketArn}/*`] });
  }
  if (kmsActions.length > 0) {
    statements.push({ Sid: 'HomeBucketKey', Effect: 'Allow', Action: kmsActions, Resource: [keyArn] });
  }
  return statements;
}

/*
 * ─── The functions' side of the same model ───────────────────────────────────────────────────────────────────────
 *
 * The pipeline reaches S3 only through the ObjectStore port. `S3_OPERATION_ACTIONS` says what S3 checks for each port
 * operation as the S3 adapter (src/aws/s3-object-store.ts) carries it out; `FUNCTION_OBJECT_STORE_USES` says which
 * operations each function makes on which of its client's buckets. The function roles in the templates are derived
 * from both (`functionS3Statements`), and the Lambda wraps its store in a guard built from the same uses
 * (src/lambda/guarded-store.ts): an operation a function does not declare fails at once, in every test that runs the
 * handler, with a message naming the line to add here. So a new S3 call cannot ship without its permission.
 */

/** The ObjectStore port's operations (its method names). */
export const OBJECT_STORE_OPERATIONS = ['get', 'head', 'put', 'copy', 'delete', 'getTags', 'putTags', 'list'] as const;
export type ObjectStoreOperation = (typeof OBJECT_STORE_OPERATIONS)[number];

/** S3 actions on a bucket (`arn:…:s3:::name`) and on its objects (`arn:…:s3:::name/*`). */
export interface S3Grant {
  bucket: readonly string[];
  object: readonly string[];
}

/**
 * What S3 authorises for each port operation, on the bucket the operation addresses (`target`; for a copy, the
 * destination) and, for a copy, on the source. Each line names the S3 calls the adapter makes:
 * - get/head: GetObject/HeadObject (both authorised by s3:GetObject). Without s3:ListBucket on the bucket S3 answers a
 *   missing key with 403 instead of 404, and the adapter's "not there" (undefined) becomes an access error.
 * - put: PutObject, or CreateMultipartUpload/UploadPart/CompleteMultipartUpload (s3:PutObject) and, on failure,
 *   AbortMultipartUpload. A conditional put (`ifCurrent`, If-Match) also needs s3:GetObject on the key: the two
 *   functions that make one (ingress to raw, egress to download) head that bucket first, so they hold it.
 * - copy: HeadObject of the source, then CopyObject (or UploadPartCopy above 5 GiB) with `TaggingDirective: REPLACE`
 *   and no tags: a copy is a new object and starts untagged. (S3's default, COPY, would carry a waiting sidecar's
 *   status tag into raw and need s3:GetObjectTagging on the source and s3:PutObjectTagging on the destination.)
 * - delete: DeleteObject. getTags: GetObjectTagging. list: ListObjectsV2 (s3:ListBucket).
 * - putTags: PutObjectTagging; for one version (`ifEtag`), HeadObject first (as head) and PutObjectTagging with its
 *   VersionId, which S3 authorises as s3:PutObjectVersionTagging.
 */
export const S3_OPERATION_ACTIONS: Readonly<Record<ObjectStoreOperation, { target: S3Grant; source?: S3Grant }>> = {
  get: { target: { bucket: ['s3:ListBucket'], object: ['s3:GetObject'] } },
  head: { target: { bucket: ['s3:ListBucket'], object: ['s3:GetObject'] } },
  put: { target: { bucket: [], object: ['s3:AbortMultipartUpload', 's3:PutObject'] } },
  copy: {
    target: { bucket: [], object: ['s3:AbortMultipartUpload', 's3:PutObject'] },
    source: { bucket: ['s3:ListBucket'], object: ['s3:GetObject'] },
  },
  delete: { target: { bucket: [], object: ['s3:DeleteObject'] } },
  getTags: { target: { bucket: [], object: ['s3:GetObjectTagging'] } },
  putTags: {
    target: {
      bucket: ['s3:ListBucket'],
      object: ['s3:GetObject', 's3:PutObjectTagging', 's3:PutObjectVersionTagging'],
    },
  },
  list: { target: { bucket: ['s3:ListBucket'], object: [] } },
};

/** Which of its client's buckets a function addresses. */
export type ClientBucket = 'upload' | 'raw' | 'export' | 'download';

/** One operation a function makes: on one bucket, or (copy) from one bucket to another. */
export type ObjectStoreUse =
  | { operation: Exclude<ObjectStoreOperation, 'copy'>; bucket: ClientBucket }
  | { operation: 'copy'; from: ClientBucket; to: ClientBucket };

export type PipelineFunction = 'ingress' | 'egress' | 'sweeper';

const on = (bucket: ClientBucket, ...operations: Exclude<ObjectStoreOperation, 'copy'>[]): ObjectStoreUse[] =>
  operations.map((operation) => ({ operation, bucket }));

/**
 * Every ObjectStore operation each function makes (core/pipeline/ingest.ts and egress.ts). Ingress reads and tags
 * partner originals (never deletes them), publishes decrypted files, the checksum sidecars they were verified against
 * (the bytes it read, not a copy of whatever is there by then) and quarantine records to raw, and takes a raw copy back
 * when a late sidecar disagrees. Egress reads and tags
 * exports and publishes the encrypted file and its sidecar to download. The sweeper lists uploads and reads their tags.
 */
export const FUNCTION_OBJECT_STORE_USES: Readonly<Record<PipelineFunction, readonly ObjectStoreUse[]>> = {
  ingress: [...on('upload', 'head', 'get', 'getTags', 'putTags'), ...on('raw', 'head', 'get', 'put', 'delete')],
  egress: [...on('export', 'head', 'get', 'getTags', 'putTags'), ...on('download', 'head', 'put')],
  // Lists the upload bucket and reads the tags of old objects (an object no function marked lost its event); what
  // waited for a checksum sidecar past the deadline it quarantines: a reason record in raw, a status tag on upload.
  sweeper: [...on('upload', 'list', 'getTags', 'putTags'), ...on('raw', 'put')],
};

/** True when `use` is among `uses` (same operation, same bucket or buckets). */
export function declaresUse(uses: readonly ObjectStoreUse[], use: ObjectStoreUse): boolean {
  return uses.some((declared) => sameUse(declared, use));
}

function sameUse(a: ObjectStoreUse, b: ObjectStoreUse): boolean {
  if (a.operation === 'copy') return b.operation === 'copy' && a.from === b.from && a.to === b.to;
  return b.operation === a.operation && b.bucket === a.bucket;
}

/** The S3 actions `uses` need, per bucket: `{ upload: { bucket: [...], object: [...] }, … }`, sorted, deduplicated. */
export function s3ActionsFor(uses: readonly ObjectStoreUse[]): Partial<Record<ClientBucket, S3Grant>> {
  const found: Partial<Record<ClientBucket, { bucket: Set<string>; object: Set<string> }>> = {};
  const add = (bucket: ClientBucket, grant: S3Grant) => {
    const entry = found[bucket] ?? { bucket: new Set<string>(), object: new Set<string>() };
    found[bucket] = entry;
    for (const action of grant.bucket) entry.bucket.add(action);
    for (const action of grant.object) entry.object.add(action);
  };
  for (const use of uses) {
    const actions = S3_OPERATION_ACTIONS[use.operation];
    if (use.operation === 'copy') {
      add(use.to, actions.target);
      if (actions.source) add(use.from, actions.source);
    } else add(use.bucket, actions.target);
  }
  const out: Partial<Record<ClientBucket, S3Grant>> = {};
  for (const [bucket, entry] of Object.entries(found) as [ClientBucket, { bucket: Set<string>; object: Set<string> }][])
    out[bucket] = { bucket: [...entry.bucket].sort(), object: [...entry.object].sort() };
  return out;
}

const CAPITALISED: Record<ClientBucket, string> = {
  upload: 'Upload',
  raw: 'Raw',
  export: 'Export',
  download: 'Download',
};

/**
 * A function's S3 statements, derived from its declared uses: one statement for the bucket-level actions of all its
 * buckets (ListBucket), one per bucket for the object actions. `arnOf` gives each bucket's plain ARN.
 */
export function functionS3Statements(fn: PipelineFunction, arnOf: (bucket: ClientBucket) => string): IamStatement[] {
  const grants = s3ActionsFor(FUNCTION_OBJECT_STORE_USES[fn]);
  const buckets = Object.keys(grants) as ClientBucket[];
  const statements: IamStatement[] = [];
  const bucketActions = [...new Set(buckets.flatMap((bucket) => grants[bucket]!.bucket))].sort();
  for (const action of bucketActions) {
    const resources = buckets.filter((bucket) => grants[bucket]!.bucket.includes(action)).map(arnOf);
    statements.push({
      Sid: `${action.replace(/^s3:/, '')}ClientBuckets`,
      Effect: 'Allow',
      Action: [action],
      Resource: resources,
    });
  }
  for (const bucket of buckets) {
    const objectActions = grants[bucket]!.object;
    if (objectActions.length === 0) continue;
    statements.push({
      Sid: `${CAPITALISED[bucket]}BucketObjects`,
      Effect: 'Allow',
      Action: [...objectActions],
      Resource: [`${arnOf(bucket)}/*`],
    });
  }
  return statements;
}
