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
import { Buffer } from 'node:buffer';
import { type Cipher, createCipheriv, getCiphers } from 'node:crypto';
import { type BufferPool, cryptoWorker, exclusiveBuffer, OffloadPolicy, type Parallelism } from './pgp-worker.js';
import { xorJs } from './pgp-xor.js';

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

/** 128-bit block ciphers node:crypto (OpenSSL 3) has in ECB: the native CFB decryption runs them all. */
export type Block16Algorithm = AesAlgorithm | 'camellia128' | 'camellia192' | 'camellia256';

export const BLOCK16_KEY_BYTES: Record<Block16Algorithm, number> = {
  ...AES_KEY_BYTES,
  camellia128: 16,
  camellia192: 24,
  camellia256: 32,
};

/** The native decryption's cipher for an OpenPGP id, when this Node's OpenSSL has it (Camellia may be absent). */
export function block16FromId(id: number): Block16Algorithm | undefined {
  const name = SYMMETRIC_IDS[id];
  if (name === undefined || !(name in BLOCK16_KEY_BYTES)) return undefined;
  const algorithm = name as Block16Algorithm;
  return getCiphers().includes(cipherName(algorithm, 'ecb')) ? algorithm : undefined;
}

const BLOCK = 16;

function cipherName(algorithm: Block16Algorithm, mode: 'cfb' | 'ecb'): string {
  const family = algorithm.startsWith('camellia') ? 'camellia' : 'aes';
  return `${family}-${BLOCK16_KEY_BYTES[algorithm] * 8}-${mode}`;
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
    private readonly algorithm: Block16Algorithm,
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

  /** True once the AES runs on the worker (results come back as promises: keep a few chunks in flight). */
  get offloaded(): boolean {
    return this.sid !== undefined;
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

/**
 * dst[i] ^= src[srcOffset + i] for i < n. Large runs go through WebAssembly SIMD (128-bit XOR, ~35 GB/s): both
 * operands are copied into its memory and the result copied back, ~0.1 ms/MiB in all against ~0.22 ms/MiB for the
 * 64-bit XOR in JS (BigInt64Array, which V8 compiles well; Int32 runs at half that). Small runs, and runtimes without
 * WebAssembly SIMD, use the JS loop.
 */
export function xorInPlace(dst: Buffer, src: Buffer, srcOffset: number, n: number): void {
  const simd = n >= WASM_MIN_BYTES ? wasmXor() : undefined;
  if (simd === undefined) {
    xorJs(dst, src, srcOffset, n);
    return;
  }
  for (let done = 0; done < n; done += WASM_PIECE) {
    const take = Math.min(WASM_PIECE, n - done);
    dst.copy(simd.a, 0, done, done + take);
    src.copy(simd.b, 0, srcOffset + done, srcOffset + done + take);
    simd.xor(0, WASM_PIECE + WASM_SLACK, take);
    simd.a.copy(dst, done, 0, take);
  }
}

const WASM_MIN_BYTES = 16 * 1024;
/** Bytes per WebAssembly call; its memory holds two such regions. */
const WASM_PIECE = 1 << 20;
/** The loop works in 64-byte steps and may read and write up to 63 bytes past n: room for that after each region. */
const WASM_SLACK = 64;

interface SimdXor {
  /** Views of the two regions of its memory: a ^= b. */
  a: Buffer;
  b: Buffer;
  xor: (dst: number, src: number, n: number) => void;
}

/** The part of the WebAssembly API used here (the lib settings of this project do not declare it). */
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => { exports: Record<string, unknown> };
}

let simdXor: SimdXor | null | undefined;

/** The WebAssembly XOR, compiled on first use (~2 MiB of memory); undefined where it is unavailable. */
function wasmXor(): SimdXor | undefined {
  if (simdXor === undefined) {
    try {
      const pages = Math.ceil((2 * (WASM_PIECE + WASM_SLACK)) / 65_536);
      const api = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
      const instance = new api.Instance(new api.Module(xorModule(pages)));
      const memory = instance.exports.mem as { buffer: ArrayBuffer };
      simdXor = {
        a: Buffer.from(memory.buffer, 0, WASM_PIECE),
        b: Buffer.from(memory.buffer, WASM_PIECE + WASM_SLACK, WASM_PIECE),
        xor: instance.exports.xor as SimdXor['xor'],
      };
    } catch {
      simdXor = null;
    }
  }
  return simdXor ?? undefined;
}

/**
 * A WebAssembly module, assembled here (no build step, no binary blob), equivalent to:
 *
 *   (module
 *     (memory (export "mem") <pages>)
 *     (func (export "xor") (param $d i32) (param $s i32) (param $n i32) (local $end i32)
 *       (local.set $end (i32.add (local.get $d) (local.get $n)))
 *       (block (loop
 *         (br_if 1 (i32.ge_u (local.get $d) (local.get $end)))
 *         ;; four times, offsets 0, 16, 32, 48:
 *         (v128.store offset=k (local.get $d)
 *           (v128.xor (v128.load offset=k (local.get $d)) (v128.load offset=k (local.get $s))))
 *         (local.set $d (i32.add (local.get $d) (i32.const 64)))
 *         (local.set $s (i32.add (local.get $s) (i32.const 64)))
 *         (br 0)))))
 */
export function xorModule(pages: number): Uint8Array {
  const uleb = (value: number): number[] => {
    const out: number[] = [];
    let rest = value;
    do {
      let byte = rest & 0x7f;
      rest >>>= 7;
      if (rest !== 0) byte |= 0x80;
      out.push(byte);
    } while (rest !== 0);
    return out;
  };
  const section = (id: number, bytes: number[]) => [id, ...uleb(bytes.length), ...bytes];
  const name = (text: string) => [...uleb(text.length), ...Buffer.from(text, 'latin1')];
  const [d, s, n, end] = [0, 1, 2, 3];
  const get = (local: number) => [0x20, local];
  const set = (local: number) => [0x21, local];
  const load = (offset: number) => [0xfd, 0x00, 0x04, ...uleb(offset)]; // v128.load align=16
  const store = (offset: number) => [0xfd, 0x0b, 0x04, ...uleb(offset)]; // v128.store align=16
  const add64 = (local: number) => [...get(local), 0x41, 0xc0, 0x00, 0x6a, ...set(local)]; // += 64 (i32.const 64)
  const body = [...get(d), ...get(n), 0x6a, ...set(end), 0x02, 0x40, 0x03, 0x40];
  body.push(...get(d), ...get(end), 0x4f, 0x0d, 0x01); // i32.ge_u, br_if 1
  for (let offset = 0; offset < 64; offset += 16) {
    body.push(...get(d), ...get(d), ...load(offset), ...get(s), ...load(offset), 0xfd, 0x51, ...store(offset)); // v128.xor
  }
  body.push(...add64(d), ...add64(s), 0x0c, 0x00, 0x0b, 0x0b, 0x0b); // br 0, end loop, end block, end func
  const func = [0x01, 0x01, 0x7f, ...body]; // one local: i32
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // \0asm, version 1
    ...section(1, [0x01, 0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x00]), // type: (i32, i32, i32) -> ()
    ...section(3, [0x01, 0x00]), // function 0 has type 0
    ...section(5, [0x01, 0x00, ...uleb(pages)]), // one memory, min pages
    ...section(7, [0x02, ...name('mem'), 0x02, 0x00, ...name('xor'), 0x00, 0x00]), // exports
    ...section(10, [0x01, ...uleb(func.length), ...func]), // code
  ]);
}
