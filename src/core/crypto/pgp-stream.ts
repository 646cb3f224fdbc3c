/**
 * Streaming OpenPGP for the partner file exchange — the one module the pipeline imports.
 *
 * - Egress: {@link readRecipientKey} + {@link encryptStream}: SEIPD v1 (AES-256, MDC), no AEAD, v4 keys only, so
 *   GnuPG 2.2 reads every message; plaintext checksums in the same pass.
 * - Ingress: {@link readDecryptionKeys} + {@link decryptStream}: any current private key (several during rotation);
 *   reads what GnuPG and openpgp.js write, SEIPD v2 / AEAD included; the plaintext stream errors — never ends — when
 *   the end-of-message integrity check fails, so stream it into staging and publish only after a clean end.
 *
 * Importing this module costs nothing: openpgp.js loads on first use. Errors are SftpctlError with the stable codes
 * in {@link PGP_ERROR_CODES}. Formats, guarantees and measurements: docs/pgp.md.
 */
export {
  DEFAULT_MAX_DECOMPRESSED_BYTES,
  type DecryptedStream,
  type DecryptOptions,
  type DecryptResult,
  decryptStream,
} from './pgp-decrypt.js';
export { type EncryptedStream, type EncryptOptions, type EncryptResult, encryptStream } from './pgp-encrypt.js';
export { isPgpError, PGP_ERROR_CODES, type PgpErrorCode } from './pgp-errors.js';
export {
  type DecryptionKeyInfo,
  type DecryptionKeys,
  type RecipientKey,
  readDecryptionKeys,
  readRecipientKey,
} from './pgp-keys.js';
