/**
 * Opening a message's session key with the platform's private key(s), and saying precisely why not when it fails.
 *
 * openpgp.js's decryptSessionKeys() is not used for this: it refuses any cipher outside the key's preference list
 * ("A non-preferred symmetric algorithm was used" — AES-192, Twofish, Blowfish with keys that list AES-256/128 only)
 * and reports a cipher it does not know (Camellia, IDEA) as a decryption error, which read as tampering. The public-
 * key step itself is still openpgp.js's (PublicKeyEncryptedSessionKeyPacket.decrypt); the payload — cipher id, key,
 * checksum — is read here, so which ciphers are decrypted is our decision (see `cipherSupport`).
 *
 * Verdicts: a session key packet addressed to one of our keys that does not open → PGP_INTEGRITY_FAILED (damaged);
 * hidden (wildcard) recipients none of our keys opens → PGP_WRONG_KEY; a cipher we cannot run → PGP_UNSUPPORTED.
 */
import type { PrivateKey } from 'openpgp';
import { block16FromId, SYMMETRIC_IDS } from './pgp-cfb.js';
import { HINT_NOT_PUBLISHED, integrityError, openpgpReason, pgpError, unsupportedError } from './pgp-errors.js';
import type { DecryptionKeys, OpenPgpModule } from './pgp-keys.js';

export const WILDCARD = '0000000000000000';

export interface SessionKey {
  data: Uint8Array;
  /** openpgp.js's name of the cipher ('aes256', 'twofish', …) or `algorithm N`. */
  algorithm: string;
  algorithmId: number;
}

export interface Recipient {
  keyId: string;
  /** The PKESK packet body (without its header). */
  body: Buffer;
}

/** Session key sizes (bytes) by OpenPGP cipher id (RFC 9580 §9.3). */
const KEY_BYTES: Record<number, number> = {
  1: 16,
  2: 24,
  3: 16,
  4: 16,
  7: 16,
  8: 24,
  9: 32,
  10: 32,
  11: 16,
  12: 24,
  13: 32,
};
/** Ciphers openpgp.js decrypts (SEIPD v1 through its streaming decryption). */
const OPENPGP_CIPHERS = new Set([2, 3, 4, 10]);
/** Public-key algorithms whose v3 payload carries the cipher id inside the encrypted part (RSA, Elgamal, ECDH). */
const ENCRYPTED_ALGO_IN_PAYLOAD = new Set([1, 2, 16, 18]);

/** How a cipher is decrypted: natively (node:crypto), by openpgp.js, or not at all. */
export function cipherSupport(id: number): 'native' | 'openpgp' | 'unsupported' {
  if (block16FromId(id) !== undefined) return 'native';
  if (OPENPGP_CIPHERS.has(id)) return 'openpgp';
  return 'unsupported';
}

export function cipherName(id: number): string {
  return SYMMETRIC_IDS[id] ?? `algorithm ${id}`;
}

export function unsupportedCipherError(id: number): Error {
  const name = SYMMETRIC_IDS[id];
  return unsupportedError(
    name
      ? `the cipher ${name.toUpperCase()} (id ${id}), which this platform cannot decrypt`
      : `an unknown cipher (id ${id})`,
  );
}

/**
 * Decrypts the session key. `cipherFromPacket` is the cipher id the encrypted data packet names (SEIPD v2 / AEAD),
 * needed for v6 PKESKs, which do not carry it.
 */
export async function openSessionKey(
  openpgp: OpenPgpModule,
  recipients: readonly Recipient[],
  keys: DecryptionKeys,
  cipherFromPacket: number | undefined,
): Promise<{ sessionKey: SessionKey; keyIndex: number; keyId: string }> {
  const damaged: string[] = [];
  for (const recipient of recipients) {
    const hidden = recipient.keyId === WILDCARD;
    const candidates = keys.keys
      .map((key, i) => ({ key, i }))
      .filter(({ key }) => hidden || key.decryptionKeyIds.includes(recipient.keyId));
    for (const { i } of candidates) {
      const opened = await tryKey(openpgp, recipient, keys.privateKeys[i]!, cipherFromPacket);
      if ('sessionKey' in opened) {
        const keyId = hidden ? opened.keyId : recipient.keyId;
        return { sessionKey: opened.sessionKey, keyIndex: i, keyId };
      }
      // A hidden recipient that our key does not open is simply someone else's: only addressed packets count.
      if (!hidden) damaged.push(`${recipient.keyId}: ${opened.reason}`);
    }
  }
  if (damaged.length > 0) throw integrityError(`the session key could not be decrypted (${damaged.join('; ')})`);
  const ours = keys.keys.map((k) => k.fingerprint).join(', ');
  throw pgpError(
    'PGP_WRONG_KEY',
    `The message is encrypted to hidden recipients (key ID 0000000000000000) and none of the keys configured here (${ours}) opens it.`,
    `${HINT_NOT_PUBLISHED} The sender used another or an outdated public key: send them the current platform public key.`,
  );
}

