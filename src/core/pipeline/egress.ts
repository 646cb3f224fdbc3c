import { basename } from 'node:path';
import type { ChecksumAlgorithm } from '../checksum/algorithms.js';
import { formatSidecar } from '../checksum/sidecar.js';
import { encryptStream } from '../crypto/pgp-encrypt.js';
import type { RecipientKey } from '../crypto/pgp-keys.js';
import { SftpctlError } from '../errors.js';
import { discardBody } from '../ports.js';
import { asPipelineFault, classifyFault, keyStoreFault } from './faults.js';
import { partnerKeyFor } from './key-cache.js';
import { isReservedKey, isTemporaryName } from './names.js';
import { type PipelineDeps, type PipelineSettings, SOURCE_ETAG, STATUS_TAG } from './types.js';

export type EgressOutcome =
  | { status: 'encrypted'; key: string; output: string; sidecar: string | null; bytes: number; digest: string | null }
  | { status: 'skipped'; key: string; reason: string };

/** How many times an export that keeps changing while it is encrypted is redone before it is left to the next event. */
const MAX_REDO = 3;

/**
 * Encrypts one object of the export bucket to the partner's public key into the download bucket, computing the
 * plaintext checksum in the same streaming pass, then writes the `md5sum -c`-compatible sidecar beside it. Both
 * writes are atomic; re-running on the same object version changes nothing.
 *
 * An export whose source changed while it was being encrypted (a new version, or the file rewritten in place) is never
 * published: the source is checked again before publication and the encryption redone. Empty exports follow the
 * client's empty-file policy. A refused export is tagged `refused` and thrown marked permanent (never retried);
 * transient faults (key store, disk) are thrown to be retried.
 */
export async function egress(deps: PipelineDeps, settings: PipelineSettings, key: string): Promise<EgressOutcome> {
  for (let attempt = 1; ; attempt++) {
    /** The version this attempt read: a `refused` tag goes to it only, never to an export written since. */
    let read: string | undefined;
    try {
      return await egressOnce(deps, settings, key, (etag) => {
        read = etag;
      });
    } catch (error) {
      if ((error as SftpctlError).code === 'EXPORT_CHANGED' && attempt < MAX_REDO) {
        deps.log({ event: 'export-changed', client: settings.client, key, attempt });
        continue;
      }
      // Another job published the same output after this one looked: run again, the checks decide afresh.
      if ((error as SftpctlError).code === 'PUBLISH_CONFLICT' && attempt < MAX_REDO) {
        deps.log({ event: 'publish-conflict', client: settings.client, key, attempt });
        continue;
      }
      if (classifyFault(error) === 'transient' || (error as SftpctlError).code === 'EXPORT_CHANGED') {
        deps.log({
          event: 'transient-failure',
          client: settings.client,
          key,
          code: (error as { code?: string })?.code ?? 'INTERNAL',
          message: error instanceof Error ? error.message : String(error),
        });
        throw asPipelineFault(error, 'transient', false);
      }
      const code = (error as { code?: string })?.code ?? 'INTERNAL';
      const etag = (error as { etag?: string }).etag ?? read;
      const tags = await deps.store.getTags(settings.buckets.export, key).catch(() => undefined);
      if (tags)
        await deps.store
          .putTags(
            settings.buckets.export,
            key,
            { ...tags, [STATUS_TAG]: 'refused', 'sftpctl-reason': code },
            etag !== undefined ? { ifEtag: etag } : undefined,
          )
          .catch(() => {});
      throw asPipelineFault(error, 'permanent', false);
    }
  }
}

async function egressOnce(
  deps: PipelineDeps,
  settings: PipelineSettings,
  key: string,
  onRead: (etag: string | undefined) => void,
): Promise<EgressOutcome> {
  const { store, log } = deps;
  const { buckets, client } = settings;
  const skip = (reason: string): EgressOutcome => {
    log({ event: 'skipped', client, key, reason });
    return { status: 'skipped', key, reason };
  };
  if (isReservedKey(key) || key.endsWith('/')) return skip('not an export file');
  if (isTemporaryName(key, settings.temporaryNames)) return skip('temporary name: encrypted once renamed');
  const source = await store.head(buckets.export, key);
  if (!source) return skip('no longer in the export bucket');
  onRead(source.etag);
  if (source.size === 0 && !settings.allowEmpty)
    throw Object.assign(
      new SftpctlError(
        'EMPTY_FILE',
        `Export ${key} is empty (0 bytes): not sent to the partner.`,
        'Export the file again with its content (or set allowEmpty: true for this client).',
      ),
      { etag: source.etag },
    );

  const extension = settings.encryptedExtensions[0] ?? 'gpg';
  const output = `${key}.${extension}`;
  const algorithm: ChecksumAlgorithm | null = settings.checksum === 'none' ? null : settings.checksum;
  const sidecarKey = algorithm ? `${key}.${algorithm}` : null;
  const previous = await store.head(buckets.download, output);
  const previousSidecar = sidecarKey ? await store.head(buckets.download, sidecarKey) : undefined;
  if (previous && previous.metadata[SOURCE_ETAG] === source.etag && (!sidecarKey || previousSidecar)) {
    return skip('already encrypted');
  }

  let recipient: RecipientKey;
  try {
    recipient = await partnerKeyFor(deps.keys, client);
  } catch (error) {
    throw keyStoreFault(error, client);
  }
  const object = await store.get(buckets.export, key);
  if (!object) return skip('no longer in the export bucket');
  try {
    if (object.info.etag !== source.etag) throw changedError(key);
    const { ciphertext, done } = encryptStream(object.body, recipient, {
      fileName: basename(key),
      digests: algorithm ? [algorithm] : [],
    });
    // Before publishing: the source must still be the version that was read, whole.
    const unchanged = done.then(async (result) => {
      const now = await store.head(buckets.export, key);
      if (!now || now.etag !== source.etag || now.size !== result.plaintextBytes) throw changedError(key);
      return result;
    });
    unchanged.catch(() => {});
    await store.put(buckets.download, output, ciphertext, {
      metadata: { [SOURCE_ETAG]: source.etag ?? '' },
      verified: unchanged,
      ifCurrent: previous?.etag ?? null,
    });
    const result = await done;
    const digest = algorithm ? (result.digests[algorithm] ?? null) : null;
    if (sidecarKey && digest) {
      // Conditional as well: a newer export's job that published in between keeps its pair (file and sidecar).
      await store.put(buckets.download, sidecarKey, formatSidecar(digest, basename(key)), {
        metadata: { [SOURCE_ETAG]: source.etag ?? '' },
        contentType: 'text/plain',
        ifCurrent: previousSidecar?.etag ?? null,
      });
    }
    const tags = await store.getTags(buckets.export, key).catch(() => ({}));
    await store
      .putTags(buckets.export, key, { ...tags, [STATUS_TAG]: 'encrypted' }, { ifEtag: source.etag ?? '' })
      .catch(() => {});
    log({
      event: 'egress-done',
      client,
      key,
      output,
      sidecar: sidecarKey,
      bytes: result.plaintextBytes,
      recipient: result.recipientFingerprint,
    });
    return { status: 'encrypted', key, output, sidecar: sidecarKey, bytes: result.plaintextBytes, digest };
  } finally {
    // Read to its end on success; on any failure the file or connection is released now, not at garbage collection.
    discardBody(object.body);
  }
}

function changedError(key: string): SftpctlError {
  return new SftpctlError(
    'EXPORT_CHANGED',
    `Export ${key} changed while it was being encrypted; nothing was sent.`,
    'It is encrypted again once it stops changing.',
    { kind: 'internal' },
  );
}
