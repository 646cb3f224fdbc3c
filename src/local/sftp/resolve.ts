import { constants, existsSync, type Stats } from 'node:fs';
import { type FileHandle, lstat, open, readlink } from 'node:fs/promises';
import { posix, sep } from 'node:path';
import { PathError } from './paths.js';

/**
 * Race-free confinement: a path is walked one component at a time from an opened handle on the home, each folder
 * opened with O_NOFOLLOW|O_DIRECTORY relative to the one before (through /proc/self/fd/<fd>/<name>, Linux's
 * spelling of openat). A symlink met on the way is never followed by the kernel: its target is read and resolved
 * here, inside the home (absolute targets must name a place inside the home; `..` cannot climb above it), and the
 * walk starts again. So a folder swapped for a symlink after a check cannot be followed: there is no check/use gap.
 *
 * What the caller gets is the final entry addressed through its opened parent folder (`path`), valid until
 * `close()`. Operations that act on an entry itself (lstat, unlink, rmdir, mkdir, rename, link, lutimes) use it as
 * is; opens add O_NOFOLLOW, so a final component swapped for a symlink in the meantime fails (ELOOP) instead of
 * being followed.
 */

const MAX_LINK_HOPS = 40;
const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
/** Whether this system can address an opened folder by path (Linux /proc). */
export const FD_PATHS = process.platform === 'linux' && existsSync('/proc/self/fd');

export interface ResolvedEntry {
  /** The entry through its opened parent: `/proc/self/fd/<parent>/<name>` (for the home itself, the home's handle). */
  path: string;
  /** The virtual path of the entry once symlinks inside the home are resolved. */
  virtual: string;
  /** lstat of the entry when it was resolved; undefined when it does not exist. */
  stats: Stats | undefined;
  /** The path of the opened parent folder (`/proc/self/fd/<fd>`): for readdir and links next to the entry. */
  parent: string;
  close(): Promise<void>;
}

/**
 * Resolves `virtual` (already normalised) under `root` (a real path). `follow`: a symlink as the final component is
 * resolved too. Throws PathError('outside-home') for a link leading out of the home, ENOENT/ENOTDIR for a missing
 * folder on the way, ELOOP after too many links.
 */
export async function resolveInHome(
  root: string,
  aliases: readonly string[],
  virtual: string,
  follow: boolean,
): Promise<ResolvedEntry> {
  let current = virtual;
  for (let hop = 0; hop <= MAX_LINK_HOPS; hop++) {
    const outcome = await walk(root, current, follow);
    if ('entry' in outcome) return outcome.entry;
    current = linkTarget(root, aliases, outcome.linkVirtual, outcome.target, outcome.rest);
  }
  throw Object.assign(new Error('too many symbolic links'), { code: 'ELOOP' });
}

type WalkOutcome = { entry: ResolvedEntry } | { linkVirtual: string; target: string; rest: string[] };

async function walk(root: string, virtual: string, follow: boolean): Promise<WalkOutcome> {
  const parts = virtual === '/' ? [] : virtual.slice(1).split('/');
  let dir: FileHandle = await open(root, DIR_FLAGS);
  try {
    if (parts.length === 0) {
      const stats = await dir.stat();
      const handle = dir;
      dir = undefined as unknown as FileHandle; // handed over to the entry
      return {
        // "/." so that opens with O_NOFOLLOW reach the folder (the /proc link itself is a symlink).
        entry: {
          path: `${fdPath(handle)}/.`,
          virtual: '/',
          stats,
          parent: fdPath(handle),
          close: () => handle.close(),
        },
      };
    }
    for (let index = 0; index < parts.length; index++) {
      const name = parts[index]!;
      const last = index === parts.length - 1;
      const entryPath = `${fdPath(dir)}/${name}`;
      if (last) {
        const stats = await lstat(entryPath).catch((error: NodeJS.ErrnoException) => {
          if (error.code === 'ENOENT') return undefined;
          throw error;
        });
        if (follow && stats?.isSymbolicLink()) {
          return { linkVirtual: virtualOf(parts, index + 1), target: await readlink(entryPath), rest: [] };
        }
        const handle = dir;
        dir = undefined as unknown as FileHandle; // handed over to the entry
        return {
          entry: {
            path: entryPath,
            virtual: virtualOf(parts, parts.length),
            stats,
            parent: fdPath(handle),
            close: () => handle.close(),
          },
        };
      }
      let next: FileHandle;
      try {
        next = await open(entryPath, DIR_FLAGS);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'ELOOP' && code !== 'ENOTDIR') throw error;
        const stats = await lstat(entryPath);
        if (!stats.isSymbolicLink()) throw error;
        return {
          linkVirtual: virtualOf(parts, index + 1),
          target: await readlink(entryPath),
          rest: parts.slice(index + 1),
        };
      }
      await dir.close();
      dir = next;
    }
    throw new Error('unreachable');
  } finally {
    await dir?.close().catch(() => undefined);
  }
}

/**
 * The virtual path a symlink leads to, followed by what remained of the path after it. An absolute target must lie
 * in the home (under its real path or one of its aliases); a relative one is resolved from the link's folder and may
 * not climb above the home.
 */
function linkTarget(root: string, aliases: readonly string[], linkVirtual: string, target: string, rest: string[]) {
  let base: string;
  if (target.startsWith('/')) {
    const inside = [root, ...aliases]
      .map((prefix) => (target === prefix ? '/' : relativeTo(prefix, target)))
      .find((value) => value !== undefined);
    if (inside === undefined) throw new PathError('outside-home', 'symbolic link leads out of the home folder');
    base = inside;
  } else {
    base = posix.dirname(linkVirtual);
    for (const part of target.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..') {
        if (base === '/') throw new PathError('outside-home', 'symbolic link leads out of the home folder');
        base = posix.dirname(base);
      } else {
        base = base === '/' ? `/${part}` : `${base}/${part}`;
      }
    }
  }
  const joined = [base === '/' ? '' : base, ...rest].join('/');
  const normalized = posix.normalize(joined === '' ? '/' : joined);
  return normalized.length > 1 && normalized.endsWith('/') ? normalized.slice(0, -1) : normalized;
}

function relativeTo(prefix: string, target: string): string | undefined {
  const withSep = prefix.endsWith(sep) ? prefix : `${prefix}${sep}`;
  if (!target.startsWith(withSep)) return undefined;
  const rest = posix.normalize(target.slice(withSep.length));
  if (rest === '..' || rest.startsWith('../')) return undefined;
  return `/${rest}`;
}

/** The virtual path of the first `count` components. */
function virtualOf(parts: string[], count: number): string {
  return `/${parts.slice(0, count).join('/')}`;
}

export function fdPath(handle: FileHandle): string {
  return `/proc/self/fd/${handle.fd}`;
}
