/**
 * The guard around every decryption: whatever the decryptor underneath does (our native path, openpgp.js, a
 * decompressor), the plaintext stream ends, errors or times out.
 *
 * - Stall detector: while the consumer waits for plaintext, the decryptor must either read input or produce output
 *   within `stallMs`. A decryptor that neither reads nor produces — and is not waiting for the input — has stopped
 *   without finishing (openpgp.js's bzip2 on damaged data does exactly that: it never settles): `PGP_CORRUPT`.
 *   A decryptor waiting that long for input that does not come: `PGP_TIMEOUT` (the source stalled).
 * - Deadline: an absolute time (e.g. a Lambda's remaining time minus a margin) after which the stream errors with
 *   `PGP_TIMEOUT`, whether the decryptor or the consumer is the slow one.
 *
 * A stuck decryptor is abandoned, never awaited: its promise may never settle, and awaiting it (even its return())
 * would hang the caller too. The timers are what keep the process alive until the verdict: without them a process
 * whose only pending work is a promise nobody will ever settle simply exits (with status 0).
 */
import { corruptError, timeoutError } from './pgp-errors.js';

/** Default stall window: far above any pause of a healthy decryption, short enough that a stuck job frees its slot. */
export const DEFAULT_STALL_MS = 15_000;

export interface GuardOptions {
  stallMs?: number;
  /** Absolute deadline (ms since the epoch). */
  deadline?: number;
}

/** Counts the decryptor's reads of its input: progress, and whether one is in flight (waiting for the source). */
export class InputWatch implements AsyncIterator<Uint8Array> {
  lastProgress = Date.now();
  reading = false;
  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  async next(): Promise<IteratorResult<Uint8Array>> {
    this.reading = true;
    try {
      const next = await this.source.next();
      this.lastProgress = Date.now();
      return next;
    } finally {
      this.reading = false;
    }
  }

  async return(): Promise<IteratorResult<Uint8Array>> {
    await this.source.return?.();
    return { done: true, value: undefined };
  }
}

export class DecryptGuard {
  private readonly stallMs: number;
  private readonly deadline: number | undefined;
  private lastOutput = Date.now();
  private timer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private pending: ((error: unknown) => void) | undefined;
  /** Set once the guard has given up on the decryptor: it must not be awaited any more. */
  tripped: unknown;

  constructor(
    private readonly watch: InputWatch,
    options: GuardOptions,
    private readonly onDeadline: (error: unknown) => void,
  ) {
    this.stallMs = Math.max(1, options.stallMs ?? DEFAULT_STALL_MS);
    this.deadline = options.deadline;
    if (this.deadline !== undefined) {
      const fire = () => {
        const left = this.deadline! - Date.now();
        if (left > 0) {
          this.deadlineTimer = setTimeout(fire, Math.min(left, 2 ** 30));
          return;
        }
        const error = timeoutError('the deadline for this file passed');
        this.trip(error);
        if (this.pending) this.pending(error);
        else this.onDeadline(error); // the consumer is the slow one: fail the stream from outside
      };
      fire();
    }
  }

  /** Awaits a step of the decryptor, or rejects when the guard trips first. */
  async step<T>(work: Promise<T>): Promise<T> {
    if (this.tripped !== undefined) throw this.tripped;
    this.lastOutput = Date.now(); // time the consumer took does not count as a stall
    const guard = new Promise<never>((_, reject) => {
      this.pending = reject;
    });
    this.arm();
    try {
      return await Promise.race([work, guard]);
    } finally {
      this.pending = undefined;
      this.disarm();
      this.lastOutput = Date.now();
    }
  }

  close(): void {
    this.disarm();
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
  }

  private trip(error: unknown): void {
    if (this.tripped === undefined) this.tripped = error;
  }

  private arm(): void {
    const check = () => {
      this.timer = undefined;
      const quiet = Date.now() - Math.max(this.lastOutput, this.watch.lastProgress);
      if (quiet < this.stallMs) {
        this.timer = setTimeout(check, this.stallMs - quiet);
        return;
      }
      const seconds = Math.round(this.stallMs / 100) / 10;
      const error = this.watch.reading
        ? timeoutError(`no input arrived for ${seconds} s`)
        : corruptError(`the decryption stopped reading its input for ${seconds} s without finishing`);
      this.trip(error);
      this.pending?.(error);
    };
    this.timer = setTimeout(check, this.stallMs);
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
