import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli, withTempDir } from '../helpers/cli.js';

async function example(dir: string, edit: (text: string) => string = (text) => text) {
  await writeFile(join(dir, 'sftpctl.yaml'), edit(await readFile(join(ROOT, 'examples/sftpctl.yaml'), 'utf8')));
}

describe('sftpctl synth', () => {
  it('writes every stack and a manifest per environment, byte-identical on a second run', async () => {
    await withTempDir(async (dir) => {
      await example(dir);
      const first = await runCli(['synth', '--json'], { cwd: dir });
      expect(first.code, first.stderr).toBe(0);
      const results = JSON.parse(first.stdout);
      expect(results.map((result: { environment: string }) => result.environment)).toEqual(['dev', 'test', 'prod']);
      const files = (await readdir(join(dir, '.sftpctl/out/prod'))).sort();
      expect(files).toEqual([
        'acme-sftp-prod-assets.template.yaml',
        'acme-sftp-prod-client-contoso-freight.template.yaml',
        'acme-sftp-prod-client-northwind-bank.template.yaml',
        'acme-sftp-prod-network.template.yaml',
        'acme-sftp-prod-server.template.yaml',
        'manifest.json',
      ]);
      const manifest = JSON.parse(await readFile(join(dir, '.sftpctl/out/prod/manifest.json'), 'utf8'));
      expect(manifest.deployOrder[0]).toEqual(['acme-sftp-prod-assets']);
      const before = await Promise.all(files.map((name) => readFile(join(dir, '.sftpctl/out/prod', name), 'utf8')));
      expect((await runCli(['synth', '--env', 'prod'], { cwd: dir })).code).toBe(0);
      const after = await Promise.all(files.map((name) => readFile(join(dir, '.sftpctl/out/prod', name), 'utf8')));
      expect(after).toEqual(before);
    });
  });

  it('prints the table: stack, resources, bytes, findings', async () => {
    await withTempDir(async (dir) => {
      await example(dir);
      const result = await runCli(['synth', '--env', 'dev', '--format', 'json', '--out', 'cfn'], { cwd: dir });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/stack\s+resources\s+bytes\s+findings/);
      expect(result.stdout).toMatch(/acme-sftp-dev-client-northwind-bank\s+\d+\s+\d+/);
      expect((await readdir(join(dir, 'cfn'))).some((name) => name.endsWith('.template.json'))).toBe(true);
    });
  });

  it('--strict fails on a legacy security policy; without it the same config passes', async () => {
    await withTempDir(async (dir) => {
      await example(dir, (text) =>
        text.replace(
          'securityPolicy: TransferSecurityPolicy-2025-03',
          'securityPolicy: TransferSecurityPolicy-2020-06',
        ),
      );
      expect((await runCli(['synth', '--env', 'dev'], { cwd: dir })).code).toBe(0);
      const strict = await runCli(['synth', '--env', 'dev', '--strict'], { cwd: dir });
      expect(strict.code).toBe(1);
      expect(strict.stdout).toMatch(/TRANSFER_SECURITY_POLICY_CURRENT/);
    });
  });

  it('refuses --out with several environments and an unknown format', async () => {
    await withTempDir(async (dir) => {
      await example(dir);
      expect((await runCli(['synth', '--out', 'x'], { cwd: dir })).code).toBe(2);
      expect((await runCli(['synth', '--env', 'dev', '--format', 'xml'], { cwd: dir })).code).toBe(2);
      expect(await readdir(dir)).toEqual(['sftpctl.yaml']);
    });
  });
});
