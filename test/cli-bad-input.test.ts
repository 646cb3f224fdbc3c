import { createHash } from 'node:crypto';
import { cp, readdir, readFile } from 'node:fs/promises';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli, withTempDir } from './helpers/cli.js';

/**
 * Bad input on the command line, as a user types it: each case must fail with the right exit code, a message that says
 * what is wrong, where (the flag or name) and what to do, before any AWS call or sign-in — and leave every file as it
 * was. AWS is pointed at a closed port with no credentials, so a command that reached AWS would say so instead.
 */
const NO_AWS = {
  AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
  AWS_ACCESS_KEY_ID: undefined,
  AWS_SECRET_ACCESS_KEY: undefined,
  AWS_SESSION_TOKEN: undefined,
  AWS_PROFILE: undefined,
  AWS_CONFIG_FILE: '/nonexistent/aws-config',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
  SFTPCTL_AWS_TIMEOUT: '2',
};

async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files[path.slice(dir.length + 1)] = createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
  }
  return files;
}

interface Case {
  args: string[];
  code: number;
  /** What (and where: the flag or name) … */
  what: RegExp;
  /** … and what to do. */
  todo: RegExp;
}

const usage = (
  args: string[],
  what: RegExp,
  todo = /run with --help for usage|Allowed choices|Give |Use |Nothing was changed/,
): Case => ({
  args,
  code: 2,
  what,
  todo,
});

