import { mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SftpctlError } from '../core/errors.js';
import { createFileExclusive, exists } from './files.js';

/**
 * Writes a key pair: the private half 0600, the public half 0644, neither overwriting anything. If either name is
 * taken nothing is written; if the second write fails the first is removed, so a half pair never remains.
 */
export async function writeKeyPair(
  paths: { privatePath: string; publicPath: string },
  keys: { privateKey: string; publicKey: string },
): Promise<void> {
  for (const path of [paths.privatePath, paths.publicPath]) {
    if (await exists(path)) {
      throw new SftpctlError(
        'KEY_FILE_EXISTS',
        `${path} already exists; keys are never overwritten.`,
        'Choose another --out, or move the old key away first.',
      );
    }
  }
  await mkdir(dirname(paths.privatePath), { recursive: true, mode: 0o700 });
  await mkdir(dirname(paths.publicPath), { recursive: true });
  await createFileExclusive(paths.privatePath, keys.privateKey, 0o600);
  try {
    await createFileExclusive(paths.publicPath, keys.publicKey, 0o644);
  } catch (error) {
    await unlink(paths.privatePath).catch(() => {});
    throw error;
  }
}
