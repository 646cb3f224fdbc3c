import { basename } from 'node:path';
import { type ChecksumAlgorithm, sidecarCandidatesFor, splitSidecarName } from '../checksum/algorithms.js';
import { createDigestTap, hashStream } from '../checksum/hash-stream.js';
import {
  checksumMismatchError,
  digestsEqual,
  MAX_SIDECAR_BYTES,
  parseSidecar,
  type SidecarEntry,
} from '../checksum/sidecar.js';
import { decryptStream } from '../crypto/pgp-decrypt.js';
import { isSftpctlError, SftpctlError } from '../errors.js';
import { ingressKeysFor } from './key-cache.js';
import { type PipelineDeps, type PipelineSettings, QUARANTINE_PREFIX, SOURCE_ETAG, STATUS_TAG } from './types.js';

export type IngestOutcome =
  | {
      status: 'processed';
      key: string;
      output: string;
      bytes: number;
      decrypted: boolean;
      checksum: ChecksumAlgorithm | null;
    }
  | { status: 'sidecar-stored'; key: string; output: string; verified: boolean }
  | { status: 'skipped'; key: string; reason: string };

/**
 * Processes one object of the upload bucket: PGP-decrypts it (or copies it through) into the raw bucket, verifying a
 * checksum sidecar when there is one, and marks the original processed. The output is published only after every
 * check passed; the original is never deleted. A failure writes a quarantine record and is thrown again, so the
 * message is retried and, in the end, lands in the dead-letter queue. Re-running on the same object changes nothing.
 */
export async function ingest(deps: PipelineDeps, settings: PipelineSettings, key: string): Promise<IngestOutcome> {
  const { store, log } = deps;
  const { buckets, client } = settings;
  if (key.startsWith(QUARANTINE_PREFIX) || key.endsWith('/')) return skipped(deps, settings, key, 'not a partner file');
  const source = await store.head(buckets.upload, key);
  if (!source) return skipped(deps, settings, key, 'no longer in the upload bucket');

  const sidecarName = splitSidecarName(key);
  if (sidecarName) return ingestSidecar(deps, settings, key, sidecarName.target, sidecarName.algorithm);

  const extension = extensionOf(key);
  const encrypted = extension !== undefined && settings.encryptedExtensions.includes(extension);
  const output = encrypted ? key.slice(0, -(extension.length + 1)) : key;
  const previous = await store.head(buckets.raw, output);
  if (previous && previous.metadata[SOURCE_ETAG] === source.etag) {
    await markOriginal(deps, settings, key, 'processed');
    return skipped(deps, settings, key, 'already processed');
  }

  try {
    if (!encrypted && settings.requireEncryption) {
      throw new SftpctlError(
        'NOT_ENCRYPTED',
        `${key} is not PGP-encrypted (extension not one of ${settings.encryptedExtensions.join(', ')}), and this client requires encryption.`,
        'Ask the partner to encrypt it to the ingress public key.',
      );
    }
    if (source.size === 0 && !settings.allowEmpty) {
      throw new SftpctlError('EMPTY_FILE', `${key} is empty (0 bytes).`, 'Ask the partner to upload the file again.');
    }
    const sidecar = await findSidecar(deps, settings, output);
    const object = await store.get(buckets.upload, key);
    if (!object) return skipped(deps, settings, key, 'no longer in the upload bucket');
    const algorithms = sidecar ? [sidecar.entry.algorithm] : [];

    let body: NodeJS.ReadableStream;
    let digests: Promise<Partial<Record<ChecksumAlgorithm, string>>>;
    let bytes: Promise<number>;
    if (encrypted) {
      const decrypted = decryptStream(object.body, await ingressKeysFor(deps.keys, client), {
        maxDecompressedBytes: settings.maxDecompressedBytes,
        allowEmpty: settings.allowEmpty,
        digests: algorithms,
      });
      body = decrypted.plaintext;
      digests = decrypted.verified.then((result) => result.digests);
      bytes = decrypted.verified.then((result) => result.plaintextBytes);
    } else {
      const tap = createDigestTap(algorithms);
      body = object.body.pipe(tap);
      object.body.on('error', (error) => tap.destroy(error));
      digests = tap.result.then((result) => result.digests);
      bytes = tap.result.then((result) => result.bytes);
    }
    bytes.catch(() => {});
    const checked = digests.then((found) => {
      if (!sidecar) return;
      const actual = found[sidecar.entry.algorithm] ?? '';
      if (!digestsEqual(sidecar.entry.hex, actual)) {
        throw checksumMismatchError({
          fileName: basename(output),
          algorithm: sidecar.entry.algorithm,
          expected: sidecar.entry.hex,
          actual,
          sidecarName: sidecar.key,
        });
      }
    });
    checked.catch(() => {});
    await store.put(buckets.raw, output, body, {
      metadata: {
        [SOURCE_ETAG]: source.etag ?? '',
        'sftpctl-source-key': encodeURIComponent(key),
        ...(sidecar ? { 'sftpctl-checksum': `${sidecar.entry.algorithm}:${sidecar.entry.hex}` } : {}),
      },
      verified: checked,
    });
    if (sidecar)
      await store.copy({ bucket: buckets.upload, key: sidecar.key }, { bucket: buckets.raw, key: sidecar.key });
    await markOriginal(deps, settings, key, 'processed');
    const size = await bytes;
    log({
      event: 'processed',
      client,
      key,
      output,
      bytes: size,
      decrypted: encrypted,
      checksum: sidecar?.entry.algorithm ?? null,
    });
    return {
      status: 'processed',
      key,
      output,
      bytes: size,
      decrypted: encrypted,
      checksum: sidecar?.entry.algorithm ?? null,
    };
  } catch (error) {
    await quarantine(deps, settings, key, error);
    throw error;
  }
}

