import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Every entry under `dir` with its type, mode and content hash: two snapshots are equal exactly when nothing was
 * written, removed, re-moded or replaced. Links are recorded, never followed.
 */
export async function treeSnapshot(dir: string): Promise<Record<string, string>> {
  const snapshot: Record<string, string> = {};
  async function walk(path: string, rel: string): Promise<void> {
    for (const name of (await readdir(path)).sort()) {
      const full = join(path, name);
      const key = rel ? `${rel}/${name}` : name;
      const info = await lstat(full);
      const mode = (info.mode & 0o7777).toString(8);
      if (info.isSymbolicLink()) snapshot[key] = `link ${await readlink(full)}`;
      else if (info.isDirectory()) {
        snapshot[key] = `dir ${mode}`;
        await walk(full, key);
      } else if (info.isFile()) {
        snapshot[key] = `file ${mode} ${createHash('sha256')
          .update(await readFile(full))
          .digest('hex')}`;
      } else snapshot[key] = `special ${mode}`;
    }
  }
  await walk(dir, '');
  return snapshot;
}
