import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Home } from '../../src/local/sftp/paths.js';
import { FD_PATHS } from '../../src/local/sftp/resolve.js';

/** Resolution through opened folders (resolve.ts): what each kind of symlink in a home leads to. */

let root: string;
let home: Home;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sftpctl-resolve-'));
  const base = join(root, 'home');
  await mkdir(join(base, 'a', 'b'), { recursive: true });
  await writeFile(join(base, 'a', 'b', 'f.txt'), 'f');
  await writeFile(join(root, 'outside.txt'), 'outside');
  await symlink('a/b', join(base, 'rel-link'));
  await symlink(join(base, 'a'), join(base, 'abs-link'));
  await symlink('../../..', join(base, 'a', 'b', 'up-link'));
  await symlink('..', join(base, 'a', 'b', 'parent-link'));
  await symlink(join(root, 'outside.txt'), join(base, 'out-link'));
  await symlink('/etc', join(base, 'etc-link'));
  await symlink('loop-b', join(base, 'loop-a'));
  await symlink('loop-a', join(base, 'loop-b'));
  await symlink('a/missing.txt', join(base, 'dangling-inside'));
  home = await Home.open(base);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const resolve = async (virtual: string, follow = true) => {
  const entry = await home.resolve(virtual, { follow });
  await entry.close();
  return { virtual: entry.virtual, exists: entry.stats !== undefined };
};

describe.skipIf(!FD_PATHS)('resolving a path through opened folders', () => {
  it('follows links that stay in the home, relative and absolute, and reports where they lead', async () => {
    expect(await resolve('/rel-link/f.txt')).toEqual({ virtual: '/a/b/f.txt', exists: true });
    expect(await resolve('/abs-link/b/f.txt')).toEqual({ virtual: '/a/b/f.txt', exists: true });
    expect(await resolve('/a/b/parent-link/b/f.txt')).toEqual({ virtual: '/a/b/f.txt', exists: true });
    expect(await resolve('/rel-link')).toEqual({ virtual: '/a/b', exists: true });
    expect(await resolve('/rel-link', false)).toEqual({ virtual: '/rel-link', exists: true });
    expect(await resolve('/dangling-inside')).toEqual({ virtual: '/a/missing.txt', exists: false });
    expect(await resolve('/')).toEqual({ virtual: '/', exists: true });
  });

  it('refuses links that lead out of the home, however they are spelled', async () => {
    for (const path of ['/out-link', '/etc-link/passwd', '/a/b/up-link/outside.txt', '/etc-link']) {
      await expect(resolve(path), path).rejects.toMatchObject({ reason: 'outside-home' });
    }
    // Acting on the link itself (lstat, remove, rename) does not follow it.
    expect(await resolve('/out-link', false)).toEqual({ virtual: '/out-link', exists: true });
  });

  it('stops on link loops and missing folders', async () => {
    await expect(resolve('/loop-a/x')).rejects.toMatchObject({ code: 'ELOOP' });
    await expect(resolve('/nope/x')).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(resolve('/a/b/f.txt/x')).rejects.toMatchObject({ code: 'ENOTDIR' });
    expect(await resolve('/a/new.txt')).toEqual({ virtual: '/a/new.txt', exists: false });
  });
});
