/**
 * One shared worker thread for the serial part of an OpenPGP stream, so that on a machine with spare cores the main
 * thread hashes, parses and does I/O while the worker runs next to it.
 *
 * - Encryption: AES-CFB is inherently serial (~600 MB/s on one core here) — it goes to the worker, SHA-1 and the
 *   plaintext checksums stay on the main thread. Cipher state moves between threads (the last ciphertext block), so
 *   a stream starts inline and hands over once it has passed {@link SPAWN_AFTER_BYTES} and the worker is up (~25 ms):
 *   small files never pay for it.
 * - Decryption: the SHA-1 of the MDC goes to the worker on 2+ cores (through shared memory, see pgp-hash.ts), the
 *   AES-ECB + XOR stays on the main thread; the plaintext checksums follow on 4+ cores. The worker path for a
 *   decryption's AES exists for `parallel: true` (tests, big hosts).
 *
 * Encryption buffers move by transfer, not copy, and come back for reuse; hashing reads a SharedArrayBuffer ring.
 * The worker's source is inline (eval) so that bundling cannot lose it. The worker is unref'd while idle: it never
 * keeps a process alive.
 */
import { Buffer } from 'node:buffer';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { xorJs } from './pgp-xor.js';

const WORKER_SOURCE = `
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { createCipheriv, createHash } = require('node:crypto');
const sessions = new Map();
Atomics.store(new Int32Array(workerData.state), 0, 1); // up: seen by the main thread without an event-loop turn
parentPort.postMessage({ ready: true });

const xorInPlace = ${xorJs.toString()};

function exclusive(buf) {
  if (buf.byteOffset === 0 && buf.buffer.byteLength === buf.length) return buf;
  const copy = Buffer.from(new ArrayBuffer(buf.length));
  buf.copy(copy);
  return copy;
}

// The input buffer goes back too, so that the main thread can reuse it instead of allocating (and faulting in) a
// fresh megabyte per chunk.
function reply(id, out, input) {
  const ex = exclusive(out);
  parentPort.postMessage({ id, buffer: ex.buffer, length: ex.length, input }, [ex.buffer, input]);
}

parentPort.on('message', (m) => {
  try {
    if (m.op === 'open') {
      const cipher = createCipheriv(m.name, Buffer.from(m.key), m.iv ? Buffer.from(m.iv) : null);
      if (m.mode === 'ecb') cipher.setAutoPadding(false);
      sessions.set(m.sid, cipher);
      return;
    }
    if (m.op === 'hash-open') {
      const hashes = m.algorithms.map((a) => [a, createHash(a)]);
      if (m.ring) hashes.ring = Buffer.from(m.ring);
      sessions.set(m.sid, hashes);
      return;
    }
    if (m.op === 'close') {
      sessions.delete(m.sid);
      return;
    }
    const cipher = sessions.get(m.sid);
    if (!cipher) throw new Error('unknown session ' + m.sid);
    if (m.op === 'hash-shared') {
      const data = cipher.ring.subarray(m.offset, m.offset + m.length);
      for (const [, h] of cipher) h.update(data);
      parentPort.postMessage({ id: m.id });
    } else if (m.op === 'hash') {
      const data = Buffer.from(m.buffer, 0, m.length);
      for (const [, h] of cipher) h.update(data);
      parentPort.postMessage({ id: m.id, input: m.buffer }, [m.buffer]);
    } else if (m.op === 'hash-digest') {
      const digests = {};
      for (const [a, h] of cipher) digests[a] = h.digest('hex');
      sessions.delete(m.sid);
      parentPort.postMessage({ id: m.id, digests });
    } else if (m.op === 'cfb') {
      reply(m.id, cipher.update(Buffer.from(m.buffer, m.offset, m.length)), m.buffer);
    } else if (m.op === 'cfb-decrypt-work') {
      const work = Buffer.from(m.buffer);
      const n = m.length;
      const blocks = Math.ceil(n / 16) * 16;
      const plain = cipher.update(work.subarray(0, blocks));
      xorInPlace(plain, work, 16, n);
      reply(m.id, plain.subarray(0, n), m.buffer);
    }
  } catch (error) {
    parentPort.postMessage({ id: m.id, error: String(error && error.message || error) });
  }
});
`;

