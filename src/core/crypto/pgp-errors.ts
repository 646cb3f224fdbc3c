import { SftpctlError } from '../errors.js';

/**
 * Stable error codes of the OpenPGP stream module. Every failure of a message (as opposed to a bug) is one of these,
 * so ingress can quarantine a file with a precise reason and never publish it.
 */
export const PGP_ERROR_CODES = [
  /** The input is not an OpenPGP message at all (neither binary packets nor `-----BEGIN PGP MESSAGE-----`). */
  'PGP_NOT_PGP',
  /** An OpenPGP message, but not an encrypted one (signed-only, a key, a literal). */
  'PGP_NOT_ENCRYPTED',
  /** The message is for keys we do not hold (or only for a password). */
  'PGP_WRONG_KEY',
  /** The end-of-message check failed: MDC or AEAD tag mismatch, or a damaged session key / packet structure. */
  'PGP_INTEGRITY_FAILED',
  /** The input ended before the message did. */
  'PGP_TRUNCATED',
  /** Structurally invalid OpenPGP (bad armor, impossible packet lengths, unexpected packets, trailing data). */
  'PGP_MALFORMED',
  /** Valid OpenPGP this module refuses (no integrity protection, unknown algorithm). */
  'PGP_UNSUPPORTED',
  /** Decompressed data exceeded `maxDecompressedBytes` (a compression bomb, or a limit set too low). */
  'PGP_DECOMPRESSION_LIMIT',
  /** Zero-byte input, or a message whose plaintext is empty, where that is not allowed. */
  'PGP_EMPTY_INPUT',
  /** The decryptor (e.g. a decompressor fed damaged data) stopped reading its input without finishing. */
  'PGP_CORRUPT',
  /** The per-file deadline passed, or the input stopped arriving (see DecryptOptions.deadline / stallMs). */
  'PGP_TIMEOUT',
  /** The consumer closed the plaintext/ciphertext stream before its end. */
  'PGP_STREAM_ABORTED',
  // Keys
  'PGP_KEY_INVALID',
  'PGP_KEY_V6',
  'PGP_KEY_RFC9580_ALGORITHM',
  'PGP_KEY_NO_ENCRYPTION_SUBKEY',
  'PGP_KEY_IS_PRIVATE',
  'PGP_KEY_NOT_PRIVATE',
  'PGP_KEY_LOCKED',
  'PGP_PASSPHRASE_WRONG',
] as const;

export type PgpErrorCode = (typeof PGP_ERROR_CODES)[number];

/** Codes after which a plaintext stream must never be published. All message codes are such. */
export function pgpError(code: PgpErrorCode, message: string, hint?: string, cause?: unknown): SftpctlError {
  return new SftpctlError(code, message, hint, cause === undefined ? {} : { cause });
}

export function isPgpError(error: unknown, code?: PgpErrorCode): error is SftpctlError {
  return error instanceof SftpctlError && (code === undefined ? error.code.startsWith('PGP_') : error.code === code);
}

export const HINT_NOT_PUBLISHED = 'Nothing was published; the file stays where it was.';

export function truncatedError(where: string): SftpctlError {
  return pgpError(
    'PGP_TRUNCATED',
    `The OpenPGP message ends too early (${where}): the file is truncated.`,
    `${HINT_NOT_PUBLISHED} Ask the sender to upload the file again, completely.`,
  );
}

export function malformedError(what: string, cause?: unknown): SftpctlError {
  return pgpError(
    'PGP_MALFORMED',
    `The OpenPGP message is malformed: ${what}.`,
    `${HINT_NOT_PUBLISHED} The file was damaged or was not produced by an OpenPGP tool; ask the sender to encrypt it again.`,
    cause,
  );
}

export function integrityError(what: string, cause?: unknown): SftpctlError {
  return pgpError(
    'PGP_INTEGRITY_FAILED',
    `The OpenPGP integrity check failed: ${what}. The file was damaged or altered after it was encrypted.`,
    `${HINT_NOT_PUBLISHED} Ask the sender to upload it again; if it fails again, the transfer path alters files.`,
    cause,
  );
}

export function unsupportedError(what: string): SftpctlError {
  return pgpError(
    'PGP_UNSUPPORTED',
    `The OpenPGP message uses ${what}, which is not accepted.`,
    `${HINT_NOT_PUBLISHED} Ask the sender to encrypt with GnuPG defaults (gpg --encrypt -r <key>), which produce AES with an integrity check.`,
  );
}

/** What to change to raise the decompression limit, when the caller does not say (DecryptOptions.limitSetting). */
export const DEFAULT_LIMIT_SETTING = 'the maxDecompressedBytes option';

export function decompressionLimitError(
  limit: number,
  setting: string = DEFAULT_LIMIT_SETTING,
  cause?: unknown,
): SftpctlError {
  return pgpError(
    'PGP_DECOMPRESSION_LIMIT',
    `The message decompresses to more than ${formatBytes(limit)}, the limit (possibly a compression bomb).`,
    `${HINT_NOT_PUBLISHED} If the file is genuine, raise ${setting}; otherwise treat the upload as hostile.`,
    cause,
  );
}

export function corruptError(what: string): SftpctlError {
  return pgpError(
    'PGP_CORRUPT',
    `The OpenPGP message is corrupt: ${what}. The file was damaged or altered after it was encrypted.`,
    `${HINT_NOT_PUBLISHED} Ask the sender to upload it again; if it fails again, the transfer path alters files.`,
  );
}

export function timeoutError(what: string): SftpctlError {
  return pgpError(
    'PGP_TIMEOUT',
    `The decryption was stopped: ${what}.`,
    `${HINT_NOT_PUBLISHED} Nothing of the plaintext was kept; try again (a retry starts from the beginning), or allow more time for large files.`,
  );
}

export function emptyError(what: string): SftpctlError {
  return pgpError(
    'PGP_EMPTY_INPUT',
    `${what} is empty, which is not allowed here.`,
    `${HINT_NOT_PUBLISHED} Ask the sender to upload the complete file.`,
  );
}

export function abortedError(what: string): SftpctlError {
  return new SftpctlError('PGP_STREAM_ABORTED', `The ${what} stream was closed before its end.`, undefined, {
    kind: 'internal',
  });
}

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3 && n % 1024 ** 3 === 0) return `${n / 1024 ** 3} GiB`;
  if (n >= 1024 ** 2 && n % 1024 ** 2 === 0) return `${n / 1024 ** 2} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${n} bytes`;
}

/** openpgp.js throws plain Errors; their message is the only clue. */
export function openpgpReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^Error (?:decrypting|reading|encrypting)[^:]*: /, '');
}
