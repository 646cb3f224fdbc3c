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
    ...(options.passphrase ? { passphrase: options.passphrase } : {}),
    format: 'armored',
    config: { v6Keys: false, aeadProtect: false },
  });
  const key = await openpgp.readKey({ armoredKey: generated.publicKey });
  return {
    publicKey: generated.publicKey,
    privateKey: generated.privateKey,
    fingerprint: key.getFingerprint().toUpperCase(),
    created,
    expires: options.expiresInSeconds ? new Date(created.getTime() + options.expiresInSeconds * 1000) : null,
  };
}
