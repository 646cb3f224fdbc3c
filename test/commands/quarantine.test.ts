import { describe, expect, it } from 'vitest';
import { QUARANTINE_PREFIX } from '../../src/core/pipeline/types.js';
import { runCli, withTempDir } from '../helpers/cli.js';
import { startWorld } from '../local/platform-harness.js';

describe('sftpctl quarantine list|show|release (local platform)', () => {
  it('lists why uploads were refused, shows one, and releases it for another try', async () => {
    await withTempDir(async (dir) => {
      const world = await startWorld(dir);
      expect(await world.put({ 'plain.csv': 'not encrypted\n' })).toBe(0);
      await world.until(() => world.events.of('quarantined').length === 1, 'quarantined');
      await world.platform.stop(1000);
      const data = ['--data', world.dataDir];

      const list = await runCli(['quarantine', 'list', 'bank', ...data, '--json'], { cwd: dir });
      expect(list.code).toBe(0);
      const records = JSON.parse(list.stdout);
      expect(records).toMatchObject([
        {
          key: 'plain.csv',
          current: true,
          record: `${QUARANTINE_PREFIX}plain.csv.json`,
          reason: { code: 'NOT_ENCRYPTED' },
        },
      ]);

      const show = await runCli(['quarantine', 'show', 'bank', 'plain.csv', ...data], { cwd: dir });
      expect(show.code).toBe(0);
      expect(show.stdout).toContain('NOT_ENCRYPTED');

      const missing = await runCli(['quarantine', 'show', 'bank', 'nope.csv', ...data], { cwd: dir });
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('QUARANTINE_NOT_FOUND');
      expect(missing.stderr).not.toMatch(/at .*\.js:\d+/);

      const release = await runCli(['quarantine', 'release', 'bank', 'plain.csv', ...data], { cwd: dir });
      expect(release.code).toBe(0);
      expect(release.stdout).toContain('Released plain.csv');
      const again = await runCli(['quarantine', 'release', 'bank', 'plain.csv', ...data], { cwd: dir });
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('not quarantined');
    });
  }, 60_000);

  it('redrive sends dead letters back: an empty export refused, then allowed, is delivered', async () => {
    await withTempDir(async (dir) => {
      const first = await startWorld(dir, '    exportQuietSeconds: 0.2\n');
      const { writeFile, readdir } = await import('node:fs/promises');
      const { join } = await import('node:path');
      await writeFile(join(first.platform.bucketsDir, 'acme-dev-bank-export', 'empty.csv'), '');
      await first.until(() => first.events.of('dead-letter').length === 1, 'dead letter');
      await first.platform.stop(1000);
      const redrive = await runCli(['quarantine', 'redrive', 'bank', '--data', first.dataDir, '--json'], { cwd: dir });
      expect(redrive.code).toBe(0);
      expect(JSON.parse(redrive.stdout)).toEqual([{ key: 'empty.csv', kind: 'egress', redriven: true }]);
      expect(await readdir(join(first.dataDir, 'dead-letter', 'bank'))).toEqual([]);
      const second = await startWorld(dir, '    exportQuietSeconds: 0.2\n    allowEmpty: true\n');
      try {
        await second.until(() => second.events.of('egress-done', { key: 'empty.csv' }).length === 1, 'delivered');
        expect(await second.decryptDownload('empty.csv.gpg')).toBe('');
      } finally {
        await second.platform.stop(1000);
      }
    });
  }, 60_000);
});
