import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isSftpctlError } from '../core/errors.js';
import { faultOf, isOutOfSpace, type PipelineFault } from '../core/pipeline/faults.js';

export interface Job {
  client: string;
  kind: 'ingest' | 'egress';
  key: string;
}

interface Entry {
  job: Job;
  attempt: number;
}

/**
 * The local stand-in for SQS + Lambda: runs jobs with bounded concurrency, and acts on the pipeline's fault classes
 * as the AWS path does. A transient failure (full disk, I/O error, key store unreadable) is retried with exponential
 * backoff until it succeeds — no record, no dead letter; a full disk pauses the whole queue (one job probes) and
 * resumes when space frees, with `paused`/`resumed` events. A permanent failure was quarantined by the pipeline and is
 * never retried; one the pipeline could not quarantine (an egress refused) goes to the dead-letter folder. No failure
 * (not even of the dead-letter write) escapes: the process never crashes for a job.
 *
 * The same key is never processed twice at once; an event for a key already waiting is merged, one for a key running
 * runs it once more afterwards (it may be a new version).
 */
export class JobQueue {
  private readonly waiting: Entry[] = [];
  private readonly running = new Map<string, { again: boolean }>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly backingOff = new Set<string>();
  private active = 0;
  private idleWaiters: (() => void)[] = [];
  private stopped = false;
  private paused = false;

  constructor(
    private readonly options: {
      run: (job: Job) => Promise<unknown>;
      concurrency: number;
      /** First retry delay of a transient failure; doubles each time up to `maxRetryDelayMs`. */
      retryDelayMs: number;
      maxRetryDelayMs?: number;
      deadLetterDir: string;
      log: (event: { event: string; [key: string]: unknown }) => void;
    },
  ) {}

  push(job: Job): void {
    if (this.stopped) return;
    const jobId = id(job);
    const running = this.running.get(jobId);
    if (running) {
      running.again = true;
      return;
    }
    if (this.backingOff.has(jobId) || this.waiting.some((entry) => id(entry.job) === jobId)) return;
    this.waiting.push({ job, attempt: 1 });
    this.pump();
  }

  /** True while a full disk holds processing. */
  get isPaused(): boolean {
    return this.paused;
  }

  /** Jobs waiting, running or backing off. */
  get size(): number {
    return this.waiting.length + this.active + this.backingOff.size;
  }

  /** Resolves when nothing is waiting, running or backing off. */
  idle(): Promise<void> {
    if (this.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops taking jobs and waits up to `graceMs` for the running ones. Jobs waiting or backing off stay undone, like
   * messages left in SQS: their uploads carry no tag, so the next start (or sweep) processes them. Running jobs past
   * the grace are abandoned: they publish nothing half-done (staging is cleaned at the next start).
   */
  async stop(graceMs = 5000): Promise<{ left: number; abandoned: number }> {
    this.stopped = true;
    const left = this.waiting.length + this.backingOff.size;
    this.waiting.length = 0;
    this.backingOff.clear();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.notifyIdle();
    if (this.active > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.idle(),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, graceMs);
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
    }
    return { left, abandoned: this.active };
  }

  private pump(): void {
    while (!this.stopped && !this.paused && this.active < this.options.concurrency) {
      const index = this.waiting.findIndex(({ job }) => !this.running.has(id(job)));
      if (index < 0) break;
      const [entry] = this.waiting.splice(index, 1);
      if (!entry) break;
      this.start(entry);
    }
    this.notifyIdle();
  }

  private start(entry: Entry): void {
    const jobId = id(entry.job);
    const state = { again: false };
    this.active++;
    this.running.set(jobId, state);
    void this.execute(entry)
      .catch((error: unknown) => this.safeLog({ event: 'queue-error', ...entry.job, message: String(error) }))
      .finally(() => {
        this.active--;
        this.running.delete(jobId);
        if (state.again && !this.stopped) this.waiting.push({ job: entry.job, attempt: 1 });
        this.pump();
      });
  }

  private async execute(entry: Entry): Promise<void> {
    const { job, attempt } = entry;
    try {
      await this.options.run(job);
      if (this.paused) {
        this.paused = false;
        this.safeLog({ event: 'resumed', reason: 'space available again', ...job });
      }
      return;
    } catch (error) {
      const code = isSftpctlError(error) ? error.code : ((error as { code?: string })?.code ?? 'INTERNAL');
      const message = error instanceof Error ? error.message : String(error);
      if (faultOf(error) === 'transient') {
        if (this.stopped) return;
        if (isOutOfSpace(error)) {
          if (this.paused && attempt === 1) {
            // Another job already probes for space: wait in line.
            this.waiting.unshift(entry);
            return;
          }
          if (!this.paused) {
            this.paused = true;
            this.safeLog({ event: 'paused', reason: 'disk full', code, ...job });
          }
        }
        const delay = Math.min(this.options.retryDelayMs * 2 ** (attempt - 1), this.options.maxRetryDelayMs ?? 30_000);
        this.safeLog({ event: 'retry', ...job, attempt, code, inMs: delay });
        this.later({ job, attempt: attempt + 1 }, delay);
        return;
      }
      if ((error as Partial<PipelineFault>).quarantined) {
        this.safeLog({ event: 'failed', ...job, code, message, quarantined: true });
        return;
      }
      await this.deadLetter(job, attempt, code, message);
    }
  }

  /** Retries `entry` after `delay`; a paused queue lets this one job through as its probe. */
  private later(entry: Entry, delay: number): void {
    const jobId = id(entry.job);
    this.backingOff.add(jobId);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.backingOff.delete(jobId);
      if (this.stopped) return;
      if (this.paused && !this.running.has(jobId)) this.start(entry);
      else {
        this.waiting.unshift(entry);
        this.pump();
      }
    }, delay);
    timer.unref();
    this.timers.add(timer);
  }

  private async deadLetter(job: Job, attempts: number, code: string, message: string): Promise<void> {
    try {
      const dir = join(this.options.deadLetterDir, job.client);
      await mkdir(dir, { recursive: true });
      const file = join(dir, `${Date.now()}-${job.kind}-${encodeURIComponent(job.key)}.json`);
      await writeFile(file, `${JSON.stringify({ ...job, attempts, code, message }, null, 2)}\n`);
      this.safeLog({ event: 'dead-letter', ...job, attempts, code, file });
    } catch (error) {
      this.safeLog({
        event: 'dead-letter-failed',
        ...job,
        code,
        message,
        writeError: (error as { code?: string })?.code ?? String(error),
      });
    }
  }

  private notifyIdle(): void {
    if (this.size === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private safeLog(event: { event: string; [key: string]: unknown }): void {
    try {
      this.options.log(event);
    } catch {
      // a broken log sink never stops the queue
    }
  }
}

function id(job: Job): string {
  return `${job.client}\0${job.kind}\0${job.key}`;
}
