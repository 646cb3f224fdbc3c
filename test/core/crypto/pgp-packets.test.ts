/**
 * The pieces under the PGP stream module, checked against references: CFB-via-ECB against OpenSSL's CFB (inline and
 * on the worker thread), packet framing against our own parser, armor against round trips and CRC-24 test vectors.
 */
import { spawnSync } from 'node:child_process';
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ArmorEncoder, Crc24, dearmor } from '../../../src/core/crypto/pgp-armor.js';
import {
  type AesAlgorithm,
  BlockAccumulator,
  CfbDecryptEngine,
  CfbEncryptEngine,
  CiphertextBlocks,
  xorInPlace,
} from '../../../src/core/crypto/pgp-cfb.js';
import { StreamHasher } from '../../../src/core/crypto/pgp-hash.js';
import { ByteReader, PartialPacketWriter, packetBody, readPacketHeader } from '../../../src/core/crypto/pgp-packets.js';
import { BufferPool, cryptoWorker, SPAWN_AFTER_BYTES } from '../../../src/core/crypto/pgp-worker.js';
import { xorJs } from '../../../src/core/crypto/pgp-xor.js';

async function* pieces(data: Buffer, sizes: number[]): AsyncGenerator<Buffer> {
  let offset = 0;
  for (let i = 0; offset < data.length; i++) {
    const size = Math.max(1, sizes[i % sizes.length]!);
    yield data.subarray(offset, offset + size);
    offset += size;
  }
}

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of source) parts.push(part);
  return Buffer.concat(parts);
}

/** Whether the last engine ended up on the worker thread. */
const offloaded = { encrypt: false, decrypt: false };
const ALGORITHMS: AesAlgorithm[] = ['aes128', 'aes192', 'aes256'];
const KEY_BYTES = { aes128: 16, aes192: 24, aes256: 32 };

async function ourDecrypt(
  algorithm: AesAlgorithm,
  key: Buffer,
  ciphertext: Buffer,
  sizes: number[],
  parallel: boolean,
  chunk: number,
) {
  const pool = new BufferPool(16 + chunk);
  const engine = new CfbDecryptEngine(algorithm, key, pool, parallel);
  const blocks = new CiphertextBlocks(pool);
  const works: { work: Buffer; length: number }[] = [];
  const out: (Buffer | Promise<Buffer>)[] = [];
  for await (const piece of pieces(ciphertext, sizes)) {
    blocks.push(piece, works);
    for (const { work, length } of works) out.push(engine.decrypt(work, length));
    works.length = 0;
  }
  blocks.finish(works);
  for (const { work, length } of works) out.push(engine.decrypt(work, length));
  const plain = Buffer.concat(await Promise.all(out));
  offloaded.decrypt = (engine as unknown as { sid?: number }).sid !== undefined;
  engine.close();
  return plain;
}

async function ourEncrypt(algorithm: AesAlgorithm, key: Buffer, plaintext: Buffer, parallel: boolean, chunk: number) {
  const pool = new BufferPool(chunk);
  const engine = new CfbEncryptEngine(algorithm, key, pool, parallel);
  const acc = new BlockAccumulator(pool);
  const full: Buffer[] = [];
  const out: (Buffer | Promise<Buffer>)[] = [];
  acc.push(plaintext, full);
  for (const c of full) out.push(engine.encrypt(c));
  const last = acc.finish();
  if (last) out.push(engine.encrypt(last));
  const ciphertext = Buffer.concat(await Promise.all(out));
  offloaded.encrypt = (engine as unknown as { sid?: number }).sid !== undefined;
  engine.close();
  return ciphertext;
}