async function tryKey(
  openpgp: OpenPgpModule,
  recipient: Recipient,
  privateKey: PrivateKey,
  cipherFromPacket: number | undefined,
): Promise<{ sessionKey: SessionKey; keyId: string } | { reason: string }> {
  let reason = 'no decryption subkey matches';
  let packets: { keyPacket: unknown; keyId: string }[];
  try {
    const probe = readPkesk(openpgp, recipient.body);
    const found = await privateKey.getDecryptionKeys(
      probe.publicKeyID as never,
      null as never,
      undefined,
      openpgp.config,
    );
    packets = found.map((k) => ({ keyPacket: k.keyPacket, keyId: k.getKeyID().toHex().toUpperCase() }));
  } catch (error) {
    return { reason: openpgpReason(error) };
  }
  for (const { keyPacket, keyId } of packets) {
    try {
      // A fresh packet per attempt: decrypt() mutates it.
      const pkesk = readPkesk(openpgp, recipient.body);
      const version = pkesk.version;
      const raw = version === 3 && ENCRYPTED_ALGO_IN_PAYLOAD.has(pkesk.publicKeyAlgorithm);
      // Read as v6, openpgp.js returns the checked payload without interpreting its cipher id: "id ‖ key".
      if (raw) pkesk.version = 6;
      await pkesk.decrypt(keyPacket);
      const payload = pkesk.sessionKey;
      if (!payload) throw new Error('no session key');
      let id: number;
      let data: Uint8Array;
      if (raw) {
        id = payload[0]!;
        data = payload.subarray(1);
      } else if (version === 3) {
        // X25519/X448: the cipher id travels in clear (openpgp.js keeps its name)
        const clear = pkesk.sessionKeyAlgorithm;
        id = typeof clear === 'string' ? Number(openpgp.enums.symmetric[clear as 'aes256']) : Number(clear);
        data = payload;
      } else {
        if (cipherFromPacket === undefined) throw new Error('a v6 session key packet before a v1 data packet');
        id = cipherFromPacket;
        data = payload;
      }
      if (KEY_BYTES[id] !== undefined && KEY_BYTES[id] !== data.length) {
        throw new Error(`a ${data.length}-byte session key for ${cipherName(id)}`);
      }
      if (cipherFromPacket !== undefined && raw && id !== cipherFromPacket) {
        throw new Error(`the session key is for ${cipherName(id)}, the data for ${cipherName(cipherFromPacket)}`);
      }
      if (cipherSupport(id) === 'unsupported') throw unsupportedCipherError(id);
      return { sessionKey: { data, algorithm: cipherName(id), algorithmId: id }, keyId };
    } catch (error) {
      if (error instanceof Error && 'code' in error && error.code === 'PGP_UNSUPPORTED') throw error;
      reason = openpgpReason(error);
    }
  }
  return { reason };
}

/** The fields of openpgp.js's PKESK packet used here (its typings keep them private). */
interface PkeskPacket {
  version: number;
  publicKeyID: unknown;
  publicKeyAlgorithm: number;
  sessionKeyAlgorithm: number | string | null;
  sessionKey: Uint8Array | null;
  read(bytes: Uint8Array): void;
  decrypt(key: unknown): Promise<void>;
}

function readPkesk(openpgp: OpenPgpModule, body: Buffer): PkeskPacket {
  const packet = new openpgp.PublicKeyEncryptedSessionKeyPacket() as unknown as PkeskPacket;
  packet.read(body);
  return packet;
}
