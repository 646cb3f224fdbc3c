import { chmod, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli, withTempDir } from '../helpers/cli.js';
import { treeSnapshot } from '../helpers/tree-hash.js';

/**
 * The file system as a user meets it — folders where files belong, link loops, special files, missing and unwritable
 * parents, taken names, hostile config files — through the real CLI. Each case: the exit code, a message that says
 * what and where and what to do (never "a bug in sftpctl"), and a project folder that no byte of changed.
 */
const isRoot = process.getuid?.() === 0;

async function project(dir: string): Promise<void> {
  await writeFile(join(dir, 'sftpctl.yaml'), await readFile(join(ROOT, 'examples/sftpctl.yaml'), 'utf8'));
  await mkdir(join(dir, 'keys'));
  await writeFile(join(dir, 'keys', 'partner.pub'), 'ssh-ed25519 AAAA fake\n');
  await writeFile(join(dir, 'notes.txt'), 'mine\n');
}

/** A PGP pair in the project (pgp.pub.asc, pgp.key.asc), made by the CLI itself. */
async function withPgpKey(dir: string): Promise<void> {
  const made = await runCli(['keys', 'generate', 'gpg', '--name', 'T', '--email', 't@example.com', '--out', 'pgp'], {
    cwd: dir,
  });
  if (made.code !== 0) throw new Error(made.stderr);
}

interface Case {
  name: string;
  setup?: (dir: string) => Promise<void>;
  args: string[];
  code: number;
  message: RegExp;
  /** Files the command may create (outside of these, nothing may change). */
  mayCreate?: RegExp;
}

