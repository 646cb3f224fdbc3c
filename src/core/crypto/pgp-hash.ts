/**
 * Hashing of a decrypted stream (the SHA-1 of the MDC, the plaintext checksums) that moves to the shared worker
 * thread once a stream is long enough, leaving the main thread to AES, parsing and I/O.
 *
 * Hash state cannot move between threads, so the worker must see every byte from the first: until a stream passes
 * the spawn threshold it is hashed inline and its chunks are kept (by reference: they are never modified); at the
 * threshold the kept chunks and everything after go to the worker, and the inline state is dropped. Streams that
 * end before the threshold never touch the worker.
 *
 * Bytes reach the worker through a ring of slots in one SharedArrayBuffer, shared once per stream: a copy into a
 * slot (from cache: ~0.03 ms/MiB) and a message of two numbers. Moving buffers by transfer instead creates two
 * ArrayBuffer objects per message, which V8 counts as fresh external memory: measured, that alone added a third
 * more full garbage collections to a decryption.
 */
import { Buffer } from 'node:buffer';
import { createHash, type Hash } from 'node:crypto';
import { cryptoWorker, OffloadPolicy, type Parallelism, SPAWN_AFTER_BYTES } from './pgp-worker.js';

/** Bytes per ring slot (one message to the worker). */
const STAGE_BYTES = 1 << 20;
/** Ring slots: messages in flight before update() asks its caller to wait. */
const RING_SLOTS = 4;
const EMPTY = new Uint8Array(0);
/** Chunks kept for the worker while it starts; beyond this the stream stays inline. */
const MAX_KEPT_BYTES = 64 * 1024 * 1024;
/** Bytes hashed inline past the spawn threshold while the worker starts, before update() waits for it. */
const KEEP_WHILE_STARTING = 8 * 1024 * 1024;

export class StreamHasher<A extends string = string> {
  private inline: [A, Hash][] | undefined;
  private kept: Uint8Array[] | undefined = [];
  private bytes = 0;
  private sid: number | undefined;
  private readonly policy: OffloadPolicy;
  private ring: Buffer | undefined;
  /** Slot being filled, and bytes in it so far. */
  private slot = 0;
  private filled = 0;
  /** Slots sent and not yet hashed (the worker answers in order, so they are always the ones before `slot`). */
  private inFlight = 0;
  /** The reply to the last slot sent: once it is in, every slot is. */
  private lastSent: Promise<void> | undefined;
  /** Bytes waiting for a free slot (by reference), oldest first. */
  private readonly queue: Uint8Array[] = [];
  private waiters: (() => void)[] = [];
  private failure: unknown;

  /**
   * `minCores`: the fewest cores at which 'auto' moves the hashing to the worker. A decryption's SHA-1 MDC moves on
   * 2 (it is ~40 % of a decryption's main-thread work; measured in docs/pgp.md); plaintext checksums, which come on
   * top of it, on 4.
   */
  constructor(
    readonly algorithms: readonly A[],
    parallel: Parallelism | undefined,
    { minCores = 4 }: { minCores?: number } = {},
  ) {
    this.inline = algorithms.map((a) => [a, createHash(a)]);
    this.policy = new OffloadPolicy(parallel, { minCores });
    if (this.policy.never) this.kept = undefined;
  }

  /** Starts the worker now, for a stream known to pass the spawn threshold: it is up by the time it is due. */
  prestart(): void {
    if (!this.policy.never) cryptoWorker();
  }

  /**
   * Hashes `data` (which must not change afterwards: it may be read later). A returned promise asks the caller to
   * wait before the next update (back-pressure).
   */
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
    if (!this.policy.shouldOffload(this.bytes)) {
      // The worker is starting (~25 ms): hash inline meanwhile, but hold at most KEEP_WHILE_STARTING for it, then
      // wait for it — the kept chunks would otherwise cost tens of MB of memory at full speed.
      if (this.bytes >= SPAWN_AFTER_BYTES + KEEP_WHILE_STARTING) {
        return cryptoWorker()
          .whenStarted()
          .then((up) => {
            if (!up) this.kept = undefined; // no worker: stay inline
          });
      }
      return undefined;
    }
    // Hand over: the worker hashes everything from the first byte (the kept chunks are copied to it), this
    // thread's hash state is dropped.
    this.ring = Buffer.from(new SharedArrayBuffer(STAGE_BYTES * RING_SLOTS));
    this.sid = cryptoWorker().openHash(this.algorithms, this.ring.buffer as SharedArrayBuffer);
    this.inline = undefined;
    const kept = this.kept;
    this.kept = undefined;
    this.queue.push(...kept);
    return this.stage(EMPTY);
  }

  /** Lower-case hex digest per algorithm. */
  async digest(): Promise<Record<A, string>> {
    if (this.sid === undefined) {
      const digests = {} as Record<A, string>;
      for (const [a, hash] of this.inline!) digests[a] = hash.digest('hex');
      this.kept = undefined;
      return digests;
    }
    while (this.queue.length > 0 && this.failure === undefined) await this.stage(EMPTY);
    if (this.filled > 0 && this.failure === undefined) this.send();
    await this.lastSent;
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
    this.queue.length = 0;
    this.release();
  }

  /** Queues `data` for the ring and copies what fits; a promise while bytes wait or every slot is in flight. */
  private stage(data: Uint8Array): Promise<void> | undefined {
    if (data.length > 0) this.queue.push(data);
    this.pump();
    if ((this.queue.length === 0 && this.inFlight < RING_SLOTS) || this.failure !== undefined) return undefined;
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  /** Copies queued bytes into free slots, sending each full slot. */
  private pump(): void {
    while (this.queue.length > 0 && this.sid !== undefined && this.failure === undefined) {
      if (this.filled === 0 && this.inFlight >= RING_SLOTS) return; // the slot to fill is still being hashed
      const data = this.queue[0]!;
      const take = Math.min(data.length, STAGE_BYTES - this.filled);
      this.ring!.set(take === data.length ? data : data.subarray(0, take), this.slot * STAGE_BYTES + this.filled);
      this.filled += take;
      if (take === data.length) this.queue.shift();
      else this.queue[0] = data.subarray(take);
      if (this.filled === STAGE_BYTES) this.send();
    }
    if (this.queue.length === 0 && this.inFlight < RING_SLOTS) this.release();
  }

  private release(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  private send(): void {
    this.inFlight++;
    this.lastSent = cryptoWorker()
      .hashShared(this.sid!, this.slot * STAGE_BYTES, this.filled)
      .then(
        () => {
          this.inFlight--;
          this.pump();
        },
        (error: unknown) => {
          this.inFlight--;
          this.failure ??= error;
          this.release();
        },
      );
    this.slot = (this.slot + 1) % RING_SLOTS;
    this.filled = 0;
  }
}
