import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { SftpctlError, UsageError } from '../core/errors.js';
import type { FileReader } from '../core/ports.js';

/** Key files, parameter files and configs are small; a larger one is a wrong path, not a file to read into memory. */
export const MAX_TEXT_FILE_BYTES = 4 * 1024 * 1024;

/** Reads files relative to a base folder (the config file's folder): regular files only, at most MAX_TEXT_FILE_BYTES. */
export function fileReaderAt(baseDir: string): FileReader {
  const resolvePath = (path: string) => (isAbsolute(path) ? path : resolve(baseDir, path));
  return {
    resolve: resolvePath,
    read: (path) => readRegularFile(resolvePath(path)),
  };
}

export async function readTextIfExists(path: string, maxBytes = MAX_TEXT_FILE_BYTES): Promise<string | undefined> {
  const bytes = await readRegularFile(path, maxBytes);
  return bytes === undefined ? undefined : Buffer.from(bytes).toString('utf8');
}

/**
 * A regular file's bytes, or undefined when nothing is at the path. A folder, device, FIFO or socket, or a file over
 * `maxBytes`, is refused with an error naming the path before anything is read: /dev/zero or a 50 MB log passed by
 * mistake must not hang the command or exhaust its memory. Opened non-blocking, so a FIFO cannot stall the open.
 */
export async function readRegularFile(path: string, maxBytes = MAX_TEXT_FILE_BYTES): Promise<Uint8Array | undefined> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) {
      throw new SftpctlError(
        'FS_NOT_A_FILE',
        `${path} is ${info.isDirectory() ? 'a folder' : 'a special file (device, FIFO or socket)'}, not a regular file.`,
        'Give the path of a regular file.',
      );
    }
    if (info.size > maxBytes) {
      throw new SftpctlError(
        'FILE_TOO_LARGE',
        `${path} is ${info.size} bytes; files of this kind are at most ${maxBytes} bytes.`,
        'Check that the path names the intended file.',
      );
    }
    const bytes = await handle.readFile();
    if (bytes.length > maxBytes) {
      throw new SftpctlError(
        'FILE_TOO_LARGE',
        `${path} grew past ${maxBytes} bytes while it was read.`,
        'Check the file.',
      );
    }
    return bytes;
  } finally {
    await handle.close();
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
  const handle = await open(temp, 'wx', mode).catch((error) => {
    throw aboutTarget(error, path);
  });
  try {
    await handle.writeFile(content);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(temp).catch(() => {});
    throw aboutTarget(error, path);
  }
  await handle.close();
  try {
    if (options.exclusive && (await exists(path))) throw existsError(path);
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw aboutTarget(error, path);
  }
}

/** An EEXIST error shaped like Node's own, so the fault classifier names the path. */
export function existsError(path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`EEXIST: ${path} already exists`), { code: 'EEXIST', syscall: 'open', path });
}

/** A fault on our temp file is a fault on the file the person named: say that name. */
function aboutTarget(error: unknown, target: string): unknown {
  const fault = error as NodeJS.ErrnoException & { dest?: string };
  if (typeof fault?.path === 'string' && basename(fault.path).startsWith(`.${basename(target)}.`)) fault.path = target;
  if (fault?.dest === target) delete fault.dest;
  return error;
}

/**
 * Creates a file that must not exist yet, atomically and with `mode` from the first byte: the content goes to a
 * private temp file, then a hard link publishes it under the final name (link fails if the name exists).
 * Used for private keys: never overwritten, never world-readable, never half-written.
 */
export async function createFileExclusive(path: string, content: string | Uint8Array, mode: number): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', mode).catch((error) => {
    throw aboutTarget(error, path);
  });
  try {
    await handle.writeFile(content);
    await handle.sync();
    await handle.close();
    await link(temp, path);
  } catch (error) {
    await handle.close().catch(() => {});
    throw aboutTarget(error, path);
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
  if (await exists(path)) throw existsError(path);
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
 * A file a command reads on the user's word (what to encrypt, export or check): it must exist and be a regular file
 * or a pipe. A folder or a device would fail, or never end, halfway through a stream, so it is refused first.
 */
export async function inputFile(
  path: string,
  cwd: string,
): Promise<{ path: string; open: () => NodeJS.ReadableStream }> {
  const absolute = resolve(cwd, path);
  const info = await stat(absolute).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (!info) throw new UsageError('FILE_NOT_FOUND', `${path} does not exist.`, 'Check the path.');
  if (!info.isFile() && !info.isFIFO())
    throw new UsageError(
      'FS_NOT_A_FILE',
      `${path} is ${info.isDirectory() ? 'a folder' : 'a special file (device or socket)'}, not a file.`,
      'Give the path of a regular file (or a pipe).',
    );
  const { createReadStream } = await import('node:fs');
  return { path: absolute, open: () => createReadStream(absolute, { highWaterMark: 1 << 20 }) };
}
