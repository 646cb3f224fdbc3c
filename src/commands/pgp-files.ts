import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import { pgpKeyProblems, readPgpKeyInfo } from '../core/crypto/pgp-key-info.js';
import { readDecryptionKeys, readRecipientKey } from '../core/crypto/pgp-keys.js';
import { SftpctlError, UsageError } from '../core/errors.js';
import { exists } from '../io/files.js';
import type { CommandContext } from './context.js';
import { readPassphrase } from './passphrase.js';

/** Extensions taken to mean "PGP-encrypted" when deriving the plaintext's name. */
export const ENCRYPTED_EXTENSIONS = ['.gpg', '.pgp', '.asc'];

export async function readKeyFile(path: string, flag: string, cwd: string): Promise<Uint8Array> {
  try {
    return await readFile(resolve(cwd, path));
  } catch {
    throw new UsageError(
      'FILE_NOT_FOUND',
      `${flag}: ${path} does not exist or cannot be read.`,
      'Give the path of an armored or binary OpenPGP key file.',
    );
  }
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

export async function sourceFile(
  path: string,
  cwd: string,
): Promise<{ path: string; open: () => NodeJS.ReadableStream }> {
  const absolute = resolve(cwd, path);
  if (!(await exists(absolute))) throw new UsageError('FILE_NOT_FOUND', `${path} does not exist.`, 'Check the path.');
  return { path: absolute, open: () => createReadStream(absolute, { highWaterMark: 1 << 20 }) };
}
