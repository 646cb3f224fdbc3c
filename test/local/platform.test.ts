import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { validateConfigText } from '../../src/core/config/validate.js';
import { encryptStream } from '../../src/core/crypto/pgp-encrypt.js';
import { readRecipientKey } from '../../src/core/crypto/pgp-keys.js';
import { fileReaderAt } from '../../src/io/files.js';
import { startLocalPlatform } from '../../src/local/platform.js';
import { withTempDir } from '../helpers/cli.js';
import { runSftp } from '../helpers/sftp.js';

const CONFIG = `project: acme
defaults: { region: eu-west-2, vpc: { cidr: 10.42.0.0/24 } }
environments: { dev: {} }
clients:
  - name: bank
    allowedIps: [203.0.113.0/24]
    requireEncryption: true
    upload: { sshKeys: [] }
`;

async function sftpPut(port: number, key: string, cwd: string, files: string[]): Promise<number | null> {
  return (
    await runSftp({
      port,
      key,
      user: 'bank-upload',
      commands: files.map((file) => `put ${file}`),
      cwd,
      bind: '127.0.0.1',
    })
  ).code;
}

describe('the local platform under concurrent clients', () => {
  it('20 sftp clients uploading 3 encrypted files each: every file is processed exactly once', async () => {
    await withTempDir(async (dir) => {
      await writeFile(join(dir, 'sftpctl.yaml'), CONFIG);
      const { config } = await validateConfigText(CONFIG, 'sftpctl.yaml', { files: fileReaderAt(dir) });
      const events: { event: string; key?: unknown }[] = [];
      const platform = await startLocalPlatform({
        config: config!,
        configDir: dir,
        env: 'dev',
        host: '127.0.0.1',
        port: 0,
        dataDir: join(dir, 'data'),
        allowLoopback: true,
        log: (event) => events.push(event),
        passphrase: async () => '',
        exportIntervalMs: 100,
      });
      try {
        const ingress = platform.generated.find((key) => key.what === 'ingress PGP pair')!;
        const sshKey = platform.generated.find((key) => key.what === 'SSH key pair')!;
        const recipient = await readRecipientKey(await readFile(ingress.publicKey));
        const clients = Array.from({ length: 20 }, (_, client) => client);
        for (const client of clients) {
          const folder = join(dir, `client-${client}`);
          await mkdir(folder);
          for (let file = 0; file < 3; file++) {
            const { ciphertext } = encryptStream(
              Readable.from([Buffer.from(`client ${client} file ${file}\n`.repeat(1000))]),
              recipient,
            );
            const chunks: Buffer[] = [];
            for await (const chunk of ciphertext) chunks.push(chunk as Buffer);
            await writeFile(join(folder, `c${client}-f${file}.csv.gpg`), Buffer.concat(chunks));
          }
        }
        const codes = await Promise.all(
          clients.map((client) =>
            sftpPut(
              platform.port,
              sshKey.privateKey,
              join(dir, `client-${client}`),
              [0, 1, 2].map((file) => `c${client}-f${file}.csv.gpg`),
            ),
          ),
        );
        expect(codes.every((code) => code === 0)).toBe(true);
        for (let tries = 0; tries < 200 && events.filter((event) => event.event === 'processed').length < 60; tries++)
          await new Promise((resolve) => setTimeout(resolve, 50));
        await platform.idle();

        const processed = events.filter((event) => event.event === 'processed').map((event) => String(event.key));
        expect(processed).toHaveLength(60);
        expect(new Set(processed).size).toBe(60);
        const raw = (await readdir(join(platform.bucketsDir, 'acme-dev-bank-raw'))).sort();
        expect(raw).toHaveLength(60);
        expect(
          (await readFile(join(platform.bucketsDir, 'acme-dev-bank-raw', 'c7-f2.csv'), 'utf8')).startsWith(
            'client 7 file 2\n',
          ),
        ).toBe(true);
        expect(events.filter((event) => /quarantined|dead-letter|upload-failed/.test(event.event))).toEqual([]);
      } finally {
        await platform.stop(1000);
      }
    });
  }, 120_000);
});
