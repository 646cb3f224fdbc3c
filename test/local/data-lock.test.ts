import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockDataDir } from '../../src/local/data-lock.js';
import { LocalKeyStore } from '../../src/local/local-keys.js';
import { withTempDir } from '../helpers/cli.js';

describe('the local data folder', () => {
  it('inside the user’s own repository, nothing of it is ever staged: keys, secrets, buckets', async () => {
    await withTempDir(async (repo) => {
      execFileSync('git', ['-c', 'init.defaultBranch=main', 'init', '-q'], { cwd: repo });
      await writeFile(join(repo, 'sftpctl.yaml'), 'project: x\n');
      const dataDir = join(repo, '.sftpctl', 'local', 'dev');
      const lock = await lockDataDir(dataDir);
      await new LocalKeyStore(dataDir, 'acme', 'dev').write('bank', 'ingressPrivateKeys', {
        keys: [{ fingerprint: 'F'.repeat(40), armoredPrivateKey: 'stands in for an armored private key' }],
      } as never);
      await mkdir(join(dataDir, 'buckets', 'acme-dev-bank-raw'), { recursive: true });
      await writeFile(join(dataDir, 'buckets', 'acme-dev-bank-raw', 'statement.csv'), 'partner data');
      const staged = execFileSync('git', ['add', '-A', '--dry-run'], { cwd: repo, encoding: 'utf8' });
      expect(staged.trim()).toBe("add 'sftpctl.yaml'");
      await lock.release();
    });
  });
});
