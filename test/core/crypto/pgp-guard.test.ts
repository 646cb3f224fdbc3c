/**
 * The guard on every decrypt path: damaged compressed messages made by the real gpg end in an error (never hang,
 * never leave a staging file), a stalled source or a passed deadline ends the stream with PGP_TIMEOUT.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DecryptionKeys, decryptStream, readDecryptionKeys } from '../../../src/core/crypto/pgp-stream.js';
import { SftpctlError } from '../../../src/core/errors.js';
import { streamToNewFile } from '../../../src/io/files.js';
import { createGpgHome, expectFailure, type GpgHome, sourceOf } from './pgp-fixtures.js';

let home: GpgHome;
let keys: DecryptionKeys;
let staging: string;
/** Text (compresses like partner CSVs do), big enough for several bzip2 blocks of 900 kB. */
const text = Buffer.from(
  Array.from({ length: 120_000 }, (_, i) => `${i};ACME-${i % 977};${randomBytes(6).toString('hex')};EUR\n`).join(''),
);
const messages: Record<string, Buffer> = {};

beforeAll(async () => {
  home = createGpgHome();
  home.gpg(['--quick-gen-key', 'Guard <guard@example.invalid>', 'future-default', 'default', 'never']);
  keys = await readDecryptionKeys([home.gpg(['--armor', '--export-secret-keys', '<guard@example.invalid>'])]);
  const input = home.file('plain.csv', text);
  for (const algo of ['bzip2', 'zlib', 'zip']) {
    messages[algo] = home.gpg(['-r', '<guard@example.invalid>', '--compress-algo', algo, '-o', '-', '-e', input]);
  }
  staging = mkdtempSync(join(tmpdir(), 'sftpctl-guard-'));
}, 120_000);
afterAll(() => {
  home?.cleanup();
  if (staging) rmSync(staging, { recursive: true, force: true });
});

/** Offsets spread over the message: its first packets, the first compressed block, the middle and the end. */
function offsets(length: number): number[] {
  const fixed = [120, 200, 300, 500, 1000, 5000, 100_000, length >> 1, length - 40, length - 3];
  let seed = 7;
  const spread = Array.from({ length: 6 }, () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return 100 + (seed % (length - 200));
  });
  return [...fixed, ...spread].filter((at) => at < length);
}

/** Where the body of the message's encrypted data packet (after the session key packet) starts. */
function encryptedDataStart(message: Buffer): number {
  let at = 0;
  for (;;) {
    const first = message[at]!;
    const tag = first & 0x40 ? first & 0x3f : (first >> 2) & 0x0f;
    let bodyAt: number;
    let length: number;
    if (first & 0x40) {
      const l0 = message[at + 1]!;
      if (l0 < 192) [bodyAt, length] = [at + 2, l0];
      else if (l0 < 224) [bodyAt, length] = [at + 3, ((l0 - 192) << 8) + message[at + 2]! + 192];
      else if (l0 === 255) [bodyAt, length] = [at + 6, message.readUInt32BE(at + 2)];
      else [bodyAt, length] = [at + 2, 0]; // partial: the body starts here
    } else {
      const size = [1, 2, 4, 0][first & 3]!;
      bodyAt = at + 1 + size;
      length =
        size === 1
          ? message[at + 1]!
          : size === 2
            ? message.readUInt16BE(at + 1)
            : size === 4
              ? message.readUInt32BE(at + 1)
              : 0;
    }
    if (tag === 18) return bodyAt + 1; // after its version byte
    at = bodyAt + length;
  }
}

function damaged(data: Buffer, at: number): Buffer {
  const copy = Buffer.from(data);
  copy[at] = copy[at]! ^ 0x55;
  return copy;
}

