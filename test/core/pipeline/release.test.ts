import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readlink, realpath, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { egress } from '../../../src/core/pipeline/egress.js';
import { ingest } from '../../../src/core/pipeline/ingest.js';
import type { ObjectStore } from '../../../src/core/ports.js';
import { withTempDir } from '../../helpers/cli.js';
import { fsDeps, gnupgHome, memoryKeys, SETTINGS } from '../../helpers/pipeline.js';

/**
 * A job that fails or stops early releases the object it opened when it ends, whichever way it ends: a file (or an S3
 * connection) left to garbage collection runs a long-lived platform out of descriptors under a stream of bad uploads.
 */
const gnupg = gnupgHome();
let ours: ReturnType<typeof gnupg.generate>;
let stranger: ReturnType<typeof gnupg.generate>;
const big = randomBytes(8 * 1024 * 1024);

beforeAll(() => {
  ours = gnupg.generate('Ingress <ingress@example.com>', 'future-default');
  stranger = gnupg.generate('Stranger <s@example.com>', 'future-default');
}, 120_000);
afterAll(() => gnupg.close());

async function put(root: string, bucket: string, key: string, data: Buffer) {
  await mkdir(join(root, bucket), { recursive: true });
  await writeFile(join(root, bucket, key), data);
}

/** Descriptors of this process open on files under `root`. */
async function openUnder(root: string): Promise<string[]> {
  const open: string[] = [];
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target.startsWith(root)) open.push(target);
  }
  return open;
}

/** Waits for a destroyed stream's close (a few event-loop turns), never for garbage collection. */
async function settledOpen(root: string): Promise<string[]> {
  for (let turn = 0; turn < 20; turn++) {
    const open = await openUnder(root);
    if (open.length === 0) return open;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return openUnder(root);
}

/** The store, but every object reads as another version than the one listed (the partner replaced it meanwhile). */
function replacedMeanwhile(store: ObjectStore): ObjectStore {
  return new Proxy(store, {
    get(target, name, receiver) {
      if (name !== 'get') return Reflect.get(target, name, receiver);
      return async (bucket: string, key: string) => {
        const object = await target.get(bucket, key);
        return object && { ...object, info: { ...object.info, etag: `${object.info.etag}-newer` } };
      };
    },
  });
}

describe.skipIf(process.platform !== 'linux')('pipeline jobs release what they opened', () => {
  const ingestCases: [string, () => Buffer][] = [
    ['encrypted to another key', () => gnupg.gpg(['--encrypt', '-r', stranger.fingerprint, '-z', '0'], big)],
    ['not OpenPGP at all', () => randomBytes(8 * 1024 * 1024)],
    [
      'compressed, damaged near its start',
      () => {
        const message = gnupg.gpg(['--encrypt', '-r', ours.fingerprint, '--compress-algo', 'zlib'], big);
        message[300] = (message[300] ?? 0) ^ 0xff;
        return message;
      },
    ],
  ];

  it.each(ingestCases)('ingest of an upload %s: refused, and its file closed', async (_what, message) => {
    await withTempDir(async (dir) => {
      const root = await realpath(dir);
      await put(root, SETTINGS.buckets.upload, 'bad.csv.gpg', message());
      const deps = fsDeps(root, memoryKeys([ours.privateKey]));
      await expect(ingest(deps, SETTINGS, 'bad.csv.gpg')).rejects.toThrow();
      expect(await settledOpen(root)).toEqual([]);
    });
  });

  it('ingest and egress of a version replaced while it was opened: nothing published, the file closed', async () => {
    await withTempDir(async (dir) => {
      const root = await realpath(dir);
      await put(root, SETTINGS.buckets.upload, 'up.csv.gpg', gnupg.gpg(['--encrypt', '-r', ours.fingerprint], big));
      await put(root, SETTINGS.buckets.export, 'out.csv', big);
      const deps = fsDeps(root, memoryKeys([ours.privateKey], ours.publicKey));
      const racing = { ...deps, store: replacedMeanwhile(deps.store) };
      expect(await ingest(racing, SETTINGS, 'up.csv.gpg')).toMatchObject({ status: 'skipped' });
      await expect(egress(racing, SETTINGS, 'out.csv')).rejects.toThrow(/changed while it was being encrypted/);
      expect(await settledOpen(root)).toEqual([]);
      expect(await readdir(join(root, SETTINGS.buckets.download)).catch(() => [])).toEqual([]);
    });
  });
});
