/**
 * Interop with GNU coreutils: our digests equal `sha256sum` & co., our sidecars pass `sha256sum -c`, and what
 * the real tools write parses. Skipped where the binaries are missing (macOS without coreutils).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm, sidecarNameFor } from '../../../src/core/checksum/algorithms.js';
import { HASH_READ_CHUNK_BYTES, hashStream } from '../../../src/core/checksum/hash-stream.js';
import { formatSidecar, parseSidecar } from '../../../src/core/checksum/sidecar.js';

const TOOL: Record<ChecksumAlgorithm, string> = {
  md5: 'md5sum',
  sha1: 'sha1sum',
  sha256: 'sha256sum',
  sha512: 'sha512sum',
};
const haveCoreutils = CHECKSUM_ALGORITHMS.every(
  (a) => spawnSync(TOOL[a], ['--version'], { encoding: 'utf8' }).stdout?.includes('coreutils') === true,
);

const FILES: Record<string, Buffer> = {
  'empty.bin': Buffer.alloc(0),
  'one.bin': Buffer.from([0x5a]),
  'random-1MiB.bin': randomBytes(1024 * 1024 + 7),
  'name with  spaces.csv': Buffer.from('a,b\n1,2\n'),
  'ünïcödé 文件 😀.txt': Buffer.from('unicode\n'),
  'back\\slash.dat': Buffer.from('backslash\n'),
  'new\nline.dat': Buffer.from('newline\n'),
  'carriage\rreturn.dat': Buffer.from('cr\n'),
  ' leading space': Buffer.from('lead\n'),
  '*star': Buffer.from('star\n'),
};
const NAMES = Object.keys(FILES);

describe.skipIf(!haveCoreutils)('coreutils interop', () => {
  let dir: string;
  const run = (tool: string, args: string[]) => execFileSync(tool, args, { cwd: dir, encoding: 'utf8' });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sftpctl-checksum-'));
    for (const name of NAMES) await writeFile(join(dir, name), FILES[name]!);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function ours(name: string): Promise<Record<ChecksumAlgorithm, string>> {
    const r = await hashStream(createReadStream(join(dir, name), { highWaterMark: HASH_READ_CHUNK_BYTES }), [
      ...CHECKSUM_ALGORITHMS,
    ]);
    expect(r.bytes).toBe(FILES[name]!.length);
    return r.digests;
  }

  it.each(NAMES)('hashes %j exactly like md5sum/sha1sum/sha256sum/sha512sum', async (name) => {
    const digests = await ours(name);
    for (const a of CHECKSUM_ALGORITHMS) {
      const theirs = parseSidecar(run(TOOL[a], ['--', name]), { expectedFileName: name, algorithm: a });
      expect(theirs.fileName).toBe(name);
      expect(digests[a]).toBe(theirs.hex);
    }
  });

  it.each(NAMES)('writes the very bytes sha256sum writes for %j', async (name) => {
    const digests = await ours(name);
    for (const a of CHECKSUM_ALGORITHMS) expect(formatSidecar(digests[a], name)).toBe(run(TOOL[a], ['--', name]));
  });

  it.each(NAMES)('writes a sidecar for %j that `sha256sum -c` and `md5sum -c` accept', async (name) => {
    const digests = await ours(name);
    for (const a of ['sha256', 'md5', 'sha1', 'sha512'] as const) {
      const sidecar = sidecarNameFor(name, a);
      await writeFile(join(dir, sidecar), formatSidecar(digests[a], `some/where/${name}`));
      const check = spawnSync(TOOL[a], ['-c', '--strict', '--', sidecar], { cwd: dir, encoding: 'utf8' });
      expect(check.stderr).toBe('');
      expect(check.status).toBe(0);
      expect(check.stdout).toMatch(/: OK\n$/);
      await rm(join(dir, sidecar));
    }
  });

  it('sha256sum -c fails on a sidecar of ours when the file differs (the check is real)', async () => {
    await writeFile(join(dir, 'changed.bin'), 'after');
    await writeFile(join(dir, 'changed.bin.sha256'), formatSidecar((await ours('one.bin')).sha256, 'changed.bin'));
    const check = spawnSync('sha256sum', ['-c', 'changed.bin.sha256'], { cwd: dir, encoding: 'utf8' });
    expect(check.status).toBe(1);
  });

  it.each(NAMES)('reads `sha256sum --tag` (BSD) output for %j', async (name) => {
    const digests = await ours(name);
    const entry = parseSidecar(run('sha256sum', ['--tag', '--', name]), { expectedFileName: name });
    expect(entry).toMatchObject({ format: 'bsd', algorithm: 'sha256', fileName: name, hex: digests.sha256 });
    const md5 = parseSidecar(run('md5sum', ['--tag', '--', name]), { expectedFileName: name });
    expect(md5).toMatchObject({ format: 'bsd', tag: 'MD5', hex: digests.md5 });
  });

  it.each(NAMES)('reads `md5sum -b` (binary mode) output for %j', async (name) => {
    const digests = await ours(name);
    const entry = parseSidecar(run('md5sum', ['-b', '--', name]), { expectedFileName: name, sidecarName: 'x.md5' });
    expect(entry).toMatchObject({ binary: true, algorithm: 'md5', fileName: name, hex: digests.md5 });
  });

  it('reads `cksum -a sha512` output', async () => {
    const help = spawnSync('cksum', ['--help'], { encoding: 'utf8' }).stdout ?? '';
    if (!help.includes('--algorithm')) return; // coreutils < 9 has no -a
    const entry = parseSidecar(run('cksum', ['-a', 'sha512', '--', 'one.bin']), { expectedFileName: 'one.bin' });
    expect(entry.hex).toBe((await ours('one.bin')).sha512);
  });

  it('picks each file from a multi-file `sha256sum *` manifest, CRLF-converted too', async () => {
    const manifest = run('sha256sum', ['--', ...NAMES]);
    expect(manifest.split('\n').length).toBeGreaterThan(NAMES.length); // one line each (+ trailing)
    for (const text of [manifest, manifest.replaceAll('\n', '\r\n')]) {
      for (const name of NAMES) {
        const entry = parseSidecar(text, { expectedFileName: `/tmp/elsewhere/${name}`, sidecarName: 'SHA256SUMS' });
        expect(entry.hex).toBe((await ours(name)).sha256);
      }
    }
  });

  it('reads `sha256sum < file` (name `-`) and bare hex for any file', async () => {
    const fromStdin = execFileSync('sha256sum', { input: FILES['random-1MiB.bin'], encoding: 'utf8' });
    expect(fromStdin.endsWith('  -\n')).toBe(true);
    const expected = (await ours('random-1MiB.bin')).sha256;
    expect(parseSidecar(fromStdin, { expectedFileName: 'random-1MiB.bin' }).hex).toBe(expected);
    expect(
      parseSidecar(`${fromStdin.slice(0, 64).toUpperCase()}\r\n`, { expectedFileName: 'random-1MiB.bin' }).hex,
    ).toBe(expected);
  });

  it('names both files when a real sidecar belongs to another file', async () => {
    const other = run('sha256sum', ['--', 'one.bin']);
    expect(() => parseSidecar(other, { expectedFileName: 'empty.bin', sidecarName: 'empty.bin.sha256' })).toThrow(
      /"one\.bin", not for "empty\.bin"/,
    );
  });
});
