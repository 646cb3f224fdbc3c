import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, runCli, withTempDir } from './helpers/cli.js';

const ANSI = /\u001b\[/;

describe('sftpctl --help and --version', () => {
  it('prints help listing only working commands and exits 0', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Usage: sftpctl/);
    for (const command of ['init', 'config', 'client']) expect(result.stdout).toContain(command);
  });

  it('prints the package version', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
    const result = await runCli(['--version']);
    expect(result).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
  });

  it('does not load the AWS SDK, openpgp or ssh2 for --help (static import graph of the entry chunk)', async () => {
    const seen = new Set<string>();
    const external = new Set<string>();
    const visit = async (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const code = await readFile(file, 'utf8');
      for (const match of code.matchAll(/^import\s[^;]*?from\s*"([^"]+)"|^import\s*"([^"]+)"/gm)) {
        const specifier = match[1] ?? match[2] ?? '';
        if (specifier.startsWith('.')) await visit(join(file, '..', specifier));
        else external.add(specifier);
      }
    };
    await visit(join(ROOT, 'dist/cli.js'));
    expect([...external].filter((name) => /openpgp|ssh2|@aws-sdk|@inquirer|ora|zod|yaml/.test(name))).toEqual([]);
  });
});

describe('usage errors exit 2', () => {
  it('unknown command', async () => {
    const result = await runCli(['deploi']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown command 'deploi'/);
  });

  it('unknown option', async () => {
    const result = await runCli(['config', 'validate', '--strictly']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown option '--strictly'/);
  });

  it('unknown environment', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'sftpctl.yaml'), await readFile(join(ROOT, 'examples/sftpctl.yaml')));
      const result = await runCli(['client', 'list', '--env', 'staging'], { cwd: dir });
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/\[ENV_UNKNOWN\] --env: there is no environment "staging" in sftpctl.yaml/);
      expect(result.stderr).toMatch(/hint Its environments: dev, test, prod\. Nothing was changed\./);
    });
  });
});

describe('user errors exit 1 with a message, a hint and no stack trace', () => {
  it('missing config file', async () => {
    await withTempDir(async (dir) => {
      const result = await runCli(['config', 'validate'], { cwd: dir });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/\[CONFIG_NOT_FOUND\] No config file at sftpctl.yaml/);
      expect(result.stderr).toMatch(/hint Run `sftpctl init`/);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    });
  });

  it('config path that is a folder', async () => {
    await withTempDir(async (dir) => {
      const result = await runCli(['config', 'validate', '--config', dir]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/CONFIG_UNREADABLE/);
    });
  });

  it('invalid config: every problem with file:line:col, exit 1, and --json carries only JSON on stdout', async () => {
    await withTempDir(async (dir) => {
      await writeFile(
        join(dir, 'sftpctl.yaml'),
        'project: acme\ndefaults:\n  region: eu-west-2\n  vpc: { cidr: 10.42.0.9/24 }\nenvironments:\n  dev: {}\nclients:\n  - name: bank\n    allowedIps: [0.0.0.0/0]\n    upload: {}\n',
      );
      const human = await runCli(['config', 'validate'], { cwd: dir });
      expect(human.code).toBe(1);
      expect(human.stdout).toMatch(/sftpctl.yaml:4:16 defaults.vpc.cidr: VPC CIDR "10.42.0.9\/24" has host bits set/);
      expect(human.stdout).toMatch(/sftpctl.yaml:9:18 clients\[0\].allowedIps\[0\]: 0.0.0.0\/0 opens the SFTP port/);
      expect(human.stdout).toMatch(/2 errors/);

      const machine = await runCli(['config', 'validate', '--json'], { cwd: dir });
      expect(machine.code).toBe(1);
      const body = JSON.parse(machine.stdout);
      expect(body.valid).toBe(false);
      expect(body.errors.map((error: { code: string }) => error.code).sort()).toEqual([
        'CIDR_OPEN_TO_WORLD',
        'VPC_CIDR_HOST_BITS',
      ]);
      expect(body.errors[0]).toMatchObject({
        file: 'sftpctl.yaml',
        line: expect.any(Number),
        column: expect.any(Number),
      });
    });
  });
});

describe('config validate on the example', () => {
  it('summarises a valid config on one screen', async () => {
    const result = await runCli(['config', 'validate', '-c', 'examples/sftpctl.yaml']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/examples\/sftpctl.yaml is valid/);
    expect(result.stdout.split('\n').length).toBeLessThan(50);
    expect(result.stdout).not.toMatch(ANSI);
  });

  it('honours SFTPCTL_CONFIG', async () => {
    const result = await runCli(['config', 'validate', '--json'], { env: { SFTPCTL_CONFIG: 'examples/sftpctl.yaml' } });
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout);
    expect(body).toMatchObject({ valid: true, project: 'acme-sftp' });
    expect(body.clients.map((client: { name: string }) => client.name)).toEqual(['northwind-bank', 'contoso-freight']);
  });

  it('colours only when asked: FORCE_COLOR on, NO_COLOR wins', async () => {
    const forced = await runCli(['config', 'validate', '-c', 'examples/sftpctl.yaml'], {
      env: { NO_COLOR: undefined, FORCE_COLOR: '1' },
    });
    expect(forced.stdout).toMatch(ANSI);
    const both = await runCli(['config', 'validate', '-c', 'examples/sftpctl.yaml'], {
      env: { NO_COLOR: '1', FORCE_COLOR: '1' },
    });
    expect(both.stdout).not.toMatch(ANSI);
  });
});

