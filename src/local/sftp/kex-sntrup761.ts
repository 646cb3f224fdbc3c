import { createHash, randomBytes, randomInt } from 'node:crypto';
import type { Kem } from './kex-hybrid.js';

/**
 * Streamlined NTRU Prime sntrup761 (the KEM of OpenSSH's `sntrup761x25519-sha512@openssh.com`), written from the NTRU
 * Prime specification (round 3) and checked against OpenSSH's implementation: no JavaScript library offers it.
 *
 * The server side of SSH needs only encapsulation, which touches no secret but the random short polynomial `r`.
 * Key generation and decapsulation are here for the client side, which the tests and the bench use to drive the server
 * through ssh2's Client; they are straightforward (not constant-time) and not used by the server.
 *
 * Ring: R = Z[x]/(x^761 − x − 1); coefficients of "Rq" elements are kept centred in −2295…2295 (q = 4591), "small"
 * ones in {−1, 0, 1}.
 */

const P = 761;
const Q = 4591;
const Q12 = (Q - 1) / 2;
const W = 286;
const ROUNDED_BYTES = 1007;
const SMALL_BYTES = (P + 3) / 4;
const HASH_BYTES = 32;

export const SNTRUP761_PUBLIC_KEY_BYTES = 1158;
export const SNTRUP761_CIPHERTEXT_BYTES = ROUNDED_BYTES + HASH_BYTES;
export const SNTRUP761_SHARED_SECRET_BYTES = HASH_BYTES;

export interface Sntrup761KeyPair {
  publicKey: Buffer;
  /** f, 1/g in R3 and the rest decapsulation needs; held in memory only. */
  secretKey: { f: Int8Array; gInverse: Int8Array; publicKey: Buffer; rho: Buffer; publicKeyHash: Buffer };
}

/** SHA-512 of the prefix byte and the parts, first 32 bytes (the specification's Hash_b). */
function hashPrefix(prefix: number, ...parts: Uint8Array[]): Buffer {
  const hash = createHash('sha512').update(Uint8Array.of(prefix));
  for (const part of parts) hash.update(part);
  return hash.digest().subarray(0, HASH_BYTES);
}

/** a mod m in 0…m−1 for any integer a. */
function mod(a: number, m: number): number {
  const r = a % m;
  return r < 0 ? r + m : r;
}

function freezeQ(a: number): number {
  return mod(a + Q12, Q) - Q12;
}

function freeze3(a: number): number {
  return mod(a + 1, 3) - 1;
}

// ---- Encode/Decode: the specification's mixed-radix packing of values R[i] < M[i] into bytes ----

function encodeInto(values: readonly number[], moduli: readonly number[], out: number[]): void {
  if (moduli.length === 0) return;
  if (moduli.length === 1) {
    let r = values[0]!;
    let m = moduli[0]!;
    while (m > 1) {
      out.push(r & 0xff);
      r >>>= 8;
      m = (m + 255) >>> 8;
    }
    return;
  }
  const values2: number[] = [];
  const moduli2: number[] = [];
  for (let i = 0; i + 1 < moduli.length; i += 2) {
    let m = moduli[i]! * moduli[i + 1]!;
    let r = values[i]! + moduli[i]! * values[i + 1]!;
    while (m >= 16384) {
      out.push(r & 0xff);
      r >>>= 8;
      m = (m + 255) >>> 8;
    }
    values2.push(r);
    moduli2.push(m);
  }
  if (moduli.length % 2 === 1) {
    values2.push(values[moduli.length - 1]!);
    moduli2.push(moduli[moduli.length - 1]!);
  }
  encodeInto(values2, moduli2, out);
}

export function encode(values: readonly number[], moduli: readonly number[]): Buffer {
  const out: number[] = [];
  encodeInto(values, moduli, out);
  return Buffer.from(out);
}

/** The inverse of `encode`; every value comes back reduced below its modulus, whatever the bytes. */
export function decode(bytes: Uint8Array, moduli: readonly number[], start = 0): number[] {
  if (moduli.length === 0) return [];
  let k = start;
  const byte = () => {
    if (k >= bytes.length) throw new Error('sntrup761: encoding too short');
    return bytes[k++]!;
  };
  if (moduli.length === 1) {
    let r = 0;
    let t = 1;
    let m = moduli[0]!;
    while (m > 1) {
      r += byte() * t;
      t *= 256;
      m = (m + 255) >>> 8;
    }
    return [r % moduli[0]!];
  }
  const bottom: Array<[number, number]> = [];
  const moduli2: number[] = [];
  for (let i = 0; i + 1 < moduli.length; i += 2) {
    let m = moduli[i]! * moduli[i + 1]!;
    let r = 0;
    let t = 1;
    while (m >= 16384) {
      r += byte() * t;
      t *= 256;
      m = (m + 255) >>> 8;
    }
    bottom.push([r, t]);
    moduli2.push(m);
  }
  if (moduli.length % 2 === 1) moduli2.push(moduli[moduli.length - 1]!);
  const top = decode(bytes, moduli2, k);
  const values: number[] = [];
  for (let i = 0; i + 1 < moduli.length; i += 2) {
    const [r0, t] = bottom[i / 2]!;
    const r = r0 + t * top[i / 2]!;
    values.push(r % moduli[i]!, Math.floor(r / moduli[i]!) % moduli[i + 1]!);
  }
  if (moduli.length % 2 === 1) values.push(top[top.length - 1]!);
  return values;
}