const CASES: Case[] = [
  // Choices, conflicts and values: refused by the parser, naming the flag.
  usage(
    ['keys', 'rotate', 'northwind-bank', '--env', 'dev', '--ssh', 'sideways'],
    /option '--ssh <user>' argument 'sideways' is invalid/,
    /Allowed choices are upload, download, all/,
  ),
  usage(
    ['keys', 'rotate', 'northwind-bank', '--env', 'dev', '--ssh', 'upload', '--pgp'],
    /option '--ssh <user>' cannot be used with option '--pgp'/,
  ),
  usage(
    ['keys', 'rotate', 'northwind-bank', '--env', 'dev', '--ssh', 'upload', '--public-key', 'k.pub', '--generate'],
    /option '--public-key <file>' cannot be used with option '--generate'/,
  ),
  usage(
    ['keys', 'rotate', 'northwind-bank', '--env', 'dev', '--pgp', '--grace', 'soon'],
    /option '--grace <duration>' argument 'soon' is invalid\. "soon" is not a duration/,
    /Write a number and a unit/,
  ),
  usage(
    ['keys', 'rotate', 'northwind-bank', '--env', 'dev', '--ssh', 'upload'],
    /--ssh needs the new key: --public-key <file>/,
    /Give one of them/,
  ),
  usage(
    ['keys', 'rotate', 'northwind-bank', '--env', 'dev', '--pgp', '--force'],
    /--force only goes with --finish/,
    /Add --finish, or drop --force/,
  ),
  usage(
    ['keys', 'rotate', 'northwind-bank', '--env', 'dev', '--ssh', 'upload', '--public-key', 'missing.pub'],
    /--public-key: missing.pub does not exist/,
    /Give the path of the new .pub file/,
  ),
  usage(
    ['client', 'add', 'x-corp', '--no-upload', '--upload-key', 'K'],
    /option '--no-upload' cannot be used with option '--upload-key <key-or-file>'/,
  ),
  usage(
    ['client', 'add', 'x-corp', '--no-download', '--partner-key', 'p.asc'],
    /option '--no-download' cannot be used with option '--partner-key <file>'/,
  ),
  usage(
    ['client', 'add', 'x-corp', '--allow-any-ip', '--ip', '203.0.113.1'],
    /option '--ip <cidr>' cannot be used with option '--allow-any-ip'/,
  ),
  usage(
    ['client', 'add', 'x-corp', '--generate-keys', '--ingress-public-key', 'in.asc'],
    /option '--ingress-public-key <file>' cannot be used with option '--generate-keys'/,
  ),
  usage(
    ['client', 'add', 'x-corp', '--ip', '203.0.113.7/24'],
    /option '--ip <cidr>' argument '203.0.113.7\/24' is invalid/,
    /did you mean 203.0.113.0\/24\?/,
  ),
  usage(['client', 'add', 'x-corp', '--checksum', 'crc32'], /argument 'crc32' is invalid/, /Allowed choices are md5/),
  usage(['client', 'add', 'x-corp', '--memory', '64'], /option '--memory <mb>' argument '64' is invalid/),
  usage(
    ['client', 'add', 'x-corp', '--environments', 'dev,qa'],
    /--environments: there is no environment "qa" in sftpctl.yaml/,
    /Its environments: dev, test, prod/,
  ),
  usage(
    ['client', 'add', 'northwind-bank-international-partners-xy'],
    /"northwind-bank-international-partners-xy" cannot be a client name here: .*S3 allows at most 63/,
    /Shorten the client name/,
  ),
  usage(
    ['deploy', '--env', 'dev', '--concurrency', '0', '--yes'],
    /option '--concurrency <n>' argument '0' is invalid/,
    /Give a whole number from 1 to 16/,
  ),
  usage(
    ['deploy', '--env', 'dev', '--region', 'eu-west-9', '--yes'],
    /"eu-west-9" is not an AWS region/,
    /Did you mean eu-west-1, eu-west-2 or eu-west-3\?/,
  ),
  usage(['status', '--env', 'dev', '--region', 'mars-north-1'], /"mars-north-1" is not an AWS region/),
  usage(['init', '--project', 'acme', '--region', 'eu-west-9', '--force'], /"eu-west-9" is not an AWS region/),
  usage(
    ['init', '--project', 'acme', '--az-count', '4', '--force'],
    /argument '4' is invalid/,
    /Allowed choices are 2, 3/,
  ),
  usage(['synth', '--env', 'dev', '--format', 'xml'], /argument 'xml' is invalid/, /Allowed choices are yaml, json/),
  usage(['cost', '--env', 'dev', '--hours-per-month', '1000'], /'--hours-per-month <n>' argument '1000' is invalid/),
  usage(['cost', '--env', 'dev', '--protocols', 'SFTP,SCP'], /"SCP" is not one of SFTP, FTPS, FTP, AS2/),
  usage(['local', 'up', '--env', 'dev', '--port', '70000'], /option '--port <port>' argument '70000' is invalid/),
  usage(['completion', 'tcsh'], /'tcsh' is invalid for argument 'shell'/, /Allowed choices are bash, zsh, fish/),
  // Names: checked against the config before the command starts (so before AWS).
  usage(
    ['deploy', '--env', 'dev', '--client', 'nosuch', '--yes'],
    /\[CLIENT_NOT_FOUND\] There is no client "nosuch" in sftpctl.yaml/,
    /Clients: northwind-bank, contoso-freight\. Nothing was changed/,
  ),
  usage(
    ['diff', '--env', 'dev', '--client', 'northwind-bnk'],
    /\[CLIENT_NOT_FOUND\] There is no client "northwind-bnk"/,
    /Did you mean northwind-bank\?/,
  ),
  usage(
    ['destroy', '--env', 'dev', '--client', 'contoso-freight', '--yes'],
    /\[CLIENT_NOT_IN_ENV\] Client "contoso-freight" does not exist in environment dev/,
    /Its environments: test, prod/,
  ),
  usage(['status', '--env', 'dev', '--client', 'a,nosuch'], /There is no client "a"/, /Clients: /),
  usage(
    ['deploy', '--env', 'test', '--client', 'contoso-freight,nosuch', '--yes'],
    /\[CLIENT_NOT_FOUND\] There is no client "nosuch"/,
    /Clients: northwind-bank, contoso-freight/,
  ),
  usage(['keys', 'rotate', 'nosuch', '--env', 'dev', '--pgp'], /\[CLIENT_NOT_FOUND\] There is no client "nosuch"/),
  usage(['secrets', 'load', 'nosuch', '--env', 'dev'], /\[CLIENT_NOT_FOUND\] There is no client "nosuch"/),
  usage(['client', 'show', 'nosuch'], /\[CLIENT_NOT_FOUND\]/, /Clients: northwind-bank, contoso-freight/),
  usage(['client', 'remove', 'nosuch', '--yes'], /\[CLIENT_NOT_FOUND\]/, /Nothing was changed/),
  usage(['local', 'export', 'nosuch', 'file.txt', '--env', 'dev'], /\[CLIENT_NOT_FOUND\]/),
  ...[
    'client list',
    'client show northwind-bank',
    'config validate',
    'synth',
    'cost',
    'deploy --yes',
    'status',
    'local up',
  ].map((command) =>
    usage(
      [...command.split(' '), '--env', 'prdo'],
      /\[ENV_UNKNOWN\] --env: there is no environment "prdo" in sftpctl.yaml/,
      /Did you mean --env prod\? Its environments: dev, test, prod/,
    ),
  ),
];

