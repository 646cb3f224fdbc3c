import { readdir, readFile, rm, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { REASON_TAG } from '../core/pipeline/quarantine.js';
import { type PipelineSettings, STATUS_TAG } from '../core/pipeline/types.js';
import type { FsObjectStore } from './fs-object-store.js';

export interface DeadLetter {
  file: string;
  client: string;
  kind: 'ingest' | 'egress';
  key: string;
  code: string;
  message: string;
}

/** The dead-letter records of one client (`<data>/dead-letter/<client>/*.json`), oldest first. */
export async function listDeadLetters(dataDir: string, client: string): Promise<DeadLetter[]> {
  const dir = join(dataDir, 'dead-letter', client);
  const names = (await readdir(dir).catch(() => [] as string[])).filter((name) => name.endsWith('.json')).sort();
  const letters: DeadLetter[] = [];
  for (const name of names) {
    const record = JSON.parse(await readFile(join(dir, name), 'utf8').catch(() => '{}')) as Partial<DeadLetter>;
    if (!record.key || (record.kind !== 'ingest' && record.kind !== 'egress')) continue;
    letters.push({
      file: join(dir, name),
      client,
      kind: record.kind,
      key: record.key,
      code: record.code ?? '',
      message: record.message ?? '',
    });
  }
  return letters;
}

/** Status tags of a version that went through: nothing to send back. */
const DONE_STATUSES = new Set(['processed', 'encrypted']);

/**
 * Sends dead letters back for processing, as an SQS redrive would: the object's status tag is cleared (an upload is
 * then picked up by the sweep) and an export is marked as a new version (its mtime set to now) so the export watcher
 * hands it on again; the record is removed. Objects no longer there are reported, their records removed too.
 */
export async function redriveDeadLetters(
  store: FsObjectStore,
  settings: PipelineSettings,
  dataDir: string,
): Promise<{ key: string; kind: string; redriven: boolean; reason?: string }[]> {
  const results = [];
  for (const letter of await listDeadLetters(dataDir, settings.client)) {
    const bucket = letter.kind === 'ingest' ? settings.buckets.upload : settings.buckets.export;
    const tags = await store.getTags(bucket, letter.key).catch(() => undefined);
    if (!tags) {
      results.push({ key: letter.key, kind: letter.kind, redriven: false, reason: 'no longer there' });
    } else if (DONE_STATUSES.has(tags[STATUS_TAG] ?? '')) {
      // Tags belong to a version: the current one went through since (a new version, or a retry that succeeded).
      // Sending it back would process (and deliver) it a second time.
      const reason = `its current version was ${tags[STATUS_TAG]} since`;
      results.push({ key: letter.key, kind: letter.kind, redriven: false, reason });
    } else {
      const next = { ...tags };
      delete next[STATUS_TAG];
      delete next[REASON_TAG];
      if (letter.kind === 'egress') {
        const now = new Date();
        await utimes(store.pathOf(bucket, letter.key), now, now);
      } else await store.putTags(bucket, letter.key, next);
      results.push({ key: letter.key, kind: letter.kind, redriven: true });
    }
    await rm(letter.file, { force: true });
  }
  return results;
}
