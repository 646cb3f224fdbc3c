import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ClientAddOptions, clientAdd } from '../../src/commands/client-add.js';
import type { CommandContext } from '../../src/commands/context.js';
import { Output } from '../../src/ui/output.js';
import { withTempDir } from '../helpers/cli.js';
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

function context(cwd: string, prompter: CommandContext['prompter']): CommandContext {
  const sink = { write: () => true, isTTY: false } as unknown as NodeJS.WritableStream;
  return {
    globals: { json: false, debug: false, yes: false },
    output: new Output(false, sink, sink),
    interactive: true,
    prompter,
    cwd,
  };
}

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
      expect(await clientAdd('bank', defaults, context(dir, prompter))).toBe(0);
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
      await clientAdd('bank', { ...defaults, ip: ['203.0.113.9'], download: false }, context(dir, prompter));
      expect(asked).toEqual(['uploadKey']);
    });
  });
});
