import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { describe, expect, it } from 'vitest';
import { clientAdd } from '../../src/commands/client-add.js';
import { clientRemove } from '../../src/commands/client-remove.js';
import { init } from '../../src/commands/init.js';
import type { Prompter } from '../../src/core/ports.js';
import { withTempDir } from '../helpers/cli.js';
import { capturingContext, interactiveContext } from '../helpers/context.js';
import { scriptedPrompter } from '../helpers/prompter.js';

const seed = `project: acme-partner-exchange
defaults:
  region: eu-west-2
  vpc: { cidr: 10.42.0.0/24 }
environments:
  dev: {}
  staging: {}
clients:
  - name: bank
    allowedIps: [203.0.113.0/24]
    upload: { sshKeys: [] }
`;
const options = { extensions: 'gpg,pgp', checksum: 'sha256', memory: '512', upload: true, download: true };

/** Every file under `dir` with its sha256: compared before and after to show nothing changed. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files: Record<string, string> = {};
  for (const entry of entries.filter((item) => item.isFile())) {
    const path = join(entry.parentPath, entry.name);
    files[path.slice(dir.length + 1)] = createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
  }
  return files;
}

/** Ctrl+C at the n-th question, as @inquirer/prompts reports it. */
function cancellingPrompter(answers: Record<string, string | boolean>): Prompter {
  const cancel = () =>
    Object.assign(new Error('User force closed the prompt with SIGINT'), { name: 'ExitPromptError' });
  const take = async (name: string) => {
    if (!(name in answers)) throw cancel();
    return answers[name];
  };
  return {
    input: async (question) => String(await take(question.name)),
    password: async (question) => String(await take(question.name)),
    confirm: async (question) => Boolean(await take(question.name)),
    select: async () => {
      throw cancel();
    },
    checkbox: async () => {
      throw cancel();
    },
  };
}

describe('interactive answers are checked where they are given, by the final validation rules', () => {
  it('init refuses a client name too long for its bucket names at the prompt (project and environments known)', async () => {
    await withTempDir(async (dir) => {
      const { prompter } = scriptedPrompter({
        project: 'acme-partner-exchange',
        environments: 'dev,staging',
        region: 'eu-west-2',
        vpcCidr: '10.8.0.0/24',
        addClient: true,
        clientName: 'northwind-bank-international-x',
      });
      await expect(init({}, interactiveContext(dir, prompter))).rejects.toThrow(
        /answer to "clientName" refused: bucket name "acme-partner-exchange-staging-northwind-bank-international-x-download" is 69 characters; S3 allows at most 63\. Shorten the client name \(or the project name\) by 6 characters/,
      );
      expect(await readdir(dir)).toEqual([]);
    });
  });

  it('init refuses an unknown region at the prompt with the nearest names', async () => {
    await withTempDir(async (dir) => {
      const { prompter } = scriptedPrompter({ project: 'acme', environments: 'dev', region: 'eu-west-9' });
      await expect(init({}, interactiveContext(dir, prompter))).rejects.toThrow(
        /answer to "region" refused: "eu-west-9" is not an AWS region\. Did you mean eu-west-1, eu-west-2 or eu-west-3\?/,
      );
    });
  });

  it('init refuses a partner address with host bits or open to the world', async () => {
    for (const [ips, message] of [
      ['203.0.113.7/24', /"203.0.113.7\/24" has host bits set\. Did you mean 203.0.113.0\/24\?/],
      ['0.0.0.0/0', /0.0.0.0\/0 opens the SFTP port to the whole internet/],
      ['2001:db8::1', /is an IPv6 address/],
    ] as const) {
      await withTempDir(async (dir) => {
        const { prompter } = scriptedPrompter({
          project: 'acme',
          environments: 'dev',
          region: 'eu-west-2',
          vpcCidr: '10.8.0.0/24',
          addClient: true,
          clientName: 'bank',
          clientIps: ips,
        });
        await expect(init({}, interactiveContext(dir, prompter))).rejects.toThrow(message);
        expect(await readdir(dir)).toEqual([]);
      });
    }
  });

  it('client add refuses an RSA-1024 SSH key file at the prompt', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'sftpctl.yaml'), seed);
      execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '1024', '-N', '', '-f', join(dir, 'weak')]);
      const before = await snapshot(dir);
      const { prompter } = scriptedPrompter({ ips: '198.51.100.0/24', uploadKey: 'weak.pub' });
      await expect(clientAdd('shop', options, interactiveContext(dir, prompter))).rejects.toThrow(
        /answer to "uploadKey" refused: .*RSA key of 1024 bits; at least 2048 are required/,
      );
      expect(await snapshot(dir)).toEqual(before);
    });
  });

  it('client add refuses a private key or a missing file given as an SSH public key', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'sftpctl.yaml'), seed);
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'id')]);
      const before = await snapshot(dir);
      for (const [answer, message] of [
        ['id', /PRIVATE KEY|private key/i],
        ['nope.pub', /nope.pub does not exist \(looked at .*nope.pub\)/],
      ] as const) {
        const { prompter } = scriptedPrompter({ ips: '', downloadKey: answer });
        await expect(
          clientAdd('shop', { ...options, upload: false }, interactiveContext(dir, prompter)),
        ).rejects.toThrow(message);
      }
      expect(await snapshot(dir)).toEqual(before);
    });
  });

  it('client add refuses an expired partner PGP key, asks again, and gives up after three with nothing written', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'sftpctl.yaml'), seed);
      const expired = await openpgp.generateKey({
        type: 'ecc',
        curve: 'curve25519Legacy',
        userIDs: [{ name: 'Old Partner' }],
        date: new Date('2020-01-01T00:00:00Z'),
        keyExpirationTime: 86400,
        format: 'armored',
      });
      await writeFile(join(dir, 'partner.asc'), expired.publicKey);
      const before = await snapshot(dir);
      const { prompter, asked } = scriptedPrompter({ ips: '', downloadKey: '', partnerKey: 'partner.asc' });
      const { context, stderr } = capturingContext(dir);
      const error = await clientAdd(
        'shop',
        { ...options, upload: false },
        { ...context, interactive: true, prompter },
      ).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ code: 'PGP_KEY_INVALID', kind: 'usage' });
      expect((error as Error).message).toMatch(/partner.asc: .*expired/i);
      expect(asked.filter((name) => name === 'partnerKey')).toHaveLength(3);
      expect(stderr()).toMatch(/✖ partner.asc: .*expired/i);
      expect(await snapshot(dir)).toEqual(before);
    });
  });

  it('client add refuses a name too long for its bucket names before asking anything', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'sftpctl.yaml'), seed);
      const before = await snapshot(dir);
      const { prompter, asked } = scriptedPrompter({});
      const error = await clientAdd('northwind-bank-international-x', options, interactiveContext(dir, prompter)).catch(
        (caught: unknown) => caught,
      );
      expect(error).toMatchObject({ code: 'CLIENT_NAME_INVALID', kind: 'usage' });
      expect((error as Error).message).toMatch(/is 69 characters; S3 allows at most 63/);
      expect(asked).toEqual([]);
      expect(await snapshot(dir)).toEqual(before);
    });
  });
});

