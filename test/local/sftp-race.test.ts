import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningSftpServer, startSftpServer } from '../../src/local/sftp-server.js';
import { keygen, publicKey } from '../helpers/sftp.js';

/**
 * Confinement under a symlink race: a process on the host flips a folder inside the home between a real folder and
 * a symlink to a folder outside, as fast as it can, while a client reads, lists, stats and writes through it. The
 * server resolves every path through opened folders without following symlinks (resolve.ts), so no request may
 * ever reach the outside folder, whatever the timing.
 */

const FLIPPER = `
import os, sys
home, outside, hold = sys.argv[1:4]
flip = os.path.join(home, "flip")
n = 0
while True:
    os.rename(flip, hold)      # the real folder leaves...
    os.symlink(outside, flip)  # ...a symlink to the outside takes its place...
    os.unlink(flip)
    os.rename(hold, flip)      # ...and the real folder comes back
    n += 1
`;

let dir: string;
let home: string;
let outside: string;
let server: RunningSftpServer;
let key: string;
let flipper: ChildProcess | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sftpctl-race-'));
  home = join(dir, 'home');
  outside = join(dir, 'outside');
  await mkdir(join(home, 'flip'), { recursive: true });
  await mkdir(outside);
  await writeFile(join(home, 'flip', 'secret.txt'), 'inside');
  await writeFile(join(outside, 'secret.txt'), 'OUTSIDE');
  await writeFile(join(outside, 'outside-only.txt'), 'OUTSIDE');
  key = await keygen(dir, 'user');
  server = await startSftpServer({
    host: '127.0.0.1',
    port: 0,
    hostKey: await readFile(await keygen(dir, 'host'), 'utf8'),
    users: [
      { userName: 'acme-upload', client: 'acme', role: 'upload', keys: [await publicKey(key)], home, allowedCidrs: [] },
    ],
    allowLoopback: true,
    stagingDir: join(dir, 'staging'),
    log: () => undefined,
    onUploadCompleted: () => undefined,
  });
});

afterAll(async () => {
  if (flipper && flipper.exitCode === null) flipper.kill('SIGKILL');
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function connect(): Promise<{ client: ssh2.Client; sftp: ssh2.SFTPWrapper }> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    client.on('error', reject);
    client.on('ready', () => client.sftp((error, sftp) => (error ? reject(error) : resolve({ client, sftp }))));
    client.connect({ host: '127.0.0.1', port: server.port, username: 'acme-upload', privateKey: readKey() });
  });
}

let keyText = '';
const readKey = () => keyText;

const call = <T>(fn: (cb: (error: Error | null | undefined, value?: T) => void) => void) =>
  new Promise<{ ok: true; value: T } | { ok: false; message: string }>((resolve) =>
    fn((error, value) => resolve(error ? { ok: false, message: error.message } : { ok: true, value: value as T })),
  );

describe('sftp server: symlink swap race', () => {
  it('never reads, lists, stats or writes outside the home while a folder flips to a symlink', async () => {
    keyText = await readFile(key, 'utf8');
    const { client, sftp } = await connect();
    flipper = spawn('/usr/bin/python3', ['-c', FLIPPER, home, outside, join(dir, 'hold')], { stdio: 'ignore' });
    const outcomes = { inside: 0, escaped: 0, refused: 0, missing: 0, other: 0 };
    const count = (result: { ok: true; value: unknown } | { ok: false; message: string }, escaped: boolean) => {
      if (result.ok) outcomes[escaped ? 'escaped' : 'inside']++;
      else if (/Permission denied/.test(result.message)) outcomes.refused++;
      else if (/No such file/.test(result.message)) outcomes.missing++;
      else outcomes.other++;
    };
    try {
      for (let round = 0; round < 150; round++) {
        const read = await call<Buffer>((cb) => sftp.readFile('flip/secret.txt', cb));
        count(read, read.ok && read.value.toString() !== 'inside');
        const listed = await call<ssh2.FileEntry[]>((cb) => sftp.readdir('flip', cb));
        count(listed, listed.ok && listed.value.some((entry) => entry.filename === 'outside-only.txt'));
        const stats = await call<ssh2.Stats>((cb) => sftp.stat('flip/outside-only.txt', cb));
        count(stats, stats.ok);
        const written = await call<void>((cb) => sftp.writeFile(`flip/w${round}.txt`, 'x', cb));
        count(written, false);
      }
    } finally {
      flipper.kill('SIGKILL');
      client.end();
    }
    console.log('race outcomes', outcomes);
    expect(outcomes.escaped).toBe(0);
    // Nothing was written outside, and the outside folder is as it was.
    expect((await readdir(outside)).sort()).toEqual(['outside-only.txt', 'secret.txt']);
    expect(await readFile(join(outside, 'secret.txt'), 'utf8')).toBe('OUTSIDE');
    // The race was real: some requests met the symlink (refused) or the gap (missing).
    expect(outcomes.refused + outcomes.missing).toBeGreaterThan(0);
    expect(existsSync(join(home, 'flip')) || existsSync(join(dir, 'hold'))).toBe(true);
  }, 120_000);
});
