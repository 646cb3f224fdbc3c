import { appendFile, link, mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FsObjectStore } from '../../src/local/fs-object-store.js';
import { withTempDir } from '../helpers/cli.js';

const B = 'bucket';

async function store(dir: string) {
  const s = new FsObjectStore(dir);
  await s.put(B, 'seed', 'x');
  return s;
}

describe('FsObjectStore: S3 object semantics (versions, etags, tags bound to a version)', () => {
  it('every completed write is a new version with a fresh etag and no tags: put, overwrite in place, replace by rename, delete + re-create', async () => {
    await withTempDir(async (dir) => {
      const s = await store(dir);
      const path = s.pathOf(B, 'k');
      const etags = new Set<string>();
      const check = async (what: string) => {
        const info = await s.head(B, 'k');
        expect(info, what).toBeDefined();
        expect(etags.has(info!.etag!), `${what}: fresh etag`).toBe(false);
        etags.add(info!.etag!);
        expect(await s.getTags(B, 'k'), `${what}: no tags`).toEqual({});
        expect(info!.metadata, `${what}: no metadata`).toEqual({});
        await s.putTags(B, 'k', { 'sftpctl-status': 'processed' });
        expect(await s.getTags(B, 'k')).toEqual({ 'sftpctl-status': 'processed' });
      };
      await writeFile(path, 'one');
      await check('written by another program');
      await writeFile(path, 'two');
      await check('rewritten in place, same size');
      await appendFile(path, '+');
      await check('appended');
      await writeFile(join(dir, 'other'), 'three');
      await rename(join(dir, 'other'), path);
      await check('replaced by a rename');
      await rm(path);
      expect(await s.head(B, 'k')).toBeUndefined();
      await writeFile(path, 'three');
      await check('deleted and written again with the same content');
      // A put: metadata and content published together; tags and metadata of the earlier version gone.
      await s.put(B, 'k', 'four', { metadata: { 'Sftpctl-Source-Etag': 'e1' } });
      const put = await s.head(B, 'k');
      expect(put!.metadata).toEqual({ 'sftpctl-source-etag': 'e1' });
      expect(etags.has(put!.etag!)).toBe(false);
      expect(await s.getTags(B, 'k')).toEqual({});
      // The same content put again is still a new version.
      await s.put(B, 'k', 'four');
      expect((await s.head(B, 'k'))!.etag).not.toBe(put!.etag);
    });
  });

  it('a rename keeps no tags of the old name and a hard link does not inherit them either', async () => {
    await withTempDir(async (dir) => {
      const s = await store(dir);
      await writeFile(s.pathOf(B, 'a.filepart'), 'data');
      await s.putTags(B, 'a.filepart', { t: '1' });
      await rename(s.pathOf(B, 'a.filepart'), s.pathOf(B, 'a'));
      expect(await s.getTags(B, 'a')).toEqual({});
      await link(s.pathOf(B, 'a'), s.pathOf(B, 'b'));
      await s.putTags(B, 'a', { t: '2' });
      expect(await s.getTags(B, 'b')).toEqual({});
    });
  });

  it('putTags with ifEtag leaves a replaced version alone; the etag is stable while the version lives', async () => {
    await withTempDir(async (dir) => {
      const s = await store(dir);
      await writeFile(s.pathOf(B, 'k'), 'v1');
      const v1 = (await s.head(B, 'k'))!.etag!;
      expect((await s.head(B, 'k'))!.etag).toBe(v1);
      await writeFile(s.pathOf(B, 'k'), 'v2!');
      await s.putTags(B, 'k', { 'sftpctl-status': 'processed' }, { ifEtag: v1 });
      expect(await s.getTags(B, 'k')).toEqual({});
      const v2 = (await s.head(B, 'k'))!.etag!;
      await s.putTags(B, 'k', { 'sftpctl-status': 'processed' }, { ifEtag: v2 });
      expect(await s.getTags(B, 'k')).toEqual({ 'sftpctl-status': 'processed' });
      expect((await s.head(B, 'k'))!.etag).toBe(v2);
    });
  });

  it('a put with ifCurrent publishes only over the object it names (null: only where there is none)', async () => {
    await withTempDir(async (dir) => {
      const s = await store(dir);
      const first = await s.put(B, 'out', 'first', { ifCurrent: null });
      await expect(s.put(B, 'out', 'second', { ifCurrent: null })).rejects.toMatchObject({ code: 'PUBLISH_CONFLICT' });
      await expect(s.put(B, 'out', 'second', { ifCurrent: 'another etag' })).rejects.toMatchObject({
        code: 'PUBLISH_CONFLICT',
      });
      expect(await readFile(s.pathOf(B, 'out'), 'utf8')).toBe('first');
      expect((await s.head(B, 'out'))?.etag).toBe(first.etag);
      await s.put(B, 'out', 'second', { ifCurrent: first.etag ?? '' });
      expect(await readFile(s.pathOf(B, 'out'), 'utf8')).toBe('second');
      expect(await readdir(join(dir, '.staging')).catch(() => [])).toEqual([]);
    });
  });

  it('a failed put publishes nothing and leaves no staging file; cleanStaging removes leftovers of a crash', async () => {
    await withTempDir(async (dir) => {
      const s = await store(dir);
      const verified = Promise.reject(new Error('integrity'));
      verified.catch(() => {});
      await expect(s.put(B, 'k', 'data', { verified })).rejects.toThrow('integrity');
      expect(await s.head(B, 'k')).toBeUndefined();
      await writeFile(join(s.stagingDir, 'abc.partial'), Buffer.alloc(1000));
      await writeFile(join(s.stagingDir, 'sftp.upload'), 'not ours');
      expect(await s.cleanStaging()).toEqual({ files: 1, bytes: 1000 });
    });
  });
});

