import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, withTempDir } from '../helpers/cli.js';

const FILES: Record<string, Uint8Array | string> = {
  'empty.txt': '',
  'one byte': 'x',
  'random.bin': randomBytes(2 * 1024 * 1024 + 17),
  'über data.csv': 'a,b\n1,2\n',
};

describe('verify checksum agrees with sha256sum -c and md5sum -c', () => {
  it.each(['sha256', 'md5'])('%s: same verdict per file, including tampered and empty files', async (algorithm) => {
    await withTempDir(async (dir) => {
      for (const [name, content] of Object.entries(FILES)) {
        await writeFile(join(dir, name), content);
        const line = execFileSync(`${algorithm}sum`, [name], { cwd: dir, encoding: 'utf8' });
        await writeFile(join(dir, `${name}.${algorithm}`), line);
      }
      await appendFile(join(dir, 'random.bin'), 'tampered');
      for (const name of Object.keys(FILES)) {
        const theirs = spawnSync(`${algorithm}sum`, ['-c', `${name}.${algorithm}`], { cwd: dir }).status;
        const ours = await runCli(['verify', 'checksum', name], { cwd: dir });
        expect({ name, ours: ours.code }).toEqual({ name, ours: theirs === 0 ? 0 : 1 });
      }
      const all = await runCli(['verify', 'checksum', ...Object.keys(FILES), '--json'], { cwd: dir });
      expect(all.code).toBe(1);
      const verdicts = JSON.parse(all.stdout);
      expect(verdicts.map((verdict: { ok: boolean }) => verdict.ok)).toEqual([true, true, false, true]);
      expect(verdicts[2]).toMatchObject({
        algorithm,
        expected: expect.stringMatching(/^[0-9a-f]+$/),
        actual: expect.stringMatching(/^[0-9a-f]+$/),
      });
      expect(verdicts[2].expected).not.toBe(verdicts[2].actual);
    });
  });

  it('shows both digests on a mismatch', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'a.txt'), 'hello\n');
      await writeFile(join(dir, 'a.txt.sha256'), `${'0'.repeat(64)}  a.txt\n`);
      const result = await runCli(['verify', 'checksum', 'a.txt'], { cwd: dir });
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(
        /expected 0{64}\n\s+actual\s+5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03/,
      );
    });
  });

  it('reads BSD-tagged and bare-hex sidecars, and --sidecar with a multi-file list', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'a.txt'), 'hello\n');
      await writeFile(join(dir, 'b.txt'), 'world\n');
      await writeFile(join(dir, 'a.txt.sha256'), execFileSync('sha256sum', ['--tag', 'a.txt'], { cwd: dir }));
      await writeFile(
        join(dir, 'b.txt.md5'),
        execFileSync('md5sum', ['b.txt'], { cwd: dir, encoding: 'utf8' }).split(' ')[0] ?? '',
      );
      await writeFile(join(dir, 'SUMS'), execFileSync('sha512sum', ['a.txt', 'b.txt'], { cwd: dir }));
      expect((await runCli(['verify', 'checksum', 'a.txt', 'b.txt'], { cwd: dir })).code).toBe(0);
      expect((await runCli(['verify', 'checksum', 'b.txt', '--sidecar', 'SUMS'], { cwd: dir })).code).toBe(0);
    });
  });

  it.each([
    ['no sidecar', ['a.txt'], {}, /CHECKSUM_SIDECAR_MISSING/, 1],
    [
      'a sidecar for another file name',
      ['a.txt'],
      { 'a.txt.sha256': `${'1'.repeat(64)}  other.txt\n` },
      /CHECKSUM_SIDECAR_NAME_MISMATCH/,
      1,
    ],
    ['an unknown algorithm', ['a.txt', '--algorithm', 'sha3'], {}, /CHECKSUM_UNKNOWN_ALGORITHM/, 2],
    ['a missing file', ['nope.txt'], {}, /FILE_NOT_FOUND/, 1],
    ['--sidecar with several files', ['a.txt', 'b.txt', '--sidecar', 'x'], {}, /one file/, 2],
  ] as const)('%s is a clear error', async (_name, args, files, message, code) => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'a.txt'), 'hello\n');
      for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
      const result = await runCli(['verify', 'checksum', ...args], { cwd: dir });
      expect(result.code).toBe(code);
      expect(result.stdout + result.stderr).toMatch(message);
    });
  });
});
