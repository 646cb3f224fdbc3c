import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { QUARANTINE_PREFIX } from '../../src/core/pipeline/types.js';
import { withTempDir } from '../helpers/cli.js';
import { startWorld } from './platform-harness.js';

/** A 12 MiB tmpfs, when this machine lets us mount one (root in a container usually can). */
function smallTmpfs(): string | undefined {
  const dir = join(tmpdir(), `sftpctl-enospc-${process.pid}`);
  try {
    mkdirSync(dir, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=12m', 'tmpfs', dir], { stdio: 'ignore' });
    return dir;
  } catch {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('local up: fault classes shared with the AWS path', () => {
  const tmpfs = smallTmpfs();
  it.skipIf(!tmpfs)(
    'a full disk pauses processing (no quarantine, no dead letter, no crash) and resumes when space frees',
    async () => {
      await withTempDir(async (dir) => {
        const dataDir = join(tmpfs!, 'data');
        const world = await startWorld(dir, '', { dataDir });
        try {
          const content = randomBytes(3 << 20).toString('base64'); // ~4 MiB, incompressible enough
          const encrypted = await world.encrypt(content);
          // Leave room for the upload but not for its decrypted copy.
          const free = Number(execFileSync('df', ['-B1', '--output=avail', tmpfs!]).toString().split('\n')[1]);
          const ballast = join(tmpfs!, 'ballast');
          await writeFile(ballast, Buffer.alloc(Math.max(0, free - encrypted.length - (1 << 20))));
          expect(await world.put({ 'big.csv.gpg': encrypted })).toBe(0);
          await world.until(() => world.events.of('paused').length > 0, 'paused on ENOSPC');
          expect(world.events.of('quarantined')).toEqual([]);
          expect(world.events.of('dead-letter')).toEqual([]);
          await rm(ballast);
          await world.until(() => world.events.of('processed', { key: 'big.csv.gpg' }).length === 1, 'processed');
          expect(world.events.of('resumed').length).toBe(1);
          const buckets = await world.buckets();
          expect(buckets.raw).toEqual({ 'big.csv': content });
          expect(await world.platform.store.getTags('acme-dev-bank-upload', 'big.csv.gpg')).toEqual({
            'sftpctl-status': 'processed',
          });
        } finally {
          await world.platform.stop(1000);
        }
      });
    },
    120_000,
  );

  it('permanent faults are quarantined once, at once (no retries), under the quarantine prefix; a fixed re-upload clears the record', async () => {
    await withTempDir(async (dir) => {
      const world = await startWorld(dir);
      try {
        const good = await world.encrypt('payload\n');
        const tampered = Buffer.from(good);
        tampered[tampered.length - 30]! ^= 0xff;
        expect(await world.put({ 'p.csv.gpg': tampered, 'plain.csv': 'not encrypted\n' })).toBe(0);
        await world.until(() => world.events.of('quarantined').length === 2, 'both quarantined');
        await world.platform.sweep();
        await world.platform.idle();
        expect(world.events.of('retry')).toEqual([]);
        expect(world.events.of('quarantined')).toHaveLength(2);
        let buckets = await world.buckets();
        expect(Object.keys(buckets.raw!).sort()).toEqual([
          `${QUARANTINE_PREFIX}p.csv.gpg.json`,
          `${QUARANTINE_PREFIX}plain.csv.json`,
        ]);
        expect(JSON.parse(buckets.raw![`${QUARANTINE_PREFIX}plain.csv.json`]!).reason.code).toBe('NOT_ENCRYPTED');
        expect(await readdir(join(world.dataDir, 'dead-letter')).catch(() => [])).toEqual([]);
        expect(await world.put({ 'p.csv.gpg': good })).toBe(0);
        await world.until(() => world.events.of('processed', { key: 'p.csv.gpg' }).length === 1, 'fixed version');
        buckets = await world.buckets();
        expect(Object.keys(buckets.raw!).sort()).toEqual([`${QUARANTINE_PREFIX}plain.csv.json`, 'p.csv']);
      } finally {
        await world.platform.stop(1000);
      }
    });
  }, 120_000);

  it('a sidecar of the transferred file (x.csv.gpg.sha256) is verified against the ciphertext; checksumPolicy required holds the file until it verifies', async () => {
    await withTempDir(async (dir) => {
      const world = await startWorld(dir, '    checksumPolicy: required\n    checksumDeadlineMinutes: 1\n');
      try {
        const encrypted = await world.encrypt('held until verified\n');
        expect(await world.put({ 'h.csv.gpg': encrypted })).toBe(0);
        await world.until(() => world.events.of('waiting-for-checksum').length === 1, 'held');
        expect((await world.buckets()).raw).toEqual({});
        expect(await world.put({ 'h.csv.gpg.sha256': `${sha256(encrypted)}  h.csv.gpg\n` })).toBe(0);
        await world.until(() => world.events.of('processed', { key: 'h.csv.gpg' }).length === 1, 'released');
        await world.platform.idle();
        expect((await world.buckets()).raw).toEqual({ 'h.csv': 'held until verified\n' });
        // A sidecar of the ciphertext that does not match: nothing published, quarantined.
        const other = await world.encrypt('other\n');
        expect(await world.put({ 'm.csv.gpg.sha256': `${'0'.repeat(64)}  m.csv.gpg\n`, 'm.csv.gpg': other })).toBe(0);
        await world.until(() => world.events.of('quarantined', { key: 'm.csv.gpg' }).length === 1, 'mismatch');
        expect(world.events.of('quarantined', { key: 'm.csv.gpg' })[0]).toMatchObject({ reason: 'CHECKSUM_MISMATCH' });
        // A sidecar that matches no upload is reported, not ignored.
        expect(await world.put({ 'ghost.csv.sha256': `${'1'.repeat(64)}  ghost.csv\n` })).toBe(0);
        await world.until(() => world.events.of('sidecar-unmatched', { key: 'ghost.csv.sha256' }).length > 0, 'report');
        const buckets = await world.buckets();
        expect(Object.keys(buckets.raw!).sort()).toEqual([`${QUARANTINE_PREFIX}m.csv.gpg.json`, 'h.csv']);
      } finally {
        await world.platform.stop(1000);
      }
    });
  }, 120_000);

  if (tmpfs)
    it('(cleanup)', () => {
      execFileSync('umount', [tmpfs], { stdio: 'ignore' });
      rmSync(tmpfs, { recursive: true, force: true });
    });
});
