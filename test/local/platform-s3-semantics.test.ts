import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withTempDir } from '../helpers/cli.js';
import { BUCKET, startWorld } from './platform-harness.js';

const processed = (world: Awaited<ReturnType<typeof startWorld>>, key: string) =>
  world.events.of('processed', { key }).length;
const noFailures = (world: Awaited<ReturnType<typeof startWorld>>) =>
  world.events.events.filter((event) => /quarantined|dead-letter|upload-failed|queue-error/.test(event.event));

describe('local up keeps S3 promises: every new version processed exactly once (real sftp client)', () => {
  it('re-upload after processing, delete + re-upload: each version is processed, raw holds the latest', async () => {
    await withTempDir(async (dir) => {
      const world = await startWorld(dir);
      try {
        expect(await world.put({ 'a.csv.gpg': await world.encrypt('version 1\n') })).toBe(0);
        await world.until(() => processed(world, 'a.csv.gpg') === 1, 'v1 processed');
        expect(await world.put({ 'a.csv.gpg': await world.encrypt('version 2, corrected\n') })).toBe(0);
        await world.until(() => processed(world, 'a.csv.gpg') === 2, 'v2 processed');
        expect((await world.buckets()).raw).toEqual({ 'a.csv': 'version 2, corrected\n' });
        expect((await world.sftp(['rm a.csv.gpg'])).code).toBe(0);
        expect(await world.put({ 'a.csv.gpg': await world.encrypt('version 3 after delete\n') })).toBe(0);
        await world.until(() => processed(world, 'a.csv.gpg') === 3, 'v3 processed');
        await world.platform.sweep();
        await world.platform.idle();
        const buckets = await world.buckets();
        expect(buckets.raw).toEqual({ 'a.csv': 'version 3 after delete\n' });
        expect(Object.keys(buckets.upload!)).toEqual(['a.csv.gpg']);
        expect(processed(world, 'a.csv.gpg')).toBe(3);
        expect(noFailures(world)).toEqual([]);
      } finally {
        await world.platform.stop(1000);
      }
    });
  }, 120_000);

  it('temp name + rename (WinSCP .filepart) and a rename over a processed file: one event each, temp names never processed', async () => {
    await withTempDir(async (dir) => {
      const world = await startWorld(dir);
      try {
        await writeFile(join(dir, 'b.csv.gpg.filepart'), await world.encrypt('b final\n'));
        expect((await world.sftp(['put b.csv.gpg.filepart', 'rename b.csv.gpg.filepart b.csv.gpg'])).code).toBe(0);
        await world.until(() => processed(world, 'b.csv.gpg') === 1, 'renamed upload processed');

        await writeFile(join(dir, 'c.csv.gpg'), await world.encrypt('c old\n'));
        expect((await world.sftp(['put c.csv.gpg'])).code).toBe(0);
        await world.until(() => processed(world, 'c.csv.gpg') === 1, 'c processed');
        await writeFile(join(dir, 'c.tmp'), await world.encrypt('c new, renamed over the processed one\n'));
        // OpenSSH's sftp uses posix-rename@openssh.com, which replaces like rename(2).
        expect((await world.sftp(['put c.tmp', 'rename c.tmp c.csv.gpg'])).code).toBe(0);
        await world.until(() => processed(world, 'c.csv.gpg') === 2, 'rename over a processed file processed');
        await world.platform.sweep();
        await world.platform.idle();

        const buckets = await world.buckets();
        expect(buckets.raw).toEqual({ 'b.csv': 'b final\n', 'c.csv': 'c new, renamed over the processed one\n' });
        expect(Object.keys(buckets.upload!).sort()).toEqual(['b.csv.gpg', 'c.csv.gpg']);
        expect(world.events.of('processed').map((event) => event.key)).toEqual(['b.csv.gpg', 'c.csv.gpg', 'c.csv.gpg']);
        expect(noFailures(world)).toEqual([]);
      } finally {
        await world.platform.stop(1000);
      }
    });
  }, 120_000);

  it('a slow writer in the export folder: nothing half-written is delivered; the settled file is', async () => {
    await withTempDir(async (dir) => {
      const world = await startWorld(dir, '    exportQuietSeconds: 0.5\n');
      let writer: ChildProcess | undefined;
      try {
        const target = join(world.platform.bucketsDir, BUCKET.export, 'slow.csv');
        // A writer that keeps the file open and appends a line every 150 ms, 12 times, then closes it.
        const script = `const fs=require('fs');const fd=fs.openSync(process.argv[1],'w');let n=0;const t=setInterval(()=>{fs.writeSync(fd,'line '+(n++)+'\\n');if(n===12){clearInterval(t);fs.closeSync(fd);}},150);`;
        writer = spawn(process.execPath, ['-e', script, target], { stdio: 'ignore' });
        await new Promise((resolve) => writer!.once('exit', resolve));
        const full = Array.from({ length: 12 }, (_, n) => `line ${n}\n`).join('');
        expect(await readFile(target, 'utf8')).toBe(full);
        await world.until(() => world.events.of('egress-done', { key: 'slow.csv' }).length > 0, 'egress');
        await world.platform.idle();
        // Every delivery was of the whole file.
        for (const event of world.events.of('egress-done', { key: 'slow.csv' })) expect(event.bytes).toBe(full.length);
        expect(await world.decryptDownload('slow.csv.gpg')).toBe(full);
        const buckets = await world.buckets();
        expect(Object.keys(buckets.download!).sort()).toEqual(['slow.csv.gpg', 'slow.csv.sha256']);
        expect(buckets.download!['slow.csv.sha256']).toMatch(/^[0-9a-f]{64} {2}slow\.csv\n$/);
      } finally {
        writer?.kill();
        await world.platform.stop(1000);
      }
    });
  }, 60_000);

  it('an empty export follows allowEmpty: refused (tagged, nothing delivered) by default', async () => {
    await withTempDir(async (dir) => {
      const world = await startWorld(dir, '    exportQuietSeconds: 0.2\n');
      try {
        await writeFile(join(world.platform.bucketsDir, BUCKET.export, 'empty.csv'), '');
        await world.until(() => world.events.of('dead-letter', { key: 'empty.csv' }).length === 1, 'refused');
        expect((await world.buckets()).download).toEqual({});
        expect(await world.platform.store.getTags(BUCKET.export, 'empty.csv')).toMatchObject({
          'sftpctl-status': 'refused',
          'sftpctl-reason': 'EMPTY_FILE',
        });
      } finally {
        await world.platform.stop(1000);
      }
    });
  }, 60_000);

  it('a second instance on the same data folder refuses before touching anything, naming the PID', async () => {
    await withTempDir(async (dir) => {
      const world = await startWorld(dir);
      try {
        const staged = join(world.platform.bucketsDir, '.staging', 'in-flight.upload');
        await writeFile(staged, 'an upload in progress');
        await expect(startWorld(dir, '', { port: 0 })).rejects.toMatchObject({
          code: 'LOCAL_DATA_LOCKED',
          message: expect.stringContaining(`PID ${process.pid}`),
        });
        expect(await readFile(staged, 'utf8')).toBe('an upload in progress');
        expect(await world.put({ 'd.csv.gpg': await world.encrypt('still served\n') })).toBe(0);
        await world.until(() => processed(world, 'd.csv.gpg') === 1, 'first instance still works');
      } finally {
        await world.platform.stop(1000);
      }
    });
  }, 60_000);

  it('crash leftovers: staging files of a killed run are cleaned at start; unprocessed uploads are processed', async () => {
    await withTempDir(async (dir) => {
      const first = await startWorld(dir);
      const encrypted = await first.encrypt('left behind\n');
      await first.platform.stop(1000);
      const staging = join(dir, 'data', 'buckets', '.staging');
      await mkdir(staging, { recursive: true });
      await writeFile(join(staging, 'deadbeef.partial'), Buffer.alloc(1 << 20));
      await writeFile(join(staging, 'cafe.upload'), Buffer.alloc(1 << 10));
      await writeFile(join(dir, 'data', 'buckets', BUCKET.upload, 'e.csv.gpg'), encrypted);
      const world = await startWorld(dir);
      try {
        await world.until(() => processed(world, 'e.csv.gpg') === 1, 'recovered upload processed');
        expect(world.events.of('staging-cleaned').length).toBeGreaterThanOrEqual(1);
        expect(world.events.of('staging-cleaned')[0]).toMatchObject({ files: 1, bytes: 1 << 20 });
        const { readdir } = await import('node:fs/promises');
        expect(await readdir(staging)).toEqual([]);
        expect((await world.buckets()).raw).toEqual({ 'e.csv': 'left behind\n' });
      } finally {
        await world.platform.stop(1000);
      }
    });
  }, 60_000);

  it('a damaged or mismatched host key is a clear error with nothing listening and the lock released', async () => {
    await withTempDir(async (dir) => {
      const first = await startWorld(dir);
      const port = first.platform.port;
      await first.platform.stop(1000);
      const keyPath = join(dir, 'data', 'host_ed25519');
      const original = await readFile(keyPath, 'utf8');
      const lines = original.split('\n');
      // Change a few bytes inside the base64 body (the private seed).
      const line = lines[3]!;
      lines[3] = line.slice(0, 10) + (line[10] === 'A' ? 'B' : 'A') + line.slice(11);
      await writeFile(keyPath, lines.join('\n'));
      await expect(startWorld(dir, '', { port })).rejects.toMatchObject({ code: 'LOCAL_HOST_KEY_INVALID' });
      const { connect } = await import('node:net');
      const refused = await new Promise<boolean>((resolve) => {
        const socket = connect(port, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          resolve(false);
        });
        socket.once('error', () => resolve(true));
      });
      expect(refused).toBe(true);
      // The other half replaced: mismatch.
      await writeFile(keyPath, original);
      await writeFile(
        `${keyPath}.pub`,
        'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl other\n',
      );
      await expect(startWorld(dir)).rejects.toMatchObject({
        code: 'LOCAL_HOST_KEY_INVALID',
        message: expect.stringContaining('is not the public half'),
      });
      // Lock released each time: with the public half removed it is written again and the platform starts.
      const { rm } = await import('node:fs/promises');
      await rm(`${keyPath}.pub`);
      const world = await startWorld(dir);
      await world.platform.stop(1000);
    });
  }, 60_000);

  it('stop has a bounded grace: a job still running is stopped, publishes nothing half-done, and is redone at the next start', async () => {
    await withTempDir(async (dir) => {
      const first = await startWorld(dir);
      const content = `${'0123456789abcdef'.repeat(4096)}\n`.repeat(600); // ~39 MB of plaintext
      await writeFile(join(dir, 'huge.csv.gpg'), await first.encrypt(content));
      expect((await first.sftp(['put huge.csv.gpg'])).code).toBe(0);
      await first.events.waitFor('upload-completed', { key: 'huge.csv.gpg' });
      await first.platform.stop(0);
      const stopped = first.events.of('stopped')[0]!;
      expect(stopped).toMatchObject({ stillRunning: 0 });
      const raw = (await first.buckets()).raw!;
      // Either it finished before the stop, or nothing of it was published.
      if (first.events.of('processed', { key: 'huge.csv.gpg' }).length === 0) expect(raw).toEqual({});
      expect(first.events.of('quarantined')).toEqual([]);

      const second = await startWorld(dir);
      try {
        if (first.events.of('processed', { key: 'huge.csv.gpg' }).length === 0)
          await second.until(() => processed(second, 'huge.csv.gpg') === 1, 'redone at the next start', 60_000);
        await second.platform.idle();
        const buckets = await second.buckets();
        expect(buckets.raw!['huge.csv']?.length).toBe(content.length);
        expect(buckets.raw!['huge.csv'] === content).toBe(true);
        expect(second.events.of('quarantined')).toEqual([]);
      } finally {
        await second.platform.stop(1000);
      }
    });
  }, 120_000);
});
