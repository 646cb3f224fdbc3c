import { SftpctlError } from '../errors.js';
import { isReservedKey, isTemporaryName } from './names.js';
import { quarantine } from './quarantine.js';
import { DEFAULT_CHECKSUM_DEADLINE_MS, type PipelineDeps, type PipelineSettings, STATUS_TAG } from './types.js';

export interface SweepResult {
  /** Uploads with no status tag older than `olderThanMs`: their event was lost (or never sent); process them. */
  requeue: string[];
  /** Uploads held for a checksum sidecar (or sidecars waiting for their file) past the deadline: now quarantined. */
  expired: string[];
  scanned: number;
}

/**
 * The sweeper core: finds upload objects older than `olderThanMs` with no processed/quarantined/waiting tag and
 * returns them to be queued again (Transfer's events are best effort), and quarantines what waited for a checksum
 * sidecar (or a sidecar for its file) longer than the client's deadline. Runs in `sftpctl local up` periodically and
 * in the scheduled function on AWS.
 */
export async function sweepUploads(
  deps: PipelineDeps,
  settings: PipelineSettings,
  options: { olderThanMs: number },
): Promise<SweepResult> {
  const { store } = deps;
  const now = deps.clock.now().getTime();
  const deadline = settings.checksumDeadlineMs ?? DEFAULT_CHECKSUM_DEADLINE_MS;
  const result: SweepResult = { requeue: [], expired: [], scanned: 0 };
  for await (const info of store.list(settings.buckets.upload)) {
    // Folder markers (`in/`, made by an SFTP mkdir on S3) are not partner files.
    if (info.key.endsWith('/') || isReservedKey(info.key) || isTemporaryName(info.key, settings.temporaryNames))
      continue;
    result.scanned++;
    const age = now - (info.lastModified?.getTime() ?? now);
    const tags = await store.getTags(settings.buckets.upload, info.key).catch(() => undefined);
    if (!tags) continue;
    const status = tags[STATUS_TAG];
    if (!status) {
      if (age >= options.olderThanMs) result.requeue.push(info.key);
    } else if ((status === 'waiting-for-checksum' || status === 'waiting-for-file') && age >= deadline) {
      const minutes = Math.round(deadline / 60_000);
      const error =
        status === 'waiting-for-checksum'
          ? new SftpctlError(
              'CHECKSUM_SIDECAR_MISSING',
              `${info.key} waited ${minutes} min for its checksum sidecar, which this client requires; it was not published.`,
              'Ask the partner to upload the sidecar (e.g. `sha256sum file > file.sha256`), then `sftpctl quarantine release`.',
            )
          : new SftpctlError(
              'CHECKSUM_SIDECAR_UNMATCHED',
              `Sidecar ${info.key} names no uploaded file (waited ${minutes} min).`,
              'Name a sidecar after the file it describes: x.csv.sha256 (plaintext) or x.csv.gpg.sha256 (the uploaded file).',
            );
      await quarantine(deps, settings, info, error);
      result.expired.push(info.key);
    }
  }
  return result;
}
