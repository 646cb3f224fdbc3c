import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePgpKeyPair } from '../../src/core/crypto/pgp-keygen.js';
import { runCli, withTempDir } from '../helpers/cli.js';

const gnupg = mkdtempSync(join(tmpdir(), 'sftpctl-gpg-'));
const keys: Record<string, string> = {};
let fingerprint = '';
const plain = randomBytes(3 * 1024 * 1024 + 5);

beforeAll(async () => {
  const pair = await generatePgpKeyPair({ name: 'Ingress', email: 'in@example.com', type: 'curve25519' });
  const locked = await generatePgpKeyPair({ name: 'Locked', type: 'rsa', passphrase: 'correct horse battery' });
  const expired = await generatePgpKeyPair({
    name: 'Old',
    type: 'curve25519',
    now: new Date('2020-01-01T00:00:00Z'),
    expiresInSeconds: 86_400,
  });
  fingerprint = pair.fingerprint;
  Object.assign(keys, {
    'pub.asc': pair.publicKey,
    'key.asc': pair.privateKey,
    'locked.key.asc': locked.privateKey,
    'locked.pub.asc': locked.publicKey,
    'expired.pub.asc': expired.publicKey,
  });
  keys['broken.pub.asc'] = pair.publicKey.replace(
    /\n([A-Za-z0-9+/]{20})/,
    (_, run: string) => `\n${run.slice(0, 10)}*${run.slice(11)}`,
  );
  await writeFile(join(gnupg, 'key.asc'), pair.privateKey);
  execFileSync('gpg', ['--homedir', gnupg, '--batch', '--import', join(gnupg, 'key.asc')], { stdio: 'pipe' });
}, 60_000);
afterAll(() => {
  execFileSync('gpgconf', ['--homedir', gnupg, '--kill', 'all'], { stdio: 'ignore' });
  rmSync(gnupg, { recursive: true, force: true });
});

async function setup(dir: string) {
  for (const [name, text] of Object.entries(keys)) await writeFile(join(dir, name), text);
  await writeFile(join(dir, 'report.csv'), plain);
}
const gpg = (...args: string[]) =>
  execFileSync('gpg', ['--homedir', gnupg, '--batch', '--yes', '--trust-model', 'always', ...args], {
    stdio: 'pipe',
    maxBuffer: 64 << 20,
  });

describe('encrypt / decrypt interoperate with gpg', () => {
  it.each([[[]], [['--armor']], [['--compress']]])('sftpctl encrypt %j → gpg --decrypt', async (flags) => {
    await withTempDir(async (dir) => {
      await setup(dir);
      const result = await runCli(['encrypt', 'report.csv', '--recipient', 'pub.asc', '--out', 'out.pgp', ...flags], {
        cwd: dir,
      });
      expect(result.code, result.stderr).toBe(0);
      expect(gpg('--decrypt', join(dir, 'out.pgp')).equals(plain)).toBe(true);
    });
  });

  it.each([[[]], [['--armor']], [['--compress-algo', 'none']], [['--compress-algo', 'zlib']]])(
    'gpg --encrypt %j → sftpctl decrypt',
    async (flags) => {
      await withTempDir(async (dir) => {
        await setup(dir);
        gpg(...flags, '-r', fingerprint, '-o', join(dir, 'report.csv.gpg'), '--encrypt', join(dir, 'report.csv'));
        await writeFile(join(dir, 'report.csv'), 'old');
        const result = await runCli(['decrypt', 'report.csv.gpg', '--key', 'key.asc', '--out', 'report.out'], {
          cwd: dir,
        });
        expect(result.code, result.stderr).toBe(0);
        expect((await readFile(join(dir, 'report.out'))).equals(plain)).toBe(true);
      });
    },
  );

  it('a tampered file decrypts to nothing: no output file, a clear error', async () => {
    await withTempDir(async (dir) => {
      await setup(dir);
      gpg('-r', fingerprint, '-o', join(dir, 'x.gpg'), '--encrypt', join(dir, 'report.csv'));
      const bytes = await readFile(join(dir, 'x.gpg'));
      bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
      await writeFile(join(dir, 'x.gpg'), bytes);
      const before = (await readdir(dir)).sort();
      const result = await runCli(['decrypt', 'x.gpg', '--key', 'key.asc'], { cwd: dir });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/PGP_INTEGRITY_FAILED|PGP_/);
      expect((await readdir(dir)).sort()).toEqual(before);
    });
  });
});

