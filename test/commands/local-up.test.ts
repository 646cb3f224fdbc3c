import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, ROOT, runCli, withTempDir } from '../helpers/cli.js';
import { runSftp } from '../helpers/sftp.js';

interface Ready {
  port: number;
  dataDir: string;
  users: { userName: string; home: string }[];
  generated: { user?: string; what: string; privateKey: string; publicKey: string; client: string }[];
}

let child: ChildProcess | undefined;
afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    await new Promise((resolve) => child?.once('exit', resolve));
  }
  child = undefined;
});

/** Starts `sftpctl local up` (JSON log lines, no TTY) and collects its events. */
async function localUp(dir: string, extra: string[] = []) {
  const events: Record<string, unknown>[] = [];
  child = spawn(process.execPath, [BIN, 'local', 'up', '--port', '0', '--json', ...extra], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let buffer = '';
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const ready = await new Promise<Ready>((resolve, reject) => {
    child?.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        try {
          const event = JSON.parse(line) as Record<string, unknown>;
          events.push(event);
          if (event.event === 'ready') resolve(event as unknown as Ready);
        } catch {
          // not a JSON line
        }
      }
    });
    child?.once('exit', (code) => reject(new Error(`local up exited ${code}: ${stderr}`)));
  });
  const waitFor = async (predicate: (event: Record<string, unknown>) => boolean, what: string) => {
    for (let tries = 0; tries < 300; tries++) {
      const found = events.find(predicate);
      if (found) return found;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`no ${what} event; saw ${events.map((event) => event.event).join(', ')}`);
  };
  return { ready, events, waitFor };
}

let sftpCwd = ROOT;
/** Runs sftp batch commands as `user`; rejects when sftp fails, as a user would notice. */
async function sftp(port: number, key: string, user: string, commands: string): Promise<void> {
  const result = await runSftp({
    port,
    key,
    user,
    commands: commands.trim().split('\n'),
    cwd: sftpCwd,
    bind: '127.0.0.1',
  });
  if (result.code !== 0) throw new Error(`sftp failed (${result.code}): ${result.stderr}`);
}

describe('sftpctl local up, driven with the real sftp and gpg', () => {
  it('encrypted upload → decrypted in raw; export → encrypted file and sidecar that gpg and sha256sum -c accept', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'sftpctl.yaml'), await readFile(join(ROOT, 'examples/sftpctl.yaml')));
      const { ready, waitFor } = await localUp(dir, ['--env', 'dev']);
      sftpCwd = dir;
      const generated = (what: string, user?: string) =>
        ready.generated.find((key) => key.what === what && (user === undefined || key.user === user))!;
      const ingress = generated('ingress PGP pair');
      const uploadKey = generated('SSH key pair', 'northwind-bank-upload');
      const downloadKey = generated('SSH key pair', 'northwind-bank-download');

      await mkdir(join(dir, 'gnupg'), { mode: 0o700 });
      const plain = randomBytes(1024 * 1024 + 7);
      await writeFile(join(dir, 'report.csv'), plain);
      execFileSync(
        'gpg',
        [
          '--batch',
          '--yes',
          '--trust-model',
          'always',
          '--recipient-file',
          ingress.publicKey,
          '-o',
          join(dir, 'report.csv.gpg'),
          '-e',
          join(dir, 'report.csv'),
        ],
        { env: { ...process.env, GNUPGHOME: join(dir, 'gnupg') } },
      );
      await writeFile(join(dir, 'report.csv.sha256'), execFileSync('sha256sum', ['report.csv'], { cwd: dir }));
      await sftp(
        ready.port,
        uploadKey.privateKey,
        'northwind-bank-upload',
        'put report.csv.sha256\nput report.csv.gpg\nls\n',
      );
      await waitFor((event) => event.event === 'processed' && event.key === 'report.csv.gpg', 'processed');
      const raw = join(ready.dataDir, 'buckets', 'acme-sftp-dev-northwind-bank-raw');
      expect((await readFile(join(raw, 'report.csv'))).equals(plain)).toBe(true);
      execFileSync('sha256sum', ['-c', 'report.csv.sha256'], { cwd: raw });

      await writeFile(join(dir, 'statement.txt'), 'balance: 42\n');
      const exported = await runCli(['local', 'export', 'northwind-bank', 'statement.txt', '--env', 'dev'], {
        cwd: dir,
      });
      expect(exported.code, exported.stderr).toBe(0);
      await waitFor((event) => event.event === 'egress-done' && event.key === 'statement.txt', 'egress-done');
      await mkdir(join(dir, 'got'));
      await sftp(
        ready.port,
        downloadKey.privateKey,
        'northwind-bank-download',
        'get statement.txt.gpg got/\nget statement.txt.sha256 got/\n',
      );
      const partner = generated('demo partner PGP pair');
      execFileSync('gpg', ['--batch', '--import', partner.privateKey], {
        env: { ...process.env, GNUPGHOME: join(dir, 'gnupg') },
        stdio: 'pipe',
      });
      const decrypted = execFileSync('gpg', ['--batch', '--decrypt', join(dir, 'got', 'statement.txt.gpg')], {
        env: { ...process.env, GNUPGHOME: join(dir, 'gnupg') },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      await writeFile(join(dir, 'got', 'statement.txt'), decrypted);
      execFileSync('sha256sum', ['-c', 'statement.txt.sha256'], { cwd: join(dir, 'got') });

      await expect(
        sftp(ready.port, downloadKey.privateKey, 'northwind-bank-download', 'put statement.txt\n'),
      ).rejects.toThrow();
      await expect(
        sftp(ready.port, uploadKey.privateKey, 'northwind-bank-upload', 'get ../../../../etc/passwd got/\n'),
      ).rejects.toThrow();
      await expect(sftp(ready.port, downloadKey.privateKey, 'northwind-bank-upload', 'ls\n')).rejects.toThrow();
      execFileSync('gpgconf', ['--kill', 'all'], {
        env: { ...process.env, GNUPGHOME: join(dir, 'gnupg') },
        stdio: 'ignore',
      });
    });
  });

  it('stops on SIGTERM and leaves no half-written file', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'sftpctl.yaml'), await readFile(join(ROOT, 'examples/sftpctl.yaml')));
      const { ready } = await localUp(dir, ['--env', 'dev']);
      child?.kill('SIGTERM');
      const code = await new Promise((resolve) => child?.once('exit', resolve));
      expect(code).toBe(0);
      expect(await readdir(join(ready.dataDir, 'buckets', '.staging')).catch(() => [])).toEqual([]);
    });
  });
});
