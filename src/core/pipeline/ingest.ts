import { basename } from 'node:path';
import { finished } from 'node:stream/promises';
import { type ChecksumAlgorithm, sidecarCandidatesFor, splitSidecarName } from '../checksum/algorithms.js';
import { createDigestTap } from '../checksum/hash-stream.js';
import {
  checksumMismatchError,
  digestsEqual,
  MAX_SIDECAR_BYTES,
  parseSidecar,
  type SidecarEntry,
} from '../checksum/sidecar.js';
import { decryptStream } from '../crypto/pgp-decrypt.js';
import type { DecryptionKeys } from '../crypto/pgp-keys.js';
import { SftpctlError } from '../errors.js';
import { discardBody, type ObjectInfo } from '../ports.js';
import { asPipelineFault, classifyFault, faultOf, keyStoreFault } from './faults.js';
import { ingressKeysFor } from './key-cache.js';
import { isReservedKey, isTemporaryName } from './names.js';
import { clearQuarantine, markOriginal, quarantine } from './quarantine.js';
import {
  type PipelineDeps,
  type PipelineSettings,
  SOURCE_ETAG,
  SOURCE_KEY,
  STAGING_RESERVE_BYTES,
  STATUS_TAG,
} from './types.js';

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
  | { status: 'waiting'; key: string; reason: string }
  | { status: 'skipped'; key: string; reason: string };

/** A checksum sidecar found for a data file: of the transferred (encrypted) file, or of the plaintext. */
interface FoundSidecar {
  key: string;
  /** The version read: only that one is marked processed (a corrected sidecar uploaded meanwhile is checked itself). */
  etag: string | undefined;
  /** Its bytes as read and verified: what goes to raw beside the output (never a version uploaded since). */
  bytes: Buffer;
  of: 'ciphertext' | 'plaintext';
  entry: SidecarEntry;
}

const CHECKSUM_META = { plaintext: 'sftpctl-checksum', ciphertext: 'sftpctl-ciphertext-checksum' } as const;

/**
 * Processes one object of the upload bucket: PGP-decrypts it (or copies it through) into the raw bucket, verifying
 * its checksum sidecars (of the transferred file, against the ciphertext, and of the plaintext) in the same streaming
 * pass, and marks the original processed. The output is published only after every check passed; the original is
 * never deleted. Re-running on the same object version changes nothing; a new version is processed afresh.
 *
 * Failures are classified (faults.ts): a transient one is thrown with no record and no tag, to be retried; a
 * permanent one is quarantined once (a JSON record under the quarantine prefix, the version tagged) and thrown marked
 * `quarantined`, so runners do not retry it. A stale record is removed when a later version succeeds.
 */
export async function ingest(deps: PipelineDeps, settings: PipelineSettings, key: string): Promise<IngestOutcome> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await ingestOnce(deps, settings, key);
    } catch (error) {
      // Another job published the same output after this one looked (publishes are conditional): run again, and the
      // checks decide afresh (already processed, replaced meanwhile, or publish over it).
      const code = (error as { code?: string }).code;
      if (code !== 'PUBLISH_CONFLICT') throw error;
      if (attempt >= MAX_REDO) {
        const message = (error as Error).message;
        deps.log({ event: 'transient-failure', client: settings.client, key, code, message });
        throw asPipelineFault(error, 'transient', false);
      }
      deps.log({ event: 'publish-conflict', client: settings.client, key, attempt });
    }
  }
}

const MAX_REDO = 3;

async function ingestOnce(deps: PipelineDeps, settings: PipelineSettings, key: string): Promise<IngestOutcome> {
  const { store } = deps;
  const { buckets } = settings;
  if (isReservedKey(key) || key.endsWith('/')) return skipped(deps, settings, key, 'not a partner file');
  if (isTemporaryName(key, settings.temporaryNames))
    return skipped(deps, settings, key, 'temporary name: processed once renamed to its final name');
  const source = await store.head(buckets.upload, key);
  if (!source) return skipped(deps, settings, key, 'no longer in the upload bucket');
  const sidecarName = (settings.checksumPolicy ?? 'verify-if-present') === 'none' ? undefined : splitSidecarName(key);
  if (sidecarName) return ingestSidecar(deps, settings, source, sidecarName.target, sidecarName.algorithm);
  return ingestData(deps, settings, source);
}

