/**
 * Reading the keys the stream module works with: a partner's public key for egress, the platform's private key(s) for
 * ingress (several during a rotation). openpgp is imported lazily. Errors name keys by fingerprint / key id only —
 * never key material, never the passphrase.
 */
import type { Config, Key, PrivateKey, PublicKey } from 'openpgp';
import type { SftpctlError } from '../errors.js';
import { AES_IDS, type AesAlgorithm } from './pgp-cfb.js';
import { openpgpReason, pgpError } from './pgp-errors.js';
import { loadOpenpgp, type OpenPgpModule } from './pgp-load.js';

export { loadOpenpgp, type OpenPgpModule };

const GENERATE_HINT =
  "Use a v4 key GnuPG 2.2 can read: `gpg --quick-gen-key 'Name <email>' future-default default 2y` (ed25519/cv25519) " +
  "or rsa3072; with openpgp.js, type 'ecc' (curve25519Legacy) or 'rsa'.";

/** A partner's public key, ready for {@link encryptStream}. */
export interface RecipientKey {
  /** Primary key fingerprint, upper-case hex. */
  readonly fingerprint: string;
  readonly keyId: string;
  /** The (sub)key the session key is encrypted to. */
  readonly encryptionKeyId: string;
  readonly userIds: readonly string[];
  /** The symmetric cipher chosen from the key's preferences (AES only). */
  readonly cipher: AesAlgorithm;
  /**
   * The encrypted data format: 'seipdv1' (MDC) for v4 keys, what GnuPG 2.2 reads; 'seipdv2' (OCB) for v6 (RFC 9580)
   * keys, which RFC 9580 requires for them.
   */
  readonly format: 'seipdv1' | 'seipdv2';
  /** The parsed openpgp.js key; treat as opaque. */
  readonly key: PublicKey;
}

export interface DecryptionKeyInfo {
  readonly fingerprint: string;
  readonly keyId: string;
  /** Key ids of the (sub)keys that can decrypt, upper-case hex. */
  readonly decryptionKeyIds: readonly string[];
}

/** One or more unlocked private keys for {@link decryptStream}. */
export interface DecryptionKeys {
  readonly keys: readonly DecryptionKeyInfo[];
  /** The unlocked openpgp.js keys; treat as opaque. */
  readonly privateKeys: readonly PrivateKey[];
}

function isBinary(data: Uint8Array | string): data is Uint8Array {
  return typeof data !== 'string' && data.length > 0 && (data[0]! & 0x80) !== 0 && data[0] !== 0xef;
}

async function parseKeys(openpgp: OpenPgpModule, data: Uint8Array | string, what: string): Promise<Key[]> {
  try {
    if (isBinary(data)) return await openpgp.readKeys({ binaryKeys: data });
    const text = typeof data === 'string' ? data : new TextDecoder().decode(data);
    if (/PGP PRIVATE KEY BLOCK/.test(text)) return await openpgp.readPrivateKeys({ armoredKeys: text });
    return await openpgp.readKeys({ armoredKeys: text });
  } catch (error) {
    throw pgpError(
      'PGP_KEY_INVALID',
      `The ${what} cannot be read as an OpenPGP key (${openpgpReason(error)}).`,
      'Export it again with `gpg --armor --export <fingerprint>` (public) or `--export-secret-keys` (private).',
      error,
    );
  }
}

function keyVersion(key: Key): number {
  return key.keyPacket.version;
}

function v6Error(key: Key, what: string): SftpctlError {
  return pgpError(
    'PGP_KEY_V6',
    `The ${what} ${key.getFingerprint().toUpperCase()} is a version ${keyVersion(key)} OpenPGP key; GnuPG 2.2 and many partner tools cannot use it, so messages for it would not be readable there.`,
    GENERATE_HINT,
  );
}

