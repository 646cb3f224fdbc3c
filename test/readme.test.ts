import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';

/**
 * The README as a newcomer meets it, on a fresh copy of the repository: its two first commands, the local demo and
 * the Quickstart, each line run as written (bash, no terminal), in the order written.
 */
const run = promisify(execFile);
const README = await readFile(join(ROOT, 'README.md'), 'utf8');

/** The bash blocks of the README, in order, each as its command lines (comments and blank lines dropped). */
function bashBlocks(markdown: string): string[][] {
  return [...markdown.matchAll(/```bash\n([\s\S]*?)```/g)].map((match) =>
    (match[1] ?? '')
      .split('\n')
      .map((line) => line.replace(/\s+#\s.*$/, '').trim())
      .filter((line) => line !== '' && !line.startsWith('#')),
  );
}

const [firstCommands = [], demo = [], quickstart = []] = bashBlocks(README);
let clone: string;
let home: string;

function bash(line: string, options: { timeout?: number } = {}) {
  return run('bash', ['-euo', 'pipefail', '-c', line], {
    cwd: clone,
    env: { ...process.env, HOME: home, GNUPGHOME: join(home, '.gnupg'), NO_COLOR: '1', CI: 'true' },
    timeout: options.timeout ?? 180_000,
    maxBuffer: 32 * 1024 * 1024,
  });
}

beforeAll(async () => {
  // A fresh clone holds what git tracks (and what a commit would add): copy exactly that, nothing built or installed.
  clone = await mkdtemp(join(tmpdir(), 'sftpctl-readme-'));
  home = join(clone, '.home');
  await mkdir(join(home, '.gnupg'), { recursive: true, mode: 0o700 });
  const { stdout } = await run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    maxBuffer: 64 * 1024 * 1024,
  });
  for (const file of stdout.split('\0').filter(Boolean)) {
    await mkdir(dirname(join(clone, file)), { recursive: true });
    await copyFile(join(ROOT, file), join(clone, file)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error; // deleted in the work tree, not yet committed
    });
  }
}, 120_000);

afterAll(async () => {
  if (clone) await rm(clone, { recursive: true, force: true });
});

describe('the README, as a newcomer runs it on a fresh clone', () => {
  it('opens with the two commands: the local platform and the tests', () => {
    expect(firstCommands).toEqual(['npm ci && npm start', 'npm test']);
  });

  it('npm ci && npm start: the platform comes up, and the demo decrypts an upload into raw', async () => {
    if (await portInUse(2222)) throw new Error('port 2222 is taken on this machine: stop what listens there first');
    const platform = spawn('bash', ['-c', firstCommands[0] as string], {
      cwd: clone,
      env: { ...process.env, HOME: home, NO_COLOR: '1', CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    try {
      await readyLine(platform);
      const [encrypt0, encrypt1, upload, show] = demo;
      expect(demo).toHaveLength(4);
      await bash(encrypt0 as string);
      await bash(encrypt1 as string);
      await bash(upload as string, { timeout: 60_000 });
      // The pipeline decrypts asynchronously: look again, as a person would, until the file is there.
      let shown = '';
      for (let attempt = 0; attempt < 300 && shown === ''; attempt++) {
        shown = await bash(show as string).then(
          (result) => result.stdout,
          () => new Promise<string>((resolve) => setTimeout(() => resolve(''), 200)),
        );
      }
      expect(shown).toBe('hello partner\n');
    } finally {
      await stop(platform);
    }
  }, 240_000);

  it('the Quickstart runs top to bottom as written, and its private keys stay out of git', async () => {
    expect(quickstart[0]).toBe('npm ci && npm run build');
    for (const line of quickstart) {
      const result = await bash(line).catch((error: { code?: number; stderr?: string; stdout?: string }) => {
        throw new Error(`README Quickstart line failed (exit ${error.code}): ${line}\n${error.stderr}${error.stdout}`);
      });
      expect(result.stderr).not.toMatch(/internal error|a bug in sftpctl/);
    }
    const config = await readFile(join(clone, 'sftpctl.yaml'), 'utf8');
    expect(config).toMatch(/name: acme-bank/);
    const { stdout: staged } = await run('git', ['-c', 'init.defaultBranch=main', 'init', '-q'], { cwd: clone }).then(
      () => run('git', ['add', '-A', '--dry-run'], { cwd: clone, maxBuffer: 64 * 1024 * 1024 }),
    );
    expect(staged).toMatch(/keys\/acme-upload\.pub/);
    expect(staged).not.toMatch(/keys\/acme-upload'|keys\/acme-download'|\.key\.asc|\.sftpctl\//);
  }, 300_000);

  it('npm test runs the suite (one file of it here: the whole suite is what CI runs)', async () => {
    const { stdout } = await bash(`${firstCommands[1]} -- test/core/faults.test.ts`);
    expect(stdout).toMatch(/Test Files\s+1 passed/);
  }, 180_000);
});

function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Waits for local up's `ready` event (one JSON line per event without a terminal); fails on an early exit. */
function readyLine(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk;
      if (/"event":"ready"/.test(output)) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`npm start exited (${code}) before it was ready:\n${output}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(-child.pid, 'SIGINT');
  const timer = setTimeout(() => child.pid && process.kill(-child.pid, 'SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}
