/**
 * EAX (Bellare, Rogaway, Wagner 2004) decryption for OpenPGP's AEAD chunks, built from node:crypto's AES-CTR and
 * AES-CBC (node has no EAX): tag = OMAC⁰(nonce) ⊕ OMAC¹(associated data) ⊕ OMAC²(ciphertext), the plaintext is
 * AES-CTR from OMAC⁰(nonce). OMAC is CMAC (NIST SP 800-38B) with a 16-byte block holding t in front of the message;
 * its CBC-MAC runs as one bulk AES-CBC call per piece, the last block is finished with the subkey K1 or K2.
 */
import { Buffer } from 'node:buffer';
import { type Cipher, createCipheriv, createDecipheriv, type Decipher, timingSafeEqual } from 'node:crypto';

const BLOCK = 16;
const ZERO_BLOCK = Buffer.alloc(BLOCK);

/** AES with one key: the subkeys of CMAC and the streams EAX needs. */
export class EaxKey {
  private readonly k1: Buffer;
  private readonly k2: Buffer;
  readonly ecb: string;
  readonly cbc: string;
  readonly ctr: string;

  constructor(readonly key: Buffer) {
    const bits = key.length * 8;
    if (bits !== 128 && bits !== 192 && bits !== 256) throw new Error(`an AES key of ${key.length} bytes`);
    this.ecb = `aes-${bits}-ecb`;
    this.cbc = `aes-${bits}-cbc`;
    this.ctr = `aes-${bits}-ctr`;
    const l = this.encryptBlock(ZERO_BLOCK);
    this.k1 = double(l);
    this.k2 = double(this.k1);
  }

  encryptBlock(block: Buffer): Buffer {
    const cipher = createCipheriv(this.ecb, this.key, null);
    cipher.setAutoPadding(false);
    return cipher.update(block);
  }

  /** OMAC^t over the whole of `data`. */
  omac(t: number, data: Buffer): Buffer {
    const mac = new Omac(this, t);
    mac.update(data);
    return mac.digest();
  }

  /** The last block of CMAC: M_n ⊕ K1 when complete, (M_n ‖ 10…0) ⊕ K2 when not; then chained and encrypted. */
  finish(chain: Buffer, last: Buffer): Buffer {
    const block = Buffer.alloc(BLOCK);
    last.copy(block);
    const subkey = last.length === BLOCK ? this.k1 : this.k2;
    if (last.length < BLOCK) block[last.length] = 0x80;
    for (let i = 0; i < BLOCK; i++) block[i] = block[i]! ^ subkey[i]! ^ chain[i]!;
    return this.encryptBlock(block);
  }
}

/** Streaming OMAC^t: everything but the last (possibly partial) block goes through AES-CBC as it arrives. */
export class Omac {
  private readonly cbc: Cipher;
  private chain: Buffer = ZERO_BLOCK;
  /** The last 1..16 bytes seen, not yet chained (CMAC treats the final block differently). */
  private pending: Buffer;

  constructor(
    private readonly key: EaxKey,
    t: number,
  ) {
    this.cbc = createCipheriv(key.cbc, key.key, ZERO_BLOCK);
    this.cbc.setAutoPadding(false);
    this.pending = Buffer.alloc(BLOCK);
    this.pending[BLOCK - 1] = t;
  }

  update(data: Buffer): void {
    if (data.length === 0) return;
    let rest = data;
    if (this.pending.length < BLOCK) {
      const fill = Math.min(BLOCK - this.pending.length, rest.length);
      this.pending = Buffer.concat([this.pending, rest.subarray(0, fill)]);
      rest = rest.subarray(fill);
      if (rest.length === 0) return;
    }
    // `pending` is a full block and more follows: it is not the last one.
    this.chainBlocks(this.pending);
    // Keep back the last 1..16 bytes of `rest`.
    const keep = rest.length % BLOCK === 0 ? BLOCK : rest.length % BLOCK;
    if (rest.length > keep) this.chainBlocks(rest.subarray(0, rest.length - keep));
    this.pending = Buffer.from(rest.subarray(rest.length - keep));
  }

  digest(): Buffer {
    return this.key.finish(this.chain, this.pending);
  }

  private chainBlocks(blocks: Buffer): void {
    const out = this.cbc.update(blocks);
    this.chain = out.subarray(out.length - BLOCK);
  }
}

/**
 * One EAX decryption (one OpenPGP chunk). update() returns plaintext that is NOT yet authenticated: the caller holds
 * it until final(tag) has returned.
 */
export class EaxDecipher {
  private readonly header: Buffer;
  private readonly noncePrime: Buffer;
  private readonly ctr: Decipher;
  private readonly mac: Omac;

  constructor(key: EaxKey, nonce: Buffer, associatedData: Buffer, headerMac?: Buffer) {
    this.noncePrime = key.omac(0, nonce);
    this.header = headerMac ?? key.omac(1, associatedData);
    this.ctr = createDecipheriv(key.ctr, key.key, this.noncePrime);
    this.mac = new Omac(key, 2);
  }

  update(ciphertext: Buffer): Buffer {
    this.mac.update(ciphertext);
    return this.ctr.update(ciphertext);
  }

  /** Throws when the tag does not match; CTR holds nothing back, so there is no more plaintext. */
  final(tag: Buffer): Buffer {
    const expected = this.mac.digest();
    for (let i = 0; i < BLOCK; i++) expected[i] = expected[i]! ^ this.noncePrime[i]! ^ this.header[i]!;
    if (tag.length !== BLOCK || !timingSafeEqual(expected, tag)) throw new Error('EAX tag mismatch');
    return Buffer.alloc(0);
  }
}

/** Multiplication by x in GF(2^128) (CMAC's subkey derivation). */
function double(block: Buffer): Buffer {
  const out = Buffer.alloc(BLOCK);
  for (let i = 0; i < BLOCK; i++) out[i] = ((block[i]! << 1) | (i + 1 < BLOCK ? block[i + 1]! >> 7 : 0)) & 0xff;
  if (block[0]! & 0x80) out[BLOCK - 1] = out[BLOCK - 1]! ^ 0x87;
  return out;
}
