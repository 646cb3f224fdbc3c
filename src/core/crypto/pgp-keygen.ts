import { SftpctlError } from '../errors.js';
import { loadOpenpgp } from './pgp-load.js';

export type PgpKeyAlgorithm = 'curve25519' | 'rsa';

export interface PgpKeyPair {
  publicKey: string;
  privateKey: string;
  fingerprint: string;
  created: Date;
  expires: Date | null;
}

/**
 * Generates a v4 key pair GnuPG 2.2 reads: curve25519 means ed25519 signing + cv25519 encryption in their legacy
 * (RFC 4880bis) encodings — openpgp's `curve25519Legacy` — because gpg 2.2 rejects the RFC 9580 ones.
 */
export async function generatePgpKeyPair(options: {
  name: string;
  email?: string;
  type: PgpKeyAlgorithm;
  rsaBits?: number;
  expiresInSeconds?: number;
  passphrase?: string;
  now?: Date;
}): Promise<PgpKeyPair> {
  if (options.type === 'rsa' && ![3072, 4096].includes(options.rsaBits ?? 3072)) {
    throw new SftpctlError(
      'PGP_KEYGEN_BITS',
      `RSA keys of ${options.rsaBits} bits are not offered.`,
      'Use --bits 3072 or 4096.',
      { kind: 'usage' },
    );
  }
  const openpgp = await loadOpenpgp();
  const created = options.now ?? new Date();
  const generated = await openpgp.generateKey({
    ...(options.type === 'rsa'
      ? { type: 'rsa' as const, rsaBits: options.rsaBits ?? 3072 }
      : { type: 'ecc' as const, curve: 'curve25519Legacy' as const }),
    userIDs: [{ name: options.name, ...(options.email ? { email: options.email } : {}) }],
    date: created,
    keyExpirationTime: options.expiresInSeconds ?? 0,
    format: 'object',
    config: { v6Keys: false, aeadProtect: false },
  });
  await setPreferences(openpgp, generated.privateKey, created);
  const privateKey = options.passphrase
    ? await openpgp.encryptKey({ privateKey: generated.privateKey, passphrase: options.passphrase })
    : generated.privateKey;
  const key = privateKey.toPublic();
  const generatedArmored = { publicKey: key.armor(), privateKey: privateKey.armor() };
  return {
    publicKey: generatedArmored.publicKey,
    privateKey: generatedArmored.privateKey,
    fingerprint: key.getFingerprint().toUpperCase(),
    created,
    expires: options.expiresInSeconds ? new Date(created.getTime() + options.expiresInSeconds * 1000) : null,
  };
}

/**
 * Preferences every mainstream tool reads: openpgp.js lists SHA3-512/SHA3-256 (ids 14, 12) among the preferred
 * hashes, and PGPy refuses to load any key that names them ("14 is not a valid HashAlgorithm"). GnuPG 2.2's own
 * defaults are used instead: AES-256/192/128; SHA-512/384/256/224; ZLIB/ZIP/none; MDC (SEIPD v1) only, no AEAD.
 * The self-certification of each user id is re-signed with them (same time, same flags, same expiry).
 */
export const KEY_PREFERENCES = {
  symmetric: [9, 8, 7],
  hash: [10, 9, 8, 11],
  compression: [2, 1, 0],
} as const;

async function setPreferences(
  openpgp: Awaited<ReturnType<typeof loadOpenpgp>>,
  key: import('openpgp').PrivateKey,
  created: Date,
): Promise<void> {
  for (const user of key.users) {
    const certifications = user.selfCertifications;
    for (let i = 0; i < certifications.length; i++) {
      const old = certifications[i]!;
      const copy = new openpgp.SignaturePacket();
      copy.read(old.write());
      copy.preferredSymmetricAlgorithms = [...KEY_PREFERENCES.symmetric];
      copy.preferredHashAlgorithms = [...KEY_PREFERENCES.hash];
      copy.preferredCompressionAlgorithms = [...KEY_PREFERENCES.compression];
      (copy as unknown as { preferredCipherSuites: null }).preferredCipherSuites = null;
      // openpgp.js's typings omit sign()'s config argument, which it reads.
      const sign = copy.sign as (...args: unknown[]) => Promise<void>;
      await sign.call(copy, key.keyPacket, { userID: user.userID, key: key.keyPacket }, old.created ?? created, false, {
        ...openpgp.config,
        nonDeterministicSignaturesViaNotation: false,
      });
      certifications[i] = copy;
    }
  }
}
