import { execFileSync } from 'node:child_process';
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, ROOT, runCli, withTempDir } from './helpers/cli.js';
import { TmuxSession } from './helpers/terminal.js';

/** Every command a user can run (leaves of the command tree), from the top-level help and each group's help. */
async function leafHelps(): Promise<Map<string, string>> {
  const commandsOf = (help: string) =>
    [...(help.split(/^Commands:$/m)[1] ?? '').matchAll(/^ {2}(\S+)/gm)]
      .map((match) => match[1] as string)
      .filter((name) => name !== 'help');
  const leaves = new Map<string, string>();
  const visit = async (path: string[]) => {
    const help = (await runCli([...path, '--help'])).stdout;
    const subs = commandsOf(help);
    if (subs.length === 0 && path.length > 0) leaves.set(path.join(' '), help);
    await Promise.all(subs.map((sub) => visit([...path, sub])));
  };
  await visit([]);
  return leaves;
}

describe('CLI conventions', () => {
  it('every subcommand --help lists the global flags', async () => {
    const leaves = await leafHelps();
    expect(leaves.size).toBeGreaterThan(20);
    for (const [path, help] of leaves) {
      expect(help, path).toMatch(/^Global Options:$/m);
      for (const flag of ['--env <name>', '--json', '-y, --yes', '-c, --config <file>', '--debug'])
        expect(help, `${path} --help shows ${flag}`).toContain(flag);
    }
  }, 180_000);

  it('--json: only JSON on stdout and nothing on stderr, even with warnings to report', async () => {
    await withTempDir(async (dir) => {
      await cp(join(ROOT, 'examples'), dir, { recursive: true });
      for (const args of [
        ['config', 'validate', '--json'],
        ['client', 'list', '--json'],
        ['client', 'show', 'northwind-bank', '--json'],
        ['cost', '--env', 'dev', '--json'],
        ['synth', '--env', 'dev', '--json', '--out', join(dir, 'out')],
      ]) {
        const result = await runCli(args, { cwd: dir });
        expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
        expect(() => JSON.parse(result.stdout), args.join(' ')).not.toThrow();
        expect(result.stderr, args.join(' ')).toBe('');
      }
      // The example has warnings (no SSH keys yet): they are in the JSON, not on stderr.
      const validate = JSON.parse((await runCli(['config', 'validate', '--json'], { cwd: dir })).stdout);
      expect(validate.warnings.length).toBeGreaterThan(0);
    });
  });

  it('config validate --strict turns warnings into a failure (exit 1), and says so', async () => {
    await withTempDir(async (dir) => {
      await writeFile(
        join(dir, 'sftpctl.yaml'),
        'project: acme\ndefaults:\n  region: eu-west-2\n  vpc: { cidr: 10.42.0.0/24 }\nenvironments:\n  dev: {}\nclients:\n' +
          '  - name: bank\n    allowedIps: [203.0.113.0/24]\n    upload: { sshKeys: [] }\n' +
          '  - name: shop\n    allowedIps: [203.0.113.128/25]\n    upload: { sshKeys: [] }\n',
      );
      const lenient = await runCli(['config', 'validate', '--no-keys'], { cwd: dir });
      expect(lenient.code).toBe(0);
      expect(lenient.stdout).toMatch(
        /warning sftpctl.yaml:12:18 clients\[1\].allowedIps\[0\]: 203.0.113.128\/25 overlaps 203.0.113.0\/24 of client "bank"/,
      );
      const strict = await runCli(['config', 'validate', '--no-keys', '--strict'], { cwd: dir });
      expect(strict.code).toBe(1);
      expect(strict.stdout).toMatch(
        /sftpctl.yaml: 1 warning, which --strict counts as failures\. Nothing was changed\./,
      );
      const json = await runCli(['config', 'validate', '--no-keys', '--strict', '--json'], { cwd: dir });
      expect(json.code).toBe(1);
      expect(JSON.parse(json.stdout)).toMatchObject({
        valid: false,
        strict: true,
        warnings: [{ code: 'CIDR_OVERLAP' }],
      });
    });
  });

  it("cost's text output ends with a newline", async () => {
    const result = await runCli(['cost', '--env', 'dev', '-c', 'examples/sftpctl.yaml']);
    expect(result.code).toBe(0);
    expect(result.stdout.endsWith('\n')).toBe(true);
    expect(result.stdout.endsWith('\n\n')).toBe(false);
  });

  it('piped tables keep every cell whole', async () => {
    await withTempDir(async (dir) => {
      await cp(join(ROOT, 'examples'), dir, { recursive: true });
      const long = Array.from({ length: 12 }, (_, index) => `198.51.100.${index + 1}`).join(', ');
      await runCli(['client', 'add', 'wide-partner-with-a-long-name', '--ip', long, '--no-download'], { cwd: dir });
      const piped = await runCli(['client', 'list'], { cwd: dir });
      expect(piped.stdout).toContain(long.replace(/, /g, ' '));
      expect(Math.max(...piped.stdout.split('\n').map((line) => line.length))).toBeGreaterThan(120);
    });
  });
});

