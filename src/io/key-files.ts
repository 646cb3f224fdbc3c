import { lstat, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { SftpctlError } from '../core/errors.js';
import { makeDirectory } from './directories.js';
import { createFileExclusive, writeFileAtomic } from './files.js';
import { keepOutOfGit } from './git-ignore.js';

/**
 * Where `--out` puts a key: a path names the key itself (an existing folder there is refused, as ssh-keygen does),
 * and a path ending in a separator is a folder that gets the key inside it under the default name.
 */
export function keyOutputPath(cwd: string, out: string | undefined, defaultName: string): string {
  if (out === undefined || out === '') return resolve(cwd, defaultName);
  const path = resolve(cwd, out);
  return out.endsWith('/') || out.endsWith(sep) ? join(path, defaultName) : path;
}

/**
 * Writes a key pair: the private half 0600 and kept out of git, the public half 0644, neither overwriting anything.
 * If either name is taken nothing is written; if the second write fails the first is removed, so a half pair never
 * remains.
 */
export async function writeKeyPair(
  paths: { privatePath: string; publicPath: string },
  keys: { privateKey: string; publicKey: string },
): Promise<void> {
  for (const path of [paths.privatePath, paths.publicPath]) {
    // lstat: a dangling or looping link at the name is something there too.
    if (
      await lstat(path).then(
        () => true,
        () => false,
      )
    ) {
      throw new SftpctlError(
        'KEY_FILE_EXISTS',
        `${path} already exists; keys are never overwritten.`,
        'Choose another --out, or move the old key away first.',
      );
    }
  }
  await makeDirectory(dirname(paths.privatePath), 0o700);
  await makeDirectory(dirname(paths.publicPath));
  await keepOutOfGit(paths.privatePath);
  await createFileExclusive(paths.privatePath, keys.privateKey, 0o600);
  try {
    await createFileExclusive(paths.publicPath, keys.publicKey, 0o644);
  } catch (error) {
    await unlink(paths.privatePath).catch(() => {});
    throw error;
  }
}

/** A file holding secret material (a private key, a secret's JSON): 0600, atomic, kept out of git. */
export async function writePrivateFile(path: string, content: string): Promise<void> {
  await makeDirectory(dirname(path), 0o700);
  await keepOutOfGit(path);
  await writeFileAtomic(path, content, { mode: 0o600 });
}