describe('bad inputs: a clear error and no file written', () => {
  const cases: [string, string[], RegExp, Record<string, string>?][] = [
    ['public key given as the private key', ['decrypt', 'x.gpg', '--key', 'pub.asc'], /PGP_KEY_NOT_PRIVATE/],
    ['private key given as recipient', ['encrypt', 'report.csv', '--recipient', 'key.asc'], /PGP_KEY|private/i],
    ['broken armor', ['encrypt', 'report.csv', '--recipient', 'broken.pub.asc'], /PGP_KEY_UNREADABLE/],
    ['expired key', ['encrypt', 'report.csv', '--recipient', 'expired.pub.asc'], /PGP_KEY_EXPIRED/],
    [
      'wrong key type: an SSH key',
      ['encrypt', 'report.csv', '--recipient', 'ssh.pub'],
      /PGP_KEY_UNREADABLE/,
      { 'ssh.pub': 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHN0dWIga2V5IGZvciBpbXBvcnQgdGVzdHMgb25seSEhISE= x\n' },
    ],
    ['passphrase missing', ['decrypt', 'x.gpg', '--key', 'locked.key.asc'], /SFTPCTL_PASSPHRASE/],
    ['missing input file', ['encrypt', 'nope.csv', '--recipient', 'pub.asc'], /nope.csv does not exist/],
    ['missing key file', ['decrypt', 'x.gpg', '--key', 'nope.asc'], /--key: nope.asc does not exist/],
    ['not PGP at all', ['decrypt', 'report.csv', '--key', 'key.asc', '--out', 'o'], /PGP_NOT_PGP|PGP_/],
  ];
  it.each(cases)('%s', async (_name, args, message, extra) => {
    await withTempDir(async (dir) => {
      await setup(dir);
      await writeFile(join(dir, 'x.gpg'), plain.subarray(0, 100));
      for (const [name, text] of Object.entries(extra ?? {})) await writeFile(join(dir, name), text);
      const before = (await readdir(dir)).sort();
      const result = await runCli(args, { cwd: dir });
      expect(result.code).not.toBe(0);
      expect(result.code).not.toBe(3);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect((await readdir(dir)).sort()).toEqual(before);
    });
  });

  it('wrong passphrase', async () => {
    await withTempDir(async (dir) => {
      await setup(dir);
      const enc = await runCli(['encrypt', 'report.csv', '--recipient', 'locked.pub.asc'], { cwd: dir });
      expect(enc.code, enc.stderr).toBe(0);
      const before = (await readdir(dir)).sort();
      const result = await runCli(['decrypt', 'report.csv.gpg', '--key', 'locked.key.asc', '--out', 'o.csv'], {
        cwd: dir,
        env: { SFTPCTL_PASSPHRASE: 'wrong' },
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/PGP_PASSPHRASE_WRONG/);
      expect((await readdir(dir)).sort()).toEqual(before);
      const right = await runCli(['decrypt', 'report.csv.gpg', '--key', 'locked.key.asc', '--out', 'o.csv'], {
        cwd: dir,
        env: { SFTPCTL_PASSPHRASE: 'correct horse battery' },
      });
      expect(right.code, right.stderr).toBe(0);
    });
  });

  it('an existing output is never overwritten', async () => {
    await withTempDir(async (dir) => {
      await setup(dir);
      await writeFile(join(dir, 'report.csv.gpg'), 'keep');
      const result = await runCli(['encrypt', 'report.csv', '--recipient', 'pub.asc'], { cwd: dir });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/OUTPUT_EXISTS/);
      expect(await readFile(join(dir, 'report.csv.gpg'), 'utf8')).toBe('keep');
    });
  });
});

describe('verify checksum --decrypt-key', () => {
  it('checks an encrypted download against its plaintext sidecar in one pass, writing nothing', async () => {
    await withTempDir(async (dir) => {
      await setup(dir);
      execFileSync('sh', ['-c', 'sha256sum report.csv > report.csv.sha256'], { cwd: dir });
      expect((await runCli(['encrypt', 'report.csv', '--recipient', 'pub.asc'], { cwd: dir })).code).toBe(0);
      const before = (await readdir(dir)).sort();
      const ok = await runCli(['verify', 'checksum', 'report.csv.gpg', '--decrypt-key', 'key.asc'], { cwd: dir });
      expect(ok.code, ok.stdout + ok.stderr).toBe(0);
      await writeFile(join(dir, 'report.csv.sha256'), `${'0'.repeat(64)}  report.csv\n`);
      const bad = await runCli(['verify', 'checksum', 'report.csv.gpg', '--decrypt-key', 'key.asc'], { cwd: dir });
      expect(bad.code).toBe(1);
      expect(bad.stdout).toMatch(/MISMATCH/);
      expect((await readdir(dir)).sort()).toEqual(before);
    });
  });
});

describe('decrypt: empty files, damaged compression, the decompression limit', () => {
  it('a zero-byte file: an empty output and no claim of a check that was not made', async () => {
    await withTempDir(async (dir) => {
      await setup(dir);
      await writeFile(join(dir, 'empty.gpg'), '');
      const result = await runCli(['decrypt', 'empty.gpg', '--key', 'key.asc'], { cwd: dir });
      expect(result.code, result.stderr).toBe(0);
      const said = result.stdout + result.stderr;
      expect(said).not.toMatch(/(MDC|AEAD|NONE) verified/i);
      expect(said).toMatch(/nothing was decrypted or verified/);
      expect(await readFile(join(dir, 'empty'))).toHaveLength(0);
    });
  });

  it('an empty message made by gpg: its MDC was checked, and the CLI says so', async () => {
    await withTempDir(async (dir) => {
      await setup(dir);
      await writeFile(join(dir, 'zero.csv'), '');
      gpg('-r', fingerprint, '-o', join(dir, 'zero.csv.gpg'), '--encrypt', join(dir, 'zero.csv'));
      const result = await runCli(['decrypt', 'zero.csv.gpg', '--key', 'key.asc', '--out', 'zero.out'], { cwd: dir });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout + result.stderr).toMatch(/0 bytes, MDC verified/);
    });
  });

  it('a damaged bzip2 message fails (never exits 0 with nothing written) and leaves nothing behind', async () => {
    await withTempDir(async (dir) => {
      await setup(dir);
      const lines = Array.from({ length: 60_000 }, (_, i) => `${i};${randomBytes(8).toString('hex')}\n`).join('');
      await writeFile(join(dir, 'lines.csv'), lines);
      gpg('-r', fingerprint, '--compress-algo', 'bzip2', '-o', join(dir, 'b.gpg'), '--encrypt', join(dir, 'lines.csv'));
      const bytes = await readFile(join(dir, 'b.gpg'));
      bytes[200]! ^= 0x55;
      await writeFile(join(dir, 'b.gpg'), bytes);
      const before = (await readdir(dir)).sort();
      const result = await runCli(['decrypt', 'b.gpg', '--key', 'key.asc', '--timeout', '5'], { cwd: dir });
      expect(result.code, result.stdout).toBe(1);
      expect(result.stderr).toMatch(/PGP_(CORRUPT|TIMEOUT|INTEGRITY_FAILED)/);
      expect((await readdir(dir)).sort()).toEqual(before);
    });
  }, 60_000);

  it('--max-decompressed stops a compression bomb; the hint names the flag', async () => {
    await withTempDir(async (dir) => {
      await setup(dir);
      await writeFile(join(dir, 'zeros.bin'), Buffer.alloc(8 << 20));
      gpg(
        '-r',
        fingerprint,
        '--compress-algo',
        'zlib',
        '-o',
        join(dir, 'bomb.gpg'),
        '--encrypt',
        join(dir, 'zeros.bin'),
      );
      const before = (await readdir(dir)).sort();
      const result = await runCli(['decrypt', 'bomb.gpg', '--key', 'key.asc', '--max-decompressed', '1MiB'], {
        cwd: dir,
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/PGP_DECOMPRESSION_LIMIT/);
      expect(result.stderr).toMatch(/--max-decompressed \(now 1 MiB\)/);
      expect((await readdir(dir)).sort()).toEqual(before);
      const enough = await runCli(['decrypt', 'bomb.gpg', '--key', 'key.asc', '--max-decompressed', '9MiB'], {
        cwd: dir,
      });
      expect(enough.code, enough.stderr).toBe(0);
    });
  });

  it.each([
    ['--max-decompressed', 'lots'],
    ['--max-decompressed', '0'],
    ['--timeout', 'soon'],
  ])('%s %s is a usage error', async (flag, value) => {
    await withTempDir(async (dir) => {
      await setup(dir);
      const result = await runCli(['decrypt', 'x.gpg', '--key', 'key.asc', flag, value], { cwd: dir });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(flag);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    });
  });
});