const RQ_MODULI: readonly number[] = new Array(P).fill(Q);
const ROUNDED_MODULI: readonly number[] = new Array(P).fill((Q + 2) / 3);

function rqEncode(h: Int16Array): Buffer {
  return encode(
    Array.from(h, (c) => c + Q12),
    RQ_MODULI,
  );
}

function rqDecode(bytes: Uint8Array): Int16Array {
  return Int16Array.from(decode(bytes, RQ_MODULI), (v) => v - Q12);
}

function roundedEncode(c: Int16Array): Buffer {
  return encode(
    Array.from(c, (v) => (v + Q12) / 3),
    ROUNDED_MODULI,
  );
}

function roundedDecode(bytes: Uint8Array): Int16Array {
  return Int16Array.from(decode(bytes.subarray(0, ROUNDED_BYTES), ROUNDED_MODULI), (v) => v * 3 - Q12);
}

/** Four coefficients (+1, so 0…2) a byte, low bits first; the last byte holds the 761st alone. */
function smallEncode(f: Int8Array): Buffer {
  const out = Buffer.alloc(SMALL_BYTES);
  for (let i = 0; i < P; i++) out[i >> 2]! |= (f[i]! + 1) << (2 * (i & 3));
  return out;
}

// ---- arithmetic in R/q and R/3 ----

/**
 * a·b in Z[x]/(x^761 − x − 1), coefficients reduced by `freeze`; `b` is small (ternary). No branch depends on the
 * coefficients (b is the secret r in encapsulation), though JavaScript promises nothing about constant time.
 */
function multiply(a: ArrayLike<number>, b: Int8Array, freeze: (v: number) => number): Int32Array {
  const left = Int32Array.from(a); // one element type in the hot loop, whatever the caller passed
  const product = new Int32Array(2 * P - 1);
  for (let j = 0; j < P; j++) {
    const bj = b[j]!;
    for (let i = 0; i < P; i++) product[i + j] = product[i + j]! + bj * left[i]!;
  }
  // x^i = x^(i−p)·(x + 1) for i ≥ p, highest first so that folded terms are folded again.
  for (let i = 2 * P - 2; i >= P; i--) {
    product[i - P]! += product[i]!;
    product[i - P + 1]! += product[i]!;
  }
  const out = new Int32Array(P);
  for (let i = 0; i < P; i++) out[i] = freeze(product[i]!);
  return out;
}

/** A uniformly random polynomial with exactly 286 coefficients ±1 and the rest 0. */
function shortRandom(): Int8Array {
  const positions = Array.from({ length: P }, (_, i) => i);
  const out = new Int8Array(P);
  const signs = randomBytes(W);
  for (let n = 0; n < W; n++) {
    const pick = n + randomInt(P - n);
    [positions[n], positions[pick]] = [positions[pick]!, positions[n]!];
    out[positions[n]!] = signs[n]! & 1 ? 1 : -1;
  }
  return out;
}

function round(a: Int32Array): Int16Array {
  return Int16Array.from(a, (v) => v - freeze3(v));
}

function encrypt(r: Int8Array, h: Int16Array): Int16Array {
  return round(multiply(h, r, freezeQ));
}

/** The ciphertext for `r`: Rounded(h·r), then the confirmation hash of r and the public key. */
function hide(r: Int8Array, h: Int16Array, publicKeyHash: Buffer): { cipherText: Buffer; rEncoded: Buffer } {
  const rEncoded = smallEncode(r);
  const confirm = hashPrefix(2, hashPrefix(3, rEncoded), publicKeyHash);
  return { cipherText: Buffer.concat([roundedEncode(encrypt(r, h)), confirm]), rEncoded };
}

export function sntrup761Encapsulate(publicKey: Uint8Array): { cipherText: Buffer; sharedSecret: Buffer } {
  if (publicKey.length !== SNTRUP761_PUBLIC_KEY_BYTES) {
    throw new Error(`sntrup761: public key is ${publicKey.length} bytes, expected ${SNTRUP761_PUBLIC_KEY_BYTES}`);
  }
  const h = rqDecode(publicKey);
  const { cipherText, rEncoded } = hide(shortRandom(), h, hashPrefix(4, publicKey));
  return { cipherText, sharedSecret: hashPrefix(1, hashPrefix(3, rEncoded), cipherText) };
}

// ---- client side: key generation and decapsulation ----

function modInverse(a: number, m: number): number {
  let result = 1;
  let base = mod(a, m);
  for (let e = m - 2; e > 0; e >>= 1) {
    if (e & 1) result = (result * base) % m;
    base = (base * base) % m;
  }
  return result;
}

