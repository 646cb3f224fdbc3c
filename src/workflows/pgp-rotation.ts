import { rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import type { AwsClients } from '../aws/clients.js';
import { putSecretValue } from '../aws/secrets.js';
import { clientIndexInDocument } from '../core/config/edit.js';
import { secretNames } from '../core/config/naming.js';
import type { Client, Config } from '../core/config/schema.js';
import { generatePgpKeyPair } from '../core/crypto/pgp-keygen.js';
import { SftpctlError } from '../core/errors.js';
import { serializeSecret } from '../core/secrets.js';
import { editConfigFile } from '../io/config-edit.js';
import type { ConfigFile } from '../io/config-file.js';
import { fileReaderAt } from '../io/files.js';
import { writeKeyPair } from '../io/key-files.js';
import { buildClientSecrets, type PassphraseSource } from './client-secrets.js';

export interface PgpRotationContext {
  file: ConfigFile;
  config: Config;
  client: Client;
  env: string;
  clients: AwsClients;
  passphrase: PassphraseSource;
  now: Date;
}

export interface PgpRotationResult {
  fingerprint: string;
  publicKey: string;
  privateKey: string;
  secret: string;
  secretVersion: string;
  keysInSecret: number;
}

/**
 * Starts a PGP rotation: a new ingress pair (written 0600 under keys/<client>/), the config records the old pair as
 * retiring, then the secret is rewritten to hold new and old — uploads encrypted to either decrypt during the grace
 * period. The old key stays in the secret until the new secret version is written, so no upload is ever undecryptable.
 */
export async function startPgpRotation(context: PgpRotationContext, graceSeconds: number): Promise<PgpRotationResult> {
  const { client } = context;
  if ((client.pgp.retiring ?? []).length > 0) {
    throw new SftpctlError(
      'ROTATION_IN_PROGRESS',
      `The ingress key of ${client.name} is already rotating.`,
      `Finish it first: sftpctl keys rotate ${client.name} --pgp --finish`,
    );
  }
  if (!client.pgp.ingressPublicKey || !client.pgp.ingressPrivateKey) {
    throw new SftpctlError(
      'PGP_INGRESS_KEY_MISSING',
      `Client ${client.name} has no ingress key pair to rotate.`,
      `Create one: sftpctl client add ${client.name} --generate-keys, or set pgp.ingressPublicKey/ingressPrivateKey.`,
    );
  }
  const configDir = dirname(context.file.path);
  const stamp = context.now.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
  const paths = {
    privatePath: join(configDir, 'keys', client.name, `ingress-${stamp}.key.asc`),
    publicPath: join(configDir, 'keys', client.name, `ingress-${stamp}.pub.asc`),
  };
  const pair = await generatePgpKeyPair({
    name: `${context.config.project} ingress for ${client.name}`,
    type: 'curve25519',
    expiresInSeconds: 2 * 365 * 86_400,
    now: context.now,
  });
  await writeKeyPair(paths, pair);

  const since = isoSeconds(context.now);
  const until = isoSeconds(new Date(context.now.getTime() + graceSeconds * 1000));
  let edited: Awaited<ReturnType<typeof editConfigFile>>;
  try {
    edited = await editConfigFile(context.file, (document) => {
      const index = clientIndexInDocument(document, client.name);
      document.setIn(
        ['clients', index, 'pgp', 'retiring'],
        document.createNode([
          { since, until, publicKey: client.pgp.ingressPublicKey, privateKey: client.pgp.ingressPrivateKey },
        ]),
      );
      document.setIn(['clients', index, 'pgp', 'ingressPublicKey'], relative(configDir, paths.publicPath));
      document.setIn(['clients', index, 'pgp', 'ingressPrivateKey'], relative(configDir, paths.privatePath));
    });
  } catch (error) {
    await Promise.all([rm(paths.privatePath, { force: true }), rm(paths.publicPath, { force: true })]);
    throw error;
  }
  const written = await writeIngressSecret(context, edited.config);
  return {
    fingerprint: pair.fingerprint,
    publicKey: relative(configDir, paths.publicPath),
    privateKey: relative(configDir, paths.privatePath),
    ...written,
  };
}

/** Ends a PGP rotation: the config forgets the retiring pair, then the secret is rewritten with the current key only. */
export async function finishPgpRotation(
  context: PgpRotationContext,
  force: boolean,
): Promise<Omit<PgpRotationResult, 'fingerprint' | 'publicKey' | 'privateKey'> & { retired: string[] }> {
  const retiring = context.client.pgp.retiring ?? [];
  if (retiring.length === 0)
    throw new SftpctlError(
      'ROTATION_NONE',
      `The ingress key of ${context.client.name} is not rotating.`,
      'Start one with --pgp.',
    );
  const until = retiring
    .map((entry) => entry.until)
    .sort()
    .at(-1)!;
  if (!force && Date.parse(until) > context.now.getTime()) {
    throw new SftpctlError(
      'ROTATION_GRACE_NOT_OVER',
      `The grace period runs until ${until}; partners may still encrypt to the old key.`,
      'Wait, or pass --force to end it now.',
    );
  }
  const edited = await editConfigFile(context.file, (document) => {
    document.deleteIn(['clients', clientIndexInDocument(document, context.client.name), 'pgp', 'retiring']);
  });
  const written = await writeIngressSecret(context, edited.config);
  return { ...written, retired: retiring.map((entry) => entry.privateKey) };
}

async function writeIngressSecret(context: PgpRotationContext, config: Config) {
  const client = config.clients.find((entry) => entry.name === context.client.name)!;
  const secrets = await buildClientSecrets(
    client,
    fileReaderAt(dirname(context.file.path)),
    context.passphrase,
    context.now,
  );
  const secret = secretNames(config.project, context.env, client.name).ingressPrivateKeys;
  try {
    const secretVersion = await putSecretValue(context.clients, secret, serializeSecret(secrets.ingress!));
    return { secret, secretVersion, keysInSecret: secrets.ingress!.keys.length };
  } catch (error) {
    throw new SftpctlError(
      (error as SftpctlError).code ?? 'SECRET_WRITE_FAILED',
      `The config is updated, but the secret ${secret} was not: ${(error as Error).message}`,
      `The secret still holds the previous key(s), so uploads keep decrypting. Retry with: sftpctl secrets load ${client.name} --env ${context.env}`,
      { cause: error },
    );
  }
}

function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
