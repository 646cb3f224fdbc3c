import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCidr } from '../../src/core/config/cidr.js';
import {
  type RunningSftpServer,
  type SftpServerOptions,
  type SftpUser,
  startSftpServer,
} from '../../src/local/sftp-server.js';
import { EventLog, exited, keygen, publicKey, runSftp, type SftpRun, spawnInteractiveSftp } from '../helpers/sftp.js';

/**
 * The embedded SFTP server against the real OpenSSH client. Every client binds to a 127.0.0.x source address, and
 * the server does not let loopback bypass the allow-lists, so those addresses play the partners' public IPs:
 *   127.0.0.2          allowed for both users: the ordinary traffic
 *   127.0.0.3          allowed for nobody: refused before authentication
 *   127.0.0.4–.15      allowed for the upload user only; each failure test uses its own address (the defender counts
 *                      failures per address)
 */

const cidrs = (...texts: string[]) =>
  texts.map((text) => {
    const parsed = parseCidr(text);
    if (!parsed.ok) throw new Error(parsed.reason);
    return parsed.cidr;
  });

const execFileAsync = promisify(execFile);

let root: string;
let local: string;
let staging: string;
let upHome: string;
let downHome: string;
let keys: { up: string; down: string; other: string; rsa: string };
let hostKey: string;
let rsaHostKey: string;
let users: SftpUser[];
let server: RunningSftpServer;
const events = new EventLog();
const completed: { user: string; key: string }[] = [];

function baseOptions(overrides: Partial<SftpServerOptions> = {}): SftpServerOptions {
  return {
    host: '127.0.0.1',
    port: 0,
    hostKey,
    users,
    allowLoopback: false,
    stagingDir: staging,
    maxSessionsPerUser: 50,
    defender: { maxFailures: 3, windowMs: 60_000, banMs: 60_000 },
    log: events.log,
    onUploadCompleted: (user, key) => {
      completed.push({ user: user.userName, key });
    },
    ...overrides,
  };
}

const as = (user: 'acme-upload' | 'acme-download', commands: string[], extra: Partial<SftpRun> = {}) =>
  runSftp({
    port: server.port,
    user,
    key: user === 'acme-upload' ? keys.up : keys.down,
    commands,
    cwd: local,
    ...extra,
  });

const sha = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sftpctl-sftp-'));
  local = join(root, 'local');
  staging = join(root, 'staging');
  upHome = join(root, 'buckets', 'acme-upload');
  downHome = join(root, 'buckets', 'acme-download');
  const keyDir = join(root, 'keys');
  await Promise.all([mkdir(local, { recursive: true }), mkdir(keyDir), mkdir(downHome, { recursive: true })]);
  const [up, down, other, rsa, host, rsaHost] = await Promise.all([
    keygen(keyDir, 'up'),
    keygen(keyDir, 'down'),
    keygen(keyDir, 'other'),
    keygen(keyDir, 'rsa', 'rsa'),
    keygen(keyDir, 'host'),
    keygen(keyDir, 'rsa-host', 'rsa'),
  ]);
  keys = { up, down, other, rsa };
  hostKey = await readFile(host, 'utf8');
  rsaHostKey = await readFile(rsaHost, 'utf8');
  users = [
    {
      userName: 'acme-upload',
      client: 'acme',
      role: 'upload',
      keys: [await publicKey(up), await publicKey(rsa)],
      home: upHome,
      allowedCidrs: cidrs('127.0.0.2/32', '127.0.0.4/30', '127.0.0.8/29'),
    },
    {
      userName: 'acme-download',
      client: 'acme',
      role: 'download',
      keys: [await publicKey(down)],
      home: downHome,
      allowedCidrs: cidrs('127.0.0.2/32'),
    },
  ];
  await writeFile(join(downHome, 'report.csv'), 'a,b\n1,2\n');
  await writeFile(join(root, 'secret.txt'), 'outside the home\n');
  server = await startSftpServer(baseOptions());
});

