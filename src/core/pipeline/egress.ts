import { basename } from 'node:path';
import type { ChecksumAlgorithm } from '../checksum/algorithms.js';
import { formatSidecar } from '../checksum/sidecar.js';
import { encryptStream } from '../crypto/pgp-encrypt.js';
import { partnerKeyFor } from './key-cache.js';
import { type PipelineDeps, type PipelineSettings, QUARANTINE_PREFIX, SOURCE_ETAG, STATUS_TAG } from './types.js';

export type EgressOutcome =
  | { status: 'encrypted'; key: string; output: string; sidecar: string | null; bytes: number; digest: string | null }
  | { status: 'skipped'; key: string; reason: string };

/**
 * Encrypts one object of the export bucket to the partner's public key into the download bucket, computing the
 * plaintext checksum in the same streaming pass, then writes the `md5sum -c`-compatible sidecar beside it. Both
 * writes are atomic; re-running on the same object changes nothing.
 */
export async function egress(deps: PipelineDeps, settings: PipelineSettings, key: string): Promise<EgressOutcome> {
  const { store, log } = deps;
  const { buckets, client } = settings;
  const skip = (reason: string): EgressOutcome => {
    log({ event: 'skipped', client, key, reason });
    return { status: 'skipped', key, reason };
  };
  if (key.startsWith(QUARANTINE_PREFIX) || key.endsWith('/')) return skip('not an export file');
  const source = await store.head(buckets.export, key);
  if (!source) return skip('no longer in the export bucket');

  const extension = settings.encryptedExtensions[0] ?? 'gpg';
  const output = `${key}.${extension}`;
  const algorithm: ChecksumAlgorithm | null = settings.checksum === 'none' ? null : settings.checksum;
  const sidecarKey = algorithm ? `${key}.${algorithm}` : null;
  const previous = await store.head(buckets.download, output);
  if (
    previous &&
    previous.metadata[SOURCE_ETAG] === source.etag &&
    (!sidecarKey || (await store.head(buckets.download, sidecarKey)))
  ) {
    return skip('already encrypted');
  }

  const recipient = await partnerKeyFor(deps.keys, client);
  const object = await store.get(buckets.export, key);
  if (!object) return skip('no longer in the export bucket');
  const { ciphertext, done } = encryptStream(object.body, recipient, {
    fileName: basename(key),
    digests: algorithm ? [algorithm] : [],
  });
  await store.put(buckets.download, output, ciphertext, {
    metadata: { [SOURCE_ETAG]: source.etag ?? '' },
    verified: done,
  });
  const result = await done;
  const digest = algorithm ? (result.digests[algorithm] ?? null) : null;
  if (sidecarKey && digest) {
    await store.put(buckets.download, sidecarKey, formatSidecar(digest, basename(key)), {
      metadata: { [SOURCE_ETAG]: source.etag ?? '' },
      contentType: 'text/plain',
    });
  }
  const tags = await store.getTags(buckets.export, key).catch(() => ({}));
  await store.putTags(buckets.export, key, { ...tags, [STATUS_TAG]: 'encrypted' }).catch(() => {});
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
}
