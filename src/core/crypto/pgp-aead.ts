/**
 * Native streaming AEAD decryption: RFC 9580 SEIPD v2 (tag 18, version 2) and the LibrePGP / RFC 4880bis "OCB
 * Encrypted Data" packet (tag 20, version 1) that GnuPG 2.4 and RNP write; OCB and GCM on node:crypto, EAX on
 * pgp-eax.ts.
 *
 * The body is a sequence of chunks (2^(c+6) plaintext bytes + a 16-byte tag; the last one may be shorter) and a final
 * 16-byte tag over the empty string that authenticates the total length (so dropping whole chunks at the end is
 * detected). Each chunk is streamed through its decipher as the ciphertext arrives, and its plaintext is released
 * only after that chunk's tag has been verified; the generator returns only after the final tag has been verified.
 * Memory: one chunk (≤ 4 MiB, the RFC 9580 maximum) of plaintext plus the read pieces.
 */
import { Buffer } from 'node:buffer';
import { type CipherOCB, createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { EaxDecipher, EaxKey } from './pgp-eax.js';
import { integrityError, truncatedError, unsupportedError } from './pgp-errors.js';
import { type ByteReader, TAG, WORK_CHUNK } from './pgp-packets.js';

const TAG_LENGTH = 16;
/** RFC 9580 5.13.2: the chunk size octet MUST be at most 16 (4 MiB chunks); GnuPG's maximum is the same. */
const MAX_CHUNK_SIZE_OCTET = 16;

export const AEAD_MODES = {
  1: { name: 'eax', nonceLength: 16 },
  2: { name: 'ocb', nonceLength: 15 },
  3: { name: 'gcm', nonceLength: 12 },
} as const;
export type AeadId = keyof typeof AEAD_MODES;
export type AeadName = (typeof AEAD_MODES)[AeadId]['name'];

/** AES-128/192/256: the ciphers the native path runs in AEAD mode (key length by algorithm id). */
const AES_KEY_LENGTH: Record<number, number> = { 7: 16, 8: 24, 9: 32 };

/** The header fields of an AEAD-protected packet, read after its version byte. */
export interface AeadHeader {
  /** 18 (SEIPD v2) or 20 (LibrePGP OCB Encrypted Data). */
  packetTag: 18 | 20;
  version: number;
  cipherId: number;
  aeadId: number;
  chunkSizeOctet: number;
  /** SEIPD v2: the 32-byte salt; tag 20: the starting IV (the nonce length of the mode). */
  saltOrIv: Buffer;
}

/** Reads the rest of the header (after the version byte); the cipher byte is read by the caller. */
export async function readAeadHeader(
  body: ByteReader,
  packetTag: 18 | 20,
  version: number,
  cipherId: number,
): Promise<AeadHeader> {
  const fields = await body.exact(2, 'in the header of the encrypted data');
  const aeadId = fields[0]!;
  const chunkSizeOctet = fields[1]!;
  const mode = AEAD_MODES[aeadId as AeadId];
  if (mode === undefined) throw unsupportedError(`AEAD algorithm ${aeadId}`);
  const length = packetTag === TAG.seipd ? 32 : mode.nonceLength;
  const saltOrIv = Buffer.from(await body.exact(length, 'in the header of the encrypted data'));
  return { packetTag, version, cipherId, aeadId, chunkSizeOctet, saltOrIv };
}

/** Whether the native path runs this combination; the rest goes to openpgp.js. */
export function nativeAead(header: Pick<AeadHeader, 'cipherId' | 'aeadId'>): boolean {
  return AES_KEY_LENGTH[header.cipherId] !== undefined && AEAD_MODES[header.aeadId as AeadId] !== undefined;
}

export function aeadName(aeadId: number): string {
  return AEAD_MODES[aeadId as AeadId]?.name ?? `AEAD algorithm ${aeadId}`;
}

interface ChunkDecipher {
  update(ciphertext: Buffer): Buffer;
  /** The plaintext still buffered (OpenSSL's OCB keeps a partial block); throws when the tag does not match. */
  final(tag: Buffer): Buffer;
}

/** Key, nonces and associated data of one message. */
class AeadSchedule {
  readonly key: Buffer;
  private readonly iv: Buffer;
  private readonly prefix: Buffer;
  private readonly mode: (typeof AEAD_MODES)[AeadId];
  private readonly eax: EaxKey | undefined;
  /** SEIPD v2's per-chunk associated data is the same for every chunk: its OMAC¹ once. */
  private eaxHeader: Buffer | undefined;
  readonly algorithm: string;

  constructor(
    private readonly header: AeadHeader,
    sessionKey: Uint8Array,
  ) {
    const keyLength = AES_KEY_LENGTH[header.cipherId]!;
    this.mode = AEAD_MODES[header.aeadId as AeadId];
    if (sessionKey.length !== keyLength) {
      throw integrityError(`the session key has ${sessionKey.length} bytes where the cipher needs ${keyLength}`);
    }
    this.prefix = Buffer.of(
      0xc0 | header.packetTag,
      header.version,
      header.cipherId,
      header.aeadId,
      header.chunkSizeOctet,
    );
    if (header.packetTag === TAG.seipd) {
      // RFC 9580 5.13.2: HKDF-SHA256(session key, salt, the five header octets) → message key ‖ IV (N − 8 bytes).
      const derived = Buffer.from(
        hkdfSync('sha256', sessionKey, header.saltOrIv, this.prefix, keyLength + this.mode.nonceLength - 8),
      );
      this.key = derived.subarray(0, keyLength);
      this.iv = Buffer.concat([derived.subarray(keyLength), Buffer.alloc(8)]);
    } else {
      this.key = Buffer.from(sessionKey);
      this.iv = header.saltOrIv;
    }
    this.algorithm = `aes-${keyLength * 8}-${this.mode.name}`;
    this.eax = this.mode.name === 'eax' ? new EaxKey(this.key) : undefined;
  }

  /** Nonce of chunk `index`: the IV with the big-endian index XORed into its last 8 bytes. */
  nonce(index: number): Buffer {
    const nonce = Buffer.from(this.iv);
    const at = nonce.length - 8;
    const high = Math.floor(index / 2 ** 32);
    nonce.writeUInt32BE((nonce.readUInt32BE(at) ^ high) >>> 0, at);
    nonce.writeUInt32BE((nonce.readUInt32BE(at + 4) ^ index) >>> 0, at + 4);
    return nonce;
  }

  /** Associated data: the header octets, the chunk index for tag 20, the total length for the final tag. */
  associatedData(index: number, total: number | undefined): Buffer {
    const parts = [this.prefix];
    if (this.header.packetTag === TAG.aead) parts.push(uint64(index));
    if (total !== undefined) parts.push(uint64(total));
    return parts.length === 1 ? this.prefix : Buffer.concat(parts);
  }

  chunk(index: number, total?: number): ChunkDecipher {
    const nonce = this.nonce(index);
    const ad = this.associatedData(index, total);
    if (this.eax) {
      if (this.header.packetTag === TAG.seipd && total === undefined) {
        this.eaxHeader ??= this.eax.omac(1, ad);
        return new EaxDecipher(this.eax, nonce, ad, this.eaxHeader);
      }
      return new EaxDecipher(this.eax, nonce, ad);
    }
    const decipher = createDecipheriv(this.algorithm as 'aes-256-gcm', this.key, nonce, {
      authTagLength: TAG_LENGTH,
    });
    decipher.setAAD(ad);
    return {
      update: (ciphertext) => decipher.update(ciphertext),
      final: (tag) => {
        decipher.setAuthTag(tag);
        return decipher.final();
      },
    };
  }
}

function uint64(n: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeUInt32BE(Math.floor(n / 2 ** 32), 0);
  out.writeUInt32BE(n >>> 0, 4);
  return out;
}

/**
 * The decrypted content of the packet body (after its header fields), chunk by chunk, each released only once its
 * tag has been verified. Returns normally only after the final tag matched; `integrity` records the verdict either
 * way. A tag mismatch is PGP_INTEGRITY_FAILED; a body too short to hold its tags is PGP_TRUNCATED.
 */
export async function* aeadChunks(
  body: ByteReader,
  header: AeadHeader,
  sessionKey: Uint8Array,
  integrity: { verified: boolean; failure: unknown },
): AsyncGenerator<Buffer> {
  try {
    if (header.chunkSizeOctet > MAX_CHUNK_SIZE_OCTET) {
      throw unsupportedError(
        `AEAD chunks of 2^${header.chunkSizeOctet + 6} bytes (at most 4 MiB are allowed by RFC 9580)`,
      );
    }
    const chunkSize = 2 ** (header.chunkSizeOctet + 6);
    const schedule = new AeadSchedule(header, sessionKey);
    // The last 32 bytes read (the last chunk's tag and the final tag, if the body ends there) are held back until
    // more arrives: only at the end of the body is it known which bytes are tags.
    const LAG = 2 * TAG_LENGTH;
    let lag: Buffer = Buffer.alloc(0);
    let index = 0;
    let total = 0;
    let decipher: ChunkDecipher | undefined;
    let fed = 0; // ciphertext bytes of the current chunk fed so far
    let tag: Buffer[] = [];
    let tagBytes = 0;
    let plain: Buffer[] = [];

    /** Verifies a chunk's tag; returns what its decipher still held. */
    const verify = (d: ChunkDecipher, t: Buffer, what: string): Buffer => {
      try {
        return d.final(t);
      } catch (error) {
        throw integrityError(`the authentication tag of ${what} does not match`, error);
      }
    };
    /** Feeds bytes known not to be the body's last 32; returns verified plaintext chunks, if any completed. */
    const feed = (bytes: Buffer, out: Buffer[]): void => {
      let rest = bytes;
      while (rest.length > 0) {
        decipher ??= schedule.chunk(index);
        if (fed < chunkSize) {
          const take = Math.min(chunkSize - fed, rest.length);
          const piece = decipher.update(rest.subarray(0, take));
          if (piece.length > 0) plain.push(piece);
          fed += take;
          rest = rest.subarray(take);
          continue;
        }
        const take = Math.min(TAG_LENGTH - tagBytes, rest.length);
        tag.push(Buffer.from(rest.subarray(0, take)));
        tagBytes += take;
        rest = rest.subarray(take);
        if (tagBytes === TAG_LENGTH) {
          const last = verify(decipher, Buffer.concat(tag, TAG_LENGTH), `chunk ${index}`);
          out.push(...plain);
          if (last.length > 0) out.push(last);
          total += fed;
          index++;
          decipher = undefined;
          fed = 0;
          tag = [];
          tagBytes = 0;
          plain = [];
        }
      }
    };

    for (;;) {
      const piece = await body.some(WORK_CHUNK);
      if (piece === undefined) break;
      const out: Buffer[] = [];
      if (piece.length >= LAG) {
        if (lag.length > 0) feed(lag, out);
        feed(piece.subarray(0, piece.length - LAG), out);
        lag = Buffer.from(piece.subarray(piece.length - LAG));
      } else {
        const joined = Buffer.concat([lag, piece]);
        if (joined.length > LAG) feed(joined.subarray(0, joined.length - LAG), out);
        lag = joined.subarray(Math.max(0, joined.length - LAG));
      }
      for (const chunk of out) yield chunk;
    }

    // The end: `lag` holds the last chunk's tag and the final tag, or (a body of 16 bytes) the final tag alone.
    const out: Buffer[] = [];
    const finalTagOnly = lag.length === TAG_LENGTH && index === 0 && fed === 0;
    if (tagBytes > 0 || (lag.length !== LAG && !finalTagOnly)) {
      throw truncatedError('inside the encrypted data (an authentication tag is missing)');
    }
    if (!finalTagOnly) {
      decipher ??= schedule.chunk(index);
      const last = verify(decipher, lag.subarray(0, TAG_LENGTH), `chunk ${index}`);
      out.push(...plain);
      if (last.length > 0) out.push(last);
      total += fed;
      index++;
    }
    verify(schedule.chunk(index, total), lag.subarray(lag.length - TAG_LENGTH), 'the end of the message (final tag)');
    integrity.verified = true;
    for (const chunk of out) yield chunk;
  } catch (error) {
    integrity.failure = error;
    throw error;
  }
}

/** RFC 9580's recommendation and GnuPG's default: 4 MiB chunks (an encryptor holds none of it). */
const WRITE_CHUNK_SIZE_OCTET = 16;

/**
 * SEIPD v2 encryption (RFC 9580 5.13) with OCB, the mode every RFC 9580 implementation must read: the packet body
 * (version, cipher, mode, chunk size, salt, then each chunk's ciphertext and tag, then the final tag), streamed.
 */
export class Seipdv2Encryptor {
  private readonly schedule: AeadSchedule;
  private readonly chunkSize = 2 ** (WRITE_CHUNK_SIZE_OCTET + 6);
  private cipher: CipherOCB | undefined;
  private index = 0;
  private inChunk = 0;
  private total = 0;
  readonly header: Buffer;

  constructor(cipherId: number, sessionKey: Uint8Array) {
    if (AES_KEY_LENGTH[cipherId] === undefined) throw new Error(`SEIPD v2 with cipher ${cipherId}`);
    const salt = randomBytes(32);
    const aeadId = 2;
    this.schedule = new AeadSchedule(
      { packetTag: TAG.seipd, version: 2, cipherId, aeadId, chunkSizeOctet: WRITE_CHUNK_SIZE_OCTET, saltOrIv: salt },
      sessionKey,
    );
    this.header = Buffer.concat([Buffer.of(2, cipherId, aeadId, WRITE_CHUNK_SIZE_OCTET), salt]);
  }

  /** Encrypts `bytes`; ciphertext (and the tags of chunks completed) go to `out`. */
  push(bytes: Buffer, out: Buffer[]): void {
    let rest = bytes;
    while (rest.length > 0) {
      this.cipher ??= this.open(this.index);
      const cipher = this.cipher;
      const take = Math.min(rest.length, this.chunkSize - this.inChunk);
      const encrypted = cipher.update(rest.subarray(0, take));
      if (encrypted.length > 0) out.push(encrypted);
      this.inChunk += take;
      this.total += take;
      rest = rest.subarray(take);
      if (this.inChunk === this.chunkSize) this.closeChunk(out);
    }
  }

  /** The last chunk (if any bytes are in it) and the final tag over the total length. */
  finish(out: Buffer[]): void {
    if (this.inChunk > 0 || this.index === 0) {
      this.cipher ??= this.open(this.index);
      this.closeChunk(out);
    }
    const final = this.open(this.index, this.total);
    const rest = final.final();
    if (rest.length > 0) out.push(rest);
    out.push(final.getAuthTag());
  }

  private open(index: number, total?: number): CipherOCB {
    const cipher = createCipheriv(
      this.schedule.algorithm as 'aes-256-ocb',
      this.schedule.key,
      this.schedule.nonce(index),
      {
        authTagLength: TAG_LENGTH,
      },
    );
    cipher.setAAD(this.schedule.associatedData(index, total));
    return cipher;
  }

  private closeChunk(out: Buffer[]): void {
    const cipher = this.cipher!;
    const rest = cipher.final();
    if (rest.length > 0) out.push(rest);
    out.push(cipher.getAuthTag());
    this.cipher = undefined;
    this.inChunk = 0;
    this.index++;
  }
}