async function ingestData(deps: PipelineDeps, settings: PipelineSettings, source: ObjectInfo): Promise<IngestOutcome> {
  const { store, log } = deps;
  const { buckets, client } = settings;
  const { key } = source;
  const policy = settings.checksumPolicy ?? 'verify-if-present';
  const tags = await store.getTags(buckets.upload, key).catch(() => ({}) as Record<string, string>);
  if (tags[STATUS_TAG] === 'quarantined') return skipped(deps, settings, key, 'already quarantined');

  const extension = extensionOf(key);
  const encrypted = extension !== undefined && settings.encryptedExtensions.includes(extension);
  const output = encrypted ? key.slice(0, -(extension.length + 1)) : key;
  /** The decompression limit was lowered to the free space: exceeding it means "needs space", not "bomb". */
  let capped = false;
  /** The upload's body once opened: released when the job ends, whichever way (read to its end on success). */
  let opened: NodeJS.ReadableStream | undefined;
  /** The sidecars read (once read): what this job's verdict rests on. */
  let sidecarsRead: FoundSidecar[] | undefined;
  /** The output as this job last knew it: as it found it, then as it wrote it. Only that one may be withdrawn. */
  let knownOutput: string | undefined;
  try {
    const sidecars = policy === 'none' ? [] : await findSidecars(deps, settings, key, output, encrypted);
    sidecarsRead = sidecars;
    const previous = await store.head(buckets.raw, output);
    knownOutput = previous?.etag;
    /** The plaintext sidecars as they are in raw now: each goes there only over what this job saw (as the output). */
    const previousSidecars = new Map<string, string | null>();
    for (const sidecar of sidecars.filter((found) => found.of === 'plaintext'))
      previousSidecars.set(sidecar.key, (await store.head(buckets.raw, sidecar.key))?.etag ?? null);
    if (
      previous &&
      previous.metadata[SOURCE_ETAG] === source.etag &&
      sidecars.every((sidecar) => previous.metadata[CHECKSUM_META[sidecar.of]] === checksumText(sidecar.entry))
    ) {
      await finish(deps, settings, source, sidecars);
      return skipped(deps, settings, key, 'already processed');
    }
    const madeFrom = previous?.metadata[SOURCE_KEY];
    if (tags[STATUS_TAG] === 'processed' && madeFrom !== undefined && madeFrom !== encodeURIComponent(key)) {
      // Two uploads that name one output (x.gpg and x.pgp, x and x.gpg): the one processed last holds it. A late or
      // repeated event for this version, processed before, must not put its older content back.
      return skipped(deps, settings, key, `already processed; ${output} was since published from ${decoded(madeFrom)}`);
    }
    if (policy === 'required' && sidecars.length === 0) {
      await markOriginal(deps, settings, key, 'waiting-for-checksum', { etag: source.etag });
      const reason = `held until its checksum sidecar (${basename(output)}.sha256 or ${basename(key)}.sha256, …) arrives and verifies`;
      log({ event: 'waiting-for-checksum', client, key, reason });
      return { status: 'waiting', key, reason };
    }
    if (!encrypted && settings.requireEncryption) {
      throw new SftpctlError(
        'NOT_ENCRYPTED',
        `${key} is not PGP-encrypted (extension not one of ${settings.encryptedExtensions.join(', ')}), and this client requires encryption.`,
        'Ask the partner to encrypt it to the ingress public key.',
      );
    }
    if (source.size === 0 && !settings.allowEmpty) {
      throw new SftpctlError(
        'EMPTY_FILE',
        `${key} is empty (0 bytes).`,
        'Ask the partner to upload the file again (or set allowEmpty: true for this client).',
      );
    }
    let keys: DecryptionKeys | undefined;
    if (encrypted) {
      try {
        keys = await ingressKeysFor(deps.keys, client);
      } catch (error) {
        throw keyStoreFault(error, client);
      }
    }
    const object = await store.get(buckets.upload, key);
    if (!object) return skipped(deps, settings, key, 'no longer in the upload bucket');
    opened = object.body;
    if (object.info.etag !== source.etag)
      return skipped(deps, settings, key, 'replaced meanwhile (the new version is processed on its own)');
    const wanted = (of: FoundSidecar['of']) => sidecars.filter((sidecar) => sidecar.of === of);
    const cipherTap = createDigestTap(wanted('ciphertext').map((sidecar) => sidecar.entry.algorithm));
    object.body.on('error', (error) => cipherTap.destroy(error));
    const transferred = object.body.pipe(cipherTap);
    const plainAlgorithms = wanted('plaintext').map((sidecar) => sidecar.entry.algorithm);

    let body: NodeJS.ReadableStream;
    let plainDigests: Promise<Partial<Record<ChecksumAlgorithm, string>>>;
    let bytes: Promise<number>;
    // Checked against free space before anything is published: the output may not fill the staging disk.
    const free = await deps.freeSpace?.();
    const room = free === undefined ? Number.POSITIVE_INFINITY : Math.max(0, free - STAGING_RESERVE_BYTES);
    const limit = Math.min(settings.maxDecompressedBytes, room);
    capped = limit < settings.maxDecompressedBytes;
    if (!keys && source.size > room) throw noSpaceError(key, source.size, free ?? 0);
    if (keys) {
      const deadline = deps.deadline?.();
      const decrypted = decryptStream(transferred, keys, {
        maxDecompressedBytes: limit,
        allowEmpty: settings.allowEmpty,
        digests: plainAlgorithms,
        limitSetting: `maxDecompressedSize of client ${settings.client} in the config`,
        ...(deadline !== undefined ? { deadline } : {}),
      });
      body = decrypted.plaintext;
      plainDigests = decrypted.verified.then((result) => result.digests);
      bytes = decrypted.verified.then((result) => result.plaintextBytes);
    } else {
      const tap = createDigestTap(plainAlgorithms);
      body = transferred.pipe(tap);
      transferred.on('error', (error) => tap.destroy(error));
      plainDigests = tap.result.then((result) => result.digests);
      bytes = tap.result.then((result) => result.bytes);
    }
    bytes.catch(() => {});
    const checked = Promise.all([cipherTap.result, plainDigests]).then(([cipher, plain]) => {
      for (const sidecar of sidecars) {
        const found = sidecar.of === 'ciphertext' ? cipher.digests : plain;
        const actual = found[sidecar.entry.algorithm] ?? '';
        if (!digestsEqual(sidecar.entry.hex, actual)) {
          throw checksumMismatchError({
            fileName: basename(sidecar.of === 'ciphertext' ? key : output),
            algorithm: sidecar.entry.algorithm,
            expected: sidecar.entry.hex,
            actual,
            sidecarName: sidecar.key,
          });
        }
      }
    });
    // Last before publishing: the upload must still be the version that was read. A job that read an older version
    // (duplicate and reordered events, two functions at once) must not overwrite what a newer one published.
    // Likewise the sidecars: one that arrived meanwhile may prove this content wrong (its own job decides). Checked
    // once the store has read the whole body, i.e. when it asks for the verdict: a small file is digested long before.
    const drained = finished(body);
    drained.catch(() => {});
    const current = Promise.all([checked, drained]).then(async () => {
      if (await versionGone(deps, settings, source)) throw replacedError(key);
      if (await sidecarsChanged(deps, settings, sidecars, key, output, encrypted)) throw sidecarArrivedError(key);
    });
    current.catch(() => {});
    const written = await store.put(buckets.raw, output, body, {
      metadata: {
        [SOURCE_ETAG]: source.etag ?? '',
        [SOURCE_KEY]: encodeURIComponent(key),
        ...checksumMetadata(sidecars),
      },
      verified: current,
      ifCurrent: previous?.etag ?? null,
    });
    knownOutput = written.etag;
    for (const sidecar of wanted('plaintext'))
      await store.put(buckets.raw, sidecar.key, sidecar.bytes, {
        contentType: 'text/plain',
        ifCurrent: previousSidecars.get(sidecar.key) ?? null,
      });
    await finish(deps, settings, source, sidecars);
    const size = await bytes;
    const checksum = sidecars[0]?.entry.algorithm ?? null;
    log({
      event: 'processed',
      client,
      key,
      output,
      bytes: size,
      decrypted: encrypted,
      checksum,
      verified: sidecars.map((sidecar) => sidecar.key),
    });
    return { status: 'processed', key, output, bytes: size, decrypted: encrypted, checksum };
  } catch (error) {
    if ((error as { code?: string }).code === 'PUBLISH_CONFLICT') throw error;
    if (await versionGone(deps, settings, source)) return skipped(deps, settings, key, GONE);
    const changed = sidecarsRead && sidecarsChanged(deps, settings, sidecarsRead, key, output, encrypted);
    if (await changed?.catch(() => false)) return skipped(deps, settings, key, SIDECAR_ARRIVED);
    const limitedBySpace = (error as { code?: string })?.code === 'PGP_DECOMPRESSION_LIMIT' && capped;
    const refused = limitedBySpace ? noSpaceError(key, undefined, 0, error) : error;
    throw await failed(deps, settings, source, refused, { output, etag: knownOutput });
  } finally {
    if (opened) discardBody(opened);
  }
}

