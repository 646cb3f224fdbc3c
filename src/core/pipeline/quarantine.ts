import { isSftpctlError, SftpctlError } from '../errors.js';
import type { ObjectInfo } from '../ports.js';
import { quarantineRecordKey } from './names.js';
import {
  LEGACY_QUARANTINE_PREFIX,
  type PipelineDeps,
  type PipelineSettings,
  QUARANTINE_PREFIX,
  STATUS_TAG,
} from './types.js';

/** The JSON reason record of a quarantined upload (no key material, no file content). */
export interface QuarantineRecord {
  client: string;
  bucket: string;
  key: string;
  etag: string | null;
  size: number | null;
  at: string;
  reason: { code: string; message: string; hint: string | null };
}

export const REASON_TAG = 'sftpctl-reason';

/** Records why a version was refused and tags it; called once per version (a tagged version is not processed again). */
export async function quarantine(
  deps: PipelineDeps,
  settings: PipelineSettings,
  source: ObjectInfo,
  error: unknown,
): Promise<QuarantineRecord> {
  const reason = isSftpctlError(error)
    ? { code: error.code, message: error.message, hint: error.hint ?? null }
    : { code: 'INTERNAL', message: (error as Error)?.message ?? String(error), hint: null };
  const record: QuarantineRecord = {
    client: settings.client,
    bucket: settings.buckets.upload,
    key: source.key,
    etag: source.etag ?? null,
    size: source.size,
    at: deps.clock.now().toISOString(),
    reason,
  };
  await deps.store.put(settings.buckets.raw, quarantineRecordKey(source.key), `${JSON.stringify(record, null, 2)}\n`, {
    contentType: 'application/json',
  });
  await markOriginal(deps, settings, source.key, 'quarantined', { etag: source.etag, reason: reason.code });
  deps.log({
    event: 'quarantined',
    client: settings.client,
    key: source.key,
    reason: reason.code,
    message: reason.message,
  });
  return record;
}

/**
 * Removes the quarantine record of `key` (an earlier version failed, the one with `etag` succeeded). A record about
 * the upload's current version, when that is another one (refused after this job checked it was current), stays.
 */
export async function clearQuarantine(
  deps: PipelineDeps,
  settings: PipelineSettings,
  key: string,
  etag: string | undefined,
): Promise<void> {
  for (const recordKey of [quarantineRecordKey(key), `${LEGACY_QUARANTINE_PREFIX}${key}.json`]) {
    if (!(await deps.store.head(settings.buckets.raw, recordKey))) continue;
    const record = await readRecord(deps, settings, recordKey).catch(() => undefined);
    if (record?.etag && record.etag !== etag) {
      const upload = await deps.store.head(settings.buckets.upload, key);
      if (upload?.etag === record.etag) continue;
    }
    await deps.store.delete(settings.buckets.raw, recordKey);
    deps.log({ event: 'quarantine-cleared', client: settings.client, key, record: recordKey });
  }
}

/** Sets the status tag of an upload version (only that version, when `etag` is given), keeping its other tags. */
export async function markOriginal(
  deps: PipelineDeps,
  settings: PipelineSettings,
  key: string,
  status: string,
  options: { etag?: string | undefined; reason?: string } = {},
): Promise<void> {
  const tags = await deps.store.getTags(settings.buckets.upload, key).catch(() => undefined);
  if (!tags) return;
  const next: Record<string, string> = { ...tags, [STATUS_TAG]: status };
  if (options.reason) next[REASON_TAG] = options.reason;
  else delete next[REASON_TAG];
  await deps.store.putTags(
    settings.buckets.upload,
    key,
    next,
    options.etag !== undefined ? { ifEtag: options.etag } : undefined,
  );
}

/** Quarantine records of a client, oldest first; records under the old `quarantine/` prefix too. */
export async function listQuarantine(
  deps: Pick<PipelineDeps, 'store'>,
  settings: PipelineSettings,
): Promise<(QuarantineRecord & { record: string; current: boolean })[]> {
  const found: (QuarantineRecord & { record: string; current: boolean })[] = [];
  for (const prefix of [QUARANTINE_PREFIX, LEGACY_QUARANTINE_PREFIX]) {
    for await (const info of deps.store.list(settings.buckets.raw, prefix)) {
      if (!info.key.endsWith('.json')) continue;
      const record = await readRecord(deps, settings, info.key).catch(() => undefined);
      if (!record) continue;
      const upload = await deps.store.head(settings.buckets.upload, record.key);
      found.push({ ...record, record: info.key, current: upload !== undefined && upload.etag === record.etag });
    }
  }
  return found.sort((a, b) => a.at.localeCompare(b.at));
}

export async function readRecord(
  deps: Pick<PipelineDeps, 'store'>,
  settings: PipelineSettings,
  recordKey: string,
): Promise<QuarantineRecord> {
  const object = await deps.store.get(settings.buckets.raw, recordKey);
  if (!object)
    throw new SftpctlError(
      'QUARANTINE_NOT_FOUND',
      `No quarantine record ${recordKey} for client ${settings.client}.`,
      'List them with `sftpctl quarantine list CLIENT`.',
    );
  const chunks: Buffer[] = [];
  for await (const chunk of object.body) chunks.push(Buffer.from(chunk as Uint8Array));
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as QuarantineRecord;
}

/**
 * Lets a quarantined upload be processed again (after the key was fixed, the partner's sidecar replaced…): removes
 * its status tag so the next event or sweep picks it up; the record stays until that run succeeds. Returns the key.
 */
export async function releaseQuarantined(
  deps: Pick<PipelineDeps, 'store'>,
  settings: PipelineSettings,
  key: string,
): Promise<{ key: string; released: boolean; reason?: string }> {
  const tags = await deps.store.getTags(settings.buckets.upload, key).catch(() => undefined);
  if (!tags) return { key, released: false, reason: 'no longer in the upload bucket' };
  if (tags[STATUS_TAG] !== 'quarantined') return { key, released: false, reason: 'not quarantined' };
  const next = { ...tags };
  delete next[STATUS_TAG];
  delete next[REASON_TAG];
  await deps.store.putTags(settings.buckets.upload, key, next);
  return { key, released: true };
}
