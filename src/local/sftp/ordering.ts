/**
 * Request ordering on one handle, as OpenSSH's sftp-server gives it (it runs one request at a time):
 *
 * - Replies leave in the order the requests arrived. Pipelining clients (paramiko's `put`, pysftp, Airflow's
 *   SFTPHook) match each reply to the oldest request outstanding on the file and hang or fail otherwise.
 * - Requests whose byte ranges overlap, and at least one of which writes, run one after the other in arrival order:
 *   a READ after an overlapping WRITE sees its data, two WRITEs to the same bytes leave the later one's data.
 * - Requests without a range (FSTAT, FSETSTAT, fsync, CLOSE) are barriers: they wait for every earlier request on
 *   the handle, and every later one waits for them.
 *
 * Requests that do not conflict still run in parallel underneath (the writes of a sequential upload do).
 */

export interface ByteRange {
  start: number;
  /** Exclusive. */
  end: number;
  write: boolean;
}

interface Active {
  range: ByteRange | undefined;
  done: Promise<void>;
}

export class RequestOrder {
  private lastReply: Promise<void> = Promise.resolve();
  private readonly active = new Set<Active>();

  /**
   * Schedules `work` after the earlier requests it conflicts with, and `send` (its reply) after the earlier requests'
   * replies. The returned promise settles once the reply has been handed to `send`.
   */
  schedule<T>(
    range: ByteRange | undefined,
    work: () => Promise<T>,
    send: (outcome: { ok: true; value: T } | { ok: false; error: unknown }) => void,
  ): Promise<void> {
    const blockers: Promise<void>[] = [];
    for (const earlier of this.active) {
      if (conflicts(earlier.range, range)) blockers.push(earlier.done);
    }
    let finish!: () => void;
    const entry: Active = {
      range,
      done: new Promise<void>((resolve) => {
        finish = resolve;
      }),
    };
    this.active.add(entry);
    const result = (blockers.length > 0 ? Promise.all(blockers).then(work) : runNow(work)).then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );
    void result.then(() => {
      this.active.delete(entry);
      finish();
    });
    const previous = this.lastReply;
    const replied = Promise.all([previous, result]).then(([, outcome]) => send(outcome));
    // A send that throws must not stop later replies.
    this.lastReply = replied.catch(() => undefined);
    return this.lastReply;
  }

  /** Requests scheduled and not yet replied to are done when this settles. */
  idle(): Promise<void> {
    return this.lastReply;
  }
}

function runNow<T>(work: () => Promise<T>): Promise<T> {
  try {
    return work();
  } catch (error) {
    return Promise.reject(error);
  }
}

function conflicts(a: ByteRange | undefined, b: ByteRange | undefined): boolean {
  if (!a || !b) return true;
  if (!a.write && !b.write) return false;
  return a.start < b.end && b.start < a.end;
}
