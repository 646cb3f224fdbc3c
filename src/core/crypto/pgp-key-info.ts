import { Buffer } from 'node:buffer';
import type { AlgorithmInfo, Config, Key } from 'openpgp';
import { loadOpenpgp } from './pgp-load.js';

/**
 * Inspects an OpenPGP key file (armored or binary) and judges it against what the platform and the partners' tools
 * (GnuPG 2.2) can use. openpgp is imported lazily: importing this module costs nothing.
 */

export interface PgpKeyInfo {
  /** Uppercase hex, as gpg prints it. */
  fingerprint: string;
  /** 16 uppercase hex digits. */
  keyId: string;
  /** 4, or 5/6 for keys GnuPG 2.2 cannot use. */
  version: number;
  isPrivate: boolean;
  /** A private key whose secret material is protected by a passphrase. */
  locked: boolean;
  /** Of the primary key: 'rsa3072', 'ed25519 (legacy)', 'curve25519 (legacy)', 'nistp256', 'ed25519' (RFC 9580) … */
  algorithm: string;
  userIds: string[];
  created: Date;
  /** null = never. */
  expires: Date | null;
  revoked: boolean;
  /** Key id of the (sub)key that would encrypt at the `now` given to readPgpKeyInfo; null if none is valid then. */
  encryptionKeyId: string | null;
  encryptionAlgorithm: string | null;
}

export type PgpKeyRead = { ok: true; key: PgpKeyInfo } | { ok: false; code: string; message: string; hint: string };

export interface PgpKeyProblem {
  code: string;
  message: string;
  hint: string;
}

type Failure = Extract<PgpKeyRead, { ok: false }>;

/**
 * Inspection must see old keys as they are (DSA/ElGamal, RSA-1024, secp256k1) so that pgpKeyProblems can name the
 * weakness, instead of openpgp refusing them with a generic "no valid encryption key". v5 keys are parsed so they
 * can be reported as such.
 */
const INSPECT_CONFIG = {
  minRSABits: 0,
  rejectPublicKeyAlgorithms: new Set<never>(),
  rejectCurves: new Set<never>(),
  enableParsingV5Entities: true,
} satisfies Partial<Config>;

/** openpgp's own default; some RSA "2048" keys have a 2047-bit modulus. */
const MIN_RSA_BITS = 2047;

const GENERATE_HINT =
  "Generate a v4 key GnuPG 2.2 can use: `gpg --quick-gen-key 'Name <email>' future-default default 2y` " +
  "(ed25519/curve25519 legacy) or `rsa3072`; with openpgp.js use type 'ecc' (curve25519Legacy) or 'rsa'.";

export async function readPgpKeyInfo(data: Uint8Array | string, now: Date = new Date()): Promise<PgpKeyRead> {
  const openpgp = await loadOpenpgp();
  const config: Config = { ...openpgp.config, ...INSPECT_CONFIG };

  let keys: Key[];
  // Every OpenPGP packet header has its top bit set; text (armor, with or without a UTF-8 BOM) does not start so.
  const binary = typeof data !== 'string' && data.length > 0 && (data[0]! & 0x80) !== 0 && data[0] !== 0xef;
  if (binary) {
    try {
      keys = await openpgp.readKeys({ binaryKeys: data, config });
    } catch (error) {
      return unreadable(`it is not a valid binary OpenPGP key (${reason(error)})`);
    }
  } else {
    const text = typeof data === 'string' ? data : new TextDecoder().decode(data);
    const blocks = armorBlocks(text);
    if (!Array.isArray(blocks)) return blocks;
    keys = [];
    for (const block of blocks) {
      try {
        keys.push(...(await openpgp.readKeys({ armoredKeys: block, config })));
      } catch (error) {
        return unreadable(`the armored key cannot be parsed (${reason(error)})`);
      }
    }
  }

  if (keys.length > 1) {
    const list = keys.map((k) => k.getFingerprint().toUpperCase()).join(', ');
    return {
      ok: false,
      code: 'PGP_KEY_MULTIPLE',
      message: `The file holds ${keys.length} OpenPGP keys (${list}); exactly one is expected.`,
      hint: 'Export only the key you mean: `gpg --armor --export <fingerprint> > key.asc`.',
    };
  }
  try {
    return await inspect(keys[0]!, now, config);
  } catch (error) {
    return unreadable(`its signatures cannot be checked (${reason(error)})`);
  }
}

