import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, withTempDir } from '../helpers/cli.js';

const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe('keys generate ssh', () => {
  it.each([
    ['ed25519', [], 256, 'ED25519'],
    ['rsa', ['--bits', '3072'], 3072, 'RSA'],
  ])('%s: OpenSSH pair ssh-keygen accepts, private 0600, fingerprint printed', async (type, extra, bits, label) => {
    await withTempDir(async (dir) => {
      const result = await runCli(
        ['keys', 'generate', 'ssh', '--type', type, ...extra, '--comment', 'partner@test', '--out', 'id', '--json'],
        { cwd: dir },
      );
      expect(result.code, result.stderr).toBe(0);
      const body = JSON.parse(result.stdout);
      const listed = execFileSync('ssh-keygen', ['-l', '-f', join(dir, 'id.pub')], { encoding: 'utf8' });
      expect(listed).toBe(`${bits} ${body.fingerprint} partner@test (${label})\n`);
      expect(
        execFileSync('ssh-keygen', ['-y', '-f', join(dir, 'id')], { encoding: 'utf8' })
          .split(' ')
          .slice(0, 2),
      ).toEqual((await readFile(join(dir, 'id.pub'), 'utf8')).split(' ').slice(0, 2));
      expect(await mode(join(dir, 'id'))).toBe(0o600);
      expect(await mode(join(dir, 'id.pub'))).toBe(0o644);
      expect(result.stdout + result.stderr).not.toMatch(/PRIVATE KEY/);
    });
  });

  it('protects the key with a passphrase from $SFTPCTL_PASSPHRASE, and without a TTY fails naming it', async () => {
    await withTempDir(async (dir) => {
      const refused = await runCli(['keys', 'generate', 'ssh', '--passphrase'], { cwd: dir });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/SFTPCTL_PASSPHRASE/);
      expect(await readdir(dir)).toEqual([]);

      const made = await runCli(['keys', 'generate', 'ssh', '--passphrase', '--out', 'k'], {
        cwd: dir,
        env: { SFTPCTL_PASSPHRASE: 'correct horse' },
      });
      expect(made.code, made.stderr).toBe(0);
      expect(() =>
        execFileSync('ssh-keygen', ['-y', '-P', 'wrong', '-f', join(dir, 'k')], { stdio: 'pipe' }),
      ).toThrow();
      expect(
        execFileSync('ssh-keygen', ['-y', '-P', 'correct horse', '-f', join(dir, 'k')], { encoding: 'utf8' }),
      ).toMatch(/^ssh-ed25519 /);
    });
  });

  it('never overwrites: an existing private or public file leaves everything as it was', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'id.pub'), 'keep me\n');
      const result = await runCli(['keys', 'generate', 'ssh', '--out', 'id'], { cwd: dir });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/KEY_FILE_EXISTS.*never overwritten/);
      expect(await readdir(dir)).toEqual(['id.pub']);
      expect(await readFile(join(dir, 'id.pub'), 'utf8')).toBe('keep me\n');
    });
  });

  it('refuses bad flags without writing', async () => {
    await withTempDir(async (dir) => {
      expect((await runCli(['keys', 'generate', 'ssh', '--type', 'dsa'], { cwd: dir })).code).toBe(2);
      const short = await runCli(['keys', 'generate', 'ssh', '--type', 'rsa', '--bits', '1024'], { cwd: dir });
      expect(short.code).toBe(2);
      expect(short.stderr).toMatch(/at least 2048/);
      expect(await readdir(dir)).toEqual([]);
    });
  });
});

describe('keys generate gpg', () => {
  it.each([
    ['curve25519', '22'],
    ['rsa', '1'],
  ])('%s: a v4 pair gpg 2.2 imports, with an encryption subkey', async (type, algorithm) => {
    await withTempDir(async (dir) => {
      const result = await runCli(
        [
          'keys',
          'generate',
          'gpg',
          '--name',
          'Acme Ingress',
          '--email',
          'ingress@acme.example',
          '--type',
          type,
          '--expires',
          '1y',
          '--json',
        ],
        { cwd: dir },
      );
      expect(result.code, result.stderr).toBe(0);
      const body = JSON.parse(result.stdout);
      expect(await mode(join(dir, 'ingress.key.asc'))).toBe(0o600);
      const home = mkdtempSync(join(tmpdir(), 'gpg-'));
      try {
        execFileSync('gpg', ['--homedir', home, '--batch', '--import', join(dir, 'ingress.key.asc')], {
          stdio: 'pipe',
        });
        const colons = execFileSync('gpg', ['--homedir', home, '--batch', '--with-colons', '--list-secret-keys'], {
          encoding: 'utf8',
        });
        expect(colons).toContain(`fpr:::::::::${body.fingerprint}:`);
        const records = colons.split('\n').map((line) => line.split(':'));
        expect(records.find((fields) => fields[0] === 'sec')?.[3]).toBe(algorithm);
        expect(records.find((fields) => fields[0] === 'ssb')?.[11]).toBe('e');
      } finally {
        execFileSync('gpgconf', ['--homedir', home, '--kill', 'all'], { stdio: 'ignore' });
        rmSync(home, { recursive: true, force: true });
      }
    });
  });

  it('rejects a bad email or duration, writing nothing', async () => {
    await withTempDir(async (dir) => {
      expect(
        (await runCli(['keys', 'generate', 'gpg', '--name', 'A', '--email', 'not-an-email'], { cwd: dir })).code,
      ).toBe(2);
      const bad = await runCli(
        ['keys', 'generate', 'gpg', '--name', 'A', '--email', 'a@b.example', '--expires', 'soon'],
        { cwd: dir },
      );
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/--expires: "soon" is not a duration/);
      expect(await readdir(dir)).toEqual([]);
    });
  });
});

describe('keys generate --out ending in / names a folder', () => {
  const cases: [string, string[], (dir: string) => string[]][] = [
    ['ssh into an existing folder', ['ssh', '--out', 'keys/'], (d) => [join(d, 'keys/sftpctl_ed25519')]],
    ['ssh into a new folder', ['ssh', '--out', 'new/'], (d) => [join(d, 'new/sftpctl_ed25519')]],
    [
      'gpg into an existing folder',
      ['gpg', '--name', 'A', '--email', 'ops@a.example', '--out', 'keys/'],
      (d) => [join(d, 'keys/ops.key.asc'), join(d, 'keys/ops.pub.asc')],
    ],
    [
      'gpg into a new folder',
      ['gpg', '--name', 'A', '--email', 'ops@a.example', '--out', 'new/'],
      (d) => [join(d, 'new/ops.key.asc'), join(d, 'new/ops.pub.asc')],
    ],
  ];
  it.each(cases)('%s: the key goes inside it under the default name, nothing beside it', async (_, args, expected) => {
    await withTempDir(async (dir) => {
      await mkdir(join(dir, 'keys'));
      const result = await runCli(['keys', 'generate', ...args], { cwd: dir });
      expect(result.code, result.stderr).toBe(0);
      for (const path of expected(dir)) expect((await stat(path)).isFile()).toBe(true);
      const top = (await readdir(dir)).filter((name) => name !== '.gitignore').sort();
      expect(
        top.every((name) => ['keys', 'new'].includes(name)),
        top.join(','),
      ).toBe(true);
    });
  });
});