describe('damaged compressed messages from gpg', () => {
  it.each(['bzip2', 'zlib', 'zip'])(
    '%s: every damaged offset ends in an error, nothing staged',
    async (algo) => {
      const message = messages[algo]!;
      const codes = new Set<string>();
      for (const at of offsets(message.length)) {
        const out = join(staging, `${algo}-${at}.csv`);
        const { plaintext, verified } = decryptStream(sourceOf(damaged(message, at)), keys, { stallMs: 1500 });
        const error = await streamToNewFile(plaintext, out, { verified }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, `offset ${at} must fail`).toBeInstanceOf(SftpctlError);
        const code = (error as SftpctlError).code;
        expect(
          ['PGP_CORRUPT', 'PGP_INTEGRITY_FAILED', 'PGP_MALFORMED'],
          `offset ${at}: ${(error as Error).message}`,
        ).toContain(code);
        await expect(verified).rejects.toMatchObject({ code });
        codes.add(code);
        expect(await readdir(staging), `offset ${at}: no output, no .partial`).toEqual([]);
      }
      expect(codes.size).toBeGreaterThan(0);
    },
    120_000,
  );

  it.each(['bzip2', 'zlib'])(
    '%s: damage in the first decrypted bytes (packet header, compression algorithm) is damage, not "unsupported" or "truncated"',
    async (algo) => {
      const message = messages[algo]!;
      // The encrypted data begins after the session key packet and its own header; its first 18 decrypted bytes are
      // the random prefix, then come the compressed packet's header and algorithm byte. A flipped ciphertext byte
      // flips the same plaintext byte (CFB): every offset over that stretch hits one of them.
      const start = encryptedDataStart(message);
      for (let at = start + 17; at < start + 26; at++) {
        const { plaintext, verified } = decryptStream(sourceOf(damaged(message, at)), keys, { stallMs: 1500 });
        plaintext.on('error', () => {}); // the verdict is read from `verified`
        plaintext.resume();
        const error = await verified.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect((error as SftpctlError)?.code, `offset ${at}: ${(error as Error)?.message}`).toBe(
          'PGP_INTEGRITY_FAILED',
        );
      }
    },
    60_000,
  );

  it('an undamaged bzip2 message still decrypts under the same guard', async () => {
    const { plaintext, verified } = decryptStream(sourceOf(messages.bzip2!), keys, { stallMs: 1500 });
    const chunks: Buffer[] = [];
    for await (const chunk of plaintext) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(text)).toBe(true);
    expect(await verified).toMatchObject({ compression: 'bzip2' });
  }, 60_000);
});

describe('the decompression limit', () => {
  it.each(['bzip2', 'zlib', 'zip'])(
    '%s: a bomb stops at the limit; the hint names the setting',
    async (algo) => {
      const zeros = home.file('zeros.bin', Buffer.alloc(24 << 20));
      const bomb = home.gpg(['-r', '<guard@example.invalid>', '--compress-algo', algo, '-o', '-', '-e', zeros]);
      expect(bomb.length).toBeLessThan(1 << 20);
      const error = await expectFailure(
        decryptStream(sourceOf(bomb), keys, { maxDecompressedBytes: 4 << 20, limitSetting: 'clients.acme.pgp.limit' }),
        'PGP_DECOMPRESSION_LIMIT',
      );
      expect(error.message).toContain('4 MiB');
      expect(error.hint).toContain('clients.acme.pgp.limit');
    },
    60_000,
  );
});

describe('stalls and deadlines', () => {
  /** Delivers `head`, then never another byte (a network read that hangs). */
  function hangingAfter(head: Buffer): Readable {
    let sent = false;
    return new Readable({
      read() {
        if (!sent) {
          sent = true;
          this.push(head);
        }
      },
    });
  }

  it('a source that stops delivering: PGP_TIMEOUT after the stall window', async () => {
    const message = messages.zlib!;
    const error = await expectFailure(
      decryptStream(hangingAfter(message.subarray(0, 4096)), keys, { stallMs: 300 }),
      'PGP_TIMEOUT',
    );
    expect(error.message).toMatch(/no input arrived/);
  });

  it('a passed deadline stops a decryption waiting for its source', async () => {
    const message = messages.zlib!;
    await expectFailure(
      decryptStream(hangingAfter(message.subarray(0, 4096)), keys, { deadline: Date.now() + 300 }),
      'PGP_TIMEOUT',
    );
  });

  it('a passed deadline fails the stream even when the consumer is the slow one', async () => {
    const { plaintext, verified } = decryptStream(sourceOf(messages.zip!), keys, {
      deadline: new Date(Date.now() + 300),
    });
    // Read one chunk, then stop reading (a staging write that hangs).
    const first = await new Promise<unknown>((resolve) => plaintext.once('data', resolve));
    expect(first).toBeInstanceOf(Buffer);
    plaintext.pause();
    const error = await new Promise<unknown>((resolve) => plaintext.once('error', resolve));
    expect(error).toMatchObject({ code: 'PGP_TIMEOUT' });
    await expect(verified).rejects.toMatchObject({ code: 'PGP_TIMEOUT' });
  });

  it('a deadline far away changes nothing', async () => {
    const { plaintext, verified } = decryptStream(sourceOf(messages.zlib!), keys, { deadline: Date.now() + 3_600_000 });
    const chunks: Buffer[] = [];
    for await (const chunk of plaintext) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(text)).toBe(true);
    await verified;
  });
});
