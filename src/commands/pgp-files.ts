import { basename, dirname, extname, resolve } from 'node:path';
import { pgpKeyProblems, readPgpKeyInfo } from '../core/crypto/pgp-key-info.js';
import { readDecryptionKeys, readRecipientKey } from '../core/crypto/pgp-keys.js';
import { isSftpctlError, SftpctlError, UsageError } from '../core/errors.js';
import { describeFileSystemFault } from '../core/faults.js';
import { readRegularFile } from '../io/files.js';
import type { CommandContext } from './context.js';
import { readPassphrase } from './passphrase.js';

/** Extensions taken to mean "PGP-encrypted" when deriving the plaintext's name. */
export const ENCRYPTED_EXTENSIONS = ['.gpg', '.pgp', '.asc'];

export async function readKeyFile(path: string, flag: string, cwd: string): Promise<Uint8Array> {
  let bytes: Uint8Array | undefined;
  try {
    bytes = await readRegularFile(resolve(cwd, path));
  } catch (error) {
    const fault = isSftpctlError(error) ? error : describeFileSystemFault(error);
    if (!fault) throw error;
    throw new UsageError(
      fault.code,
      `${flag}: ${fault.message}`,
      'Give the path of an armored or binary OpenPGP key file.',
    );
  }
  if (bytes === undefined)
    throw new UsageError(
      'FILE_NOT_FOUND',
      `${flag}: ${path} does not exist.`,
      'Give the path of an armored or binary OpenPGP key file.',
    );
  return bytes;
}

/** A private key for decrypting, unlocked (passphrase from $SFTPCTL_PASSPHRASE or a hidden prompt when locked). */
export async function decryptionKeysFrom(path: string, flag: string, context: CommandContext) {
  const bytes = await readKeyFile(path, flag, context.cwd);
  const info = await readPgpKeyInfo(bytes);
  if (!info.ok) throw new SftpctlError(info.code, `${flag} ${path}: ${info.message}`, info.hint);
  if (!info.key.isPrivate) {
    throw new SftpctlError(
      'PGP_KEY_NOT_PRIVATE',
      `${flag} ${path} is a public key; decrypting needs the private key.`,
      'Give the .key.asc file (the private half).',
    );
  }
  const passphrase = info.key.locked
    ? await readPassphrase(context, `for ${basename(path)}`, { confirm: false })
    : undefined;
  return readDecryptionKeys([bytes], passphrase);
}

/** A public key to encrypt to, checked like the config checks a partner key. */
export async function recipientFrom(path: string, flag: string, context: CommandContext) {
  const bytes = await readKeyFile(path, flag, context.cwd);
  const info = await readPgpKeyInfo(bytes);
  if (!info.ok) throw new SftpctlError(info.code, `${flag} ${path}: ${info.message}`, info.hint);
  const problem = pgpKeyProblems(info.key, { role: 'public', now: new Date() }).find(
    (found) => found.code !== 'PGP_KEY_IS_PRIVATE',
  );
  if (problem) throw new SftpctlError(problem.code, `${flag} ${path}: ${problem.message}`, problem.hint);
  return readRecipientKey(bytes);
}

/** `report.csv.gpg` → `report.csv`; anything else gets `.decrypted`. */
export function plaintextNameOf(file: string): string {
  const extension = extname(file).toLowerCase();
  return ENCRYPTED_EXTENSIONS.includes(extension) ? file.slice(0, -extension.length) : `${file}.decrypted`;
}

/** The file to encrypt or decrypt (io's one input-file check). */
export { inputFile as sourceFile } from '../io/files.js';

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
};

/** `16GiB`, `500 MB`, `2g`, `1048576` → bytes; a clear usage error otherwise. */
export function parseByteSize(value: string, flag: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = match ? SIZE_UNITS[match[2]!.toLowerCase()] : undefined;
  const bytes = match && unit !== undefined ? Math.floor(Number(match[1]) * unit) : Number.NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) {
    throw new UsageError(
      'INVALID_SIZE',
      `${flag} ${value} is not a size.`,
      'Give a positive number of bytes with an optional unit: 512MiB, 16GiB, 2TB.',
    );
  }
  return bytes;
}

/** `90`, `1.5` (seconds) → ms; a clear usage error otherwise. */
export function parseSeconds(value: string, flag: string): number {
  const seconds = Number(value);
  if (!/^\s*\d+(?:\.\d+)?\s*$/.test(value) || !(seconds > 0)) {
    throw new UsageError('INVALID_DURATION', `${flag} ${value} is not a number of seconds.`, 'Give e.g. 600.');
  }
  return Math.round(seconds * 1000);
}

/** Bytes the current user may still write in the folder holding `path` (statfs); undefined when unknown. */
export async function freeSpaceFor(path: string): Promise<number | undefined> {
  try {
    const { statfs } = await import('node:fs/promises');
    const fs = await statfs(dirname(path));
    return fs.bavail * fs.bsize;
  } catch {
    return undefined;
  }
}