describe('on an 80-column terminal', () => {
  let session: TmuxSession | undefined;
  afterEach(() => session?.kill());

  it('tables fit the width, cutting the widest cells with …', async () => {
    await withTempDir(async (dir) => {
      await cp(join(ROOT, 'examples'), dir, { recursive: true });
      const long = Array.from({ length: 12 }, (_, index) => `198.51.100.${index + 1}`).join(',');
      await runCli(['client', 'add', 'wide-partner-with-a-long-name', '--ip', long, '--no-download'], { cwd: dir });
      session = new TmuxSession('table', `${process.execPath} ${BIN} client list`, { width: 80, height: 30, cwd: dir });
      const screen = await session.waitFor((text) => text.includes('[exit '), 'the command to finish');
      const lines = screen.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('[exit'));
      expect(screen).toContain('[exit 0]');
      expect(lines.length).toBe(5); // header, rule, three clients: nothing wrapped
      for (const line of lines) expect(line.length).toBeLessThanOrEqual(80);
      expect(screen).toMatch(/wide-pa… {2}dev,test,… {2}wide-part… {2}- +198\.51\.100…/);
    });
  });
});

describe('sftpctl completion', () => {
  const complete = (script: string, words: string[]) =>
    execFileSync(
      'bash',
      [
        '-c',
        `${script}\nCOMP_WORDS=(${words.map((word) => `'${word}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _sftpctl; printf '%s\\n' "\${COMPREPLY[@]}"`,
      ],
      { encoding: 'utf8' },
    )
      .split('\n')
      .filter(Boolean);

  it('bash: commands, subcommands, flags with the globals, and the allowed values of a flag', async () => {
    const result = await runCli(['completion', 'bash']);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    const script = result.stdout;
    expect(complete(script, ['sftpctl', 'de'])).toEqual(
      ['deploy', 'decrypt', 'destroy', 'diff']
        .filter((w) => w.startsWith('de'))
        .sort((a, b) => script.indexOf(` ${a}`) - script.indexOf(` ${b}`)),
    );
    expect(complete(script, ['sftpctl', 'client', ''])).toEqual(
      expect.arrayContaining(['add', 'remove', 'list', 'show', 'password', '--env', '--json']),
    );
    expect(complete(script, ['sftpctl', 'keys', 'rotate', 'bank', '--ssh', ''])).toEqual(['upload', 'download', 'all']);
    expect(complete(script, ['sftpctl', 'client', 'add', 'x', '--che'])).toEqual(['--checksum']);
    expect(complete(script, ['sftpctl', 'client', 'add', 'x', '--checksum', 'sha'])).toEqual([
      'sha1',
      'sha256',
      'sha512',
    ]);
    expect(complete(script, ['sftpctl', 'completion', ''])).toEqual(expect.arrayContaining(['bash', 'zsh', 'fish']));
  });

  it('zsh loads the bash functions through bashcompinit; fish gets complete -c lines per command', async () => {
    const zsh = await runCli(['completion', 'zsh']);
    expect(zsh.code).toBe(0);
    expect(zsh.stdout).toMatch(/^#compdef sftpctl\n/);
    expect(zsh.stdout).toContain('autoload -U +X bashcompinit && bashcompinit');
    expect(zsh.stdout).toContain('complete -o default -F _sftpctl sftpctl');
    const fish = await runCli(['completion', 'fish']);
    expect(fish.code).toBe(0);
    expect(fish.stdout).toContain(
      `complete -c sftpctl -n 'test (__sftpctl_path) = "sftpctl keys rotate"' -l ssh -x -a 'upload download all'`,
    );
    expect(fish.stdout).toContain(
      `complete -c sftpctl -n 'test (__sftpctl_path) = "sftpctl client"' -a 'add remove list show password'`,
    );
  });
});
