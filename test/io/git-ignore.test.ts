import { execFileSync } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keepFolderOutOfGit } from '../../src/io/git-ignore.js';
import { writeKeyPair, writePrivateFile } from '../../src/io/key-files.js';
import { runCli, withTempDir } from '../helpers/cli.js';

/** What `git add -A` would stage in `repo`, as paths. */
function wouldStage(repo: string): string[] {
  return execFileSync('git', ['add', '-A', '--dry-run'], { cwd: repo, encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((line) => line.replace(/^add '(.*)'$/, '$1'));
}

function gitInit(dir: string): void {
  execFileSync('git', ['-c', 'init.defaultBranch=main', 'init', '-q'], { cwd: dir });
}

describe('private keys never reach git', () => {
  it('keys generate ssh and gpg inside a repository: git add -A stages the public halves only', async () => {
    await withTempDir(async (dir) => {
      gitInit(dir);
      expect((await runCli(['keys', 'generate', 'ssh', '--out', 'partner/id'], { cwd: dir })).code).toBe(0);
      const gpg = ['keys', 'generate', 'gpg', '--name', 'T', '--email', 't@example.com', '--out', 'pgp/ops'];
      expect((await runCli(gpg, { cwd: dir })).code).toBe(0);
      const staged = wouldStage(dir);
      expect(staged).toContain('partner/id.pub');
      expect(staged).toContain('pgp/ops.pub.asc');
      expect(staged).not.toContain('partner/id');
      expect(staged).not.toContain('pgp/ops.key.asc');
      expect((await stat(join(dir, 'partner/id'))).mode & 0o777).toBe(0o600);
    });
  });

  it('a rule the project already has is respected: no .gitignore is added', async () => {
    await withTempDir(async (dir) => {
      gitInit(dir);
      await writeFile(join(dir, '.gitignore'), 'secret/\n');
      await writeKeyPair(
        { privatePath: join(dir, 'secret', 'k'), publicPath: join(dir, 'secret', 'k.pub') },
        { privateKey: 'PRIVATE', publicKey: 'PUBLIC' },
      );
      await expect(stat(join(dir, 'secret', '.gitignore'))).rejects.toThrow();
      expect(wouldStage(dir)).toEqual(['.gitignore']);
    });
  });

  it('outside any repository the rule is written anyway (a later git init must not stage the key)', async () => {
    await withTempDir(async (dir) => {
      await writePrivateFile(join(dir, 'data', 'secret.json'), '{"k":1}');
      gitInit(dir);
      expect(wouldStage(dir)).toEqual(['data/.gitignore']);
      expect((await stat(join(dir, 'data', 'secret.json'))).mode & 0o777).toBe(0o600);
    });
  });

  it('an existing .gitignore keeps its lines; the rule is added once, names with glob characters escaped', async () => {
    await withTempDir(async (dir) => {
      await mkdir(join(dir, 'k'));
      await writeFile(join(dir, 'k', '.gitignore'), '# mine\n*.log\n');
      const pair = { privateKey: 'P', publicKey: 'Q' };
      await writeKeyPair({ privatePath: join(dir, 'k', 'id[1]'), publicPath: join(dir, 'k', 'id[1].pub') }, pair);
      await writePrivateFile(join(dir, 'k', 'id[1]-copy'), 'P');
      await writePrivateFile(join(dir, 'k', 'id[1]-copy'), 'P2');
      const text = await readFile(join(dir, 'k', '.gitignore'), 'utf8');
      expect(text.startsWith('# mine\n*.log\n')).toBe(true);
      expect(text.match(/\/id\\\[1\\\]-copy/g)).toHaveLength(1);
      gitInit(dir);
      expect(wouldStage(dir).sort()).toEqual(['k/.gitignore', 'k/id[1].pub']);
    });
  });

  it('a folder of local state is ignored whole', async () => {
    await withTempDir(async (dir) => {
      await mkdir(join(dir, 'state', 'keys'), { recursive: true });
      await writeFile(join(dir, 'state', 'keys', 'x'), 'x');
      await keepFolderOutOfGit(join(dir, 'state'));
      gitInit(dir);
      expect(wouldStage(dir)).toEqual([]);
    });
  });
});