describe('FsObjectStore: racing writers of one key', () => {
  it('puts racing on one key leave content and metadata of the same put (no record pairs with another writer)', async () => {
    await withTempDir(async (dir) => {
      const s = await store(dir);
      for (let round = 0; round < 25; round++) {
        const writers = Array.from({ length: 4 }, (_, i) => `${round}-${i}`);
        await Promise.all(writers.map((id) => s.put(B, 'k', `content ${id}`, { metadata: { writer: id } })));
        const info = await s.head(B, 'k');
        expect(info!.metadata.writer, `round ${round}`).toBeDefined();
        expect(await readFile(s.pathOf(B, 'k'), 'utf8')).toBe(`content ${info!.metadata.writer}`);
      }
      // Only the record of the file in place is left once the writers are done.
      await s.cleanRecords();
      expect(await readdir(join(dir, '.records', B))).toHaveLength(2);
    });
  });

  it('a copy racing a put of the same key, and tags racing a put, never attach to the other version', async () => {
    await withTempDir(async (dir) => {
      const s = await store(dir);
      await s.put(B, 'src', 'copied', { metadata: { from: 'copy' } });
      for (let round = 0; round < 20; round++) {
        await Promise.all([
          s.copy({ bucket: B, key: 'src' }, { bucket: B, key: 'k' }),
          s.put(B, 'k', 'put', { metadata: { from: 'put' } }),
        ]);
        const info = await s.head(B, 'k');
        expect(await readFile(s.pathOf(B, 'k'), 'utf8')).toBe(info!.metadata.from === 'copy' ? 'copied' : 'put');
      }
      const before = (await s.head(B, 'k'))!.etag!;
      await Promise.all([s.putTags(B, 'k', { t: 'old' }, { ifEtag: before }), s.put(B, 'k', 'new')]);
      const after = await s.head(B, 'k');
      if (after!.etag !== before) expect(await s.getTags(B, 'k')).toEqual({});
    });
  });

  it('cleanRecords drops records of versions replaced behind the store and carries the earlier .meta layout over', async () => {
    await withTempDir(async (dir) => {
      const s = await store(dir);
      await writeFile(s.pathOf(B, 'up'), 'v1');
      await s.putTags(B, 'up', { 'sftpctl-status': 'processed' });
      await rm(s.pathOf(B, 'up'));
      await writeFile(s.pathOf(B, 'up'), 'v2, written by the SFTP server');
      // A record of the earlier layout (root/.meta/<bucket>/<key>.json) for a file still in place.
      await writeFile(s.pathOf(B, 'old'), 'published before the upgrade');
      const file = await stat(s.pathOf(B, 'old'), { bigint: true });
      const legacy = join(dir, '.meta', B, 'old.json');
      await mkdir(join(dir, '.meta', B), { recursive: true });
      const version = { ino: `${file.ino}`, size: `${file.size}`, mtimeNs: `${file.mtimeNs}` };
      await writeFile(legacy, JSON.stringify({ version, etag: 'e-old', metadata: { m: '1' }, tags: { t: 'x' } }));
      expect((await s.head(B, 'old'))!.metadata).toEqual({ m: '1' });
      expect(await s.cleanRecords()).toEqual({ removed: 1, migrated: 1 });
      await expect(stat(join(dir, '.meta'))).rejects.toThrow();
      expect(await s.head(B, 'old')).toMatchObject({ etag: 'e-old', metadata: { m: '1' } });
      expect(await s.getTags(B, 'old')).toEqual({ t: 'x' });
      expect(await s.getTags(B, 'up')).toEqual({});
    });
  });
});

