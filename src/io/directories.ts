import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { SftpctlError } from '../core/errors.js';

/**
 * `mkdir -p`, bounded by the path's depth. Node's own recursive mkdir never returns on some special file systems
 * (/proc/x/y spins at full CPU), and says nothing useful when a part of the path is a file.
 */
export async function makeDirectory(path: string, mode?: number): Promise<void> {
  const missing: string[] = [];
  let current = resolve(path);
  for (;;) {
    const info = await stat(current).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (info) {
      if (!info.isDirectory()) throw notAFolder(current, path);
      break;
    }
    missing.push(current);
    const parent = dirname(current);
    if (parent === current) break;
    current = parent;
  }
  for (const folder of missing.reverse()) {
    try {
      await mkdir(folder, mode);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && (await stat(folder)).isDirectory()) continue;
      if (code === 'ENOENT') throw notCreatable(folder);
      throw error;
    }
  }
}

function notAFolder(part: string, path: string): SftpctlError {
  return new SftpctlError(
    'FS_ENOTDIR',
    part === resolve(path) ? `${part} is not a folder.` : `${part} is not a folder, so ${path} cannot be created.`,
    'Choose a path whose folders are folders (or move that file away).',
  );
}

function notCreatable(folder: string): SftpctlError {
  return new SftpctlError(
    'FS_NOT_CREATABLE',
    `${folder} cannot be created: its parent folder does not take new entries (a special file system such as /proc or /sys?).`,
    'Choose a path on an ordinary, writable file system.',
  );
}