async function inspect(key: Key, now: Date, config: Config): Promise<PgpKeyRead> {
  let revoked = await key.isRevoked(undefined, undefined, now, config);
  // Expiry is read without a date so an expired key still reports when it expired; null means no valid self-signature.
  const expiry = await key.getExpirationTime(undefined, config);
  if (expiry === null && !revoked) {
    const why = await key.verifyPrimaryKey(now, undefined, config).then(
      () => '',
      (error: unknown) => reason(error),
    );
    if (/revoked/i.test(why)) {
      revoked = true;
    } else {
      return unreadable('none of its self-signatures verify, so it was damaged or altered after it was made');
    }
  }

  let encryptionKeyId: string | null = null;
  let encryptionAlgorithm: string | null = null;
  try {
    const encryptionKey = await key.getEncryptionKey(undefined, now, undefined, config);
    encryptionKeyId = encryptionKey.getKeyID().toHex().toUpperCase();
    encryptionAlgorithm = describeAlgorithm(encryptionKey.getAlgorithmInfo());
  } catch {
    // No valid encryption (sub)key at `now`: pgpKeyProblems explains why.
  }

  return {
    ok: true,
    key: {
      fingerprint: key.getFingerprint().toUpperCase(),
      keyId: key.getKeyID().toHex().toUpperCase(),
      version: key.keyPacket.version,
      isPrivate: key.isPrivate(),
      locked: key.isPrivate() && key.getKeys().some((k) => isLocked(k.keyPacket)),
      algorithm: describeAlgorithm(key.getAlgorithmInfo()),
      userIds: key.getUserIDs(),
      created: key.getCreationTime(),
      expires: expiry instanceof Date ? expiry : null,
      revoked,
      encryptionKeyId,
      encryptionAlgorithm,
    },
  };
}

/** Pass the same `now` that readPgpKeyInfo used: the encryption key was chosen at that time. */
export function pgpKeyProblems(info: PgpKeyInfo, expect: { role: 'public' | 'private'; now: Date }): PgpKeyProblem[] {
  const problems: PgpKeyProblem[] = [];
  const which = `OpenPGP key ${info.fingerprint}`;
  if (expect.role === 'public' && info.isPrivate) {
    problems.push({
      code: 'PGP_KEY_IS_PRIVATE',
      message: `${which} is a PRIVATE key, given where a public key belongs. Its secret part was not stored or printed.`,
      hint:
        'Give the public key instead (`gpg --armor --export <fingerprint>`) and delete this copy. ' +
        'If a partner sent you their private key, treat it as compromised and ask them for a new key pair.',
    });
  }
  if (expect.role === 'private' && !info.isPrivate) {
    problems.push({
      code: 'PGP_KEY_NOT_PRIVATE',
      message: `${which} is a public key, but a private key is needed here to decrypt.`,
      hint: 'Give the private key (`gpg --armor --export-secret-keys <fingerprint>`), or let sftpctl generate the key pair.',
    });
  }
  // A partner's v6 (RFC 9580) key is fine: messages to it are SEIPD v2, which its owner's tool reads. The platform's
  // own key stays v4, so that GnuPG 2.2 partners can encrypt to it.
  if (info.version !== 4 && !(expect.role === 'public' && info.version === 6)) {
    problems.push({
      code: 'PGP_KEY_V6',
      message: `${which} is a version ${info.version} OpenPGP key; GnuPG 2.2 and many partner tools cannot use it.`,
      hint: GENERATE_HINT,
    });
  } else if (
    info.version === 4 &&
    [info.algorithm, info.encryptionAlgorithm].some((a) => a !== null && RFC9580_ALGORITHMS.has(a))
  ) {
    problems.push({
      code: 'PGP_KEY_RFC9580_ALGORITHM',
      message: `${which} uses the new RFC 9580 ed25519/x25519 key format (openpgp.js type 'curve25519'), which GnuPG 2.2 rejects.`,
      hint: GENERATE_HINT,
    });
  }
  if (info.created.getTime() > expect.now.getTime()) {
    problems.push({
      code: 'PGP_KEY_NOT_YET_VALID',
      message: `${which} was created in the future (${info.created.toISOString()}), so it cannot be used yet.`,
      hint: 'Check this machine\'s clock and the key owner\'s; GnuPG refuses such keys too ("time warp or clock problem").',
    });
  }
  if (info.revoked) {
    problems.push({
      code: 'PGP_KEY_REVOKED',
      message: `${which} has been revoked by its owner.`,
      hint: 'Ask the key owner for their current key; a revoked key must not be used again.',
    });
  }
  if (info.expires !== null && info.expires.getTime() <= expect.now.getTime()) {
    problems.push({
      code: 'PGP_KEY_EXPIRED',
      message: `${which} expired on ${info.expires.toISOString().slice(0, 10)}.`,
      hint:
        'Ask the key owner to extend it (`gpg --quick-set-expire <fingerprint> 2y` and the same with `*` for subkeys) ' +
        'and send the re-exported key, or to send a new key.',
    });
  }
  const weak = [info.algorithm, info.encryptionAlgorithm].filter((a): a is string => a !== null && isWeak(a));
  if (weak.length > 0) {
    problems.push({
      code: 'PGP_KEY_WEAK',
      message: `${which} uses ${[...new Set(weak)].join(' and ')}, which is too weak and which openpgp.js refuses.`,
      hint: GENERATE_HINT,
    });
  }
  const unusable = new Set(['PGP_KEY_EXPIRED', 'PGP_KEY_NOT_YET_VALID']);
  if (info.encryptionKeyId === null && !info.revoked && !problems.some((p) => unusable.has(p.code))) {
    problems.push({
      code: 'PGP_KEY_NO_ENCRYPTION_SUBKEY',
      message: `${which} has no valid encryption subkey (it may be sign-only, or its subkey expired or was revoked).`,
      hint:
        'Add one with `gpg --quick-add-key <fingerprint> cv25519 encr 2y` (or `rsa3072 encr 2y`) ' +
        'and export the key again.',
    });
  }
  return problems;
}

