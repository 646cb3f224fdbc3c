import { QUARANTINE_PREFIX, STATUS_TAG } from '../core/pipeline/types.js';
import type { ObjectStore } from '../core/ports.js';
import type { SweepFind } from './sweeper.js';

/**
 * Upload objects older than `olderThanMinutes` with no status tag: ingress marks every object it has seen (processed,
 * quarantined, waiting-for-file), so an unmarked old object is one whose event never arrived. Folder markers and
 * quarantine records are not partner files. Reads only keys and tags: constant memory at any bucket size.
 */
export async function sweepUploads(
  store: ObjectStore,
  options: { bucket: string; olderThanMinutes: number; now: Date },
): Promise<SweepFind[]> {
  const cutoff = options.now.getTime() - options.olderThanMinutes * 60_000;
  const finds: SweepFind[] = [];
  for await (const object of store.list(options.bucket)) {
    if (object.key.endsWith('/') || object.key.startsWith(QUARANTINE_PREFIX)) continue;
    if (!object.lastModified || object.lastModified.getTime() > cutoff) continue;
    const tags = await store.getTags(options.bucket, object.key);
    if (tags[STATUS_TAG]) continue;
    finds.push({ key: object.key, size: object.size });
  }
  return finds;
}
