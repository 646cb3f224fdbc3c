/**
 * AES-CFB as OpenPGP SEIPDv1 uses it (RFC 9580 §5.13.1: plain CFB-128, all-zero IV, no resync), on node:crypto.
 *
 * Encryption is inherently serial (each block needs the previous ciphertext) and uses OpenSSL's `aes-*-cfb` as is.
 * Decryption is not: plaintext block i = ciphertext block i XOR AES(ciphertext block i-1), and every ciphertext block
 * is known up front. So the keystream of a whole 1 MiB buffer is one AES-ECB call over "previous block + all blocks
 * but the last" (pipelined AES-NI: ~3× OpenSSL's block-at-a-time CFB here), followed by a 64-bit XOR in JS
 * (~5 GB/s). Identical output; see docs/pgp.md for the figures.
 *
 * Both engines can hand the cipher to the shared worker thread (pgp-worker.ts) mid-stream; results always come back
 * in order.
 */
import type { Buffer } from 'node:buffer';
import { type Cipher, createCipheriv } from 'node:crypto';
import { type BufferPool, cryptoWorker, exclusiveBuffer, OffloadPolicy, type Parallelism } from './pgp-worker.js';

export type AesAlgorithm = 'aes128' | 'aes192' | 'aes256';

export const AES_KEY_BYTES: Record<AesAlgorithm, number> = { aes128: 16, aes192: 24, aes256: 32 };

/** OpenPGP symmetric algorithm ids (RFC 9580 §9.3). */
export const SYMMETRIC_IDS: Record<number, string> = {
  1: 'idea',
  2: 'tripledes',
  3: 'cast5',
  4: 'blowfish',
  7: 'aes128',
  8: 'aes192',
  9: 'aes256',
  10: 'twofish',
  11: 'camellia128',
  12: 'camellia192',
  13: 'camellia256',
};

export const AES_IDS: Record<AesAlgorithm, number> = { aes128: 7, aes192: 8, aes256: 9 };

export function aesFromId(id: number): AesAlgorithm | undefined {
  const name = SYMMETRIC_IDS[id];
  return name === 'aes128' || name === 'aes192' || name === 'aes256' ? name : undefined;
}

const BLOCK = 16;

function cipherName(algorithm: AesAlgorithm, mode: 'cfb' | 'ecb'): string {
  return `aes-${AES_KEY_BYTES[algorithm] * 8}-${mode}`;
}

/** A result now (inline) or later (worker); consume in order. */
export type Pending = Buffer | Promise<Buffer>;

/**
 * Cuts a byte stream into pooled, exclusively owned buffers of exactly `pool.size` bytes (the last may be shorter),
 * ready to be transferred to the worker.
 */
export class BlockAccumulator {
  private current: Buffer;
  private filled = 0;
  constructor(private readonly pool: BufferPool) {
    this.current = pool.take();
  }
  push(data: Uint8Array, out: Buffer[]): void {
    const size = this.pool.size;
    let offset = 0;
    while (offset < data.length) {
      const take = Math.min(data.length - offset, size - this.filled);
      this.current.set(data.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
      if (this.filled === size) {
        out.push(this.current);
        this.current = this.pool.take();
        this.filled = 0;
      }
    }
  }
  finish(): Buffer | undefined {
    return this.filled > 0 ? this.current.subarray(0, this.filled) : undefined;
  }
}

/** CFB encryption of chunks in order (each a multiple of 16 bytes except the last), inline or in the worker. */
export class CfbEncryptEngine {
  private readonly inline: Cipher;
  private readonly policy: OffloadPolicy;
  private processed = 0;
  /** The last 16 ciphertext bytes so far (all zero before the first: the IV). */
  private readonly lastBlock = exclusiveBuffer(BLOCK);
  private sid: number | undefined;

  constructor(
    private readonly algorithm: AesAlgorithm,
    private readonly key: Uint8Array,
    private readonly pool: BufferPool,
    parallel?: Parallelism,
  ) {
    this.inline = createCipheriv(cipherName(algorithm, 'cfb'), key, exclusiveBuffer(BLOCK));
    this.policy = new OffloadPolicy(parallel);
  }

  /** `chunk` must come from the pool: it goes back there (possibly via the worker) once encrypted. */
  encrypt(chunk: Buffer): Pending {
    if (this.sid === undefined && this.processed % BLOCK === 0 && this.policy.shouldOffload(this.processed)) {
      // Hand over at a block boundary: CFB continues with the last ciphertext block as its IV.
      this.sid = cryptoWorker().open('cfb', cipherName(this.algorithm, 'cfb'), this.key, this.lastBlock);
    }
    this.processed += chunk.length;
    if (this.sid !== undefined) {
      const pending = cryptoWorker()
        .call('cfb', this.sid, chunk, chunk.length)
        .then(({ output, input }) => {
          this.pool.give(input);
          return output;
        });
      pending.catch(() => {});
      return pending;
    }
    const out = this.inline.update(chunk);
    this.pool.give(chunk);
    if (out.length >= BLOCK) out.copy(this.lastBlock, 0, out.length - BLOCK);
    else if (out.length > 0) {
      this.lastBlock.copyWithin(0, out.length);
      out.copy(this.lastBlock, BLOCK - out.length);
    }
    return out;
  }