function noSpaceError(key: string, size: number | undefined, free: number, cause?: unknown): SftpctlError {
  return new SftpctlError(
    'NO_SPACE_FOR_FILE',
    `${key} needs more space than the staging disk has free${size !== undefined ? ` (${size} bytes, ${free} free)` : ''}; it waits for space (not quarantined).`,
    'Free disk space under the data folder; the file is retried automatically.',
    { kind: 'internal', cause, details: [] },
  );
}

/** Marks the version processed, its sidecars too, and removes quarantine records earlier versions left. */
async function finish(
  deps: PipelineDeps,
  settings: PipelineSettings,
  source: ObjectInfo,
  sidecars: FoundSidecar[],
): Promise<void> {
  await markOriginal(deps, settings, source.key, 'processed', { etag: source.etag });
  await clearQuarantine(deps, settings, source.key, source.etag);
  for (const sidecar of sidecars) {
    await markOriginal(deps, settings, sidecar.key, 'processed', { etag: sidecar.etag });
    await clearQuarantine(deps, settings, sidecar.key, sidecar.etag);
  }
}

/**
 * Turns a failure into what the runner acts on. Transient: nothing recorded, thrown to be retried. Permanent: the
 * version is quarantined once, an output published earlier from this same version is withdrawn (a sidecar that came
 * later proved it wrong), and the error is thrown marked quarantined.
 */
