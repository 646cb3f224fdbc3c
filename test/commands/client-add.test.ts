import { execFileSync } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ClientAddOptions, clientAdd } from '../../src/commands/client-add.js';
import { runCli, withTempDir } from '../helpers/cli.js';
import { interactiveContext } from '../helpers/context.js';
import { scriptedPrompter } from '../helpers/prompter.js';

const seed = `project: acme
defaults:
  region: eu-west-2
  vpc: { cidr: 10.42.0.0/24 }
environments:
  dev: {}
`;
const defaults: ClientAddOptions = {
  extensions: 'gpg,pgp',
  checksum: 'sha256',
  memory: '512',
  upload: true,
  download: true,
};

describe('client add on a terminal', () => {
  it('asks for the addresses, keys and partner key the flags left out', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'sftpctl.yaml'), seed);
      const { prompter, asked } = scriptedPrompter({
        ips: '203.0.113.0/24',
        uploadKey: '',
        downloadKey: '',
        partnerKey: '',
      });
      expect(await clientAdd('bank', defaults, interactiveContext(dir, prompter))).toBe(0);
      expect(asked).toEqual(['ips', 'uploadKey', 'downloadKey', 'partnerKey']);
      expect(await readFile(join(dir, 'sftpctl.yaml'), 'utf8')).toMatch(
        /- name: bank\n\s+allowedIps: \[203.0.113.0\/24\]/,
      );
    });
  });

  it('asks nothing the flags answered', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'sftpctl.yaml'), seed);
      const { prompter, asked } = scriptedPrompter({ uploadKey: '' });
      await clientAdd('bank', { ...defaults, ip: ['203.0.113.9'], download: false }, interactiveContext(dir, prompter));
      expect(asked).toEqual(['uploadKey']);
    });
  });
});

describe('client add --generate-keys', () => {
  it('creates the ingress PGP pair and test SSH pairs under keys/<client>/, references them, and keeps private keys out of git', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'sftpctl.yaml'), `${seed}clients: []\n`);
      const result = await runCli(
        ['client', 'add', 'bank', '--ip', '203.0.113.0/24', '--generate-keys', '--generate-ssh-keys', '--json'],
        { cwd: dir },
      );
      expect(result.code, result.stderr).toBe(0);
      expect(Object.keys(JSON.parse(result.stdout).generatedKeys).sort()).toEqual(['download', 'ingress', 'upload']);
      const text = await readFile(join(dir, 'sftpctl.yaml'), 'utf8');
      expect(text).toMatch(/ingressPublicKey: keys\/bank\/ingress.pub.asc/);
      expect(text).toMatch(/ingressPrivateKey: keys\/bank\/ingress.key.asc/);
      expect(text).toMatch(/- keys\/bank\/upload.pub/);
      expect(text).not.toMatch(/clients: \[\{/);
      for (const name of ['ingress.key.asc', 'upload', 'download'])
        expect((await stat(join(dir, 'keys/bank', name))).mode & 0o777).toBe(0o600);

      execFileSync('git', ['init', '-q', '.'], { cwd: dir });
      execFileSync('git', ['add', '-A'], { cwd: dir });
      const tracked = execFileSync('git', ['ls-files'], { cwd: dir, encoding: 'utf8' }).trim().split('\n').sort();
      expect(tracked).toEqual([
        'keys/.gitignore',
        'keys/bank/download.pub',
        'keys/bank/ingress.pub.asc',
        'keys/bank/upload.pub',
        'sftpctl.yaml',
      ]);
      expect((await runCli(['config', 'validate'], { cwd: dir })).code).toBe(0);
    });
  });

  it('removes the keys it generated when the config edit is refused', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'sftpctl.yaml'), seed);
      // Extensions the flags pass through but the config refuses: the edit fails after the keys were generated.
      const result = await runCli(
        ['client', 'add', 'bank', '--ip', '203.0.113.7', '--extensions', 'g p g', '--generate-keys'],
        {
          cwd: dir,
        },
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/an extension is 1-16 letters or digits/);
      expect(await readdir(join(dir, 'keys/bank'))).toEqual([]);
      expect(await readFile(join(dir, 'sftpctl.yaml'), 'utf8')).toBe(seed);
    });
  });
});
