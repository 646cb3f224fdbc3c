import { STATUS_TAG } from '../core/pipeline/types.js';
import type { ObjectStore } from '../core/ports.js';
import { openForWriting } from './open-files.js';

interface Candidate {
  signature: string;
  since: number;
}

/**
 * Watches export folders by polling (portable, and it sees files dropped in by hand or written slowly by a
 * program). A version is handed on only when it is settled:
 * - its size and etag (every write makes a new one) have not changed for the client's quiet period, and
 * - no process has it open for writing (asked of the OS on Linux; elsewhere the quiet period is tripled).
 * Egress then checks the source once more before publishing and redoes an export that changed while it was encrypted.
 * Each version is handed on once; one already encrypted (tagged) is not.
 */
export function watchExports(options: {
  store: ObjectStore & { pathOf(bucket: string, key: string): string };
  buckets: { client: string; bucket: string; quietMs: number }[];
  intervalMs: number;
  onFile: (client: string, key: string) => void;
  now?: () => number;
}): { stop(): void; scan(): Promise<void> } {
  const now = options.now ?? Date.now;
  const candidates = new Map<string, Candidate>();
  const handed = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let scanning: Promise<void> | undefined;
  let osCanTell: boolean | undefined;

  const scanOnce = async () => {
    const ready: { client: string; bucket: string; key: string; id: string; path: string }[] = [];
    const present = new Set<string>();
    for (const { client, bucket, quietMs } of options.buckets) {
      for await (const info of options.store.list(bucket)) {
        const id = `${bucket}\0${info.key}`;
        present.add(id);
        const signature = `${info.size}:${info.etag}`;
        if (handed.has(`${id}\0${signature}`)) continue;
        const previous = candidates.get(id);
        if (previous?.signature !== signature) {
          candidates.set(id, { signature, since: now() });
          continue;
        }
        const quiet = osCanTell === false ? quietMs * 3 : quietMs;
        if (now() - previous.since < quiet) continue;
        ready.push({
          client,
          bucket,
          key: info.key,
          id: `${id}\0${signature}`,
          path: options.store.pathOf(bucket, info.key),
        });
      }
    }
    for (const id of candidates.keys()) if (!present.has(id)) candidates.delete(id);
    if (ready.length === 0) return;
    const writing = await openForWriting(ready.map((entry) => entry.path));
    osCanTell = writing !== undefined;
    for (const entry of ready) {
      if (writing?.has(entry.path)) continue; // still being written: wait for the writer to close it
      handed.add(entry.id);
      const tags = await options.store.getTags(entry.bucket, entry.key).catch(() => ({}) as Record<string, string>);
      if (!tags[STATUS_TAG]) options.onFile(entry.client, entry.key);
    }
  };
  const scan = () => {
    scanning ??= scanOnce().finally(() => {
      scanning = undefined;
    });
    return scanning;
  };
  timer = setInterval(() => void scan().catch(() => {}), options.intervalMs);
  timer.unref();
  return {
    scan,
    stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
