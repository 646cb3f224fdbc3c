import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { init } from '../../src/commands/init.js';
import { validateConfigText } from '../../src/core/config/validate.js';
import { BIN, withTempDir } from '../helpers/cli.js';
import { interactiveContext } from '../helpers/context.js';
import { scriptedPrompter } from '../helpers/prompter.js';

describe('init through its prompts', () => {
  it('asks for project, environments, region, VPC CIDR and a first client, then writes a valid config', async () => {
    await withTempDir(async (dir) => {
      const { prompter, asked } = scriptedPrompter({
        project: 'north-sftp',
        environments: 'dev, prod',
        region: 'eu-north-1',
        vpcCidr: '10.8.0.0/24',
        addClient: true,
        clientName: 'acme-bank',
        clientIps: '203.0.113.0/24, 198.51.100.4',
      });
      expect(await init({}, interactiveContext(dir, prompter))).toBe(0);
      expect(asked).toEqual(['project', 'environments', 'region', 'vpcCidr', 'addClient', 'clientName', 'clientIps']);
      const text = await readFile(join(dir, 'sftpctl.yaml'), 'utf8');
      const result = await validateConfigText(text, 'sftpctl.yaml');
      expect(result.errors).toEqual([]);
      expect(result.config).toMatchObject({
        project: 'north-sftp',
        environments: {
          dev: { region: 'eu-north-1', protected: false },
          prod: { protected: true, vpc: { cidr: '10.8.0.0/24' } },
        },
        clients: [{ name: 'acme-bank', allowedIps: ['203.0.113.0/24', '198.51.100.4'] }],
      });
    });
  });

  it('only asks what the flags leave open', async () => {
    await withTempDir(async (dir) => {
      const { prompter, asked } = scriptedPrompter({ environments: 'dev', vpcCidr: '10.9.0.0/24', addClient: false });
      expect(await init({ project: 'p1', region: 'us-east-1' }, interactiveContext(dir, prompter))).toBe(0);
      expect(asked).toEqual(['environments', 'vpcCidr', 'addClient']);
    });
  });

  it('a prompt refuses a bad answer with the same rule the validator applies', async () => {
    await withTempDir(async (dir) => {
      const { prompter } = scriptedPrompter({ project: 'Bad Name' });
      await expect(init({}, interactiveContext(dir, prompter))).rejects.toThrow(/lower-case letters/);
    });
  });
});

/** Drives the real binary and the real @inquirer prompts through a pseudo-terminal (util-linux `script`). */
describe('init in a real terminal', () => {
  it('answers typed at the prompts end up in the file', async () => {
    await withTempDir(async (dir) => {
      const child = spawn('script', ['-qfec', `${process.execPath} ${BIN} init`, '/dev/null'], {
        cwd: dir,
        env: { ...process.env, TERM: 'xterm', NO_COLOR: '1', AWS_REGION: '', AWS_DEFAULT_REGION: '', COLUMNS: '200' },
      });
      let screen = '';
      child.stdout.on('data', (chunk) => {
        screen += chunk;
      });
      const waitFor = async (pattern: RegExp) => {
        for (let tries = 0; tries < 400 && !pattern.test(screen); tries++) await new Promise((r) => setTimeout(r, 25));
        if (!pattern.test(screen)) throw new Error(`timed out waiting for ${pattern}; screen:\n${screen}`);
      };
      const answer = async (prompt: RegExp, keys: string) => {
        await waitFor(prompt);
        screen = '';
        child.stdin.write(keys);
      };
      await answer(/Project name/, 'tty-project\r');
      await answer(/Environments/, '\u0015dev,prod\r');
      await answer(/AWS region/, '\u0015eu-west-3\r');
      await answer(/VPC CIDR/, '\r');
      await answer(/Add a first client/, 'n\r');
      const code = await new Promise((done) => child.on('close', done));
      expect(code).toBe(0);
      const text = await readFile(join(dir, 'sftpctl.yaml'), 'utf8');
      expect(text).toMatch(/project: tty-project/);
      expect(text).toMatch(/region: eu-west-3/);
      expect(text).toMatch(/cidr: 10.42.0.0\/24/);
      expect(text).toMatch(/environments:\n(.*\n)*\s+dev: \{\}\n\s+prod:/);
    });
  });
});