async function failed(
  deps: PipelineDeps,
  settings: PipelineSettings,
  source: ObjectInfo,
  error: unknown,
  published: { output: string; etag: string | undefined } | undefined,
): Promise<Error> {
  if (classifyFault(error) === 'transient') {
    deps.log({
      event: 'transient-failure',
      client: settings.client,
      key: source.key,
      code: (error as { code?: string })?.code ?? 'INTERNAL',
      message: error instanceof Error ? error.message : String(error),
    });
    return asPipelineFault(error, 'transient', false);
  }
  try {
    if (published) {
      // Withdrawn when it was published from this very content and is still the one this job found (a sidecar that
      // came later proved it wrong) or wrote; one another job published meanwhile (a corrected sidecar) stays.
      const { output } = published;
      const info = await deps.store.head(settings.buckets.raw, output);
      if (info && info.metadata[SOURCE_ETAG] === source.etag && info.etag === published.etag) {
        await deps.store.delete(settings.buckets.raw, output);
        deps.log({ event: 'skipped', client: settings.client, key: output, reason: 'published copy withdrawn' });
      }
    }
    await quarantine(deps, settings, source, error);
  } catch (recordError) {
    // The record could not be written (full disk, throttled): retry the whole file later rather than lose the verdict.
    return asPipelineFault(recordError, 'transient', false);
  }
  return asPipelineFault(error, 'permanent', true);
}

