import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from './files.js';

const MARK = '# Written by sftpctl: private keys and local platform data never enter git.';

/**
 * Makes sure git would never stage `path` (a private key): when git does not already ignore it — or cannot say, because
 * git is missing or the folder is not a repository yet — an anchored rule for it goes into a `.gitignore` beside it.
 * Returns the `.gitignore` written, if any.
 */
export async function keepOutOfGit(path: string): Promise<string | undefined> {
  if (await gitIgnores(path)) return undefined;
  return addIgnoreRule(dirname(path), `/${escapeGlob(basename(path))}`);
}

/** A folder whose whole content is local state (local up's data directory): a `.gitignore` of `*` inside it. */
export async function keepFolderOutOfGit(folder: string): Promise<string | undefined> {
  return addIgnoreRule(folder, '*');
}

async function addIgnoreRule(folder: string, rule: string): Promise<string | undefined> {
  const file = join(folder, '.gitignore');
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (text?.split(/\r?\n/).some((line) => line.trim() === rule)) return undefined;
  const next =
    text === undefined
      ? `${MARK}\n${rule}\n`
      : `${text.replace(/\s*$/, '')}\n${text.includes(MARK) ? '' : `${MARK}\n`}${rule}\n`;
  await writeFileAtomic(file, next.replace(/^\n/, ''));
  return file;
}

function escapeGlob(name: string): string {
  return name.replace(/[*?[\]\\!#]/g, (char) => `\\${char}`).replace(/^ | $/g, (space) => `\\${space}`);
}

/** True when git is present, the path is inside a work tree, and git's own rules ignore it. */
function gitIgnores(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(
      'git',
      ['check-ignore', '-q', '--no-index', '--', basename(path)],
      { cwd: dirname(path), timeout: 10_000, env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' } },
      (error) => resolve(error === null),
    );
  });
}