describe(`${CASES.length} bad command lines: exit code, what/where/what to do, nothing changed, no AWS`, () => {
  it.each(CASES.map((entry) => [entry.args.join(' '), entry] as const))('sftpctl %s', async (_, entry) => {
    await withTempDir(async (dir) => {
      await cp(join(ROOT, 'examples'), dir, { recursive: true });
      const before = await snapshot(dir);
      const result = await runCli(entry.args, { cwd: dir, env: NO_AWS });
      expect(result.code, result.stderr).toBe(entry.code);
      expect(result.stderr).toMatch(entry.what);
      expect(result.stderr).toMatch(entry.todo);
      expect(result.stderr).not.toMatch(/\n\s+at |internal error|AWS_CREDENTIALS|AWS_UNREACHABLE|sign in/i);
      expect(result.stdout).toBe('');
      expect(await snapshot(dir)).toEqual(before);
    });
  });
});

describe('an AWS endpoint that accepts and never answers', () => {
  const silentServer = async () => {
    const sockets: Socket[] = [];
    const server = createServer((socket) => {
      sockets.push(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => {
        for (const socket of sockets) socket.destroy();
        server.close();
      },
    };
  };
  const env = (url: string) => ({
    ...NO_AWS,
    AWS_ENDPOINT_URL: url,
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'secret',
    SFTPCTL_AWS_TIMEOUT: '1',
  });

  it.each([
    ['status', '--env', 'dev'],
    ['deploy', '--env', 'dev', '--yes'],
  ])('sftpctl %s %s %s: a progress line while it waits, then a timeout naming endpoint and region', async (...args) => {
    const silent = await silentServer();
    try {
      await withTempDir(async (dir) => {
        await cp(join(ROOT, 'examples'), dir, { recursive: true });
        const before = await snapshot(dir);
        const result = await runCli(args, { cwd: dir, env: env(silent.url) });
        expect(result.code, result.stderr).toBe(1);
        expect(result.stderr).toMatch(/Waiting for AWS sts GetCallerIdentity \(eu-west-2\)…/);
        expect(result.stderr).toContain(
          `[AWS_TIMEOUT] No answer from ${silent.url} (AWS sts GetCallerIdentity, region eu-west-2) within 1 s.`,
        );
        expect(result.stderr).toMatch(
          /hint Check the network, VPN and proxy .* SFTPCTL_AWS_TIMEOUT sets the seconds to wait/,
        );
        expect(result.stderr).not.toMatch(/sign in|internal error/i);
        expect(await snapshot(dir)).toEqual(before);
      });
    } finally {
      silent.close();
    }
  });

  it('with --json: stdout is one JSON error, stderr only the error (no progress line)', async () => {
    const silent = await silentServer();
    try {
      await withTempDir(async (dir) => {
        await cp(join(ROOT, 'examples'), dir, { recursive: true });
        const result = await runCli(['status', '--env', 'dev', '--json'], { cwd: dir, env: env(silent.url) });
        expect(result.code).toBe(1);
        expect(JSON.parse(result.stdout)).toMatchObject({ error: { code: 'AWS_TIMEOUT' } });
        expect(result.stderr).not.toMatch(/Waiting for/);
        expect(result.stderr.trim().split('\n')[0]).toMatch(/^error \[AWS_TIMEOUT\]/);
      });
    } finally {
      silent.close();
    }
  });
});