const RFC9580_ALGORITHMS = new Set(['ed25519', 'x25519', 'ed448', 'x448']);

function isWeak(algorithm: string): boolean {
  const rsa = /^rsa(\d+)$/.exec(algorithm);
  if (rsa) return Number(rsa[1]) < MIN_RSA_BITS;
  return /^(?:dsa|elgamal)\d*$/.test(algorithm) || algorithm === 'secp256k1';
}

function describeAlgorithm(info: AlgorithmInfo): string {
  switch (info.algorithm) {
    case 'rsaEncryptSign':
    case 'rsaEncrypt':
    case 'rsaSign':
      return `rsa${info.bits}`;
    case 'dsa':
    case 'elgamal':
      return `${info.algorithm}${info.bits}`;
    case 'eddsaLegacy':
      return 'ed25519 (legacy)';
    case 'ecdh':
    case 'ecdsa':
      if (info.curve === 'curve25519Legacy') return 'curve25519 (legacy)';
      return (info.curve ?? info.algorithm).toLowerCase();
    default:
      return info.algorithm;
  }
}

function isLocked(packet: { isDecrypted(): boolean | null; isDummy?: () => boolean }): boolean {
  // Public packets answer null; GNU stubs (secret part deliberately removed) are not "locked".
  return packet.isDecrypted() === false && !packet.isDummy?.();
}

/**
 * Splits armored text into its key blocks, verifying each CRC-24 checksum: openpgp.js 6 no longer checks it, and
 * without it a single altered character can go unnoticed.
 */
function armorBlocks(text: string): string[] | Failure {
  if (/-----BEGIN (?:OPENSSH |RSA |EC |DSA |ENCRYPTED )?PRIVATE KEY-----|PuTTY-User-Key-File/.test(text)) {
    return unreadable('it is an SSH or PEM private key, not an OpenPGP key; its content was not stored or printed');
  }
  if (/^\s*(?:ssh-|ecdsa-|sk-)\S+\s+AAAA/.test(text)) return unreadable('it is an SSH public key, not an OpenPGP key');
  const blocks: string[] = [];
  for (const match of text.matchAll(/-----BEGIN PGP ([A-Z0-9 ,/]+)-----[\s\S]*?-----END PGP \1-----/g)) {
    const kind = match[1]!;
    if (kind !== 'PUBLIC KEY BLOCK' && kind !== 'PRIVATE KEY BLOCK') {
      return unreadable(`it is an armored PGP ${kind}, not a key`);
    }
    if (!checksumMatches(match[0])) {
      return unreadable('the armor checksum does not match, so the text was altered or damaged in transit');
    }
    blocks.push(match[0]);
  }
  if (blocks.length === 0) {
    const broken = /-----BEGIN PGP/.test(text);
    return unreadable(broken ? 'its armor has no matching END line' : 'it is neither armored nor binary OpenPGP data');
  }
  return blocks;
}

function checksumMatches(block: string): boolean {
  const lines = block.split(/\r?\n/).slice(1, -1);
  const blank = lines.findIndex((l) => l.trim() === '');
  const body = lines.slice(blank + 1).map((l) => l.trim());
  const sumLine = body.findIndex((l) => /^=[A-Za-z0-9+/]{4}$/.test(l));
  if (sumLine === -1) return true; // the checksum is optional (RFC 9580)
  const data = Buffer.from(body.slice(0, sumLine).join(''), 'base64');
  const expected = Buffer.from(body[sumLine]!.slice(1), 'base64');
  return crc24(data) === expected.readUIntBE(0, 3);
}

function crc24(data: Uint8Array): number {
  let crc = 0xb704ce;
  for (const byte of data) {
    crc ^= byte << 16;
    for (let i = 0; i < 8; i++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}

/** openpgp's error text, first line only, with anything long enough to be key material cut out. */
function reason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return (text.split('\n')[0] ?? '').replace(/[A-Za-z0-9+/=]{24,}/g, '…').slice(0, 160);
}

function unreadable(why: string): Failure {
  return {
    ok: false,
    code: 'PGP_KEY_UNREADABLE',
    message: `This is not a usable OpenPGP key: ${why}.`,
    hint: 'Export the key again, e.g. `gpg --armor --export <fingerprint> > key.asc`, and copy the whole file unchanged.',
  };
}
