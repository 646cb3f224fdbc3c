import { lstat, opendir, statfs } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * statvfs answers for a home: the configured quota as the size of the "disk", what the home holds as used, so a
 * partner's `df` or rclone `about` learns nothing of the host's disk. Free space is also capped by what the host
 * really has left, so a client never plans an upload the disk cannot take.
 */

const BLOCK = 4096;
const UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** "500G", "1.5T", "1048576": bytes (binary units), or undefined when it is not a size. */
export function parseQuota(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  if (!match) return undefined;
  const bytes = Math.floor(Number(match[1]) * UNITS[match[2]!.toUpperCase()]!);
  return bytes >= BLOCK && Number.isSafeInteger(bytes) ? bytes : undefined;
}
/** Entries walked at most per answer; a home larger than this is reported as holding what was counted. */
const MAX_ENTRIES = 200_000;
const ST_RDONLY = 1;
const ST_NOSUID = 2;

export interface VfsFigures {
  bsize: number;
  frsize: number;
  blocks: number;
  bfree: number;
  bavail: number;
  files: number;
  ffree: number;
  favail: number;
  fsid: number;
  flag: number;
  namemax: number;
}

export async function quotaStatvfs(home: string, quotaBytes: number, readOnly: boolean): Promise<VfsFigures> {
  const used = await usedBytes(home);
  const host = await statfs(home);
  const hostFree = host.bavail * host.bsize;
  const free = Math.max(0, Math.min(quotaBytes - used, hostFree));
  const blocks = Math.floor(quotaBytes / BLOCK);
  const freeBlocks = Math.min(blocks, Math.floor(free / BLOCK));
  // Object storage has no inode limit: a fixed, generous figure rather than the host's.
  const files = 1_000_000_000;
  return {
    bsize: BLOCK,
    frsize: BLOCK,
    blocks,
    bfree: freeBlocks,
    bavail: freeBlocks,
    files,
    ffree: files,
    favail: files,
    fsid: 0,
    flag: (readOnly ? ST_RDONLY : 0) | ST_NOSUID,
    namemax: 255,
  };
}

/** Bytes of the regular files under `root` (symlinks not followed). */
export async function usedBytes(root: string): Promise<number> {
  let total = 0;
  let seen = 0;
  const folders = [root];
  while (folders.length > 0 && seen < MAX_ENTRIES) {
    const folder = folders.pop()!;
    const dir = await opendir(folder).catch(() => undefined);
    if (!dir) continue;
    for await (const entry of dir) {
      if (++seen > MAX_ENTRIES) break;
      const path = join(folder, entry.name);
      if (entry.isDirectory()) folders.push(path);
      else if (entry.isFile()) total += (await lstat(path).catch(() => undefined))?.size ?? 0;
    }
  }
  return total;
}
