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
}

/** A structured log event (one JSON line in Lambda and in `local up`). Never carries key material. */
export interface PipelineEvent {
  event: 'processed' | 'quarantined' | 'skipped' | 'egress-done' | 'sidecar-stored' | 'checksum-verified';
  client: string;
  key: string;
  [field: string]: unknown;
}

export interface PipelineDeps {
  store: ObjectStore;
  keys: KeyStore;
  log: (event: PipelineEvent) => void;
  clock: Clock;
}

export const QUARANTINE_PREFIX = 'quarantine/';

/** Tags the pipeline leaves on a processed original (it is never deleted). */
export const STATUS_TAG = 'sftpctl-status';
/** Metadata on outputs naming the etag of the object they came from: the idempotency key. */
export const SOURCE_ETAG = 'sftpctl-source-etag';