  close(): void {
    if (this.sid !== undefined) cryptoWorker().close(this.sid);
    this.sid = undefined;
  }
}

/**
 * Assembles ciphertext into work buffers laid out as [previous ciphertext block | up to `size` bytes of ciphertext],
 * each an exclusive ArrayBuffer (8-byte aligned, transferable) that decrypts on its own.
 */
export class CiphertextBlocks {
  private work: Buffer;
  private filled = 0;
  constructor(private readonly pool: BufferPool) {
    if ((pool.size - BLOCK) % BLOCK !== 0) throw new RangeError('the pool size must be 16 + a multiple of 16');
    this.work = pool.take();
    this.work.fill(0, 0, BLOCK); // the first "previous block" is the all-zero IV
  }
  push(ciphertext: Uint8Array, out: { work: Buffer; length: number }[]): void {
    const size = this.pool.size - BLOCK;
    let offset = 0;
    while (offset < ciphertext.length) {
      const take = Math.min(ciphertext.length - offset, size - this.filled);
      this.work.set(ciphertext.subarray(offset, offset + take), BLOCK + this.filled);
      this.filled += take;
      offset += take;
      if (this.filled === size) {
        const next = this.pool.take();
        this.work.copy(next, 0, size, size + BLOCK);
        out.push({ work: this.work, length: size });
        this.work = next;
        this.filled = 0;
      }
    }
  }
  finish(out: { work: Buffer; length: number }[]): void {
    if (this.filled > 0) out.push({ work: this.work, length: this.filled });
    this.filled = 0;
  }
}

/** CFB decryption of work buffers (stateless: each carries its previous block), inline or in the worker. */
export class CfbDecryptEngine {
  private readonly ecb: Cipher;
  private readonly policy: OffloadPolicy;
  private processed = 0;
  private sid: number | undefined;

  constructor(
    private readonly algorithm: AesAlgorithm,
    private readonly key: Uint8Array,
    private readonly pool: BufferPool,
    parallel?: Parallelism,
  ) {
    this.ecb = createCipheriv(cipherName(algorithm, 'ecb'), key, null);
    this.ecb.setAutoPadding(false);
    // Measured on 2 cores: a decryption's AES is cheaper inline (ECB output lands in recycled memory there, and the
    // I/O threads need the second core), so 'auto' never moves it; parallel: true still does (tests, big hosts).
    this.policy = new OffloadPolicy(parallel, { minCores: Number.POSITIVE_INFINITY });
  }

  /** Plaintext of one work buffer (from the pool; it goes back there once used). */
  decrypt(work: Buffer, length: number): Pending {
    if (this.sid === undefined && this.policy.shouldOffload(this.processed)) {
      this.sid = cryptoWorker().open('ecb', cipherName(this.algorithm, 'ecb'), this.key, null);
    }
    this.processed += length;
    if (this.sid !== undefined) {
      const pending = cryptoWorker()
        .call('cfb-decrypt-work', this.sid, work, length)
        .then(({ output, input }) => {
          this.pool.give(input);
          return output;
        });
      pending.catch(() => {});
      return pending;
    }
    const blocks = Math.ceil(length / BLOCK) * BLOCK;
    const plain = this.ecb.update(work.subarray(0, blocks)); // AES(C[i-1]) for every block
    xorInPlace(plain, work, BLOCK, length);
    this.pool.give(work);
    return plain.subarray(0, length);
  }

  close(): void {
    if (this.sid !== undefined) cryptoWorker().close(this.sid);
    this.sid = undefined;
  }
}

/** dst[i] ^= src[srcOffset + i] for i < n; 64 bits at a time when both are 8-byte aligned (V8 compiles it well). */
export function xorInPlace(dst: Buffer, src: Buffer, srcOffset: number, n: number): void {
  const dOff = dst.byteOffset;
  const sOff = src.byteOffset + srcOffset;
  let i = 0;
  if (dOff % 8 === 0 && sOff % 8 === 0) {
    const words = n >>> 3;
    const d = new BigInt64Array(dst.buffer, dOff, words);
    const s = new BigInt64Array(src.buffer, sOff, words);
    for (let w = 0; w < words; w++) d[w]! ^= s[w]!;
    i = words << 3;
  }
  for (; i < n; i++) dst[i]! ^= src[srcOffset + i]!;
}
