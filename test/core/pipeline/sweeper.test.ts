import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sweepUploads } from '../../../src/core/pipeline/sweeper.js';
import { QUARANTINE_PREFIX } from '../../../src/core/pipeline/types.js';
import { withTempDir } from '../../helpers/cli.js';
import { fsDeps, memoryKeys, SETTINGS } from '../../helpers/pipeline.js';

describe('sweeper core', () => {
  it('requeues old untagged uploads, leaves tagged/temporary/young ones, quarantines what waited past the deadline', async () => {
    await withTempDir(async (root) => {
      const deps = fsDeps(root, memoryKeys([]));
      const upload = join(root, SETTINGS.buckets.upload);
      await mkdir(upload, { recursive: true });
      for (const name of ['lost.csv.gpg', 'done.csv.gpg', 'held.csv.gpg', 'x.csv.sha256', 'y.filepart'])
        await writeFile(join(upload, name), 'data');
      await deps.store.putTags(SETTINGS.buckets.upload, 'done.csv.gpg', { 'sftpctl-status': 'processed' });
      await deps.store.putTags(SETTINGS.buckets.upload, 'held.csv.gpg', { 'sftpctl-status': 'waiting-for-checksum' });
      await deps.store.putTags(SETTINGS.buckets.upload, 'x.csv.sha256', { 'sftpctl-status': 'waiting-for-file' });
      const settings = { ...SETTINGS, checksumDeadlineMs: 60_000 };

      expect(await sweepUploads(deps, settings, { olderThanMs: 10 * 60_000 })).toMatchObject({
        requeue: [],
        expired: [],
      });
      const later = { ...deps, clock: { now: () => new Date(Date.now() + 5 * 60_000) } };
      expect(await sweepUploads(later, settings, { olderThanMs: 60_000 })).toEqual({
        requeue: ['lost.csv.gpg'],
        expired: ['held.csv.gpg', 'x.csv.sha256'],
        scanned: 4,
      });
      const tags = await deps.store.getTags(SETTINGS.buckets.upload, 'held.csv.gpg');
      expect(tags).toEqual({ 'sftpctl-status': 'quarantined', 'sftpctl-reason': 'CHECKSUM_SIDECAR_MISSING' });
      const records: string[] = [];
      for await (const info of deps.store.list(SETTINGS.buckets.raw, QUARANTINE_PREFIX)) records.push(info.key);
      expect(records.sort()).toEqual([
        `${QUARANTINE_PREFIX}held.csv.gpg.json`,
        `${QUARANTINE_PREFIX}x.csv.sha256.json`,
      ]);
      // Quarantined once: a second sweep finds nothing more to do.
      expect(await sweepUploads(later, settings, { olderThanMs: 60_000 })).toMatchObject({ expired: [] });
    });
  });
});
