import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isSftpctlError } from '../core/errors.js';

export interface Job {
  client: string;
  kind: 'ingest' | 'egress';
  key: string;
}

/**
 * The local stand-in for SQS + Lambda: runs jobs with bounded concurrency, retries a failed job (like SQS
 * redelivery) and, after the last attempt, writes it to the dead-letter folder, as the DLQ would hold it. The same
 * key is never processed twice at once.
 */
export class JobQueue {
  private readonly waiting: { job: Job; attempt: number }[] = [];
  private readonly running = new Set<string>();
  private active = 0;
  private idleWaiters: (() => void)[] = [];
  private stopped = false;

  constructor(
    private readonly options: {
      run: (job: Job) => Promise<unknown>;
      concurrency: number;
      maxAttempts: number;
      retryDelayMs: number;
      deadLetterDir: string;
      log: (event: { event: string; [key: string]: unknown }) => void;
    },
  ) {}

  push(job: Job): void {
    if (this.stopped) return;
    this.waiting.push({ job, attempt: 1 });
    this.pump();
  }

  /** Resolves when nothing is waiting or running. */
  idle(): Promise<void> {
    if (this.active === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking new jobs; resolves when the running ones finished. Waiting ones stay undone (like messages left in SQS). */
  async stop(): Promise<number> {
    this.stopped = true;
    const left = this.waiting.length;
    this.waiting.length = 0;
    await this.idle();
    return left;
  }

  private pump(): void {
    while (this.active < this.options.concurrency) {
      const index = this.waiting.findIndex(({ job }) => !this.running.has(id(job)));
      if (index < 0) break;
      const [entry] = this.waiting.splice(index, 1);
      if (!entry) break;
      this.active++;
      this.running.add(id(entry.job));
      void this.execute(entry.job, entry.attempt).finally(() => {
        this.active--;
        this.running.delete(id(entry.job));
        this.pump();
        if (this.active === 0 && this.waiting.length === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
      });
    }
  }

  private async execute(job: Job, attempt: number): Promise<void> {
    try {
      await this.options.run(job);
    } catch (error) {
      const code = isSftpctlError(error) ? error.code : 'INTERNAL';
      const message = error instanceof Error ? error.message : String(error);
      if (attempt < this.options.maxAttempts && !this.stopped) {
        this.options.log({ event: 'retry', ...job, attempt, code });
        await new Promise((resolve) => setTimeout(resolve, this.options.retryDelayMs * attempt));
        if (!this.stopped) this.waiting.push({ job, attempt: attempt + 1 });
        return;
      }
      const dir = join(this.options.deadLetterDir, job.client);
      await mkdir(dir, { recursive: true });
      const file = join(dir, `${Date.now()}-${job.kind}-${encodeURIComponent(job.key)}.json`);
      await writeFile(file, `${JSON.stringify({ ...job, attempts: attempt, code, message }, null, 2)}\n`);
      this.options.log({ event: 'dead-letter', ...job, attempts: attempt, code, file });
    }
  }
}

function id(job: Job): string {
  return `${job.client}\0${job.kind}\0${job.key}`;
}