const cases: Case[] = [
  {
    name: 'synth --out . in the project folder refuses, naming the foreign files',
    args: ['synth', '--env', 'dev', '--out', '.'],
    code: 1,
    message:
      /\[OUT_NOT_OURS\] .* already holds files sftpctl did not write there: keys, notes\.txt, sftpctl\.yaml[\s\S]*--force/,
  },
  {
    name: 'synth --out naming a folder of the user refuses',
    setup: async (dir) => {
      await mkdir(join(dir, 'docs'));
      await writeFile(join(dir, 'docs', 'README.md'), 'x');
    },
    args: ['synth', '--env', 'dev', '--out', 'docs'],
    code: 1,
    message: /\[OUT_NOT_OURS\].*docs.*README\.md/,
  },
  {
    name: 'synth --out --force never overwrites a file of the same name it did not write',
    setup: async (dir) => {
      await mkdir(join(dir, 'cfn'));
      await writeFile(join(dir, 'cfn', 'manifest.json'), '{"mine": true}');
    },
    args: ['synth', '--env', 'dev', '--out', 'cfn', '--force'],
    code: 1,
    message: /\[OUT_WOULD_OVERWRITE\].*manifest\.json/,
  },
  {
    name: 'synth --out naming a file',
    args: ['synth', '--env', 'dev', '--out', 'notes.txt'],
    code: 1,
    message: /\[OUT_NOT_A_FOLDER\].*notes\.txt/,
  },
  {
    name: 'synth --out under a file (not a folder)',
    args: ['synth', '--env', 'dev', '--out', 'notes.txt/cfn'],
    code: 1,
    message: /\[FS_ENOTDIR\] .*notes\.txt\/cfn goes through something that is not a folder/,
  },
  {
    name: 'synth --out on /proc (a file system that takes no folders) ends, and says so',
    args: ['synth', '--env', 'dev', '--out', '/proc/sftpctl-test/cfn'],
    code: 1,
    message: /\[FS_NOT_CREATABLE\] \/proc\/sftpctl-test cannot be created/,
  },
  {
    name: 'keys generate ssh --out /proc/x/key ends, and says so',
    args: ['keys', 'generate', 'ssh', '--out', '/proc/sftpctl-test/key'],
    code: 1,
    message: /\[FS_NOT_CREATABLE\]/,
  },
  {
    name: 'keys generate ssh --out under a device file',
    args: ['keys', 'generate', 'ssh', '--out', '/dev/null/key'],
    code: 1,
    message: /\[FS_ENOTDIR\] \/dev\/null is not a folder/,
  },
  {
    name: 'keys generate ssh --out naming an existing folder',
    args: ['keys', 'generate', 'ssh', '--out', 'keys'],
    code: 1,
    message: /keys.*(already exists|is a folder)/,
  },
  {
    name: 'keys generate gpg --out whose .key.asc is a link loop',
    setup: async (dir) => {
      await symlink('loop.key.asc', join(dir, 'loop.key.asc'));
    },
    args: ['keys', 'generate', 'gpg', '--name', 'T', '--email', 't@example.com', '--out', 'loop'],
    code: 1,
    message: /\[KEY_FILE_EXISTS\] .*loop\.key\.asc already exists/,
  },
  {
    name: 'config validate: a config that is a folder',
    setup: async (dir) => {
      await mkdir(join(dir, 'cfgdir'));
    },
    args: ['config', 'validate', '-c', 'cfgdir'],
    code: 1,
    message: /\[CONFIG_UNREADABLE\].*cfgdir is a folder, not a regular file/,
  },
  {
    name: 'config validate: a config that is a device (/dev/zero never ends)',
    args: ['config', 'validate', '-c', '/dev/zero'],
    code: 1,
    message: /\[CONFIG_UNREADABLE\].*\/dev\/zero is a special file/,
  },
  {
    name: 'config validate: a config that is a FIFO with no writer',
    setup: async (dir) => {
      const { execFileSync } = await import('node:child_process');
      execFileSync('mkfifo', [join(dir, 'pipe.yaml')]);
    },
    args: ['config', 'validate', '-c', 'pipe.yaml'],
    code: 1,
    message: /pipe\.yaml is a special file/,
  },
  {
    name: 'config validate: a config over the size limit is refused before it is read',
    setup: async (dir) => {
      await writeFile(join(dir, 'huge.yaml'), `project: x\n# ${'y'.repeat(5 * 1024 * 1024)}\n`);
    },
    args: ['config', 'validate', '-c', 'huge.yaml'],
    code: 1,
    message: /\[CONFIG_UNREADABLE\].*huge\.yaml is \d+ bytes; files of this kind are at most 4194304 bytes/,
  },
  {
    name: 'config validate: a YAML alias bomb is a config error at its location',
    setup: async (dir) => {
      const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
      for (let level = 1; level < 8; level++) {
        const previous = String.fromCharCode(96 + level);
        const name = String.fromCharCode(97 + level);
        levels.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(', ')}]`);
      }
      await writeFile(join(dir, 'bomb.yaml'), `${levels.join('\n')}\n`);
    },
    args: ['config', 'validate', '-c', 'bomb.yaml'],
    code: 1,
    message: /bomb\.yaml:2:\d+ YAML aliases here expand past 100 copies/,
  },
  {
    name: 'config validate: an SSH key path that is a folder is reported at its field',
    setup: async (dir) => {
      const text = await readFile(join(dir, 'sftpctl.yaml'), 'utf8');
      await writeFile(join(dir, 'k.yaml'), text.replace('upload: { sshKeys: [] }', 'upload: { sshKeys: [keys] }'));
    },
    args: ['config', 'validate', '-c', 'k.yaml'],
    code: 1,
    message: /k\.yaml:\d+:\d+ clients\[0\]\.upload\.sshKeys\[0\]: key file "keys" cannot be read: .*is a folder/,
  },
  {
    name: 'config validate: an SSH key path that is a link loop is reported at its field',
    setup: async (dir) => {
      await symlink('l2', join(dir, 'l1'));
      await symlink('l1', join(dir, 'l2'));
      const text = await readFile(join(dir, 'sftpctl.yaml'), 'utf8');
      await writeFile(join(dir, 'k.yaml'), text.replace('upload: { sshKeys: [] }', 'upload: { sshKeys: [l1] }'));
    },
    args: ['config', 'validate', '-c', 'k.yaml'],
    code: 1,
    message: /sshKeys\[0\]: key file "l1" cannot be read: .*symbolic link that loops/,
  },
  {
    name: 'init -c under a file (not a folder)',
    args: ['init', '-c', 'notes.txt/sftpctl.yaml', '--project', 'p1x', '--region', 'eu-west-2'],
    code: 1,
    message: /\[FS_ENOTDIR\] .*notes\.txt is not a folder/,
  },
  {
    name: 'encrypt a folder',
    setup: withPgpKey,
    args: ['encrypt', 'keys', '--recipient', 'pgp.pub.asc'],
    code: 2,
    message: /\[FS_NOT_A_FILE\] keys is a folder, not a file/,
  },
  {
    name: 'encrypt a device that never ends (/dev/zero)',
    setup: withPgpKey,
    args: ['encrypt', '/dev/zero', '--recipient', 'pgp.pub.asc'],
    code: 2,
    message: /\[FS_NOT_A_FILE\] \/dev\/zero is a special file/,
  },
  {
    name: 'decrypt a folder',
    setup: withPgpKey,
    args: ['decrypt', 'keys', '--key', 'pgp.key.asc'],
    code: 2,
    message: /\[FS_NOT_A_FILE\] keys is a folder/,
  },
  {
    name: 'encrypt --recipient naming a folder',
    args: ['encrypt', 'notes.txt', '--recipient', 'keys'],
    code: 2,
    message: /\[FS_NOT_A_FILE\] --recipient: .*keys is a folder, not a regular file/,
  },
  {
    name: 'local export of a folder',
    args: ['local', 'export', 'northwind-bank', 'keys'],
    code: 2,
    message: /\[FS_NOT_A_FILE\] keys is a folder, not a file/,
  },
  {
    name: 'verify checksum of a folder says it is a folder, not that it is missing',
    args: ['verify', 'checksum', 'keys'],
    code: 1,
    message: /keys is a folder, not a file/,
  },
  {
    name: 'cost --price-file naming a device',
    args: ['cost', '--env', 'prod', '--price-file', '/dev/zero'],
    code: 1,
    message: /\/dev\/zero is a special file/,
  },
  {
    name: 'init --from naming a folder',
    args: ['init', '--from', 'keys', '--project', 'p1x', '--region', 'eu-west-2', '-c', 'new.yaml'],
    code: 1,
    message: /keys is a folder, not a regular file/,
  },
  ...(isRoot
    ? []
    : [
        {
          name: 'synth --out under an unwritable parent',
          setup: async (dir: string) => {
            await mkdir(join(dir, 'locked'));
            await chmod(join(dir, 'locked'), 0o500);
          },
          args: ['synth', '--env', 'dev', '--out', 'locked/cfn'],
          code: 1,
          message: /\[FS_EACCES\].*locked\/cfn/,
        },
      ]),
];

describe('file-system faults through the CLI: exit code, what/where/what to do, and nothing changed', () => {
  it.each(cases)('$name', async ({ setup, args, code, message }) => {
    await withTempDir(async (dir) => {
      await project(dir);
      await setup?.(dir);
      const before = await treeSnapshot(dir);
      const result = await runCli(args, { cwd: dir });
      expect(result.stderr + result.stdout).toMatch(message);
      expect(result.code, result.stderr).toBe(code);
      expect(result.stderr).not.toMatch(/internal error|bug in sftpctl|\n\s+at /);
      expect(await treeSnapshot(dir)).toEqual(before);
    });
  });
});

describe('init makes the folders its config goes into', () => {
  it('-c newdir/sub/sftpctl.yaml creates the folders and the config, nothing else', async () => {
    await withTempDir(async (dir) => {
      const result = await runCli(
        ['init', '-c', 'newdir/sub/sftpctl.yaml', '--project', 'p1x', '--region', 'eu-west-2'],
        {
          cwd: dir,
        },
      );
      expect(result.code, result.stderr).toBe(0);
      expect(await readFile(join(dir, 'newdir/sub/sftpctl.yaml'), 'utf8')).toMatch(/project: p1x/);
      expect(Object.keys(await treeSnapshot(dir))).toEqual(['newdir', 'newdir/sub', 'newdir/sub/sftpctl.yaml']);
    });
  });
});

describe('synth owns only what its manifest lists', () => {
  it('a second synth into its own folder replaces its files and removes stacks that no longer exist, nothing else', async () => {
    await withTempDir(async (dir) => {
      await project(dir);
      expect((await runCli(['synth', '--env', 'dev', '--out', 'cfn'], { cwd: dir })).code).toBe(0);
      const manifest = JSON.parse(await readFile(join(dir, 'cfn', 'manifest.json'), 'utf8'));
      const stale = 'acme-sftp-dev-client-gone.template.yaml';
      manifest.stacks.push({ ...manifest.stacks[0], file: stale });
      await writeFile(join(dir, 'cfn', 'manifest.json'), JSON.stringify(manifest));
      await writeFile(join(dir, 'cfn', stale), 'old');
      const outside = await treeSnapshot(dir);
      const again = await runCli(['synth', '--env', 'dev', '--out', 'cfn', '--force'], { cwd: dir });
      expect(again.code, again.stderr).toBe(0);
      const after = await treeSnapshot(dir);
      expect(after[`cfn/${stale}`]).toBeUndefined();
      const untouched = (snapshot: Record<string, string>) =>
        Object.fromEntries(Object.entries(snapshot).filter(([path]) => !path.startsWith('cfn')));
      expect(untouched(after)).toEqual(untouched(outside));
    });
  });

  it('--force writes beside the user’s files and never deletes them', async () => {
    await withTempDir(async (dir) => {
      await project(dir);
      const result = await runCli(['synth', '--env', 'dev', '--out', '.', '--force'], { cwd: dir });
      expect(result.code, result.stderr).toBe(0);
      expect(await readFile(join(dir, 'notes.txt'), 'utf8')).toBe('mine\n');
      expect(await readFile(join(dir, 'keys', 'partner.pub'), 'utf8')).toMatch(/ssh-ed25519/);
      expect(await readFile(join(dir, 'manifest.json'), 'utf8')).toMatch(/manifestVersion/);
    });
  });
});
