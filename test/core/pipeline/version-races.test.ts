import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { egress } from '../../../src/core/pipeline/egress.js';
import { ingest } from '../../../src/core/pipeline/ingest.js';
import { listQuarantine } from '../../../src/core/pipeline/quarantine.js';
import { discardBody, type ObjectStore } from '../../../src/core/ports.js';
import type { FsObjectStore } from '../../../src/local/fs-object-store.js';
import { withTempDir } from '../../helpers/cli.js';
import { fsDeps, gnupgHome, memoryKeys, SETTINGS } from '../../helpers/pipeline.js';

// A job's verdict rests on what it read: the upload's version and its checksum sidecars. Each case holds one job at
// its publish (still "decrypting"), lets a partner's new upload and its own job run to the end meanwhile, then lets
// the held job finish: what the newer inputs decided must stand.

const { upload, raw } = SETTINGS.buckets;
const DATA = 'id;amount\n1;10\n2;20\n';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const sidecarOf = (text: string) => `${sha256(text)}  orders.csv\n`;

function gate() {
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

/** Runs `job` with the store held at its publish of `output` to raw. */
function holdAtPublish<T>(deps: { store: ObjectStore }, output: string, job: (store: ObjectStore) => Promise<T>) {
  return holdAt(deps.store, raw, output, job);
}

/** Runs `job` with the store held at its put of `bucket/key`: `reached` once it got there, `release` lets it go on. */
function holdAt<T>(store: ObjectStore, bucket: string, key: string, job: (store: ObjectStore) => Promise<T>) {
  const release = gate();
  const reached = gate();
  return {
    job: job(heldAtPut(store, bucket, key, release.opened, reached.open)),
    reached: reached.opened,
    release: release.open,
  };
}

/** The store, but the put of `bucket/key` waits until `release` (it signals `reached` first). */
function heldAtPut(
  store: ObjectStore,
  bucket: string,
  key: string,
  release: Promise<void>,
  reached: () => void,
): ObjectStore {
  return new Proxy(store, {
    get(target, name, receiver) {
      if (name !== 'put') return Reflect.get(target, name, receiver);
      return async (...args: Parameters<ObjectStore['put']>) => {
        if (args[0] === bucket && args[1] === key) {
          reached();
          await release;
        }
        return target.put(...args);
      };
    },
  });
}

async function text(store: FsObjectStore, bucket: string, key: string): Promise<string | undefined> {
  const object = await store.get(bucket, key);
  if (!object) return undefined;
  let out = '';
  for await (const chunk of object.body) out += chunk;
  return out;
}

describe('a job whose inputs changed while it ran gives no verdict', () => {
  it('a sidecar that arrives (and refuses the file) while the file is decrypted: the file is not published', async () => {
    await withTempDir(async (root) => {
      const deps = fsDeps(root, memoryKeys([]));
      await deps.store.put(upload, 'orders.csv', DATA);
      const held = holdAtPublish(deps, 'orders.csv', (store) => ingest({ ...deps, store }, SETTINGS, 'orders.csv'));
      await held.reached;
      await deps.store.put(upload, 'orders.csv.sha256', sidecarOf('other content'));
      await expect(ingest(deps, SETTINGS, 'orders.csv.sha256')).rejects.toMatchObject({
        code: 'CHECKSUM_MISMATCH',
        quarantined: true,
      });
      held.release();
      expect(await held.job).toMatchObject({ status: 'skipped', reason: expect.stringContaining('sidecar arrived') });
      expect(await deps.store.head(raw, 'orders.csv')).toBeUndefined();
      expect(await listQuarantine(deps, SETTINGS)).toMatchObject([
        { key: 'orders.csv', reason: { code: 'CHECKSUM_MISMATCH' }, current: true },
      ]);
    });
  });

  it('a wrong sidecar corrected while the file is checked against it: the corrected verdict stands', async () => {
    await withTempDir(async (root) => {
      const deps = fsDeps(root, memoryKeys([]));
      await deps.store.put(upload, 'orders.csv', DATA);
      await deps.store.put(upload, 'orders.csv.sha256', sidecarOf('wrong'));
      const held = holdAtPublish(deps, 'orders.csv', (store) =>
        ingest({ ...deps, store }, SETTINGS, 'orders.csv.sha256'),
      );
      await held.reached;
      await deps.store.put(upload, 'orders.csv.sha256', sidecarOf(DATA));
      expect(await ingest(deps, SETTINGS, 'orders.csv.sha256')).toMatchObject({
        status: 'sidecar-stored',
        verified: true,
      });
      held.release();
      expect(await held.job).toMatchObject({ status: 'skipped' });
      // Not withdrawn, not quarantined: the output the corrected sidecar verified stays.
      expect(await text(deps.store, raw, 'orders.csv')).toBe(DATA);
      expect(await deps.store.getTags(upload, 'orders.csv')).toMatchObject({ 'sftpctl-status': 'processed' });
      expect(await listQuarantine(deps, SETTINGS)).toEqual([]);
    });
  });

  it('a job that succeeds after a newer version was refused keeps the newer version’s quarantine record', async () => {
    await withTempDir(async (root) => {
      const deps = fsDeps(root, memoryKeys([]));
      await deps.store.put(upload, 'orders.csv', DATA);
      // Held just before publishing: it already checked its version was current.
      const held = holdAtPublish(deps, 'orders.csv', (store) => ingest({ ...deps, store }, SETTINGS, 'orders.csv'));
      await held.reached;
      await deps.store.put(upload, 'orders.csv', '');
      await expect(ingest(deps, SETTINGS, 'orders.csv')).rejects.toMatchObject({ code: 'EMPTY_FILE' });
      held.release();
      await held.job;
      const records = await listQuarantine(deps, SETTINGS);
      expect(records).toMatchObject([{ key: 'orders.csv', reason: { code: 'EMPTY_FILE' }, current: true }]);
    });
  });

  it('the sidecar that goes to raw is the one the file was verified against, not one uploaded since', async () => {
    await withTempDir(async (root) => {
      const deps = fsDeps(root, memoryKeys([]));
      await deps.store.put(upload, 'orders.csv', DATA);
      await deps.store.put(upload, 'orders.csv.sha256', sidecarOf(DATA));
      // Held after the output is published, as the sidecar goes to raw beside it.
      const held = holdAtPublish(deps, 'orders.csv.sha256', (store) =>
        ingest({ ...deps, store }, SETTINGS, 'orders.csv'),
      );
      await held.reached;
      await deps.store.put(upload, 'orders.csv.sha256', sidecarOf('other content'));
      held.release();
      expect(await held.job).toMatchObject({ status: 'processed', checksum: 'sha256' });
      expect(await text(deps.store, raw, 'orders.csv.sha256')).toBe(sidecarOf(DATA));
    });
  });

  it('two deliveries of one upload at once: the output is published once, the second job finds it processed', async () => {
    await withTempDir(async (root) => {
      const deps = fsDeps(root, memoryKeys([]));
      await deps.store.put(upload, 'orders.csv', DATA);
      const held = holdAtPublish(deps, 'orders.csv', (store) => ingest({ ...deps, store }, SETTINGS, 'orders.csv'));
      await held.reached;
      expect(await ingest(deps, SETTINGS, 'orders.csv')).toMatchObject({ status: 'processed' });
      const published = await deps.store.head(raw, 'orders.csv');
      held.release();
      expect(await held.job).toMatchObject({ status: 'skipped', reason: 'already processed' });
      expect(deps.events).toContainEqual(expect.objectContaining({ event: 'publish-conflict', attempt: 1 }));
      expect((await deps.store.head(raw, 'orders.csv'))?.etag).toBe(published?.etag);
    });
  });

  it('a sidecar replaced by one that disagrees withdraws the output it had verified, and quarantines the file', async () => {
    await withTempDir(async (root) => {
      const deps = fsDeps(root, memoryKeys([]));
      await deps.store.put(upload, 'orders.csv', DATA);
      await deps.store.put(upload, 'orders.csv.sha256', sidecarOf(DATA));
      expect(await ingest(deps, SETTINGS, 'orders.csv')).toMatchObject({ status: 'processed', checksum: 'sha256' });
      await deps.store.put(upload, 'orders.csv.sha256', sidecarOf('what the partner meant to send'));
      await expect(ingest(deps, SETTINGS, 'orders.csv.sha256')).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH' });
      expect(await deps.store.head(raw, 'orders.csv')).toBeUndefined();
      expect(deps.events).toContainEqual(expect.objectContaining({ reason: 'published copy withdrawn' }));
      expect(await listQuarantine(deps, SETTINGS)).toMatchObject([{ key: 'orders.csv', current: true }]);
    });
  });

  it('two deliveries of one export at once: it is encrypted and delivered once', async () => {
    await withTempDir(async (root) => {
      const gnupg = gnupgHome();
      const partner = gnupg.generate('partner@example.invalid', 'future-default');
      gnupg.close();
      const deps = fsDeps(root, memoryKeys([], partner.publicKey));
      const { export: exports, download } = SETTINGS.buckets;
      await deps.store.put(exports, 'report.csv', DATA);
      const held = holdAt(deps.store, download, 'report.csv.gpg', (store) =>
        egress({ ...deps, store }, SETTINGS, 'report.csv'),
      );
      await held.reached;
      expect(await egress(deps, SETTINGS, 'report.csv')).toMatchObject({ status: 'encrypted' });
      const delivered = await deps.store.head(download, 'report.csv.gpg');
      held.release();
      expect(await held.job).toMatchObject({ status: 'skipped', reason: 'already encrypted' });
      expect(deps.events).toContainEqual(expect.objectContaining({ event: 'publish-conflict', attempt: 1 }));
      expect((await deps.store.head(download, 'report.csv.gpg'))?.etag).toBe(delivered?.etag);
    });
  });

  it('an export replaced while its sidecar is written: file and sidecar in download stay a pair, of the new version', async () => {
    await withTempDir(async (root) => {
      const gnupg = gnupgHome();
      const partner = gnupg.generate('partner@example.invalid', 'future-default');
      gnupg.close();
      const deps = fsDeps(root, memoryKeys([], partner.publicKey));
      const { export: exports, download } = SETTINGS.buckets;
      await deps.store.put(exports, 'report.csv', DATA);
      const held = holdAt(deps.store, download, 'report.csv.sha256', (store) =>
        egress({ ...deps, store }, SETTINGS, 'report.csv'),
      );
      await held.reached;
      const newer = await deps.store.put(exports, 'report.csv', `${DATA}3;30\n`);
      expect(await egress(deps, SETTINGS, 'report.csv')).toMatchObject({ status: 'encrypted' });
      held.release();
      await held.job;
      const file = await deps.store.head(download, 'report.csv.gpg');
      const sidecar = await deps.store.head(download, 'report.csv.sha256');
      expect(file?.metadata['sftpctl-source-etag']).toBe(newer.etag);
      expect(sidecar?.metadata['sftpctl-source-etag']).toBe(newer.etag);
      expect(await text(deps.store, download, 'report.csv.sha256')).toBe(`${sha256(`${DATA}3;30\n`)}  report.csv\n`);
    });
  });

  it('an export refused while a new version of it is written: the new version is not marked refused', async () => {
    await withTempDir(async (root) => {
      const gnupg = gnupgHome();
      const partner = gnupg.generate('partner@example.invalid', 'future-default');
      gnupg.close();
      const deps = fsDeps(root, memoryKeys([], partner.publicKey));
      const { export: exports } = SETTINGS.buckets;
      await deps.store.put(exports, 'report.csv', DATA);
      // Reading the export fails for good (no code: not a fault anyone can retry away), and the organisation writes
      // the next version just as the refusal is being recorded.
      const racing = new Proxy(deps.store, {
        get(target, name, receiver) {
          if (name === 'get')
            return async (...args: Parameters<ObjectStore['get']>) => {
              const object = await target.get(...args);
              if (!object) return object;
              discardBody(object.body);
              const body = new Readable({
                read() {
                  this.destroy(new Error('unreadable export'));
                },
              });
              return { ...object, body };
            };
          if (name === 'getTags')
            return async (...args: Parameters<ObjectStore['getTags']>) => {
              if (args[0] === exports) await target.put(exports, 'report.csv', `${DATA}3;30\n`);
              return target.getTags(...args);
            };
          return Reflect.get(target, name, receiver);
        },
      });
      await expect(egress({ ...deps, store: racing }, SETTINGS, 'report.csv')).rejects.toMatchObject({
        fault: 'permanent',
      });
      expect(await deps.store.getTags(exports, 'report.csv')).toEqual({});
    });
  });
});
