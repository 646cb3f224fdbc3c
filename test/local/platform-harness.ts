import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { validateConfigText } from '../../src/core/config/validate.js';
import { decryptStream } from '../../src/core/crypto/pgp-decrypt.js';
import { encryptStream } from '../../src/core/crypto/pgp-encrypt.js';
import { readDecryptionKeys, readRecipientKey } from '../../src/core/crypto/pgp-keys.js';
import { fileReaderAt } from '../../src/io/files.js';
import { type LocalPlatform, type LocalPlatformOptions, startLocalPlatform } from '../../src/local/platform.js';
import { EventLog, runSftp } from '../helpers/sftp.js';

export const BUCKET = {
  upload: 'acme-dev-bank-upload',
  raw: 'acme-dev-bank-raw',
  export: 'acme-dev-bank-export',
  download: 'acme-dev-bank-download',
};

export function configText(extra = ''): string {
  return `project: acme
defaults: { region: eu-west-2, vpc: { cidr: 10.42.0.0/24 } }
environments: { dev: {} }
clients:
  - name: bank
    allowedIps: [203.0.113.0/24]
    requireEncryption: true
    upload: { sshKeys: [] }
    download: { sshKeys: [] }
${extra}`;
}

export interface World {
  dir: string;
  dataDir: string;
  platform: LocalPlatform;
  events: EventLog;
  encrypt(text: string | Buffer): Promise<Buffer>;
  decryptDownload(key: string): Promise<string>;
  put(files: Record<string, string | Buffer>, commands?: string[]): Promise<number | null>;
  sftp(commands: string[]): Promise<{ code: number | null; stderr: string }>;
  /** Every file of every bucket folder (and the quarantine records), key → content (utf8). */
  buckets(): Promise<Record<string, Record<string, string>>>;
  until(test: () => boolean | Promise<boolean>, what: string, timeoutMs?: number): Promise<void>;
}

export async function startWorld(dir: string, extra = '', options: Partial<LocalPlatformOptions> = {}): Promise<World> {
  const text = configText(extra);
  await writeFile(join(dir, 'sftpctl.yaml'), text);
  const { config, errors } = await validateConfigText(text, 'sftpctl.yaml', { files: fileReaderAt(dir) });
  if (!config) throw new Error(JSON.stringify(errors));
  const events = new EventLog();
  const dataDir = options.dataDir ?? join(dir, 'data');
  const platform = await startLocalPlatform({
    config,
    configDir: dir,
    env: 'dev',
    host: '127.0.0.1',
    port: 0,
    dataDir,
    allowLoopback: true,
    log: events.log,
    passphrase: async () => '',
    exportIntervalMs: 100,
    sweepIntervalMs: 300,
    sweepOlderThanMs: 500,
    retryDelayMs: 100,
    ...options,
  });
  const generated = (what: string) => platform.generated.find((key) => key.what === what)!;
  const sshKey = platform.generated.find((key) => key.what === 'SSH key pair' && key.user === 'bank-upload')!;
  const recipient = await readRecipientKey(await readFile(generated('ingress PGP pair').publicKey));
  const partnerPair = generated('demo partner PGP pair');
  const world: World = {
    dir,
    dataDir,
    platform,
    events,
    async encrypt(content) {
      const { ciphertext } = encryptStream(Readable.from([Buffer.from(content)]), recipient);
      const chunks: Buffer[] = [];
      for await (const chunk of ciphertext) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
    async decryptDownload(key) {
      const keys = await readDecryptionKeys([await readFile(partnerPair.privateKey, 'utf8')]);
      const body = await readFile(join(platform.bucketsDir, BUCKET.download, key));
      const { plaintext, verified } = decryptStream(Readable.from([body]), keys, { allowEmpty: true });
      const chunks: Buffer[] = [];
      for await (const chunk of plaintext) chunks.push(Buffer.from(chunk as Uint8Array));
      await verified;
      return Buffer.concat(chunks).toString('utf8');
    },
    async put(files, commands = []) {
      for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content);
      const result = await world.sftp([...Object.keys(files).map((name) => `put ${name}`), ...commands]);
      return result.code;
    },
    async sftp(commands) {
      const result = await runSftp({
        port: platform.port,
        key: sshKey.privateKey,
        user: 'bank-upload',
        commands,
        cwd: dir,
        bind: '127.0.0.1',
        timeoutMs: 60_000,
      });
      return { code: result.code, stderr: result.stderr };
    },
    async buckets() {
      const all: Record<string, Record<string, string>> = {};
      for (const [name, bucket] of Object.entries(BUCKET)) {
        all[name] = {};
        const base = join(platform.bucketsDir, bucket);
        for (const path of await walk(base)) {
          all[name]![relative(base, path).split(sep).join('/')] = (await readFile(path)).toString('utf8');
        }
      }
      return all;
    },
    async until(test, what, timeoutMs = 30_000) {
      const end = Date.now() + timeoutMs;
      while (!(await test())) {
        if (Date.now() > end)
          throw new Error(`timed out waiting for ${what}; events: ${JSON.stringify(events.events.slice(-15))}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
  return world;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(path)));
    else if (entry.isFile() && !entry.name.startsWith('.batch-')) out.push(path);
  }
  return out;
}