describe('Ctrl+C says exactly what was and was not written', () => {
  it('init: the config was not created', async () => {
    await withTempDir(async (dir) => {
      const { context, stderr } = capturingContext(dir);
      const code = await init({}, { ...context, interactive: true, prompter: cancellingPrompter({ project: 'acme' }) });
      expect(code).toBe(130);
      expect(stderr()).toBe('Cancelled: nothing was written; sftpctl.yaml was not created.\n');
      expect(stderr()).not.toMatch(/change set|stack/i);
      expect(await readdir(dir)).toEqual([]);
    });
  });

  it('init --force over an existing config: it is as it was', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'sftpctl.yaml'), seed);
      const before = await snapshot(dir);
      const { context, stderr } = capturingContext(dir);
      const code = await init({ force: true }, { ...context, interactive: true, prompter: cancellingPrompter({}) });
      expect(code).toBe(130);
      expect(stderr()).toBe('Cancelled: nothing was written; sftpctl.yaml is as it was.\n');
      expect(await snapshot(dir)).toEqual(before);
    });
  });

  it('client remove: the client is still there', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'sftpctl.yaml'), seed);
      const before = await snapshot(dir);
      const { context, stderr } = capturingContext(dir);
      const code = await clientRemove('bank', {
        ...context,
        globals: { ...context.globals, yes: false },
        interactive: true,
        prompter: cancellingPrompter({}),
      });
      expect(code).toBe(130);
      expect(stderr()).toBe('Cancelled: nothing was changed; sftpctl.yaml still has client bank.\n');
      expect(await snapshot(dir)).toEqual(before);
    });
  });

  it('client add: the config and keys/ are as they were', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'sftpctl.yaml'), seed);
      const before = await snapshot(dir);
      const { context, stderr } = capturingContext(dir);
      const code = await clientAdd('shop', options, {
        ...context,
        interactive: true,
        prompter: cancellingPrompter({ ips: '198.51.100.0/24' }),
      });
      expect(code).toBe(130);
      expect(stderr()).toBe('Cancelled: nothing was written; sftpctl.yaml and keys/ are as they were.\n');
      expect(await snapshot(dir)).toEqual(before);
    });
  });
});
