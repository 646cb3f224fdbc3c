import { lstat, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { SftpctlError } from '../core/errors.js';
import { makeDirectory } from './directories.js';
import { writeFileAtomic } from './files.js';

export interface OwnedOutput {
  /** The folder to write into. */
  dir: string;
  /** File name → content; the manifest among them is written last. */
  files: Record<string, string>;
  /** The file that records what this command wrote (and so owns) in the folder. */
  manifestName: string;
  /** The file names a previous manifest lists, or undefined when the text is not one of ours. */
  listedIn(manifestText: string): string[] | undefined;
  /** Write beside files this command does not own (it still never overwrites or deletes them). */
  force: boolean;
  /** How the person can say --force, for the error. */
  forceFlag: string;
}

/**
 * Writes a command's output folder under the house rule: a command writes only what it owns. A new or empty folder is
 * taken; a folder holding a previous manifest of ours has exactly the files that manifest lists replaced or removed;
 * anything else in the folder is never overwritten nor deleted, and its presence is refused without --force. Every
 * file is written atomically and the manifest last, so an interrupted run never leaves a manifest naming missing files.
 */
export async function writeOwnedOutput(output: OwnedOutput): Promise<{ written: string[]; removed: string[] }> {
  const { dir, files, manifestName } = output;
  const info = await lstat(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (info && !(info.isDirectory() || (info.isSymbolicLink() && (await stat(dir)).isDirectory()))) {
    throw new SftpctlError(
      'OUT_NOT_A_FOLDER',
      `${dir} exists and is not a folder.`,
      'Give --out a new or empty folder.',
    );
  }
  if (!info) await makeDirectory(dir);

  const entries = info ? await readdir(dir) : [];
  const manifestText = entries.includes(manifestName)
    ? await readFile(join(dir, manifestName), 'utf8').catch(() => undefined)
    : undefined;
  const listed = manifestText === undefined ? undefined : output.listedIn(manifestText);
  const owned = new Set(listed ? [...listed, manifestName] : []);
  const foreign = entries.filter((name) => !owned.has(name));

  if (foreign.length > 0 && !output.force) {
    const shown = foreign.slice(0, 5).join(', ') + (foreign.length > 5 ? `, … (${foreign.length} in all)` : '');
    throw new SftpctlError(
      'OUT_NOT_OURS',
      `${dir} already holds files sftpctl did not write there: ${shown}.`,
      `Choose a new or empty folder, or pass ${output.forceFlag} to write beside them (they are never overwritten or deleted). Nothing was written.`,
    );
  }
  const clashes = Object.keys(files).filter((name) => foreign.includes(name));
  if (clashes.length > 0) {
    throw new SftpctlError(
      'OUT_WOULD_OVERWRITE',
      `${dir} already holds ${clashes.join(', ')}, which sftpctl did not write; it is never overwritten, even with ${output.forceFlag}.`,
      'Choose another folder, or move that file away. Nothing was written.',
    );
  }

  const names = Object.keys(files).sort((a, b) => Number(a === manifestName) - Number(b === manifestName));
  for (const name of names) await writeFileAtomic(join(dir, name), files[name] as string);
  const removed: string[] = [];
  for (const name of listed ?? []) {
    if (name in files || name.includes('/') || name.includes('\\') || name === '..') continue;
    const path = join(dir, name);
    const entry = await lstat(path).catch(() => undefined);
    if (!entry?.isFile()) continue;
    await unlink(path);
    removed.push(name);
  }
  return { written: names, removed };
}
