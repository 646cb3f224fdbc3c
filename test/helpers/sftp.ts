import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ISOLATED_SSH_OPTIONS } from '../../bench/openssh-client.mjs';
import { parseSshPublicKey, type SshPublicKey } from '../../src/core/crypto/ssh-public-key.js';

const run = promisify(execFile);

/** Generates an SSH key pair with ssh-keygen; returns the private key path. */
export async function keygen(dir: string, name: string, type: 'ed25519' | 'rsa' = 'ed25519'): Promise<string> {
  const path = join(dir, name);
  await run('ssh-keygen', [
    '-q',
    '-t',
    type,
    ...(type === 'rsa' ? ['-b', '2048'] : []),
    '-N',
    '',
    '-C',
    name,
    '-f',
    path,
  ]);
  return path;
}

export async function publicKey(privateKeyPath: string): Promise<SshPublicKey> {
  const parsed = parseSshPublicKey(await readFile(`${privateKeyPath}.pub`, 'utf8'));
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.key;
}

export interface SftpRun {
  port: number;
  user: string;
  key: string;
  /** Batch commands; a leading "-" lets the batch go on when that command fails. */
  commands: string[];
  cwd: string;
  bind?: string;
  options?: string[];
  timeoutMs?: number;
}

export interface SftpResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The argv of OpenSSH's `sftp` in batch mode, isolated from the user's own ssh config, agent and known hosts. */
export function sftpArgs(spec: Omit<SftpRun, 'commands' | 'cwd'>, batch: string): string[] {
  return [
    '-b',
    batch,
    '-F',
    '/dev/null',
    '-i',
    spec.key,
    ...ISOLATED_SSH_OPTIONS,
    '-o',
    'LogLevel=ERROR',
    '-o',
    'ConnectTimeout=10',
    '-o',
    `BindAddress=${spec.bind ?? '127.0.0.2'}`,
    ...(spec.options ?? []),
    '-P',
    String(spec.port),
    `${spec.user}@127.0.0.1`,
  ];
}

let batchCounter = 0;

export async function runSftp(spec: SftpRun): Promise<SftpResult> {
  const batch = join(spec.cwd, `.batch-${process.pid}-${batchCounter++}`);
  await writeFile(batch, `${spec.commands.join('\n')}\n`);
  return new Promise((resolve, reject) => {
    const child = spawn('sftp', sftpArgs(spec, batch), { cwd: spec.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), spec.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** An sftp client that reads its commands from stdin: it stays connected until stdin ends or it is killed. */
export function spawnInteractiveSftp(spec: Omit<SftpRun, 'commands'>): ChildProcess {
  return spawn('sftp', sftpArgs(spec, '-'), { cwd: spec.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

export type LogEvent = { event: string; [key: string]: unknown };

/** Collects the server's structured events and waits for them. */
export class EventLog {
  readonly events: LogEvent[] = [];
  private waiters: { test: (event: LogEvent) => boolean; resolve: (event: LogEvent) => void }[] = [];

  readonly log = (event: LogEvent): void => {
    this.events.push(event);
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.test(event)) return true;
      waiter.resolve(event);
      return false;
    });
  };

  of(name: string, match: Record<string, unknown> = {}): LogEvent[] {
    return this.events.filter((event) => matches(event, name, match));
  }

  /** Resolves with the first event (already logged or still to come) named `name` whose fields match. */
  waitFor(name: string, match: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<LogEvent> {
    const test = (event: LogEvent) => matches(event, name, match);
    const found = this.events.find(test);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no "${name}" event matching ${JSON.stringify(match)} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiters.push({
        test,
        resolve: (event) => {
          clearTimeout(timer);
          resolve(event);
        },
      });
    });
  }
}

/** `match` values are compared with ===, or tested when they are regular expressions. */
function matches(event: LogEvent, name: string, match: Record<string, unknown>): boolean {
  return (
    event.event === name &&
    Object.entries(match).every(([key, value]) =>
      value instanceof RegExp ? value.test(String(event[key])) : event[key] === value,
    )
  );
}
