import { randomBytes } from 'node:crypto';
import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import type { FileReader } from '../core/ports.js';

/** Reads files relative to a base folder (the config file's folder). */
export function fileReaderAt(baseDir: string): FileReader {
  const resolvePath = (path: string) => (isAbsolute(path) ? path : resolve(baseDir, path));
  return {
    resolve: resolvePath,
    async read(path) {
      try {
        return await readFile(resolvePath(path));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw error;
      }
    },
  };
}

export async function readTextIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes a file so that readers see the old content or the new, never half of either: a temp file in the same
 * folder, fsync, then rename over the target. Keeps the target's mode when it exists.
 */
export async function writeFileAtomic(
  path: string,
  content: string | Uint8Array,
  options: { mode?: number; exclusive?: boolean } = {},
): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let mode = options.mode;
  if (mode === undefined) {
    mode = await stat(path).then(
      (info) => info.mode & 0o777,
      () => 0o644,
    );
  }
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(temp).catch(() => {});
    throw error;
  }
  await handle.close();
  try {
    if (options.exclusive && (await exists(path))) {
      const error = new Error(`${path} already exists`) as NodeJS.ErrnoException;
      error.code = 'EEXIST';
      throw error;
    }
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
}

/**
 * Creates a file that must not exist yet, atomically and with `mode` from the first byte: the content goes to a
 * private temp file, then a hard link publishes it under the final name (link fails if the name exists).
 * Used for private keys: never overwritten, never world-readable, never half-written.
 */
export async function createFileExclusive(path: string, content: string | Uint8Array, mode: number): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
    await handle.close();
    await link(temp, path);
  } catch (error) {
    await handle.close().catch(() => {});
    throw error;
  } finally {
    await unlink(temp).catch(() => {});
  }
}