describe('AES-CFB', () => {
  it('decrypting via ECB + XOR equals OpenSSL CFB, for any chunking, inline and on the worker', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ALGORITHMS),
        fc.integer({ min: 0, max: 5000 }),
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 5 }),
        fc.boolean(),
        async (algorithm, size, sizes, parallel) => {
          const key = randomBytes(KEY_BYTES[algorithm]);
          const plaintext = randomBytes(size);
          const reference = createCipheriv(`aes-${KEY_BYTES[algorithm] * 8}-cfb`, key, Buffer.alloc(16));
          const ciphertext = Buffer.concat([reference.update(plaintext), reference.final()]);
          expect((await ourDecrypt(algorithm, key, ciphertext, sizes, parallel, 256)).equals(plaintext)).toBe(true);
          const encrypted = await ourEncrypt(algorithm, key, plaintext, parallel, 256);
          expect(encrypted.equals(ciphertext)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('the WebAssembly XOR equals the JS one for any length and alignment (1 MiB pieces included)', () => {
    for (const n of [0, 1, 16_383, 16_384, 16_385, 100_003, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 77]) {
      for (const [dstOffset, srcOffset] of [
        [0, 0],
        [0, 16],
        [3, 5],
        [8, 1],
      ] as const) {
        const dst = randomBytes(n + dstOffset).subarray(dstOffset);
        const src = randomBytes(n + srcOffset + 40);
        const expected = Buffer.from(dst);
        for (let i = 0; i < n; i++) expected[i]! ^= src[srcOffset + i]!;
        const viaJs = Buffer.from(dst);
        xorJs(viaJs, src, srcOffset, n);
        xorInPlace(dst, src, srcOffset, n);
        expect(dst.equals(expected), `n ${n} offsets ${dstOffset}/${srcOffset}`).toBe(true);
        expect(viaJs.equals(expected), `js n ${n}`).toBe(true);
      }
    }
  });

  it('hands a running stream over to the worker without a seam', async () => {
    const key = randomBytes(32);
    const plaintext = randomBytes(9 * 1024 * 1024 + 5);
    const reference = createDecipheriv('aes-256-cfb', key, Buffer.alloc(16));
    const cipher = createCipheriv('aes-256-cfb', key, Buffer.alloc(16));
    const ciphertext = cipher.update(plaintext);
    expect(reference.update(ciphertext).equals(plaintext)).toBe(true);
    // 'auto' starts inline and moves to the worker after a few MiB, once the worker is up: start it first, so that
    // the hand-over happens exactly at SPAWN_AFTER_BYTES, mid-stream.
    expect(plaintext.length).toBeGreaterThan(SPAWN_AFTER_BYTES * 2);
    const worker = cryptoWorker();
    for (let i = 0; i < 200 && !worker.ready; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(worker.ready).toBe(true);
    const encrypted = await ourEncrypt('aes256', key, plaintext, 'auto' as never, 1 << 20);
    expect(encrypted.equals(ciphertext)).toBe(true);
    const decrypted = await ourDecrypt('aes256', key, ciphertext, [65_536 + 3], 'auto' as never, 1 << 20);
    expect(decrypted.equals(plaintext)).toBe(true);
    // 'auto' never moves a decryption's AES (measured: it is cheaper inline); parallel: true does.
    expect(offloaded).toEqual({ encrypt: true, decrypt: false });
  });

  it('moves hashing to the worker mid-stream without changing a digest', async () => {
    const worker = cryptoWorker();
    for (let i = 0; i < 200 && !worker.ready; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    for (const [parallel, minCores] of [
      [true, 4],
      ['auto', 4],
      ['auto', 2],
      [false, 2],
    ] as const) {
      // More than the ring holds (4 MiB) in flight at once when handing over, and slots reused many times after.
      const data = randomBytes(SPAWN_AFTER_BYTES * 6 + 12_345);
      const hasher = new StreamHasher(['sha1', 'sha256'], parallel, { minCores });
      for await (const piece of pieces(data, [65_536 + 7, 333_333, 3 << 20])) await hasher.update(piece);
      const onWorker = (hasher as unknown as { sid?: number }).sid !== undefined;
      expect(onWorker, `parallel ${parallel}, minCores ${minCores}`).toBe(
        parallel === true || (parallel === 'auto' && availableParallelism() >= minCores),
      );
      expect(await hasher.digest()).toEqual({
        sha1: createHash('sha1').update(data).digest('hex'),
        sha256: createHash('sha256').update(data).digest('hex'),
      });
    }
  });
});

describe('worker thread', () => {
  it('never keeps a process alive: one that started the worker but did not use it exits at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sftpctl-pgp-worker-'));
    try {
      const { build } = await import('esbuild');
      await build({
        entryPoints: [join(import.meta.dirname, '../../../src/core/crypto/pgp-worker.ts')],
        outfile: join(dir, 'worker.mjs'),
        bundle: true,
        format: 'esm',
        platform: 'node',
        logLevel: 'silent',
      });
      // Started and up, never used (a stream that finished before the worker was ready) — then used and idle again.
      const scripts = {
        'unused.mjs': `
          import { cryptoWorker } from './worker.mjs';
          const worker = cryptoWorker();
          while (!worker.ready) await new Promise((resolve) => setTimeout(resolve, 5));
          console.log('ready');
        `,
        'used.mjs': `
          import { cryptoWorker } from './worker.mjs';
          const worker = cryptoWorker();
          const sid = worker.openHash(['sha256']);
          const buffer = Buffer.from(new ArrayBuffer(4));
          buffer.write('abc\\n');
          await worker.hash(sid, buffer, 4);
          console.log((await worker.digest(sid)).sha256);
        `,
      };
      const started = Date.now();
      for (const [name, script] of Object.entries(scripts)) {
        writeFileSync(join(dir, name), script);
        const result = spawnSync(process.execPath, [join(dir, name)], { encoding: 'utf8', timeout: 10_000 });
        expect(result.status, `${name} must exit by itself: ${result.stderr}`).toBe(0);
        expect(result.stdout.trim()).toBe(
          name === 'used.mjs' ? createHash('sha256').update('abc\n').digest('hex') : 'ready',
        );
      }
      expect(Date.now() - started).toBeLessThan(8_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a stream that outruns the worker start waits for it, hands over, and the process still exits', async () => {
    // In a fresh process the worker takes ~25 ms to start: a stream hashing from memory passes the spawn threshold
    // plus what it may keep for the worker long before that, so update() must ask it to wait, then hand over.
    const dir = mkdtempSync(join(tmpdir(), 'sftpctl-pgp-hash-'));
    try {
      const { build } = await import('esbuild');
      await build({
        entryPoints: [join(import.meta.dirname, '../../../src/core/crypto/pgp-hash.ts')],
        outfile: join(dir, 'hash.mjs'),
        bundle: true,
        format: 'esm',
        platform: 'node',
        logLevel: 'silent',
      });
      writeFileSync(
        join(dir, 'stream.mjs'),
        `
        import { createHash, randomBytes } from 'node:crypto';
        import { StreamHasher } from './hash.mjs';
        const data = randomBytes(40 << 20);
        const hasher = new StreamHasher(['sha1'], 'auto', { minCores: 1 });
        let waits = 0;
        for (let offset = 0; offset < data.length; offset += 1 << 20) {
          const wait = hasher.update(data.subarray(offset, offset + (1 << 20)));
          if (wait) { waits++; await wait; }
        }
        const onWorker = hasher.sid !== undefined;
        const { sha1 } = await hasher.digest();
        console.log(JSON.stringify({ same: sha1 === createHash('sha1').update(data).digest('hex'), onWorker, waited: waits > 0 }));
      `,
      );
      const result = spawnSync(process.execPath, [join(dir, 'stream.mjs')], { encoding: 'utf8', timeout: 20_000 });
      expect(result.status, `must exit by itself: ${result.stderr}`).toBe(0);
      expect(JSON.parse(result.stdout.trim())).toEqual({ same: true, onWorker: true, waited: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('packet framing', () => {
  it('partial body lengths round-trip through the parser for any size and chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 20_000 }),
        fc.integer({ min: 9, max: 12 }),
        fc.array(fc.integer({ min: 1, max: 3000 }), { minLength: 1, maxLength: 4 }),
        async (size, bits, sizes) => {
          const body = randomBytes(size);
          const writer = new PartialPacketWriter(11, bits);
          const out: Buffer[] = [];
          for await (const piece of pieces(body, sizes)) writer.push(piece, out);
          writer.finish(out);
          const framed = Buffer.concat(out);
          const reader = new ByteReader(pieces(framed, [...sizes].reverse()));
          const header = await readPacketHeader(reader, () => new Error('bad') as never);
          expect(header?.tag).toBe(11);
          expect((await collect(packetBody(reader, header!, 'test'))).equals(body)).toBe(true);
          expect(await reader.atEof()).toBe(true);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('a truncated body is PGP_TRUNCATED', async () => {
    const writer = new PartialPacketWriter(11, 9);
    const framed = Buffer.concat([...writer.push(randomBytes(2000)), ...writer.finish()]);
    const reader = new ByteReader(pieces(framed.subarray(0, 1500), [100]));
    const header = await readPacketHeader(reader, () => new Error('bad') as never);
    await expect(collect(packetBody(reader, header!, 'literal data packet'))).rejects.toMatchObject({
      code: 'PGP_TRUNCATED',
    });
  });
});

describe('armor', () => {
  it('computes the RFC 4880 CRC-24 ("123456789" → 0x21CF02)', () => {
    const crc = new Crc24();
    crc.update(Buffer.from('123456789'));
    expect(crc.digest().toString('hex')).toBe('21cf02');
  });

  it('round-trips any data in any chunking', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 3000 }),
        fc.array(fc.integer({ min: 1, max: 500 }), { minLength: 1, maxLength: 4 }),
        async (bytes, sizes) => {
          const data = Buffer.from(bytes);
          const encoder = new ArmorEncoder();
          const parts: Buffer[] = [];
          for await (const piece of pieces(data, sizes)) parts.push(encoder.push(piece));
          parts.push(encoder.finish());
          const text = Buffer.concat(parts);
          expect(
            text
              .toString('latin1')
              .split('\n')
              .every((line) => line.length <= 64),
          ).toBe(true);
          expect((await collect(dearmor(pieces(text, sizes)))).equals(data)).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });
});