describe('FsObjectStore: new times are not a new object', () => {
  it('a SETSTAT of times after an upload keeps its etag and tags; the same change made behind the store is a new version', async () => {
    await withTempDir(async (dir) => {
      const s = await store(dir);
      const path = s.pathOf(B, 'up.csv.gpg');
      await writeFile(join(dir, B, 'up.csv.gpg'), 'ciphertext');
      const uploaded = await s.head(B, 'up.csv.gpg');
      await s.keepVersionAcross(B, 'up.csv.gpg', () => utimes(path, 1_700_000_000, 1_700_000_000));
      expect((await s.head(B, 'up.csv.gpg'))?.etag).toBe(uploaded?.etag);
      await s.putTags(B, 'up.csv.gpg', { 'sftpctl-status': 'processed' });
      await s.keepVersionAcross(B, 'up.csv.gpg', () => utimes(path, 1_700_000_100, 1_700_000_100));
      expect((await s.head(B, 'up.csv.gpg'))?.etag).toBe(uploaded?.etag);
      expect(await s.getTags(B, 'up.csv.gpg')).toEqual({ 'sftpctl-status': 'processed' });
      await utimes(path, 1_700_000_200, 1_700_000_200);
      expect((await s.head(B, 'up.csv.gpg'))?.etag).not.toBe(uploaded?.etag);
      expect(await s.getTags(B, 'up.csv.gpg')).toEqual({});
    });
  });
});

describe("FsObjectStore: the platform's reads leave a client's times alone", () => {
  it('get and copy read without changing the access time a client set (relatime would bump an atime below mtime)', async () => {
    await withTempDir(async (dir) => {
      const s = await store(dir);
      const path = s.pathOf(B, 'timed.bin');
      await writeFile(path, 'x'.repeat(100_000));
      // As paramiko's utime or `sftp -p` sets them: atime older than mtime, which relatime refreshes on any read.
      await utimes(path, 1_000_000_000, 1_200_000_000);
      const got = await s.get(B, 'timed.bin');
      for await (const _ of got!.body as AsyncIterable<Buffer>);
      await s.copy({ bucket: B, key: 'timed.bin' }, { bucket: B, key: 'copy.bin' });
      const after = await stat(path);
      expect([after.atimeMs, after.mtimeMs]).toEqual([1_000_000_000_000, 1_200_000_000_000]);
    });
  });

  it('a file gone between listing and reading is absent, not an error', async () => {
    await withTempDir(async (dir) => {
      const s = await store(dir);
      await writeFile(s.pathOf(B, 'gone.bin'), 'x');
      const info = await s.head(B, 'gone.bin');
      expect(info).toBeDefined();
      await rm(s.pathOf(B, 'gone.bin'));
      expect(await s.get(B, 'gone.bin')).toBeUndefined();
    });
  });
});