interface Reply {
  id: number;
  /** Cipher output. */
  buffer?: ArrayBuffer;
  length?: number;
  /** The input buffer, transferred back for reuse. */
  input?: ArrayBuffer;
  digests?: Record<string, string>;
  error?: string;
  ready?: true;
}

interface Pending {
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
}

export interface WorkerResult {
  output: Buffer;
  /** The input buffer, transferred back for reuse. */
  input: Buffer;
}

class CryptoWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private nextSession = 1;
  private failure: Error | undefined;
  /** Set to 1 by the worker once it runs: shared memory, so readable while this thread is busy (no event loop). */
  private readonly state = new Int32Array(new SharedArrayBuffer(4));

  /**
   * True once the thread has started (~25 ms after creation); streams hand over only then. Read from shared memory:
   * a stream whose data is already in memory may run for long without an event-loop turn that would deliver the
   * worker's first message.
   */
  get ready(): boolean {
    return Atomics.load(this.state, 0) === 1;
  }

  private started: Promise<boolean> | undefined;
  private onStarted: ((up: boolean) => void) | undefined;

  /** Resolves true once the thread runs, false if it failed to start; keeps the process alive meanwhile. */
  whenStarted(): Promise<boolean> {
    if (this.ready) return Promise.resolve(true);
    if (this.failure) return Promise.resolve(false);
    if (this.started === undefined) {
      this.started = new Promise<boolean>((resolve) => {
        this.onStarted = resolve;
      });
      this.worker.ref();
    }
    return this.started;
  }

  private settleStarted(up: boolean): void {
    const resolve = this.onStarted;
    if (resolve === undefined) return;
    this.onStarted = undefined;
    if (this.pending.size === 0) this.worker.unref();
    resolve(up);
  }

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      name: 'sftpctl-pgp-crypto',
      workerData: { state: this.state.buffer },
    });
    this.worker.on('message', (m: Reply) => {
      if (m.ready) {
        this.settleStarted(true);
        return;
      }
      const pending = this.pending.get(m.id);
      if (!pending) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      if (m.error !== undefined) pending.reject(new Error(`crypto worker: ${m.error}`));
      else pending.resolve(m);
    });
    const fail = (error: Error) => {
      this.failure = error;
      this.settleStarted(false);
      if (shared === this) shared = undefined;
      for (const pending of this.pending.values()) pending.reject(error);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => fail(new Error(`crypto worker exited (code ${code})`)));
    // After the listeners: adding a 'message' listener refs the worker again, and an idle worker must never keep the
    // process alive (a stream that spawned it but finished before it was up would otherwise hang the CLI on exit).
    this.worker.unref();
  }

  open(mode: 'cfb' | 'ecb', name: string, key: Uint8Array, iv: Uint8Array | null): number {
    const sid = this.nextSession++;
    this.worker.postMessage({ op: 'open', sid, mode, name, key, iv });
    return sid;
  }

  /** A hash session; `ring`: memory shared with it once, for {@link hashShared}. */
  openHash(algorithms: readonly string[], ring?: SharedArrayBuffer): number {
    const sid = this.nextSession++;
    this.worker.postMessage({ op: 'hash-open', sid, algorithms, ring });
    return sid;
  }

  /** Hashes bytes [offset, offset + length) of the session's shared ring; resolves once they may be overwritten. */
  hashShared(sid: number, offset: number, length: number): Promise<void> {
    return this.request({ op: 'hash-shared', sid, offset, length }, []).then(() => undefined);
  }

  /** Hashes `length` bytes of `buffer` (transferred; it comes back in the reply for reuse). */
  hash(sid: number, buffer: Buffer, length: number): Promise<Buffer> {
    return this.request({ op: 'hash', sid, buffer: buffer.buffer as ArrayBuffer, length }, [
      buffer.buffer as ArrayBuffer,
    ]).then((reply) => Buffer.from(reply.input!));
  }

  digest(sid: number): Promise<Record<string, string>> {
    return this.request({ op: 'hash-digest', sid }, []).then((reply) => reply.digests ?? {});
  }

  close(sid: number): void {
    if (this.failure === undefined) this.worker.postMessage({ op: 'close', sid });
  }

  /** Sends `buffer`'s whole ArrayBuffer (it must be exclusively ours; it is detached afterwards). */
  call(op: 'cfb' | 'cfb-decrypt-work', sid: number, buffer: Buffer, length: number): Promise<WorkerResult> {
    const arrayBuffer = buffer.buffer as ArrayBuffer;
    return this.request({ op, sid, buffer: arrayBuffer, offset: buffer.byteOffset, length }, [arrayBuffer]).then(
      (reply) => {
        if (reply.buffer === undefined || reply.input === undefined) throw new Error('crypto worker: empty reply');
        return { output: Buffer.from(reply.buffer, 0, reply.length), input: Buffer.from(reply.input) };
      },
    );
  }

  private request(message: Record<string, unknown>, transfer: ArrayBuffer[]): Promise<Reply> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const promise = new Promise<Reply>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    if (this.pending.size === 1) this.worker.ref(); // a reply is due: keep the process alive for it
    this.worker.postMessage({ ...message, id }, transfer);
    return promise;
  }
}

