import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, parse, resolve } from 'node:path';
import { writeFileAtomic } from './files.js';

const MARK = '# Written by sftpctl: private keys and local platform data never enter git.';

/**
 * Makes sure git would never stage `path` (a private key): when git's rules do not already ignore it — in its
 * repository, or, outside one, in the .gitignore files above it — an anchored rule for it goes into a `.gitignore`
 * beside it (also when git is missing: a later repository must not stage the key).
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

/**
 * True when git's rules ignore the path: the repository's own when the path is inside one; otherwise the .gitignore
 * files on the path from the root, as a later `git init` above it would read them (through a throwaway empty
 * repository whose work tree is the root). False when git is missing.
 */
async function gitIgnores(path: string): Promise<boolean> {
  const inRepository = await git(['check-ignore', '-q', '--no-index', '--', basename(path)], dirname(path));
  if (inRepository !== 128) return inRepository === 0;
  const scratch = await mkdtemp(join(tmpdir(), 'sftpctl-git-'));
  try {
    if ((await git(['init', '-q', '--bare', scratch], scratch)) !== 0) return false;
    const root = parse(resolve(path)).root;
    return (
      (await git(
        [`--git-dir=${scratch}`, `--work-tree=${root}`, 'check-ignore', '-q', '--no-index', '--', resolve(path)],
        root,
      )) === 0
    );
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** git's exit code (128 when it cannot answer, -1 when git is missing or timed out). */
function git(args: string[], cwd: string): Promise<number> {
  return new Promise((done) => {
    execFile('git', args, { cwd, timeout: 10_000, env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' } }, (error) => {
      if (!error) return done(0);
      done(typeof error.code === 'number' ? error.code : -1);
    });
  });
}