/**
 * 1/a in Z_m[x]/(x^761 − x − 1) by the extended Euclidean algorithm, or undefined when a is not invertible.
 * Invariant: s·a ≡ r (mod the ring's polynomial) for both (r, s) pairs.
 */
function invert(a: ArrayLike<number>, m: number): Int32Array | undefined {
  let r0 = new Int32Array(P + 1);
  r0[0] = m - 1;
  r0[1] = m - 1;
  r0[P] = 1; // x^p − x − 1
  let r1 = new Int32Array(P + 1);
  for (let i = 0; i < P; i++) r1[i] = mod(a[i]!, m);
  let s0 = new Int32Array(P + 1);
  let s1 = new Int32Array(P + 1);
  s1[0] = 1;
  const degree = (f: Int32Array) => {
    let d = f.length - 1;
    while (d >= 0 && f[d] === 0) d--;
    return d;
  };
  let d0 = P;
  let d1 = degree(r1);
  while (d1 > 0) {
    if (d0 < d1) {
      [r0, r1, s0, s1, d0, d1] = [r1, r0, s1, s0, d1, d0];
      continue;
    }
    // r0 −= c·x^shift·r1 (and the same on s) cancels r0's leading term.
    const shift = d0 - d1;
    const c = (r0[d0]! * modInverse(r1[d1]!, m)) % m;
    for (let i = 0; i <= d1; i++) r0[i + shift] = mod(r0[i + shift]! - c * r1[i]!, m);
    for (let i = 0; i + shift <= P; i++) if (s1[i] !== 0) s0[i + shift] = mod(s0[i + shift]! - c * s1[i]!, m);
    d0 = degree(r0);
    if (d0 < 0) return undefined;
  }
  if (d1 < 0) return undefined;
  const scale = modInverse(r1[0]!, m);
  // s1 has degree < p here (it is the Bézout cofactor of a, whose degree is below the modulus').
  return Int32Array.from(s1.subarray(0, P), (v) => (v * scale) % m);
}

export function sntrup761Keygen(): Sntrup761KeyPair {
  let g: Int8Array;
  let gInverse: Int32Array | undefined;
  do {
    const bytes = randomBytes(P);
    g = Int8Array.from(bytes, (b) => (b % 3) - 1); // 256 = 3·85 + 1: a negligible bias, test client only
    gInverse = invert(g, 3);
  } while (gInverse === undefined);
  const f = shortRandom();
  const threeF = Int32Array.from(f, (v) => 3 * v);
  const inverse3f = invert(threeF, Q);
  if (inverse3f === undefined) throw new Error('sntrup761: 3f is not invertible mod q'); // cannot happen: q is prime
  const h = Int16Array.from(
    multiply(
      Int32Array.from(inverse3f, (v) => freezeQ(v)),
      g,
      freezeQ,
    ),
  );
  const publicKey = rqEncode(h);
  return {
    publicKey,
    secretKey: {
      f,
      gInverse: Int8Array.from(gInverse, (v) => freeze3(v)),
      publicKey,
      rho: randomBytes(SMALL_BYTES),
      publicKeyHash: hashPrefix(4, publicKey),
    },
  };
}

export function sntrup761Decapsulate(cipherText: Uint8Array, secretKey: Sntrup761KeyPair['secretKey']): Buffer {
  if (cipherText.length !== SNTRUP761_CIPHERTEXT_BYTES) {
    throw new Error(`sntrup761: ciphertext is ${cipherText.length} bytes, expected ${SNTRUP761_CIPHERTEXT_BYTES}`);
  }
  const c = roundedDecode(cipherText);
  const e = multiply(c, secretKey.f, (v) => freeze3(freezeQ(3 * freezeQ(v))));
  const v = multiply(e, secretKey.gInverse, freeze3);
  let weight = 0;
  for (let i = 0; i < P; i++) weight += v[i]! !== 0 ? 1 : 0;
  const r = weight === W ? Int8Array.from(v) : Int8Array.from({ length: P }, (_, i) => (i < W ? 1 : 0));
  const h = rqDecode(secretKey.publicKey);
  const again = hide(r, h, secretKey.publicKeyHash);
  const matches = Buffer.from(cipherText).equals(again.cipherText);
  // Implicit rejection: a ciphertext that does not re-encrypt to itself yields a key derived from rho instead.
  return hashPrefix(matches ? 1 : 0, hashPrefix(3, matches ? again.rEncoded : secretKey.rho), cipherText);
}

/** sntrup761 in the shape the hybrid construction (./kex-hybrid.ts) takes. */
export const SNTRUP761: Kem = {
  publicKeyBytes: SNTRUP761_PUBLIC_KEY_BYTES,
  cipherTextBytes: SNTRUP761_CIPHERTEXT_BYTES,
  keygen() {
    const { publicKey, secretKey } = sntrup761Keygen();
    return { publicKey, decapsulate: (cipherText) => sntrup761Decapsulate(cipherText, secretKey) };
  },
  encapsulate: sntrup761Encapsulate,
};