/**
 * A checksum sidecar arrived. Its data file is the upload it names — the transferred (encrypted) file
 * (`x.csv.gpg.sha256`) or the plaintext (`x.csv.sha256`, data `x.csv` or `x.csv.gpg`). If that file is there, it is
 * processed again with the sidecar, verifying both in one pass. If no file matches, the sidecar is reported and waits
 * (the sweeper quarantines it after the checksum deadline).
 */
async function ingestSidecar(
  deps: PipelineDeps,
  settings: PipelineSettings,
  source: ObjectInfo,
  target: string,
  algorithm: ChecksumAlgorithm,
): Promise<IngestOutcome> {
  const { store, log } = deps;
  const { buckets, client } = settings;
  const { key } = source;
  const extension = extensionOf(target);
  const ofCiphertext = extension !== undefined && settings.encryptedExtensions.includes(extension);
  const dataKeys = ofCiphertext ? [target] : [target, ...settings.encryptedExtensions.map((ext) => `${target}.${ext}`)];
  let data: ObjectInfo | undefined;
  for (const candidate of dataKeys) {
    data = await store.head(buckets.upload, candidate);
    if (data) break;
  }
  if (!data) {
    await markOriginal(deps, settings, key, 'waiting-for-file', { etag: source.etag });
    log({ event: 'sidecar-unmatched', client, key, expected: dataKeys, algorithm });
    return { status: 'waiting', key, reason: `no upload named ${dataKeys.join(' or ')} (yet)` };
  }
  try {
    await readSidecar(deps, settings, key, target, algorithm);
  } catch (error) {
    if (await versionGone(deps, settings, source)) return skipped(deps, settings, key, GONE);
    throw await failed(deps, settings, source, error, undefined);
  }
  const sidecarQuarantined = (code: string) =>
    markOriginal(deps, settings, key, 'quarantined', { etag: source.etag, reason: code }).catch(() => {});
  let outcome: IngestOutcome;
  try {
    outcome = await ingestData(deps, settings, data);
  } catch (error) {
    if (faultOf(error) === 'permanent') await sidecarQuarantined((error as { code?: string }).code ?? 'INTERNAL');
    throw error;
  }
  if (outcome.status === 'skipped' && outcome.reason === 'already quarantined') {
    await sidecarQuarantined('FILE_QUARANTINED');
    return skipped(deps, settings, key, `its file ${data.key} is quarantined`);
  }
  if (outcome.status === 'waiting' || outcome.status === 'skipped') return outcome;
  return {
    status: 'sidecar-stored',
    key,
    output: outcome.status === 'processed' ? outcome.output : target,
    verified: true,
  };
}

/** The sidecars of a data file in the upload bucket, strongest algorithm first: one of the ciphertext, one of the plaintext. */
async function findSidecars(
  deps: PipelineDeps,
  settings: PipelineSettings,
  key: string,
  output: string,
  encrypted: boolean,
): Promise<FoundSidecar[]> {
  const found: FoundSidecar[] = [];
  for (const present of await presentSidecars(deps, settings, key, output, encrypted)) {
    const read = await readSidecar(deps, settings, present.key, present.target, present.algorithm);
    found.push({ key: present.key, etag: read.etag, bytes: read.bytes, of: present.of, entry: read.entry });
  }
  return found;
}

interface PresentSidecar {
  key: string;
  etag: string | undefined;
  of: FoundSidecar['of'];
  target: string;
  algorithm: ChecksumAlgorithm;
}

/** Which sidecar of each kind is there now (heads only): the one {@link findSidecars} would read. */
async function presentSidecars(
  deps: PipelineDeps,
  settings: PipelineSettings,
  key: string,
  output: string,
  encrypted: boolean,
): Promise<PresentSidecar[]> {
  const present: PresentSidecar[] = [];
  const look = async (target: string, of: FoundSidecar['of']) => {
    for (const candidate of sidecarCandidatesFor(target)) {
      const info = await deps.store.head(settings.buckets.upload, candidate.path);
      if (info) {
        present.push({ key: candidate.path, etag: info.etag, of, target, algorithm: candidate.algorithm });
        return;
      }
    }
  };
  if (encrypted) await look(key, 'ciphertext');
  await look(output, 'plaintext');
  return present;
}