afterAll(async () => {
  await server?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

/** Connects until the server greets with its SSH ident (a refused connection is closed at once); keeps reading. */
async function connectUntilGreeted(port: number, localAddress: string): Promise<Socket> {
  for (let attempt = 0; ; attempt++) {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    const greeted = await new Promise<boolean>((resolve) => {
      socket.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1').startsWith('SSH-')));
      socket.once('close', () => resolve(false));
      socket.once('error', () => resolve(false));
    });
    if (greeted) {
      socket.resume(); // later reads the server's FIN
      return socket;
    }
    socket.destroy();
    if (attempt >= 50) throw new Error(`the server never accepted a connection from ${localAddress}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('sftp server: the upload user', () => {
  it('puts, lists, renames, gets, stats and removes files with OpenSSH sftp', async () => {
    await writeFile(join(local, 'data.bin'), randomBytes(300_000));
    const result = await as('acme-upload', [
      'pwd',
      'put data.bin',
      'mkdir inbox',
      'cd inbox',
      'pwd',
      'put data.bin copy.bin',
      'ls -l',
      'cd /',
      'rename data.bin inbox/moved.bin',
      'ls -l inbox/moved.bin',
      'get inbox/moved.bin back.bin',
      'df',
      'rm inbox/copy.bin',
      'ls',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Remote working directory: /\n');
    expect(result.stdout).toContain('Remote working directory: /inbox\n');
    expect(result.stdout).toMatch(/-rw-r--r-- +1 acme-upload acme +300000 \w{3} [ \d]\d \d\d:\d\d copy.bin/);
    expect(await sha(join(local, 'back.bin'))).toBe(await sha(join(local, 'data.bin')));
    expect(await readdir(join(upHome, 'inbox'))).toEqual(['moved.bin']);
    expect(existsSync(join(upHome, 'data.bin'))).toBe(false);
    expect(await readdir(staging)).toEqual([]);
    expect(completed.filter((entry) => entry.user === 'acme-upload').map((entry) => entry.key)).toEqual([
      'data.bin',
      'inbox/copy.bin',
    ]);
    const uploaded = events.of('upload-completed', { key: 'inbox/copy.bin' })[0];
    expect(uploaded).toMatchObject({ user: 'acme-upload', client: 'acme', ip: '127.0.0.2', bytes: 300_000 });
    expect(events.of('rename', { from: 'data.bin', to: 'inbox/moved.bin' })).toHaveLength(1);
    expect(events.of('download', { key: 'inbox/moved.bin', bytes: 300_000 })).toHaveLength(1);
  });

  it('resumes an upload with reput, and keeps the times of put -p (modes ignored)', async () => {
    const full = randomBytes(700_000);
    await writeFile(join(local, 'big.bin'), full);
    await writeFile(join(local, 'part.bin'), full.subarray(0, 250_000));
    await writeFile(join(local, 'kept.bin'), 'kept\n');
    await utimes(join(local, 'kept.bin'), 1_400_000_000, 1_400_000_000);
    const result = await as('acme-upload', ['put part.bin big.bin', 'reput big.bin', 'put -p kept.bin', 'ls -l']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(await sha(join(upHome, 'big.bin'))).toBe(await sha(join(local, 'big.bin')));
    expect(events.of('upload-completed', { key: 'big.bin', resumed: true })[0]).toMatchObject({
      bytes: 700_000,
      bytesWritten: 450_000,
    });
    expect(await readFile(join(upHome, 'kept.bin'), 'utf8')).toBe('kept\n');
    expect((await stat(join(upHome, 'kept.bin'))).mtimeMs).toBe(1_400_000_000_000);
    expect(await readdir(staging)).toEqual([]);
  });

  it('answers df (statvfs) from the configured quota, not the host disk', async () => {
    await writeFile(join(upHome, 'quota-filler.bin'), randomBytes(409_600));
    const quota = await startSftpServer(baseOptions({ quotaBytes: 1024 * 1024 * 1024 }));
    try {
      const result = await runSftp({
        port: quota.port,
        user: 'acme-upload',
        key: keys.up,
        commands: ['df'],
        cwd: local,
      });
      expect(result.code).toBe(0);
      // "Size Used Avail (root) %Capacity" in KiB: 1 GiB total, what the home holds as used.
      const figures = result.stdout.split('\n').find((line) => /^\s*\d+\s+\d+\s+\d+/.test(line));
      const [size, used, avail] = (figures ?? '').trim().split(/\s+/).map(Number);
      expect(size).toBe(1024 * 1024);
      expect(used).toBeGreaterThanOrEqual(400);
      expect((used ?? 0) + (avail ?? 0)).toBe(1024 * 1024);
    } finally {
      await quota.close();
      await rm(join(upHome, 'quota-filler.bin'));
    }
  });

  it('renames over an existing file only with posix-rename, not with the legacy RENAME', async () => {
    await writeFile(join(upHome, 'a.txt'), 'A');
    await writeFile(join(upHome, 'b.txt'), 'B');
    await writeFile(join(upHome, 'c.txt'), 'C');
    const result = await as('acme-upload', ['-rename -l a.txt b.txt', 'rename c.txt b.txt']);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/rename.*Failure|already exists/i);
    expect(await readFile(join(upHome, 'a.txt'), 'utf8')).toBe('A');
    expect(await readFile(join(upHome, 'b.txt'), 'utf8')).toBe('C');
    expect(existsSync(join(upHome, 'c.txt'))).toBe(false);
  });

  it('cannot leave its home: .., absolute paths, symlinks pointing outside', async () => {
    await mkdir(join(upHome, 'inside'), { recursive: true });
    await writeFile(join(upHome, 'inside', 'ok.txt'), 'fine\n');
    await symlink('/etc', join(upHome, 'etc-link'));
    await symlink(join(root, 'secret.txt'), join(upHome, 'secret-link'));
    await symlink(join(upHome, 'inside'), join(upHome, 'inside-link'));
    await symlink(join(root, 'nowhere'), join(upHome, 'dangling'));
    await writeFile(join(local, 'escape.txt'), 'escape\n');
    const result = await as('acme-upload', [
      'cd ..',
      'cd ../..',
      'pwd',
      '-get ../../etc/passwd p1',
      '-get /etc/passwd p2',
      `-get ${join(root, 'secret.txt')} p3`,
      '-get secret-link p4',
      '-get etc-link/passwd p5',
      '-ls etc-link/',
      '-cd etc-link',
      '-put escape.txt etc-link/escape.txt',
      '-put escape.txt dangling',
      `-put escape.txt ${join(root, 'escaped.txt')}`,
      'put escape.txt ../../escape.txt',
      'get inside-link/ok.txt ok.txt',
      '-rm ../secret.txt',
      '-rename ../../secret.txt stolen.txt',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Remote working directory: /\n');
    for (const name of ['p1', 'p2', 'p3', 'p4', 'p5']) expect(existsSync(join(local, name))).toBe(false);
    expect(result.stderr.match(/stat remote: Permission denied/g)).toHaveLength(2); // get secret-link, ls etc-link/
    expect(result.stderr).toContain('dest open "/etc-link/escape.txt": Permission denied');
    expect(result.stderr).toContain('dest open "/dangling": Permission denied');
    expect(await readFile(join(local, 'ok.txt'), 'utf8')).toBe('fine\n');
    // `../../escape.txt` is /escape.txt in the home: ".." stops at "/".
    expect(await readFile(join(upHome, 'escape.txt'), 'utf8')).toBe('escape\n');
    expect(existsSync(join(root, 'escaped.txt'))).toBe(false);
    expect(existsSync(join(root, 'nowhere'))).toBe(false);
    expect(await readFile(join(root, 'secret.txt'), 'utf8')).toBe('outside the home\n');
    expect(existsSync('/etc/escape.txt')).toBe(false);
    expect(await readdir(staging)).toEqual([]);
  });
});

describe('sftp server: other clients', () => {
  const curlHasSftp = (() => {
    try {
      return /\bsftp\b/.test(execFileSync('curl', ['-V'], { encoding: 'utf8' }));
    } catch {
      return false;
    }
  })();

  it.skipIf(!curlHasSftp)('works with libssh2 (curl) under the compatible algorithm policy', async () => {
    await writeFile(join(local, 'curl.bin'), randomBytes(100_000));
    // libssh2 before 1.11 has no encrypt-then-MAC: the strict default refuses it, 'compatible' takes it.
    const compatible = await startSftpServer(baseOptions({ algorithmPolicy: 'compatible' }));
    const port = compatible.port;
    // Asynchronously: the server runs in this process.
    const curl = (...extra: string[]) =>
      execFileAsync('curl', [
        '-sS',
        '--insecure',
        '--interface',
        '127.0.0.2',
        '--key',
        keys.up,
        '--pubkey',
        `${keys.up}.pub`,
        '-u',
        'acme-upload:',
        ...extra,
      ]);
    await curl('-T', join(local, 'curl.bin'), `sftp://127.0.0.1:${port}/curl.bin`);
    await curl('-o', join(local, 'curl-back.bin'), `sftp://127.0.0.1:${port}/curl.bin`);
    expect(await sha(join(local, 'curl-back.bin'))).toBe(await sha(join(local, 'curl.bin')));
    expect(completed.some((entry) => entry.key === 'curl.bin')).toBe(true);
    await compatible.close();
  });
});

describe('sftp server: the download user', () => {
  it('lists and downloads, and is refused every change', async () => {
    await writeFile(join(local, 'new.txt'), 'new\n');
    const result = await as('acme-download', [
      'ls -l',
      'get report.csv',
      '-put new.txt',
      '-put new.txt report.csv',
      '-rm report.csv',
      '-rename report.csv moved.csv',
      '-mkdir folder',
      '-rmdir folder',
      '-chmod 777 report.csv',
      '-reput new.txt report.csv',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/-r--r--r-- +1 acme-download acme +8 .* report.csv/);
    expect(await readFile(join(local, 'report.csv'), 'utf8')).toBe('a,b\n1,2\n');
    const denials = result.stderr.split('\n').filter((line) => /Permission denied/.test(line));
    expect(denials.length).toBeGreaterThanOrEqual(7);
    expect(await readdir(downHome)).toEqual(['report.csv']);
    expect(await readFile(join(downHome, 'report.csv'), 'utf8')).toBe('a,b\n1,2\n');
    expect(await readdir(staging)).toEqual([]);
  });
});

describe('sftp server: authentication and network', () => {
  it('refuses a wrong key and an unknown user alike', async () => {
    const wrongKey = await runSftp({
      port: server.port,
      user: 'acme-upload',
      key: keys.other,
      commands: ['ls'],
      cwd: local,
      bind: '127.0.0.6',
    });
    const unknownUser = await runSftp({
      port: server.port,
      user: 'acme-nobody',
      key: keys.up,
      commands: ['ls'],
      cwd: local,
      bind: '127.0.0.7',
    });
    for (const result of [wrongKey, unknownUser]) {
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/Permission denied \(publickey\)/);
    }
    expect(await events.waitFor('auth-failed', { ip: '127.0.0.6' })).toMatchObject({
      user: 'acme-upload',
      reason: 'key-not-accepted',
    });
    expect(await events.waitFor('auth-failed', { ip: '127.0.0.7' })).toMatchObject({
      user: 'acme-nobody',
      reason: 'unknown-user',
    });
  });

  it('refuses an address no client allows before authentication, and a user from an address of another user', async () => {
    const foreign = await as('acme-upload', ['ls'], { bind: '127.0.0.3' });
    expect(foreign.code).not.toBe(0);
    expect(await events.waitFor('connection-refused', { ip: '127.0.0.3' })).toMatchObject({ reason: 'ip-not-allowed' });
    expect(events.of('auth-failed', { ip: '127.0.0.3' })).toEqual([]);

    const wrongPlace = await as('acme-download', ['ls'], { bind: '127.0.0.4' });
    expect(wrongPlace.code).not.toBe(0);
    expect(wrongPlace.stderr).toMatch(/Permission denied \(publickey\)/);
    expect(await events.waitFor('auth-failed', { ip: '127.0.0.4' })).toMatchObject({ reason: 'ip-not-allowed' });

    const allowed = await as('acme-download', ['ls'], { bind: '127.0.0.2' });
    expect(allowed.code).toBe(0);
  });

  it('accepts RSA user keys with rsa-sha2 signatures and refuses ssh-rsa (SHA-1) ones', async () => {
    const sha2 = await runSftp({ port: server.port, user: 'acme-upload', key: keys.rsa, commands: ['ls'], cwd: local });
    expect(sha2.code).toBe(0);
    expect(events.of('auth-ok', { ip: '127.0.0.2', algorithm: /^ssh-rsa\/sha(256|512)$/ }).length).toBeGreaterThan(0);
    const sha1 = await runSftp({
      port: server.port,
      user: 'acme-upload',
      key: keys.rsa,
      commands: ['ls'],
      cwd: local,
      bind: '127.0.0.9',
      options: ['-o', 'PubkeyAcceptedAlgorithms=ssh-rsa'],
    });
    expect(sha1.code).not.toBe(0);
    // server-sig-algs no longer lists ssh-rsa, so the client may not even try; if it does, it is refused.
    expect(events.of('auth-ok', { ip: '127.0.0.9' })).toEqual([]);
    for (const event of events.of('auth-failed', { ip: '127.0.0.9' })) {
      expect(event).toMatchObject({ reason: 'weak-signature-algorithm' });
    }
  });

  // The client's own "Unable to negotiate" message is logged at INFO level (hidden here) and can lose the race with
  // the server closing the connection; the server's log says which list had no match.
  it.each([
    ['CBC cipher', ['-o', 'Ciphers=aes128-cbc'], /no matching C->S cipher/],
    ['SHA-1 MAC', ['-o', 'Ciphers=aes128-ctr', '-o', 'MACs=hmac-sha1'], /no matching C->S MAC/],
    ['ssh-rsa host key signature', ['-o', 'HostKeyAlgorithms=ssh-rsa'], /no matching host key/],
    ['SHA-1 key exchange', ['-o', 'KexAlgorithms=diffie-hellman-group14-sha1'], /no matching key exchange/],
  ])('refuses a client that only offers a weak algorithm: %s', async (_name, options, message) => {
    const result = await as('acme-upload', ['ls'], { bind: '127.0.0.8', options });
    expect(result.code).not.toBe(0);
    expect(await events.waitFor('handshake-failed', { ip: '127.0.0.8', message })).toBeDefined();
  });

  it('refuses to start with an RSA host key (ssh2 would offer ssh-rsa SHA-1 signatures with it)', async () => {
    await expect(startSftpServer(baseOptions({ hostKey: rsaHostKey }))).rejects.toMatchObject({
      code: 'SFTP_HOST_KEY_UNSUPPORTED',
    });
  });

  it('negotiates the strong algorithms a current client asks for', async () => {
    const result = await as('acme-upload', ['ls'], {
      options: [
        '-o',
        'Ciphers=aes256-ctr',
        '-o',
        'MACs=hmac-sha2-512-etm@openssh.com',
        '-o',
        'KexAlgorithms=diffie-hellman-group16-sha512',
      ],
    });
    expect(result.code).toBe(0);
  });

  it('refuses the NIST-curve key exchanges and MACs that are not encrypt-then-MAC', async () => {
    for (const option of ['KexAlgorithms=ecdh-sha2-nistp256', 'MACs=hmac-sha2-256', 'MACs=hmac-sha2-512']) {
      const result = await as('acme-upload', ['ls'], { options: ['-o', option, '-o', 'Ciphers=aes128-ctr'] });
      expect(result.code, option).not.toBe(0);
    }
  });

  it('bans an address after repeated failed logins', async () => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const result = await runSftp({
        port: server.port,
        user: attempt === 1 ? 'acme-ghost' : 'acme-upload',
        key: keys.other,
        commands: ['ls'],
        cwd: local,
        bind: '127.0.0.5',
      });
      expect(result.code).not.toBe(0);
    }
    expect(await events.waitFor('ip-banned', { ip: '127.0.0.5' })).toMatchObject({ failures: 3 });
    const banned = await as('acme-upload', ['ls'], { bind: '127.0.0.5' });
    expect(banned.code).not.toBe(0);
    expect(await events.waitFor('connection-refused', { ip: '127.0.0.5' })).toMatchObject({ reason: 'banned' });
    // Other addresses are unaffected.
    expect((await as('acme-upload', ['ls'])).code).toBe(0);
  });

  it('never bans loopback when loopback bypasses the allow-lists (one switch for both)', async () => {
    const trusting = await startSftpServer(baseOptions({ allowLoopback: true }));
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        const result = await runSftp({
          port: trusting.port,
          user: 'acme-upload',
          key: keys.other,
          commands: ['ls'],
          cwd: local,
          bind: '127.0.0.1',
        });
        expect(result.code).not.toBe(0);
      }
      const result = await runSftp({
        port: trusting.port,
        user: 'acme-upload',
        key: keys.up,
        commands: ['ls'],
        cwd: local,
        bind: '127.0.0.1',
      });
      expect(result.code).toBe(0);
      expect(events.of('ip-banned', { ip: '127.0.0.1' })).toEqual([]);
    } finally {
      await trusting.close();
    }
  });
});