describe('init without a TTY', () => {
  it('fails naming the missing flags instead of waiting on stdin', async () => {
    await withTempDir(async (dir) => {
      const child = spawn(process.execPath, [BIN, 'init'], {
        cwd: dir,
        env: { ...process.env, AWS_REGION: '', AWS_DEFAULT_REGION: '' },
      });
      let stderr = '';
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
      });
      const code = await new Promise((done) => child.on('close', done));
      expect(code).toBe(2);
      expect(stderr).toMatch(/--project <name>/);
      expect(stderr).toMatch(/--region <region>/);
      expect(await readdir(dir)).toEqual([]);
    });
  });

  it('writes a commented, valid config from flags and refuses to overwrite it without --force', async () => {
    await withTempDir(async (dir) => {
      const first = await runCli(
        ['init', '--project', 'acme', '--region', 'eu-central-1', '--environments', 'dev,prod'],
        { cwd: dir },
      );
      expect(first.code, first.stderr).toBe(0);
      const text = await readFile(join(dir, 'sftpctl.yaml'), 'utf8');
      expect(text).toMatch(/^# sftpctl project configuration/);
      expect(text).toMatch(/# Prefix of every stack/);
      expect(text).toMatch(/region: eu-central-1/);
      expect(text).toMatch(/prod:\n\s+protected: true/);
      expect((await runCli(['config', 'validate'], { cwd: dir })).code).toBe(0);

      const again = await runCli(['init', '--project', 'other', '--region', 'eu-west-1'], { cwd: dir });
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/CONFIG_EXISTS.*left as it is/);
      expect(await readFile(join(dir, 'sftpctl.yaml'), 'utf8')).toBe(text);

      const forced = await runCli(['init', '--project', 'other', '--region', 'eu-west-1', '--force'], { cwd: dir });
      expect(forced.code).toBe(0);
      expect(await readFile(join(dir, 'sftpctl.yaml'), 'utf8')).toMatch(/project: other/);
    });
  });

  it('rejects a bad flag value without writing anything', async () => {
    await withTempDir(async (dir) => {
      const result = await runCli(['init', '--project', 'acme', '--region', 'eu-west-2', '--vpc-cidr', '10.0.0.1/24'], {
        cwd: dir,
      });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/--vpc-cidr: "10.0.0.1\/24" has host bits set; did you mean 10.0.0.0\/24\?/);
      expect(await readdir(dir)).toEqual([]);
    });
  });

  it('uses AWS_REGION when --region is not given', async () => {
    await withTempDir(async (dir) => {
      const result = await runCli(['init', '--project', 'acme'], { cwd: dir, env: { AWS_REGION: 'ap-southeast-2' } });
      expect(result.code, result.stderr).toBe(0);
      expect(await readFile(join(dir, 'sftpctl.yaml'), 'utf8')).toMatch(/region: ap-southeast-2/);
    });
  });
});

describe("init --from the article's parameters.yaml", () => {
  it('imports what maps, lists what does not, and writes a valid config', async () => {
    await withTempDir(async (dir) => {
      const result = await runCli(
        [
          'init',
          '--from',
          join(ROOT, 'examples/parameters.yaml'),
          '--project',
          'acme',
          '--region',
          'eu-west-2',
          '--json',
        ],
        { cwd: dir },
      );
      expect(result.code, result.stderr).toBe(0);
      const body = JSON.parse(result.stdout);
      expect(body.notes).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^vpc.name: not imported/),
          expect.stringMatching(/^vpc.cidr: "xxx.xxx.xxx.xxx\/xx" is not a usable CIDR; used 10.42.0.0\/24/),
          expect.stringMatching(
            /^transfer_family.security_policy_name: "TransferSecurityPolicy-xxxx-xx" is not a known policy/,
          ),
          expect.stringMatching(/^clients\[0\].whitelist_ips\[0\]: "xxx.xxx.xxx.xxx\/xx" is not a usable IPv4 CIDR/),
          expect.stringMatching(/^clients\[1\].upload_ssh_public_key: is not an OpenSSH public key/),
        ]),
      );
      const list = JSON.parse((await runCli(['client', 'list', '--json'], { cwd: dir })).stdout);
      expect(list.map((client: { name: string }) => client.name)).toEqual(['sftp-client-1', 'sftp-client-2']);
      expect(list[1]).toMatchObject({
        encryptedExtensions: ['gpg', 'pgp', 'asc'],
        checksum: 'md5',
        memory: 1024,
        egressExtension: 'gpg',
      });
      const text = await readFile(join(dir, 'sftpctl.yaml'), 'utf8');
      expect(text).toMatch(/Developer: Stanley Zhang/);
    });
  });

  it('reports a missing --from file as a usage error', async () => {
    await withTempDir(async (dir) => {
      const result = await runCli(['init', '--from', 'nope.yaml', '--project', 'acme', '--region', 'eu-west-2'], {
        cwd: dir,
      });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/--from: nope.yaml does not exist/);
    });
  });
});

