import { SftpctlError } from '../core/errors.js';
import { type ClientBucket, declaresUse, type ObjectStoreUse } from '../core/permissions.js';
import type { ObjectStore } from '../core/ports.js';

/**
 * The function's ObjectStore, refusing any operation its role was not derived from (core/permissions.ts
 * FUNCTION_OBJECT_STORE_USES). IAM would refuse it on AWS anyway, but only there and only after a partner's file is
 * half processed; this refuses it in every test that runs the handler, with the line to add.
 */
export function guardedStore(
  store: ObjectStore,
  fn: string,
  buckets: Partial<Record<ClientBucket, string>>,
  uses: readonly ObjectStoreUse[],
): ObjectStore {
  const purposeOf = (bucket: string): ClientBucket | undefined =>
    (Object.entries(buckets) as [ClientBucket, string][]).find(([, name]) => name !== '' && name === bucket)?.[0];
  const check = (use: ObjectStoreUse | undefined, what: string) => {
    if (use && declaresUse(uses, use)) return;
    throw new SftpctlError(
      'PERMISSION_MODEL_GAP',
      `The ${fn} function tried ${what}, which its role does not grant.`,
      'Declare the operation in FUNCTION_OBJECT_STORE_USES (src/core/permissions.ts): the role is derived from it.',
      { kind: 'internal' },
    );
  };
  const single = (operation: Exclude<ObjectStoreUse['operation'], 'copy'>, bucket: string, key?: string) => {
    const purpose = purposeOf(bucket);
    check(
      purpose && { operation, bucket: purpose },
      `${operation} on s3://${bucket}${key === undefined ? '' : `/${key}`}`,
    );
  };
  return {
    async get(bucket, key) {
      single('get', bucket, key);
      return store.get(bucket, key);
    },
    async head(bucket, key) {
      single('head', bucket, key);
      return store.head(bucket, key);
    },
    async put(bucket, key, body, options) {
      single('put', bucket, key);
      return store.put(bucket, key, body, options);
    },
    async copy(from, to, options) {
      const source = purposeOf(from.bucket);
      const target = purposeOf(to.bucket);
      check(
        source && target && { operation: 'copy', from: source, to: target },
        `copy from s3://${from.bucket}/${from.key} to s3://${to.bucket}/${to.key}`,
      );
      return store.copy(from, to, options);
    },
    async delete(bucket, key) {
      single('delete', bucket, key);
      return store.delete(bucket, key);
    },
    async getTags(bucket, key) {
      single('getTags', bucket, key);
      return store.getTags(bucket, key);
    },
    async putTags(bucket, key, tags) {
      single('putTags', bucket, key);
      return store.putTags(bucket, key, tags);
    },
    async *list(bucket, prefix) {
      single('list', bucket);
      yield* store.list(bucket, prefix);
    },
  };
}
