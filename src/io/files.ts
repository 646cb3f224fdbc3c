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

/**
 * Streams into a new file that appears under its name only when the stream ended cleanly AND `verified` resolved
 * (e.g. the PGP integrity check at the end of a message); otherwise the temp file is removed and nothing appears.
 * Never overwrites an existing file.
 */
export async function streamToNewFile(
  source: NodeJS.ReadableStream,
  path: string,
  options: { mode?: number; verified?: Promise<unknown> } = {},
): Promise<void> {
  if (await exists(path)) {
    const error = new Error(`${path} already exists`) as NodeJS.ErrnoException;
    error.code = 'EEXIST';
    throw error;
  }
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.partial`);
  const { createWriteStream } = await import('node:fs');
  const { pipeline } = await import('node:stream/promises');
  try {
    await pipeline(source, createWriteStream(temp, { flags: 'wx', mode: options.mode ?? 0o644 }));
    await options.verified;
    await link(temp, path);
  } finally {
    await unlink(temp).catch(() => {});
  }
}

/**
 * Replaces a whole folder with `files` so readers see the old set or the new, never a mix: everything is written to
 * a sibling temp folder first, then swapped in.
 */
export async function replaceDirectory(path: string, files: Record<string, string>): Promise<void> {
  const { mkdir, rm, writeFile } = await import('node:fs/promises');
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const old = `${path}.${randomBytes(6).toString('hex')}.old`;
  try {
    await mkdir(temp);
    for (const [name, content] of Object.entries(files)) await writeFile(join(temp, name), content);
    const hadOld = await exists(path);
    if (hadOld) await rename(path, old);
    await rename(temp, path);
    if (hadOld) await rm(old, { recursive: true, force: true });
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}