describe('client add | list | show | remove edit the YAML in place', () => {
  const seed = `# my team's SFTP config
project: acme
defaults:
  region: eu-west-2   # London
  vpc: { cidr: 10.42.0.0/24 }
environments:
  dev: {}
  prod: { protected: true }
clients:
  # our first partner
  - name: bank
    allowedIps: [203.0.113.0/24]
    upload: { sshKeys: [] }
`;

  it('adds a client keeping comments and order, lists and shows it', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'sftpctl.yaml'), seed);
      const added = await runCli(
        [
          'client',
          'add',
          'shop',
          '--ip',
          '198.51.100.7',
          '--ip',
          '192.0.2.0/24',
          '--checksum',
          'sha512',
          '--no-download',
          '--environments',
          'prod',
        ],
        { cwd: dir },
      );
      expect(added.code, added.stderr).toBe(0);
      const text = await readFile(join(dir, 'sftpctl.yaml'), 'utf8');
      for (const line of [
        "# my team's SFTP config",
        'project: acme',
        '  # our first partner',
        '    allowedIps: [203.0.113.0/24]',
        '    allowedIps: [198.51.100.7, 192.0.2.0/24]',
      ]) {
        expect(text).toContain(line);
      }
      expect(text).toMatch(/# London/);
      expect(text).toMatch(/# our first partner/);
      expect(text.indexOf('name: bank')).toBeLessThan(text.indexOf('name: shop'));

      const list = JSON.parse((await runCli(['client', 'list', '--json'], { cwd: dir })).stdout);
      expect(list.map((client: { name: string }) => client.name)).toEqual(['bank', 'shop']);
      const shown = JSON.parse((await runCli(['client', 'show', 'shop', '--json'], { cwd: dir })).stdout);
      expect(shown).toMatchObject({
        name: 'shop',
        environments: ['prod'],
        users: { upload: 'shop-upload', download: null },
        allowedIps: ['198.51.100.7', '192.0.2.0/24'],
        checksum: 'sha512',
        resources: { prod: { stack: 'acme-prod-client-shop', buckets: { upload: 'acme-prod-shop-upload' } } },
      });
      const human = await runCli(['client', 'show', 'shop'], { cwd: dir });
      expect(human.stdout).toMatch(/upload bucket\s+acme-prod-shop-upload/);
    });
  });

  it('refuses an edit that would make the config invalid and leaves the file byte-identical', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'sftpctl.yaml'), seed);
      // Flags that pass the parser but make an invalid config: refused by the final validation, nothing written.
      const result = await runCli(['client', 'add', 'shop', '--ip', '198.51.100.7', '--extensions', 'g p g'], {
        cwd: dir,
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/nothing was written/);
      expect(result.stderr).toMatch(
        /\n {2}clients\[1\]\.encryptedExtensions\[0\]: an extension is 1-16 letters or digits.*\(in the change, not yet written\)/,
      );
      expect(await readFile(join(dir, 'sftpctl.yaml'), 'utf8')).toBe(seed);
      expect(await readdir(dir)).toEqual(['sftpctl.yaml']);
    });
  });

  it('refuses a duplicate client', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'sftpctl.yaml'), seed);
      const result = await runCli(['client', 'add', 'bank', '--ip', '198.51.100.7'], { cwd: dir });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/CLIENT_EXISTS/);
    });
  });

  it('stores key paths relative to the config file', async () => {
    await withTempDir(async (dir) => {
      await mkdir(join(dir, 'conf'));
      await writeFile(join(dir, 'conf/sftpctl.yaml'), seed);
      const result = await runCli(
        [
          'client',
          'add',
          'shop',
          '-c',
          'conf/sftpctl.yaml',
          '--ip',
          '198.51.100.7',
          '--upload-key',
          'conf/keys/shop.pub',
        ],
        { cwd: dir },
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/SSH key file "keys\/shop.pub" does not exist/);
    });
  });

  it('remove asks for confirmation: without a TTY it names --yes; with --yes it removes', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'sftpctl.yaml'), seed);
      const refused = await runCli(['client', 'remove', 'bank'], { cwd: dir });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/Pass --yes/);
      expect(await readFile(join(dir, 'sftpctl.yaml'), 'utf8')).toBe(seed);

      const removed = await runCli(['client', 'remove', 'bank', '--yes'], { cwd: dir });
      expect(removed.code).toBe(0);
      const text = await readFile(join(dir, 'sftpctl.yaml'), 'utf8');
      expect(text).not.toMatch(/name: bank/);
      expect(text).toMatch(/# London/);

      const missing = await runCli(['client', 'remove', 'bank', '--yes'], { cwd: dir });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/CLIENT_NOT_FOUND/);
    });
  });
});
