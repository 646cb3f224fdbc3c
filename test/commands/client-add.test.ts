import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ClientAddOptions, clientAdd } from '../../src/commands/client-add.js';
import { withTempDir } from '../helpers/cli.js';
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