describe('sftp server: uploads are atomic', () => {
  it('discards an upload whose client is killed half-way', async () => {
    await writeFile(join(local, 'killed.bin'), randomBytes(4 * 1024 * 1024));
    const child = spawnInteractiveSftp({
      port: server.port,
      user: 'acme-upload',
      key: keys.up,
      cwd: local,
      // 4 Mbit/s: the 4 MiB file takes about 8 s, plenty of time to kill the client in the middle.
      options: ['-l', '4000'],
    });
    child.stdin?.write('put killed.bin\n');
    const deadline = Date.now() + 10_000;
    let stagedBytes = 0;
    while (stagedBytes < 200_000 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const names = await readdir(staging);
      const sizes = await Promise.all(
        names.map((name) =>
          stat(join(staging, name)).then(
            (s) => s.size,
            () => 0,
          ),
        ),
      );
      stagedBytes = Math.max(0, ...sizes);
    }
    expect(stagedBytes).toBeGreaterThanOrEqual(200_000);
    expect(existsSync(join(upHome, 'killed.bin'))).toBe(false);
    child.kill('SIGKILL');
    await exited(child);
    const failed = await events.waitFor('upload-failed', { key: 'killed.bin' });
    expect(failed.bytesWritten).toBeGreaterThan(0);
    expect(existsSync(join(upHome, 'killed.bin'))).toBe(false);
    expect(await readdir(staging)).toEqual([]);
    expect(completed.some((entry) => entry.key === 'killed.bin')).toBe(false);
  });

  it('takes 20 concurrent clients uploading several files each: every file once, one event per file', async () => {
    const clients = 20;
    const perClient = 3;
    await mkdir(join(upHome, 'many'));
    const before = completed.length;
    for (let client = 0; client < clients; client++) {
      for (let file = 0; file < perClient; file++) {
        await writeFile(join(local, `c${client}-f${file}.bin`), randomBytes(20_000 + client * 1000 + file));
      }
    }
    const results = await Promise.all(
      Array.from({ length: clients }, (_, client) =>
        as(
          'acme-upload',
          Array.from({ length: perClient }, (_, file) => `put c${client}-f${file}.bin many/`),
        ),
      ),
    );
    for (const result of results) expect(result.code, result.stderr).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const names = (await readdir(join(upHome, 'many'))).sort();
    expect(names).toHaveLength(clients * perClient);
    for (const name of names) expect(await sha(join(upHome, 'many', name))).toBe(await sha(join(local, name)));
    const keysSeen = completed.slice(before).map((entry) => entry.key);
    expect(keysSeen).toHaveLength(clients * perClient);
    expect(new Set(keysSeen)).toEqual(new Set(names.map((name) => `many/${name}`)));
    expect(await readdir(staging)).toEqual([]);
  });
});

