import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { redriveDeadLetters } from '../../src/local/dead-letter.js';
import { FsObjectStore } from '../../src/local/fs-object-store.js';
import { withTempDir } from '../helpers/cli.js';
import { SETTINGS } from '../helpers/pipeline.js';

const { upload, export: exports } = SETTINGS.buckets;

async function letter(dataDir: string, kind: 'ingest' | 'egress', key: string, at: number): Promise<void> {
  const dir = join(dataDir, 'dead-letter', SETTINGS.client);
  await mkdir(dir, { recursive: true });
  const record = { client: SETTINGS.client, kind, key, attempts: 5, code: 'S3_WRITE_FAILED', message: 'failed' };
  await writeFile(join(dir, `${at}-${kind}-${encodeURIComponent(key)}.json`), JSON.stringify(record));
}

describe('local dead letters: redrive sends back what has not gone through since', () => {
  it('a version processed or delivered since is left alone; the others are sent back; every letter is used up', async () => {
    await withTempDir(async (root) => {
      const store = new FsObjectStore(join(root, 'buckets'));
      const dataDir = join(root, 'data');
      // An export that failed, then was written again and delivered: its current version is tagged encrypted.
      await store.put(exports, 'delivered.csv', 'v2');
      await store.putTags(exports, 'delivered.csv', { 'sftpctl-status': 'encrypted' });
      await store.put(exports, 'stuck.csv', 'v1');
      await store.put(upload, 'done.csv', 'v2');
      await store.putTags(upload, 'done.csv', { 'sftpctl-status': 'processed' });
      await store.put(upload, 'failed.csv', 'v1');
      await store.putTags(upload, 'failed.csv', { 'sftpctl-status': 'quarantined', 'sftpctl-reason': 'X' });
      await letter(dataDir, 'egress', 'delivered.csv', 1);
      await letter(dataDir, 'egress', 'stuck.csv', 2);
      await letter(dataDir, 'ingest', 'done.csv', 3);
      await letter(dataDir, 'ingest', 'failed.csv', 4);
      await letter(dataDir, 'ingest', 'gone.csv', 5);
      const before = (await store.head(exports, 'stuck.csv'))?.etag;
      expect(await redriveDeadLetters(store, SETTINGS, dataDir)).toEqual([
        {
          key: 'delivered.csv',
          kind: 'egress',
          redriven: false,
          reason: 'its current version was encrypted since',
        },
        { key: 'stuck.csv', kind: 'egress', redriven: true },
        { key: 'done.csv', kind: 'ingest', redriven: false, reason: 'its current version was processed since' },
        { key: 'failed.csv', kind: 'ingest', redriven: true },
        { key: 'gone.csv', kind: 'ingest', redriven: false, reason: 'no longer there' },
      ]);
      // Untouched: a delivered export is not marked new, a processed upload keeps its status.
      expect(await store.getTags(exports, 'delivered.csv')).toEqual({ 'sftpctl-status': 'encrypted' });
      expect(await store.getTags(upload, 'done.csv')).toEqual({ 'sftpctl-status': 'processed' });
      expect(await store.getTags(upload, 'failed.csv')).toEqual({});
      expect((await store.head(exports, 'stuck.csv'))?.etag).not.toBe(before);
      expect(await readdir(join(dataDir, 'dead-letter', SETTINGS.client))).toEqual([]);
    });
  });
});
