/**
 * Hashing of a decrypted stream (the SHA-1 of the MDC, the plaintext checksums) that moves to the shared worker
 * thread once a stream is long enough, leaving the main thread to AES, parsing and I/O.
 *
 * Hash state cannot move between threads, so the worker must see every byte from the first: until a stream passes
 * the spawn threshold it is hashed inline and its chunks are kept (by reference: they are never modified, ≤ 4 MiB);
 * at the threshold the kept chunks and everything after go to the worker, and the inline state is dropped. Streams
 * that end before the threshold never touch the worker.
 */
import type { Buffer } from 'node:buffer';
import { createHash, type Hash } from 'node:crypto';
import { BufferPool, cryptoWorker, OffloadPolicy, type Parallelism } from './pgp-worker.js';

/** Bytes copied per message to the worker (pooled buffers: no page faults, no garbage). */
const STAGE_BYTES = 1 << 20;
/** Messages in flight before update() asks its caller to wait. */
const MAX_IN_FLIGHT = 4;
/** Chunks kept for the worker while it starts; beyond this the stream stays inline. */
const MAX_KEPT_BYTES = 64 * 1024 * 1024;

export class StreamHasher<A extends string = string> {
  private inline: [A, Hash][] | undefined;
  private kept: Uint8Array[] | undefined = [];
  private bytes = 0;
  private sid: number | undefined;
  private readonly policy: OffloadPolicy;
  private pool: BufferPool | undefined;
  private staging: Buffer | undefined;
  private filled = 0;
  private inFlight: Promise<void>[] = [];
  private failure: unknown;

  constructor(
    readonly algorithms: readonly A[],
    parallel: Parallelism | undefined,
  ) {
    this.inline = algorithms.map((a) => [a, createHash(a)]);
    // Measured on 2 cores: moving a decryption's hashing to the worker did not pay (the AES left on this thread got
    // slower as plaintext stayed referenced longer). With 4+ cores there is room for it.
    this.policy = new OffloadPolicy(parallel, { minCores: 4 });
    if (this.policy.never) this.kept = undefined;
  }

  /** Hashes `data` (which must not change afterwards). A returned promise asks the caller to wait (back-pressure). */
  update(data: Uint8Array): Promise<void> | undefined {
    if (this.failure !== undefined) throw this.failure;
    if (data.length === 0) return undefined;
    if (this.sid !== undefined) return this.stage(data);
    for (const [, hash] of this.inline!) hash.update(data);
    this.bytes += data.length;
    if (this.kept === undefined) return undefined;
    this.kept.push(data);
    if (this.bytes > MAX_KEPT_BYTES) {
      this.kept = undefined; // the worker never came up: stay inline
      return undefined;
    }
    if (this.policy.shouldOffload(this.bytes)) {
      this.sid = cryptoWorker().openHash(this.algorithms);
      this.pool = new BufferPool(STAGE_BYTES, MAX_IN_FLIGHT + 2);
      this.inline = undefined;
      const kept = this.kept!;
      this.kept = undefined;
      let wait: Promise<void> | undefined;
      for (const chunk of kept) wait = this.stage(chunk) ?? wait;
      return wait;
    }
    return undefined;
  }

  /** Lower-case hex digest per algorithm. */
  async digest(): Promise<Record<A, string>> {
    if (this.sid === undefined) {
      const digests = {} as Record<A, string>;
      for (const [a, hash] of this.inline!) digests[a] = hash.digest('hex');
      this.kept = undefined;
      return digests;
    }
    if (this.filled > 0) this.send();
    await Promise.all(this.inFlight);
    if (this.failure !== undefined) throw this.failure;
    const sid = this.sid;
    this.sid = undefined;
    return (await cryptoWorker().digest(sid)) as Record<A, string>;
  }

  /** Drops the hash state (on errors and early ends). */
  close(): void {
    if (this.sid !== undefined) cryptoWorker().close(this.sid);
    this.sid = undefined;
    this.kept = undefined;
  }

  private stage(data: Uint8Array): Promise<void> | undefined {
    let offset = 0;
    while (offset < data.length) {
      this.staging ??= this.pool!.take();
      const take = Math.min(data.length - offset, STAGE_BYTES - this.filled);
      this.staging.set(data.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
      if (this.filled === STAGE_BYTES) this.send();
    }
    if (this.inFlight.length >= MAX_IN_FLIGHT) {
      const oldest = this.inFlight.shift()!;
      return oldest;
    }
    return undefined;
  }

  private send(): void {
    const buffer = this.staging!;
    const length = this.filled;
    this.staging = undefined;
    this.filled = 0;
    const pending = cryptoWorker()
      .hash(this.sid!, buffer, length)
      .then(
        (back) => this.pool!.give(back),
        (error: unknown) => {
          this.failure ??= error;
        },
      );
    this.inFlight.push(pending);
  }
}
