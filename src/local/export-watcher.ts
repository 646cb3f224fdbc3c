import { STATUS_TAG } from '../core/pipeline/types.js';
import type { ObjectStore } from '../core/ports.js';

/**
 * Watches export folders by polling (portable, and it sees files dropped in by hand): a file is handed on once its
 * size and etag held still for one interval — a copy still in progress is not picked up half-way — and only if it
 * was not encrypted before. Each (key, etag) is handed on once.
 */
export function watchExports(options: {
  store: ObjectStore;
  buckets: { client: string; bucket: string }[];
  intervalMs: number;
  onFile: (client: string, key: string) => void;
}): { stop(): void; scan(): Promise<void> } {
  const seen = new Map<string, string>();
  const handed = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let scanning: Promise<void> | undefined;

  const scanOnce = async () => {
    for (const { client, bucket } of options.buckets) {
      for await (const info of options.store.list(bucket)) {
        const id = `${bucket}\0${info.key}`;
        const signature = `${info.size}:${info.etag}`;
        const stable = seen.get(id) === signature;
        seen.set(id, signature);
        if (!stable || handed.has(`${id}\0${signature}`)) continue;
        const tags = await options.store.getTags(bucket, info.key).catch(() => ({}) as Record<string, string>);
        handed.add(`${id}\0${signature}`);
        if (tags[STATUS_TAG] !== 'encrypted') options.onFile(client, info.key);
      }
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
