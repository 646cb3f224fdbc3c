/**
 * Shared by the PGP stream tests: a throwaway GnuPG home with real gpg keys, openpgp.js keys, and helpers that feed
 * our streams and collect what they produce (including whether the stream ended or errored).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { expect } from 'vitest';
import { SftpctlError } from '../../../src/core/errors.js';

export interface GpgHome {
  dir: string;
  gpg(args: string[], input?: Buffer | string, passphrase?: string): Buffer;
  /** Like gpg() but returns status and stderr instead of throwing. */
  tryGpg(args: string[], input?: Buffer | string): { status: number | null; stdout: Buffer; stderr: string };
  fingerprint(uid: string): string;
  file(name: string, data?: Buffer | string): string;
  cleanup(): void;
}

export function createGpgHome(): GpgHome {
  const dir = mkdtempSync(join(tmpdir(), 'sftpctl-pgp-test-'));
  const home = join(dir, 'gnupg');
  execFileSync('mkdir', ['-m', '700', home]);
  const base = (passphrase: string) => [
    '--batch',
    '--no-tty',
    '--homedir',
    home,
    '--pinentry-mode',
    'loopback',
    '--passphrase',
    passphrase,
    '--trust-model',
    'always',
  ];
  const self: GpgHome = {
    dir,
    gpg(args, input, passphrase = '') {
      return execFileSync('gpg', [...base(passphrase), ...args], {
        input,
        stdio: ['pipe', 'pipe', 'pipe'],
        maxBuffer: 512 * 1024 * 1024,
      });
    },
    tryGpg(args, input) {
      const result = spawnSync('gpg', [...base(''), ...args], { input, maxBuffer: 512 * 1024 * 1024 });
      return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString() };
    },
    fingerprint(uid) {
      const out = self.gpg(['--with-colons', '--list-keys', uid]).toString();
      return /^fpr:+([0-9A-F]{40}):/m.exec(out)![1]!;
    },
    file(name, data) {
      const path = join(dir, name);
      if (data !== undefined) writeFileSync(path, data);
      return path;
    },
    cleanup() {
      spawnSync('gpgconf', ['--homedir', home, '--kill', 'all']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return self;
}

/** Feeds `data` in pieces of `pieceSize` (odd sizes exercise every boundary case of the parsers). */
export function sourceOf(data: Buffer, pieceSize = 65_521): Readable {
  const pieces: Buffer[] = [];
  for (let i = 0; i < data.length; i += pieceSize) pieces.push(data.subarray(i, i + pieceSize));
  return Readable.from(pieces, { objectMode: false });
}

export interface Consumed {
  data: Buffer;
  /** 'end' was emitted: the stream finished cleanly. */
  ended: boolean;
  error?: unknown;
}

/** Reads a stream to its end or its error, recording whether 'end' ever fired. */
export async function consume(stream: Readable): Promise<Consumed> {
  const chunks: Buffer[] = [];
  let ended = false;
  stream.on('end', () => {
    ended = true;
  });
  try {
    for await (const chunk of stream) chunks.push(chunk as Buffer);
  } catch (error) {
    return { data: Buffer.concat(chunks), ended, error };
  }
  return { data: Buffer.concat(chunks), ended };
}

/** Asserts the failure contract: the stream errored with `code`, never ended, and `verified` rejected alike. */
export async function expectFailure(
  result: { plaintext: Readable; verified: Promise<unknown> },
  codes: string | string[],
): Promise<SftpctlError> {
  const consumed = await consume(result.plaintext);
  const allowed = Array.isArray(codes) ? codes : [codes];
  expect(consumed.ended, 'the plaintext stream must not end cleanly').toBe(false);
  expect(consumed.error, 'the plaintext stream must error').toBeInstanceOf(SftpctlError);
  const error = consumed.error as SftpctlError;
  expect(allowed, `${error.code}: ${error.message}`).toContain(error.code);
  await expect(result.verified).rejects.toMatchObject({ code: error.code });
  return error;
}

export function randomData(size: number): Buffer {
  return randomBytes(size);
}