let shared: CryptoWorker | undefined;

export function cryptoWorker(): CryptoWorker {
  shared ??= new CryptoWorker();
  return shared;
}

/**
 * 'auto' (default): use the worker where it was measured to pay on this many cores (see {@link OffloadPolicy}), once
 * a stream has passed {@link SPAWN_AFTER_BYTES}; tiny files never start it. true: from the first byte (tests, big
 * hosts). false: never (e.g. a 1-vCPU Lambda, where it cannot help).
 */
export type Parallelism = boolean | 'auto';

/** Streams below this never start the worker. */
export const SPAWN_AFTER_BYTES = 4 * 1024 * 1024;

/** Decides, chunk by chunk, whether a stream should now use the worker. */
export class OffloadPolicy {
  /** This stream never uses the worker (parallel: false, or too few cores for 'auto'). */
  readonly never: boolean;
  private readonly spawnAfter: number;

  /**
   * `minCores`: the fewest cores at which 'auto' offloads (the callers say why they chose theirs: on 2 cores only
   * an encryption's serial CFB gains from the worker).
   */
  constructor(
    private readonly parallel: Parallelism | undefined,
    { minCores = 2 }: { minCores?: number } = {},
  ) {
    this.never = parallel === false || (parallel !== true && availableParallelism() < minCores);
    this.spawnAfter = parallel === true ? 0 : SPAWN_AFTER_BYTES;
  }

  /** `processed`: bytes this stream has handled so far. Starts the worker when due; true once it should be used. */
  shouldOffload(processed: number): boolean {
    if (this.never || processed < this.spawnAfter) return false;
    const worker = cryptoWorker();
    return this.parallel === true || worker.ready;
  }
}

/** A fresh Buffer over its own ArrayBuffer (transferable, 8-byte aligned). */
export function exclusiveBuffer(size: number): Buffer {
  return Buffer.from(new ArrayBuffer(size));
}

/**
 * Reuses exclusive buffers of one size. Allocating a fresh megabyte per chunk costs page faults and garbage
 * collections that showed up as a fifth of the main thread's time in the profile.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];
  constructor(
    readonly size: number,
    private readonly max = 8,
  ) {}
  take(): Buffer {
    return this.free.pop() ?? exclusiveBuffer(this.size);
  }
  give(buffer: Buffer): void {
    if (buffer.byteOffset === 0 && buffer.buffer.byteLength === this.size && this.free.length < this.max) {
      this.free.push(Buffer.from(buffer.buffer, 0, this.size));
    }
  }
}
