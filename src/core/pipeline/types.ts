import type { ChecksumChoice } from '../config/schema.js';
import type { Clock, KeyStore, ObjectStore } from '../ports.js';

/** One client's processing settings: what the function's environment (or the local runner) hands the pipeline. */
export interface PipelineSettings {
  client: string;
  buckets: { upload: string; raw: string; export: string; download: string };
  /** Lower-case, without dots; the first is the extension of egress files. */
  encryptedExtensions: string[];
  checksum: ChecksumChoice;
  requireEncryption: boolean;
  /** Zero-byte uploads are refused unless allowed. */
  allowEmpty: boolean;
  maxDecompressedBytes: number;
  /** How checksum sidecars gate publication (default verify-if-present). */
  checksumPolicy?: ChecksumPolicy;
  /** With `required`: how long a data file waits for its sidecar before it is quarantined (default 60 min). */
  checksumDeadlineMs?: number;
  /** Name patterns of uploads still being written (`*` and `?` match within the last path segment); never processed. */
  temporaryNames?: string[];
  /** How long an export file must stay unchanged (and not open for writing) before it is encrypted (default 2 s). */
  exportQuietMs?: number;
}

export const CHECKSUM_POLICIES = ['none', 'verify-if-present', 'required'] as const;
export type ChecksumPolicy = (typeof CHECKSUM_POLICIES)[number];
export const DEFAULT_CHECKSUM_DEADLINE_MS = 60 * 60_000;
/** WinSCP's `.filepart`, curl/rsync-style `.part`, `.tmp`, editors' `~`. */
export const DEFAULT_TEMPORARY_NAMES = ['*.filepart', '*.part', '*.tmp', '*~'];
export const DEFAULT_EXPORT_QUIET_MS = 2000;

/** A structured log event (one JSON line in Lambda and in `local up`). Never carries key material. */
export interface PipelineEvent {
  event:
    | 'processed'
    | 'quarantined'
    | 'skipped'
    | 'egress-done'
    | 'sidecar-stored'
    | 'checksum-verified'
    | 'waiting-for-checksum'
    | 'sidecar-unmatched'
    | 'transient-failure'
    | 'quarantine-cleared'
    | 'export-changed'
    | 'publish-conflict'
    | 'waiting-for-space';
  client: string;
  key: string;
  [field: string]: unknown;
}

export interface PipelineDeps {
  store: ObjectStore;
  keys: KeyStore;
  log: (event: PipelineEvent) => void;
  clock: Clock;
  /**
   * Free bytes where outputs are staged (the local platform's disk); absent where staging has no such limit (S3
   * multipart). A decrypted output is never allowed to grow past it: a file that would needs space, not quarantine.
   */
  freeSpace?: () => Promise<number | undefined>;
  /**
   * When the current invocation must be done (ms since the epoch): a Lambda's end less a margin. A decrypt still
   * running then fails (PGP_TIMEOUT, retried) instead of being killed mid-write. Absent locally: the stall guard alone.
   */
  deadline?: () => number | undefined;
}

/** Kept free on the staging disk beyond what a file may take (metadata, other jobs). */
export const STAGING_RESERVE_BYTES = 64 * 1024 * 1024;

/**
 * Quarantine records live in the raw bucket under a prefix of their own, outside the namespace of partner files
 * (uploads under it are refused), so raw's consumers can exclude (and IAM deny) it as a whole.
 */
export const QUARANTINE_PREFIX = '.sftpctl-quarantine/';
/** Records written before the prefix moved; still skipped, listed and released. */
export const LEGACY_QUARANTINE_PREFIX = 'quarantine/';

/** Tags the pipeline leaves on a processed original (it is never deleted). */
export const STATUS_TAG = 'sftpctl-status';
/** Metadata on outputs naming the etag of the object they came from: the idempotency key. */
export const SOURCE_ETAG = 'sftpctl-source-etag';
/** Metadata of a published output: the upload it was made from (URI-encoded key). */
export const SOURCE_KEY = 'sftpctl-source-key';
