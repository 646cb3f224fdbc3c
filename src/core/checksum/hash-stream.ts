/**
 * Streaming digests over node:crypto: one pass over the bytes, any number of algorithms, constant memory.
 *
 * - {@link hashStream} consumes a source (Node Readable, web ReadableStream, any async iterable of bytes).
 * - {@link createDigestTap} is a pass-through Node `Transform` for the middle of a pipeline: it hashes each chunk
 *   and hands the very same chunk on (no copy), so egress can hash plaintext while it encrypts it.
 * - {@link createDigestTransformStream} is the same for web streams (openpgp.js speaks web streams).
 * - {@link createMultiHasher} is the primitive under all three, for code that already has the chunks in hand.
 *
 * Throughput: Node's SHA-256 reaches ~1.6 GB/s here with 1 MiB reads and ~0.9–1 GB/s with the 64 KiB default;
 * read files with `highWaterMark: HASH_READ_CHUNK_BYTES`.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { TransformStream } from 'node:stream/web';
import { SftpctlError } from '../errors.js';
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm, unknownAlgorithmError } from './algorithms.js';

/** Read size that lets hashing run at full speed (measured: 64 KiB ≈ 0.9–1 GB/s, 1 MiB ≈ 1.6 GB/s for SHA-256). */
export const HASH_READ_CHUNK_BYTES = 1024 * 1024;

export interface DigestResult<A extends ChecksumAlgorithm = ChecksumAlgorithm> {
  /** Bytes hashed. */
  bytes: number;
  /** Lower-case hex digest per requested algorithm. */
  digests: Record<A, string>;
}

/** Hashes chunks with several algorithms at once. `digest()` may be called once the data is complete. */
export interface MultiHasher<A extends ChecksumAlgorithm = ChecksumAlgorithm> {
  readonly algorithms: readonly A[];
  /** Bytes seen so far. */
  readonly bytes: number;
  update(chunk: Uint8Array): void;
  /** Finishes every hash. Further calls return the same result; `update` after it throws. */
  digest(): DigestResult<A>;
}

function checkAlgorithms<A extends ChecksumAlgorithm>(algorithms: readonly A[]): A[] {
  const unique = [...new Set(algorithms)];
  for (const a of unique) {
    // Guards callers that pass user input cast to the type.
    if (!CHECKSUM_ALGORITHMS.includes(a)) throw unknownAlgorithmError(String(a));
  }
  return unique;
}

function internal(code: string, message: string): SftpctlError {
  return new SftpctlError(code, message, undefined, { kind: 'internal' });
}

export function createMultiHasher<A extends ChecksumAlgorithm>(algorithms: readonly A[]): MultiHasher<A> {
  const algos = checkAlgorithms(algorithms);
  const hashes: [A, Hash][] = algos.map((a) => [a, createHash(a)]);
  let bytes = 0;
  let result: DigestResult<A> | undefined;
  return {
    algorithms: algos,
    get bytes() {
      return bytes;
    },
    update(chunk: Uint8Array): void {
      if (result !== undefined)
        throw internal('CHECKSUM_HASHER_FINISHED', 'Data was hashed after the digest was taken.');
      if (typeof chunk === 'string') {
        // A Readable with setEncoding() yields strings: hashing their UTF-8 would not be the file's digest.
        throw internal('CHECKSUM_TEXT_CHUNK', 'A text chunk reached the hasher; checksums need the raw bytes.');
      }
      for (const [, h] of hashes) h.update(chunk);
      bytes += chunk.byteLength;
    },
    digest(): DigestResult<A> {
      if (result === undefined) {
        const digests = {} as Record<A, string>;
        for (const [a, h] of hashes) digests[a] = h.digest('hex');
        result = { bytes, digests };
      }
      return result;
    },
  };
}

export interface HashStreamOptions {
  /** Called after each chunk with the bytes hashed so far (progress display). */
  onProgress?: (bytes: number) => void;
}

/**
 * Hashes everything `source` yields. Memory stays constant: each chunk is hashed and dropped.
 * An error from the source rejects the promise; a failure here destroys a Node stream source.
 */
export async function hashStream<A extends ChecksumAlgorithm>(
  source: AsyncIterable<Uint8Array> | NodeJS.ReadableStream,
  algorithms: readonly A[],
  options: HashStreamOptions = {},
): Promise<DigestResult<A>> {
  const hasher = createMultiHasher(algorithms);
  for await (const chunk of source as AsyncIterable<Uint8Array | string>) {
    hasher.update(chunk as Uint8Array);
    options.onProgress?.(hasher.bytes);
  }
  return hasher.digest();
}

/** A pass-through Node stream that hashes what flows through it. */
export class DigestTap<A extends ChecksumAlgorithm = ChecksumAlgorithm> extends Transform {
  /** Settles when the stream ends (resolves) or is destroyed before its end (rejects). Never unhandled. */
  readonly result: Promise<DigestResult<A>>;
  private readonly hasher: MultiHasher<A>;
  private settle!: { resolve: (r: DigestResult<A>) => void; reject: (e: unknown) => void };
  private finished: DigestResult<A> | undefined;

  constructor(algorithms: readonly A[]) {
    super();
    this.hasher = createMultiHasher(algorithms);
    this.result = new Promise<DigestResult<A>>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // Whoever awaits `result` still sees the rejection; nobody awaiting it must not crash the process.
    this.result.catch(() => {});
  }

  /** Bytes hashed so far. */
  get bytesHashed(): number {
    return this.hasher.bytes;
  }

  /** The result once the stream has ended; undefined before. */
  get digest(): DigestResult<A> | undefined {
    return this.finished;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.hasher.update(chunk);
    } catch (error) {
      callback(error as Error);
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.finished = this.hasher.digest();
    this.settle.resolve(this.finished);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.finished === undefined) {
      this.settle.reject(
        error ?? internal('CHECKSUM_STREAM_ABORTED', 'The stream was closed before its end; no checksum was computed.'),
      );
    }
    callback(error);
  }
}

/** A pass-through Node `Transform` that hashes the bytes flowing through it without copying them. */
export function createDigestTap<A extends ChecksumAlgorithm>(algorithms: readonly A[]): DigestTap<A> {
  return new DigestTap(algorithms);
}

/**
 * The web-streams twin of {@link createDigestTap}: put `stream` in a `pipeThrough` chain; `result` resolves when
 * the data ends and rejects when the chain is cancelled or aborted.
 */
export function createDigestTransformStream<A extends ChecksumAlgorithm>(
  algorithms: readonly A[],
): { stream: TransformStream<Uint8Array, Uint8Array>; result: Promise<DigestResult<A>> } {
  const hasher = createMultiHasher(algorithms);
  let settle!: { resolve: (r: DigestResult<A>) => void; reject: (e: unknown) => void };
  const result = new Promise<DigestResult<A>>((resolve, reject) => {
    settle = { resolve, reject };
  });
  result.catch(() => {});
  const transformer = {
    transform(chunk: Uint8Array, controller: { enqueue(chunk: Uint8Array): void }) {
      hasher.update(chunk);
      controller.enqueue(chunk);
    },
    flush() {
      settle.resolve(hasher.digest());
    },
    // Not in @types/node 20's Transformer yet, but Node 20 calls it on cancel/abort.
    cancel(reason: unknown) {
      settle.reject(reason ?? internal('CHECKSUM_STREAM_ABORTED', 'The stream was cancelled before its end.'));
    },
  };
  return { stream: new TransformStream<Uint8Array, Uint8Array>(transformer), result };
}
