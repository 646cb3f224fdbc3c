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
