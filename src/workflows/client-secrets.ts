import type { Client } from '../core/config/schema.js';
import { pgpKeyProblems, readPgpKeyInfo } from '../core/crypto/pgp-key-info.js';
import { readDecryptionKeys } from '../core/crypto/pgp-keys.js';
import { SftpctlError } from '../core/errors.js';
import type { FileReader } from '../core/ports.js';
import type { IngressKeysSecret, PartnerKeySecret } from '../core/secrets.js';

export interface ClientSecrets {
  ingress: IngressKeysSecret | undefined;
  partner: PartnerKeySecret | undefined;
}

/** Asks for the passphrase of a locked private key (by file), or undefined to give up. */
export type PassphraseSource = (file: string) => Promise<string>;

/**
 * Builds the values of a client's secrets from its key files, validating first: every file parses, the current
 * ingress key is private, not expired, can decrypt and belongs to the public key partners encrypt to; the partner key
 * is a usable public key. Locked private keys are unlocked with the passphrase. Nothing here is printed.
 */
export async function buildClientSecrets(
  client: Client,
  files: FileReader,
  passphrase: PassphraseSource,
  now = new Date(),
): Promise<ClientSecrets> {
  const { pgp } = client;
  let ingress: IngressKeysSecret | undefined;
  if (pgp.ingressPrivateKey) {
    const current = await readKey(files, pgp.ingressPrivateKey, 'private', now, false);
    if (pgp.ingressPublicKey) {
      const published = await readKey(files, pgp.ingressPublicKey, 'public', now, false);
      if (published.info.fingerprint !== current.info.fingerprint) {
        throw new SftpctlError(
          'PGP_KEY_PAIR_MISMATCH',
          `${pgp.ingressPrivateKey} (${current.info.fingerprint}) is not the private half of ${pgp.ingressPublicKey} (${published.info.fingerprint}).`,
          'Partners encrypt to the public key; load the private key that belongs to it. Nothing was written.',
        );
      }
    }
    const retiring = [];
    for (const old of pgp.retiring ?? [])
      retiring.push({ file: old.privateKey, ...(await readKey(files, old.privateKey, 'private', now, true)) });
    const entries = [{ file: pgp.ingressPrivateKey, ...current }, ...retiring];
    const keys: IngressKeysSecret['keys'] = [];
    for (const [index, entry] of entries.entries()) {
      const pass = entry.info.locked ? await passphrase(entry.file) : undefined;
      const unlocked = await readDecryptionKeys([entry.bytes], pass);
      keys.push({
        fingerprint: entry.info.fingerprint,
        role: index === 0 ? 'current' : 'retiring',
        armoredPrivateKey: unlocked.privateKeys[0]!.armor(),
      });
    }
    ingress = { format: 'sftpctl.ingress-keys/v1', keys };
  } else if (client.upload != null) {
    throw new SftpctlError(
      'PGP_INGRESS_KEY_MISSING',
      `Client ${client.name} has an upload user but no pgp.ingressPrivateKey.`,
      `Generate one: sftpctl keys generate gpg, or sftpctl client add ${client.name} --generate-keys.`,
    );
  }

  let partner: PartnerKeySecret | undefined;
  if (pgp.partnerPublicKey) {
    const { info, bytes } = await readKey(files, pgp.partnerPublicKey, 'public', now, false);
    partner = {
      format: 'sftpctl.partner-key/v1',
      fingerprint: info.fingerprint,
      armoredPublicKey: new TextDecoder().decode(bytes),
    };
  }
  return { ingress, partner };
}

async function readKey(files: FileReader, path: string, role: 'public' | 'private', now: Date, allowExpired: boolean) {
  const bytes = await files.read(path);
  if (bytes === undefined)
    throw new SftpctlError(
      'PGP_KEY_FILE_MISSING',
      `Key file ${path} does not exist (looked at ${files.resolve(path)}).`,
      'Nothing was written.',
    );
  const read = await readPgpKeyInfo(bytes, now);
  if (!read.ok) throw new SftpctlError(read.code, `${path}: ${read.message}`, read.hint);
  const problem = pgpKeyProblems(read.key, { role, now }).find(
    (found) => !(allowExpired && (found.code === 'PGP_KEY_EXPIRED' || found.code === 'PGP_KEY_NO_ENCRYPTION_SUBKEY')),
  );
  if (problem)
    throw new SftpctlError(problem.code, `${path}: ${problem.message}`, `${problem.hint} Nothing was written.`);
  return { info: read.key, bytes };
}
