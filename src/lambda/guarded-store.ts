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
  // Every method hands on all its arguments as given (options included: a dropped `ifEtag` would tag the wrong
  // version), only after the check.
  return {
    async get(...args) {
      single('get', args[0], args[1]);
      return store.get(...args);
    },
    async head(...args) {
      single('head', args[0], args[1]);
      return store.head(...args);
    },
    async put(...args) {
      single('put', args[0], args[1]);
      return store.put(...args);
    },
    async copy(...args) {
      const [from, to] = args;
      const source = purposeOf(from.bucket);
      const target = purposeOf(to.bucket);
      check(
        source && target && { operation: 'copy', from: source, to: target },
        `copy from s3://${from.bucket}/${from.key} to s3://${to.bucket}/${to.key}`,
      );
      return store.copy(...args);
    },
    async delete(...args) {
      single('delete', args[0], args[1]);
      return store.delete(...args);
    },
    async getTags(...args) {
      single('getTags', args[0], args[1]);
      return store.getTags(...args);
    },
    async putTags(...args) {
      single('putTags', args[0], args[1]);
      return store.putTags(...args);
    },
    async *list(...args) {
      single('list', args[0]);
      yield* store.list(...args);
    },
  };
}