/** Algorithms of RFC 9580's new key format, which GnuPG 2.2 rejects even inside a v4 key. */
const RFC9580_ALGORITHMS = new Set(['x25519', 'x448', 'ed25519', 'ed448']);

/**
 * Reads a partner's public key (armored or binary) for egress. Refuses private keys (the platform never holds a
 * partner's private key), v5 keys and RFC 9580 x25519 subkeys inside v4 keys (GnuPG 2.2 cannot read messages for
 * them), and keys without a valid encryption subkey at `now`. A v6 (RFC 9580) key is accepted: its owner runs an RFC
 * 9580 implementation, and messages to it are SEIPD v2 (OCB), as RFC 9580 requires.
 */
export async function readRecipientKey(data: Uint8Array | string, now: Date = new Date()): Promise<RecipientKey> {
  const openpgp = await loadOpenpgp();
  const keys = await parseKeys(openpgp, data, 'partner public key');
  if (keys.length !== 1) {
    throw pgpError(
      'PGP_KEY_INVALID',
      `The partner key file holds ${keys.length} keys (${keys.map((k) => k.getFingerprint().toUpperCase()).join(', ')}); exactly one is expected.`,
      'Export only the key you mean: `gpg --armor --export <fingerprint> > partner.asc`.',
    );
  }
  const key = keys[0]!;
  const fingerprint = key.getFingerprint().toUpperCase();
  if (key.isPrivate()) {
    throw pgpError(
      'PGP_KEY_IS_PRIVATE',
      `OpenPGP key ${fingerprint} is a PRIVATE key, given where the partner's public key belongs. It was not used or stored.`,
      'Give the public key (`gpg --armor --export <fingerprint>`). If a partner sent their private key, treat it as compromised.',
    );
  }
  const version = keyVersion(key);
  if (version !== 4 && version !== 6) throw v6Error(key, 'partner key');
  let encryptionKey: Awaited<ReturnType<Key['getEncryptionKey']>>;
  try {
    encryptionKey = await key.getEncryptionKey(undefined, now);
  } catch (error) {
    throw pgpError(
      'PGP_KEY_NO_ENCRYPTION_SUBKEY',
      `OpenPGP key ${fingerprint} has no valid encryption subkey (${openpgpReason(error)}).`,
      'Ask the partner for a current key with an encryption subkey (`gpg --quick-add-key <fingerprint> cv25519 encr 2y`).',
      error,
    );
  }
  const algorithm = encryptionKey.getAlgorithmInfo().algorithm as string;
  if (version === 4 && RFC9580_ALGORITHMS.has(algorithm)) {
    throw pgpError(
      'PGP_KEY_RFC9580_ALGORITHM',
      `OpenPGP key ${fingerprint} encrypts with the RFC 9580 ${algorithm} format (openpgp.js type 'curve25519'), which GnuPG 2.2 cannot read.`,
      GENERATE_HINT,
    );
  }
  return {
    fingerprint,
    keyId: key.getKeyID().toHex().toUpperCase(),
    encryptionKeyId: encryptionKey.getKeyID().toHex().toUpperCase(),
    userIds: key.getUserIDs(),
    cipher: await chooseCipher(key, now),
    format: version === 6 ? 'seipdv2' : 'seipdv1',
    key: key as PublicKey,
  };
}

/** AES-256 unless the key's preferences list AES but not AES-256 (then AES-128, then AES-192). */
async function chooseCipher(key: Key, now: Date): Promise<AesAlgorithm> {
  let prefs: number[] | null = null;
  try {
    prefs = (await key.getPrimaryUser(now)).selfCertification.preferredSymmetricAlgorithms;
  } catch {
    // no usable self-signature preferences: AES-256 is what every OpenPGP tool of this century reads
  }
  if (!prefs || prefs.length === 0 || prefs.includes(AES_IDS.aes256)) return 'aes256';
  if (prefs.includes(AES_IDS.aes128)) return 'aes128';
  if (prefs.includes(AES_IDS.aes192)) return 'aes192';
  return 'aes256';
}

