import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.js';
import { editConfigFile } from '../../src/io/config-edit.js';
import { ROOT, withTempDir } from '../helpers/cli.js';

describe('a config edit that would be invalid', () => {
  it('names added fields by path (no line of a file that was never written), existing ones at their real line', async () => {
    await withTempDir(async (dir) => {
      const path = join(dir, 'sftpctl.yaml');
      const text = await readFile(join(ROOT, 'examples/sftpctl.yaml'), 'utf8');
      await writeFile(path, text);
      const lines = text.split('\n').length;
      const file = { path, displayPath: 'sftpctl.yaml', text };
      const failure = await editConfigFile(file, (document) => {
        document.addIn(['clients'], { name: 'acme-bank', upload: { sshKeys: ['keys/missing.pub'] } });
      }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ConfigError);
      const details = (failure as ConfigError).details.join('\n');
      expect(details).toMatch(
        /^ {0}clients\[2\]\.upload\.sshKeys\[0\]: SSH key file "keys\/missing\.pub" does not exist.*\(in the change, not yet written\)/m,
      );
      for (const match of details.matchAll(/sftpctl\.yaml:(\d+):\d+/g))
        expect(Number(match[1])).toBeLessThanOrEqual(lines);
      expect(await readFile(path, 'utf8')).toBe(text);
    });
  });
});