describe('sftp server: limits and shutdown', () => {
  it('enforces max sessions per user, max connections, the login timeout and the idle timeout', async () => {
    const limits = new EventLog();
    const limited = await startSftpServer(
      baseOptions({
        log: limits.log,
        maxSessionsPerUser: 1,
        maxConnections: 2,
        idleTimeoutMs: 1500,
        loginTimeoutMs: 1500,
      }),
    );
    try {
      const spec = { port: limited.port, user: 'acme-upload', key: keys.up, cwd: local };
      const holder = spawnInteractiveSftp(spec);
      await limits.waitFor('session-opened');
      const second = await runSftp({ ...spec, commands: ['ls'] });
      expect(second.code).not.toBe(0);
      // The client is told why (the session's stderr), not left with a bare "Connection closed".
      expect(second.stderr).toContain('Too many sessions for acme-upload (1 at once)');
      expect(await limits.waitFor('session-refused')).toMatchObject({ reason: 'max-sessions' });

      // The refused client has exited, but the server may not have seen its connection close yet (under load):
      // connect until the server greets us, so this socket really is the second connection.
      const idleSocket = await connectUntilGreeted(limited.port, '127.0.0.2');
      const refusedBefore = limits.of('connection-refused').length;
      const third = await runSftp({ ...spec, commands: ['ls'] });
      expect(third.code).not.toBe(0);
      // Refused as it connected, so logged before the client gave up.
      expect(limits.of('connection-refused').slice(refusedBefore)).toEqual([
        expect.objectContaining({ reason: 'max-connections' }),
      ]);

      await limits.waitFor('idle-timeout', { user: 'acme-upload' });
      await limits.waitFor('login-timeout', { ip: '127.0.0.2' });
      await new Promise((resolve) => (idleSocket.destroyed ? resolve(undefined) : idleSocket.once('close', resolve)));
      // The idle client notices it was disconnected at its next command.
      holder.stdin?.end('ls\n');
      expect(await exited(holder)).not.toBe(0);
    } finally {
      await limited.close();
    }
  });

  it('closes gracefully: waits up to graceMs, then ends sessions and discards open uploads', async () => {
    const log = new EventLog();
    const closing = await startSftpServer(baseOptions({ log: log.log }));
    await writeFile(join(local, 'slow.bin'), randomBytes(2 * 1024 * 1024));
    const child = spawnInteractiveSftp({
      port: closing.port,
      user: 'acme-upload',
      key: keys.up,
      cwd: local,
      options: ['-l', '4000'],
    });
    child.stdin?.write('put slow.bin\n');
    await log.waitFor('session-opened');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    await closing.close({ graceMs: 300 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(await log.waitFor('upload-failed', { key: 'slow.bin' })).toBeDefined();
    expect(log.of('server-stopped')).toHaveLength(1);
    await exited(child);
    expect(existsSync(join(upHome, 'slow.bin'))).toBe(false);
    expect(await readdir(staging)).toEqual([]);
  });
});