/**
 * Reads the platform's private key(s). Each entry may be armored or binary and may hold several keys; all are
 * returned in order (during a rotation the old and the new key decrypt side by side). Locked keys are unlocked with
 * `passphrase` (one for all, or one per entry).
 */
export async function readDecryptionKeys(
  entries: readonly (Uint8Array | string)[],
  passphrase?: string | readonly (string | undefined)[],
): Promise<DecryptionKeys> {
  const openpgp = await loadOpenpgp();
  if (entries.length === 0) {
    throw pgpError(
      'PGP_KEY_INVALID',
      'No private key was given to decrypt with.',
      'Configure the platform key (`sftpctl key ...`).',
    );
  }
  const privateKeys: PrivateKey[] = [];
  const infos: DecryptionKeyInfo[] = [];
  for (const [index, entry] of entries.entries()) {
    const pass = typeof passphrase === 'string' || passphrase === undefined ? passphrase : passphrase[index];
    for (const key of await parseKeys(openpgp, entry, 'private key')) {
      const fingerprint = key.getFingerprint().toUpperCase();
      if (!key.isPrivate()) {
        throw pgpError(
          'PGP_KEY_NOT_PRIVATE',
          `OpenPGP key ${fingerprint} is a public key, but a private key is needed to decrypt.`,
          'Give the private key (`gpg --armor --export-secret-keys <fingerprint>`).',
        );
      }
      // v6 (RFC 9580) private keys are accepted for decryption: openpgp.js opens their v6 session key packets and
      // SEIPD v2 messages. Only what we hand to partners (recipients, generated keys) must stay v4.
      const unlocked = await unlock(openpgp, key as PrivateKey, fingerprint, pass);
      let decryptionKeyIds: string[];
      try {
        // Like openpgp's own decryption: expiry is not checked, old messages stay readable.
        const subkeys = await unlocked.getDecryptionKeys(undefined, null as unknown as Date);
        decryptionKeyIds = subkeys.map((k) => k.getKeyID().toHex().toUpperCase());
      } catch (error) {
        throw pgpError(
          'PGP_KEY_NO_ENCRYPTION_SUBKEY',
          `OpenPGP key ${fingerprint} has no subkey that can decrypt (${openpgpReason(error)}).`,
          'Use the key pair whose public key the partners encrypt to.',
          error,
        );
      }
      privateKeys.push(unlocked);
      infos.push({ fingerprint, keyId: unlocked.getKeyID().toHex().toUpperCase(), decryptionKeyIds });
    }
  }
  return { keys: infos, privateKeys };
}

async function unlock(
  openpgp: OpenPgpModule,
  key: PrivateKey,
  fingerprint: string,
  passphrase: string | undefined,
): Promise<PrivateKey> {
  if (key.isDecrypted()) return key;
  if (passphrase === undefined) {
    throw pgpError(
      'PGP_KEY_LOCKED',
      `Private key ${fingerprint} is protected by a passphrase, and none was given.`,
      'Provide the passphrase (it is read from the key store, never from the command line).',
    );
  }
  try {
    return await openpgp.decryptKey({ privateKey: key, passphrase });
  } catch (error) {
    const reason = openpgpReason(error);
    if (/passphrase|checksum|Malformed/i.test(reason) || /Incorrect key passphrase/i.test(String(error))) {
      throw pgpError(
        'PGP_PASSPHRASE_WRONG',
        `The passphrase does not unlock private key ${fingerprint}.`,
        'Check which passphrase belongs to this key.',
      );
    }
    throw pgpError('PGP_KEY_INVALID', `Private key ${fingerprint} cannot be unlocked (${reason}).`, undefined, error);
  }
}

/** Only used to type openpgp's `config` argument without importing openpgp eagerly. */
export type OpenPgpConfig = Partial<Config>;