/**
 * True when a checksum sidecar arrived, or was replaced, after this job read the sidecars: its own job processes the
 * file with it, so this job's verdict (published, or refused) no longer counts. A sidecar removed meanwhile changes
 * nothing: the file was checked against what the partner sent.
 */
async function sidecarsChanged(
  deps: PipelineDeps,
  settings: PipelineSettings,
  read: FoundSidecar[],
  key: string,
  output: string,
  encrypted: boolean,
): Promise<boolean> {
  if ((settings.checksumPolicy ?? 'verify-if-present') === 'none') return false;
  const now = await presentSidecars(deps, settings, key, output, encrypted);
  return now.some((present) => {
    const before = read.find((sidecar) => sidecar.of === present.of);
    return before === undefined || before.key !== present.key || before.etag !== present.etag;
  });
}

async function readSidecar(
  deps: PipelineDeps,
  settings: PipelineSettings,
  key: string,
  target: string,
  algorithm: ChecksumAlgorithm,
): Promise<{ entry: SidecarEntry; etag: string | undefined; bytes: Buffer }> {
  const object = await deps.store.get(settings.buckets.upload, key);
  if (!object) throw new SftpctlError('CHECKSUM_SIDECAR_MISSING', `Sidecar ${key} disappeared.`, 'Upload it again.');
  if (object.info.size > MAX_SIDECAR_BYTES) {
    discardBody(object.body);
    throw new SftpctlError(
      'CHECKSUM_SIDECAR_TOO_LARGE',
      `Sidecar ${key} is ${object.info.size} bytes.`,
      'A sidecar holds a digest and a file name.',
    );
  }
  const chunks: Buffer[] = [];
  for await (const chunk of object.body) chunks.push(Buffer.from(chunk as Uint8Array));
  const bytes = Buffer.concat(chunks);
  const entry = parseSidecar(bytes, {
    expectedFileName: basename(target),
    algorithm,
    sidecarName: key,
  });
  return { entry, etag: object.info.etag, bytes };
}

function checksumText(entry: SidecarEntry): string {
  return `${entry.algorithm}:${entry.hex.toLowerCase()}`;
}

const GONE = 'removed or replaced while it was processed (a new version is processed on its own)';
const SIDECAR_ARRIVED =
  'a checksum sidecar arrived or changed while it was processed (its own job processes it with it)';

function sidecarArrivedError(key: string): SftpctlError {
  return new SftpctlError(
    'SIDECAR_ARRIVED',
    `A checksum sidecar of ${key} arrived or changed while it was processed; nothing was published.`,
    'Nothing to do: the sidecar’s own job processes the file with it.',
  );
}

/** The output's checksum metadata: the sidecars its content was verified against. */
function checksumMetadata(sidecars: FoundSidecar[]): Record<string, string> {
  return Object.fromEntries(sidecars.map((sidecar) => [CHECKSUM_META[sidecar.of], checksumText(sidecar.entry)]));
}

function replacedError(key: string): SftpctlError {
  return new SftpctlError(
    'UPLOAD_REPLACED',
    `${key} was replaced while it was processed; nothing was published.`,
    GONE,
    {
      kind: 'internal',
    },
  );
}

/**
 * True when the version being processed is no longer the upload's current one (the partner deleted, renamed or
 * overwrote it meanwhile): its failure is no verdict on any file, so nothing is quarantined.
 */
async function versionGone(deps: PipelineDeps, settings: PipelineSettings, source: ObjectInfo): Promise<boolean> {
  const current = await deps.store.head(settings.buckets.upload, source.key).catch(() => 'unknown' as const);
  if (current === 'unknown') return false;
  return current === undefined || current.etag !== source.etag;
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
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
