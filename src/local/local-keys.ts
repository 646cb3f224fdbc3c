import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { secretNames } from '../core/config/naming.js';
import { userNameOf } from '../core/config/resolve.js';
import type { Client, Config } from '../core/config/schema.js';
import { generatePgpKeyPair } from '../core/crypto/pgp-keygen.js';
import { generateSshKeyPair } from '../core/crypto/ssh-keygen.js';
import { parseSshPublicKey, type SshPublicKey } from '../core/crypto/ssh-public-key.js';
import { SftpctlError } from '../core/errors.js';
import type { KeyStore } from '../core/ports.js';
import {
  type IngressKeysSecret,
  type PartnerKeySecret,
  parseIngressKeysSecret,
  parsePartnerKeySecret,
  serializeSecret,
} from '../core/secrets.js';
import { exists, fileReaderAt } from '../io/files.js';
import { writeKeyPair, writePrivateFile } from '../io/key-files.js';
import { buildClientSecrets, type PassphraseSource } from '../workflows/client-secrets.js';

/** What `local up` generated because the config did not have it (printed at start so people can use them). */
export interface GeneratedLocalKey {
  client: string;
  what: 'ingress PGP pair' | 'demo partner PGP pair' | 'SSH key pair';
  user?: string;
  privateKey: string;
  publicKey: string;
  fingerprint: string;
}

/**
 * The local stand-in for Secrets Manager: one file per secret under <data>/secrets/, named exactly like the secrets
 * in AWS and holding the same JSON, read by the same parsers.
 */
export class LocalKeyStore implements KeyStore {
  constructor(
    private readonly dataDir: string,
    private readonly project: string,
    private readonly env: string,
  ) {}

  secretPath(client: string, which: 'ingressPrivateKeys' | 'partnerPublicKey'): string {
    return join(
      this.dataDir,
      'secrets',
      ...secretNames(this.project, this.env, client)[which].split('/').filter(Boolean),
    );
  }

  async write(
    client: string,
    which: 'ingressPrivateKeys' | 'partnerPublicKey',
    value: IngressKeysSecret | PartnerKeySecret,
  ): Promise<void> {
    await writePrivateFile(this.secretPath(client, which), serializeSecret(value));
  }

  async ingressPrivateKeys(client: string): Promise<string[]> {
    const secret = parseIngressKeysSecret(await this.read(client, 'ingressPrivateKeys'));
    return secret.keys.map((key) => key.armoredPrivateKey);
  }

  async partnerPublicKey(client: string): Promise<string> {
    return parsePartnerKeySecret(await this.read(client, 'partnerPublicKey')).armoredPublicKey;
  }

  private async read(client: string, which: 'ingressPrivateKeys' | 'partnerPublicKey'): Promise<string> {
    try {
      return await readFile(this.secretPath(client, which), 'utf8');
    } catch {
      throw new SftpctlError(
        'LOCAL_SECRET_MISSING',
        `No local ${which === 'partnerPublicKey' ? 'partner key' : 'ingress key'} for client ${client}.`,
        'Restart `sftpctl local up`; it writes them from the config.',
      );
    }
  }
}

/**
 * Fills the local key store from the config (exactly what `secrets load` would put in AWS) and generates, once and
 * under the data folder, whatever the config does not name yet: an ingress pair, a demo partner pair, SSH pairs for
 * users without keys. Returns the SSH keys each user may log in with.
 */