/**
 * A checksum sidecar arrived. If its file was already published, check the published copy now: a mismatch takes the
 * copy back out of the raw bucket. If the file is not there yet, wait: processing the file will find this sidecar.
 */
async function ingestSidecar(
  deps: PipelineDeps,
  settings: PipelineSettings,
  key: string,
  target: string,
  algorithm: ChecksumAlgorithm,
): Promise<IngestOutcome> {
  const { store, log } = deps;
  const { buckets, client } = settings;
  const published = await store.head(buckets.raw, target);
  if (!published) {
    await markOriginal(deps, settings, key, 'waiting-for-file');
    return skipped(deps, settings, key, `waiting for ${target}`);
  }
  try {
    const entry = await readSidecar(deps, settings, key, target, algorithm);
    const object = await store.get(buckets.raw, target);
    if (!object) return skipped(deps, settings, key, `${target} left the raw bucket`);
    const actual = (await hashStream(object.body, [entry.algorithm])).digests[entry.algorithm];
    if (!digestsEqual(entry.hex, actual)) {
      await store.delete(buckets.raw, target);
      const mismatch = checksumMismatchError({
        fileName: basename(target),
        algorithm: entry.algorithm,
        expected: entry.hex,
        actual,
        sidecarName: key,
      });
      const original = published.metadata['sftpctl-source-key'];
      if (original) await quarantine(deps, settings, decodeURIComponent(original), mismatch);
      throw mismatch;
    }
    await store.copy({ bucket: buckets.upload, key }, { bucket: buckets.raw, key });
    await markOriginal(deps, settings, key, 'processed');
    log({ event: 'checksum-verified', client, key: target, sidecar: key, algorithm: entry.algorithm });
    return { status: 'sidecar-stored', key, output: key, verified: true };
  } catch (error) {
    await quarantine(deps, settings, key, error);
    throw error;
  }
}

/** The sidecar of a plaintext name in the upload bucket (strongest algorithm first), parsed; undefined if none. */
async function findSidecar(
  deps: PipelineDeps,
  settings: PipelineSettings,
  target: string,
): Promise<{ key: string; entry: SidecarEntry } | undefined> {
  for (const candidate of sidecarCandidatesFor(target)) {
    if (await deps.store.head(settings.buckets.upload, candidate.path)) {
      return {
        key: candidate.path,
        entry: await readSidecar(deps, settings, candidate.path, target, candidate.algorithm),
      };
    }
  }
  return undefined;
}

async function readSidecar(
  deps: PipelineDeps,
  settings: PipelineSettings,
  key: string,
  target: string,
  algorithm: ChecksumAlgorithm,
): Promise<SidecarEntry> {
  const object = await deps.store.get(settings.buckets.upload, key);
  if (!object) throw new SftpctlError('CHECKSUM_SIDECAR_MISSING', `Sidecar ${key} disappeared.`, 'Upload it again.');
  if (object.info.size > MAX_SIDECAR_BYTES)
    throw new SftpctlError(
      'CHECKSUM_SIDECAR_TOO_LARGE',
      `Sidecar ${key} is ${object.info.size} bytes.`,
      'A sidecar holds a digest and a file name.',
    );
  const chunks: Buffer[] = [];
  for await (const chunk of object.body) chunks.push(Buffer.from(chunk as Uint8Array));
  return parseSidecar(Buffer.concat(chunks), { expectedFileName: basename(target), algorithm, sidecarName: key });
}

/** Records why a file was refused (no key material, no file content) and tags the original. */
async function quarantine(deps: PipelineDeps, settings: PipelineSettings, key: string, error: unknown): Promise<void> {
  const reason = isSftpctlError(error)
    ? { code: error.code, message: error.message, hint: error.hint ?? null }
    : { code: 'INTERNAL', message: (error as Error)?.message ?? String(error), hint: null };
  const source = await deps.store.head(settings.buckets.upload, key);
  const record = {
    client: settings.client,
    bucket: settings.buckets.upload,
    key,
    etag: source?.etag ?? null,
    size: source?.size ?? null,
    at: deps.clock.now().toISOString(),
    reason,
  };
  await deps.store.put(
    settings.buckets.raw,
    `${QUARANTINE_PREFIX}${key}.json`,
    `${JSON.stringify(record, null, 2)}\n`,
    { contentType: 'application/json' },
  );
  if (source) await markOriginal(deps, settings, key, 'quarantined', reason.code);
  deps.log({ event: 'quarantined', client: settings.client, key, reason: reason.code, message: reason.message });
}

async function markOriginal(
  deps: PipelineDeps,
  settings: PipelineSettings,
  key: string,
  status: string,
  reason?: string,
): Promise<void> {
  const tags = await deps.store.getTags(settings.buckets.upload, key).catch(() => undefined);
  if (!tags) return;
  const next = { ...tags, [STATUS_TAG]: status, ...(reason ? { 'sftpctl-reason': reason } : {}) };
  if (!reason) delete next['sftpctl-reason'];
  await deps.store.putTags(settings.buckets.upload, key, next);
}

function skipped(deps: PipelineDeps, settings: PipelineSettings, key: string, reason: string): IngestOutcome {
  deps.log({ event: 'skipped', client: settings.client, key, reason });
  return { status: 'skipped', key, reason };
}

function extensionOf(key: string): string | undefined {
  const name = basename(key);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : undefined;
}
