import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FUNCTION_OBJECT_STORE_USES, OBJECT_STORE_OPERATIONS } from '../../src/core/permissions.js';
import type { ObjectStore } from '../../src/core/ports.js';
import { guardedStore } from '../../src/lambda/guarded-store.js';
import { FsObjectStore } from '../../src/local/fs-object-store.js';

const BUCKETS = { upload: 'bank-upload', raw: 'bank-raw', export: '', download: '' };

describe('the Lambda store refuses operations its role was not derived from', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'sftpctl-guard-'));
  });
  afterEach(async () => rm(root, { recursive: true, force: true }));

  it('passes declared operations through and names the missing declaration otherwise', async () => {
    const store = guardedStore(new FsObjectStore(root), 'ingress', BUCKETS, FUNCTION_OBJECT_STORE_USES.ingress);
    await store.put('bank-raw', 'a.csv', 'data');
    expect(await store.head('bank-raw', 'a.csv')).toMatchObject({ size: 4 });
    await expect(store.delete('bank-upload', 'a.csv.gpg')).rejects.toMatchObject({
      code: 'PERMISSION_MODEL_GAP',
      message: 'The ingress function tried delete on s3://bank-upload/a.csv.gpg, which its role does not grant.',
      hint: expect.stringContaining('FUNCTION_OBJECT_STORE_USES'),
    });
    await expect(
      store.copy({ bucket: 'bank-raw', key: 'a.csv' }, { bucket: 'bank-upload', key: 'a.csv' }),
    ).rejects.toMatchObject({ code: 'PERMISSION_MODEL_GAP' });
    await expect(store.put('someone-elses-bucket', 'x', 'y')).rejects.toMatchObject({ code: 'PERMISSION_MODEL_GAP' });
    const listed = async () => {
      for await (const _ of store.list('bank-upload')) void _;
    };
    await expect(listed()).rejects.toMatchObject({ code: 'PERMISSION_MODEL_GAP' });
  });

  it('hands every argument on as given, options included (a dropped ifEtag would tag the wrong version)', async () => {
    const received: Record<string, unknown[]> = {};
    const recording = new Proxy({} as ObjectStore, {
      get: (_target, name: string) =>
        name === 'list'
          ? async function* (...args: unknown[]) {
              received[name] = args;
              yield* [];
            }
          : async (...args: unknown[]) => {
              received[name] = args;
            },
    });
    const uses = [
      ...FUNCTION_OBJECT_STORE_USES.ingress,
      { operation: 'copy' as const, from: 'upload' as const, to: 'raw' as const },
    ];
    const store = guardedStore(recording, 'ingress', BUCKETS, uses);
    const options = { marker: 'options' };
    const from = { bucket: 'bank-upload', key: 'a.csv.sha256' };
    const to = { bucket: 'bank-raw', key: 'a.csv.sha256' };
    const calls: [string, unknown[]][] = [
      ['get', ['bank-upload', 'a.csv.gpg']],
      ['head', ['bank-raw', 'a.csv']],
      ['put', ['bank-raw', 'a.csv', 'body', options]],
      ['copy', [from, to, options]],
      ['delete', ['bank-raw', 'a.csv']],
      ['getTags', ['bank-upload', 'a.csv.gpg']],
      ['putTags', ['bank-upload', 'a.csv.gpg', { 'sftpctl-status': 'processed' }, { ifEtag: '"e1"' }]],
    ];
    for (const [name, args] of calls) {
      await (store[name as keyof ObjectStore] as (...a: unknown[]) => Promise<unknown>)(...args);
      expect(received[name], name).toEqual(args);
      expect((received[name] ?? []).at(-1), name).toBe(args.at(-1));
    }
    const guarded = guardedStore(recording, 'sweeper', BUCKETS, FUNCTION_OBJECT_STORE_USES.sweeper);
    for await (const _ of guarded.list('bank-upload', 'in/')) void _;
    expect(received.list).toEqual(['bank-upload', 'in/']);
    expect(Object.keys(received).sort()).toEqual([...OBJECT_STORE_OPERATIONS].sort());
  });
});