export async function prepareLocalKeys(
  config: Config,
  env: string,
  clients: Client[],
  configDir: string,
  dataDir: string,
  passphrase: PassphraseSource,
): Promise<{ store: LocalKeyStore; generated: GeneratedLocalKey[]; sshKeys: Map<string, SshPublicKey[]> }> {
  const store = new LocalKeyStore(dataDir, config.project, env);
  const generated: GeneratedLocalKey[] = [];
  const sshKeys = new Map<string, SshPublicKey[]>();
  const files = fileReaderAt(configDir);
  for (const client of clients) {
    const localDir = join(dataDir, 'keys', client.name);
    let effective = client;
    if (!client.pgp.ingressPrivateKey) {
      const pair = await ensurePgpPair(join(localDir, 'ingress'), `${config.project} local ingress for ${client.name}`);
      generated.push({ client: client.name, what: 'ingress PGP pair', ...pair });
      effective = {
        ...effective,
        pgp: { ...effective.pgp, ingressPublicKey: pair.publicKey, ingressPrivateKey: pair.privateKey, retiring: [] },
      };
    }
    if (!client.pgp.partnerPublicKey && client.download != null) {
      const pair = await ensurePgpPair(join(localDir, 'demo-partner'), `${config.project} demo partner ${client.name}`);
      generated.push({ client: client.name, what: 'demo partner PGP pair', ...pair });
      effective = { ...effective, pgp: { ...effective.pgp, partnerPublicKey: pair.publicKey } };
    }
    const secrets = await buildClientSecrets(effective, files, passphrase);
    if (secrets.ingress) await store.write(client.name, 'ingressPrivateKeys', secrets.ingress);
    if (secrets.partner) await store.write(client.name, 'partnerPublicKey', secrets.partner);

    for (const role of ['upload', 'download'] as const) {
      const user = client[role];
      const userName = userNameOf(client, role);
      if (!user || !userName) continue;
      const keys = await readUserKeys(user.sshKeys, files);
      if (keys.length === 0) {
        const pair = await ensureSshPair(join(localDir, userName));
        generated.push({
          client: client.name,
          what: 'SSH key pair',
          user: userName,
          privateKey: pair.privateKey,
          publicKey: pair.publicKey,
          fingerprint: pair.key.fingerprint,
        });
        keys.push(pair.key);
      }
      sshKeys.set(userName, keys);
    }
  }
  return { store, generated, sshKeys };
}

async function ensurePgpPair(prefix: string, name: string) {
  const paths = { privatePath: `${prefix}.key.asc`, publicPath: `${prefix}.pub.asc` };
  if (!(await exists(paths.privatePath))) {
    const pair = await generatePgpKeyPair({ name, type: 'curve25519' });
    await writeKeyPair(paths, pair);
  }
  const { readPgpKeyInfo } = await import('../core/crypto/pgp-key-info.js');
  const info = await readPgpKeyInfo(await readFile(paths.publicPath));
  return {
    privateKey: paths.privatePath,
    publicKey: paths.publicPath,
    fingerprint: info.ok ? info.key.fingerprint : '',
  };
}

async function ensureSshPair(privatePath: string) {
  if (!(await exists(privatePath))) {
    const pair = await generateSshKeyPair({
      type: 'ed25519',
      comment: `${privatePath.split('/').at(-1)}@sftpctl-local`,
    });
    await writeKeyPair({ privatePath, publicPath: `${privatePath}.pub` }, pair);
  }
  const parsed = parseSshPublicKey((await readFile(`${privatePath}.pub`, 'utf8')).trim());
  if (!parsed.ok) throw new SftpctlError(parsed.code, `${privatePath}.pub: ${parsed.message}`, parsed.hint);
  return { privateKey: privatePath, publicKey: `${privatePath}.pub`, key: parsed.key };
}

async function readUserKeys(entries: string[], files: ReturnType<typeof fileReaderAt>): Promise<SshPublicKey[]> {
  const keys: SshPublicKey[] = [];
  for (const entry of entries) {
    const parsedInline = parseSshPublicKey(entry);
    if (parsedInline.ok) {
      keys.push(parsedInline.key);
      continue;
    }
    const bytes = await files.read(entry);
    for (const line of new TextDecoder().decode(bytes ?? new Uint8Array()).split(/\r?\n/)) {
      const parsed = parseSshPublicKey(line.trim());
      if (parsed.ok) keys.push(parsed.key);
    }
  }
  return keys;
}
