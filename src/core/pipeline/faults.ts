import { isSftpctlError, SftpctlError } from '../errors.js';

/**
 * The fault classes every runner of the pipeline (Lambda, `sftpctl local up`) shares:
 * - transient: the machine or a service, not the file (full disk, I/O error, throttling, a key store that cannot be
 *   read yet). Retried with backoff until it succeeds; no quarantine record, no tag.
 * - permanent: the file itself (integrity, wrong key, not encrypted, checksum mismatch, empty). It can never succeed:
 *   quarantined once, at once, never retried.
 */
export type FaultClass = 'transient' | 'permanent';

/** errno codes of the machine, not of the file. */
const TRANSIENT_ERRNO = new Set([
  'ENOSPC',
  'EDQUOT',
  'EIO',
  'EMFILE',
  'ENFILE',
  'ENOMEM',
  'EAGAIN',
  'EBUSY',
  'EROFS',
  'ETIMEDOUT',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** AWS error names that say "try again later". */
const TRANSIENT_AWS_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'SlowDown',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'InternalFailure',
  'InternalServiceError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TimeoutError',
]);

/** The error codes of sftpctl that name a fault of the machine rather than of the file. */
const TRANSIENT_CODES = new Set([
  'KEY_STORE_UNAVAILABLE',
  'SECRET_NOT_FOUND',
  'SECRET_READ_FAILED',
  'AWS_CREDENTIALS',
  'NO_SPACE_FOR_FILE',
  'STORE_READ_ABORTED',
  // The input stopped arriving, or the invocation ran out of time: the file may be fine.
  'PGP_TIMEOUT',
  // The deployment, not the file: a role without a permission, a bucket not there yet, S3 failing. Fixing the
  // deployment must let the same upload through, so these are retried (then dead-lettered and alarmed), never
  // quarantined.
  'S3_ACCESS_DENIED',
  'S3_BUCKET_NOT_FOUND',
  'S3_READ_FAILED',
  'S3_WRITE_FAILED',
  'PERMISSION_MODEL_GAP',
  // Replaced while it was processed, or a checksum sidecar arrived meanwhile: no verdict on any file; a retry finds
  // the current version and sidecars.
  'UPLOAD_REPLACED',
  'SIDECAR_ARRIVED',
  // Another job published the same output meanwhile: the job runs again and decides afresh.
  'PUBLISH_CONFLICT',
]);

/** Classifies a failure; looks through `cause` chains (a PGP error caused by a read that hit EIO is transient). */
export function classifyFault(error: unknown): FaultClass {
  for (let current: unknown = error, depth = 0; current && depth < 8; depth++) {
    if (isTransientOne(current)) return 'transient';
    current = (current as { cause?: unknown }).cause;
  }
  return 'permanent';
}

function isTransientOne(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, name, $retryable, $metadata } = error as {
    code?: unknown;
    name?: unknown;
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: number };
  };
  if (isSftpctlError(error)) return TRANSIENT_CODES.has(error.code) || (error as PipelineFault).fault === 'transient';
  if (typeof code === 'string' && TRANSIENT_ERRNO.has(code)) return true;
  if (typeof name === 'string' && TRANSIENT_AWS_NAMES.has(name)) return true;
  if ($retryable) return true;
  const status = $metadata?.httpStatusCode;
  return status === 429 || (typeof status === 'number' && status >= 500);
}

/** True when the error (or what caused it) is a full disk or quota: processing pauses until space frees. */
export function isOutOfSpace(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current && depth < 8; depth++) {
    const code = (current as { code?: unknown }).code;
    if (code === 'ENOSPC' || code === 'EDQUOT') return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** A pipeline failure with its class; permanent ones were already quarantined when thrown. */
export interface PipelineFault extends SftpctlError {
  fault: FaultClass;
  quarantined?: boolean;
}

/** Marks `error` with its class (and whether a quarantine record was written) for the runner. */
export function asPipelineFault(error: unknown, fault: FaultClass, quarantined: boolean): PipelineFault {
  const base = isSftpctlError(error)
    ? error
    : new SftpctlError(
        fault === 'transient' ? 'TRANSIENT_FAILURE' : 'INTERNAL',
        error instanceof Error ? error.message : String(error),
        fault === 'transient' ? 'It is retried automatically.' : undefined,
        { kind: 'internal', cause: error },
      );
  return Object.assign(base, { fault, quarantined });
}

/** The class a runner should act on: the one the pipeline marked, else classified afresh. */
export function faultOf(error: unknown): FaultClass {
  const marked = (error as Partial<PipelineFault> | undefined)?.fault;
  return marked ?? classifyFault(error);
}

/** A key store that could not be read: the secret may not be loaded yet, or the service is unavailable. */
export function keyStoreFault(error: unknown, client: string): SftpctlError {
  const inner = isSftpctlError(error) ? `${error.code}: ${error.message}` : String((error as Error)?.message ?? error);
  return new SftpctlError(
    'KEY_STORE_UNAVAILABLE',
    `The PGP keys of client ${client} cannot be read (${inner}).`,
    'Load them (`sftpctl secrets load`) or wait for the key store; the file is retried automatically.',
    { kind: 'internal', cause: error },
  );
}
