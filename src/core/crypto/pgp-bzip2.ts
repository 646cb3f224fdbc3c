/**
 * A streaming BZip2 decoder for OpenPGP compressed data packets (algorithm 3), so that BZip2 runs on the native path
 * like ZIP/ZLIB instead of openpgp.js — whose decoder never settles on some damaged input and holds whole blocks of
 * output in memory.
 *
 * Memory is bounded by the format: one block (≤ 900 kB, a Uint32Array of 3.6 MB) plus the compressed bytes of at most
 * one block; plaintext leaves in 1 MiB chunks however far a block expands (the initial run-length step can grow a
 * block ~50×). Every loop is bounded by the block size or the input, every table index is checked, each block's
 * CRC and the stream's combined CRC are verified: damaged data is an error (PGP_MALFORMED), never a hang.
 *
 * Format: Julian Seward's bzip2 (the reference decoder is decompress.c of bzip2 1.0.8; this is a fresh implementation
 * of the same format). Randomised blocks (written by bzip2 0.9.0 only) are refused as unsupported.
 */
import { Buffer } from 'node:buffer';
import { malformedError, unsupportedError } from './pgp-errors.js';

const OUT_CHUNK = 1 << 20;
const GROUP_SIZE = 50;
const MAX_GROUPS = 6;
const MAX_CODE_LENGTH = 20;
const MAX_SELECTORS = 18_002;
const RUNA = 0;
const RUNB = 1;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    table[i] = c >>> 0;
  }
  return table;
})();

function corrupt(what: string): Error {
  return malformedError(`the BZip2 data is corrupt (${what})`);
}

class OutOfInput extends Error {}

/** Big-endian bit reader over the compressed bytes buffered so far. */
class Bits {
  /** The unread bytes plus 4 zero bytes of padding (so a 32-bit window can always be read). */
  private buffer: Buffer = Buffer.alloc(4);
  /** Bit position in `buffer`, and the number of real (unpadded) bits. */
  private position = 0;
  private end = 0;

  get available(): number {
    return (this.end - this.position) >>> 3;
  }

  /** Adds bytes (one copy of what is still unread, however many pieces). */
  append(pieces: Uint8Array[]): void {
    const start = this.position >>> 3;
    const kept = this.buffer.subarray(start, this.end >>> 3);
    const added = pieces.reduce((sum, piece) => sum + piece.length, 0);
    const next = Buffer.alloc(kept.length + added + 4);
    kept.copy(next, 0);
    let at = kept.length;
    for (const piece of pieces) {
      next.set(piece, at);
      at += piece.length;
    }
    this.buffer = next;
    this.position -= start * 8;
    this.end = (kept.length + added) * 8;
  }

  /** The next 24 bits without consuming them (zeros past the end). */
  peek24(): number {
    const byte = this.position >>> 3;
    const b = this.buffer;
    const word = ((b[byte]! << 24) | (b[byte + 1]! << 16) | (b[byte + 2]! << 8) | b[byte + 3]!) >>> 0;
    return ((word << (this.position & 7)) >>> 8) & 0xffffff;
  }

  skip(n: number): void {
    this.position += n;
    if (this.position > this.end) throw new OutOfInput();
  }

  /** The next n bits (n ≤ 24; see bits32). */
  bits(n: number): number {
    const value = this.peek24() >>> (24 - n);
    this.skip(n);
    return value;
  }

  bit(): number {
    return this.bits(1);
  }

  bits32(): number {
    return ((this.bits(16) << 16) | this.bits(16)) >>> 0;
  }
}

interface Block {
  tt: Uint32Array;
  length: number;
  origin: number;
  crc: number;
}

/** Decompresses a BZip2 stream; errors on any damage. Trailing bytes after the end-of-stream marker are ignored. */
export async function* bunzip2(source: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  const input = source[Symbol.asyncIterator]();
  const bits = new Bits();
  let ended = false;
  const fill = async (wanted: number) => {
    const pieces: Uint8Array[] = [];
    let have = bits.available;
    while (!ended && have < wanted) {
      const next = await input.next();
      if (next.done) ended = true;
      else {
        pieces.push(next.value);
        have += next.value.length;
      }
    }
    if (pieces.length > 0) bits.append(pieces);
  };
  /** Runs a synchronous parse; running out of bytes means the stream was cut short (fill() buffered enough). */
  const parse = <T>(step: () => T): T => {
    try {
      return step();
    } catch (error) {
      if (error instanceof OutOfInput) throw corrupt('it ends in the middle of a block');
      throw error;
    }
  };

  await fill(4);
  const level = parse(() => {
    if (bits.bits(8) !== 0x42 || bits.bits(8) !== 0x5a || bits.bits(8) !== 0x68) throw corrupt('no BZh header');
    return bits.bits(8) - 0x30;
  });
  if (level < 1 || level > 9) throw corrupt(`block size ${level}`);
  const maxBlock = level * 100_000;
  // A block's compressed size is at most ~20 bits per symbol plus its tables: buffer that much before parsing one.
  const maxCompressed = Math.ceil((maxBlock + 1) * 2.5) + 64 * 1024;
  const tt = new Uint32Array(maxBlock);
  let combined = 0;
  for (;;) {
    await fill(maxCompressed);
    const block = parse(() => readBlock(bits, tt, maxBlock));
    if (block === undefined) {
      const stored = parse(() => bits.bits32());
      if (stored !== combined >>> 0) throw corrupt('the stream checksum does not match');
      // Drain the rest of the packet (bytes after the stream are ignored, like zlib's).
      for (;;) {
        const next = await input.next();
        if (next.done) return;
      }
    }
    let crc = 0xffffffff;
    for (const chunk of unBwt(block)) {
      for (let i = 0; i < chunk.length; i++) crc = (crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ chunk[i]!) & 0xff]!;
      yield chunk;
    }
    crc = ~crc >>> 0;
    if (crc !== block.crc) throw corrupt('a block checksum does not match');
    combined = (((combined << 1) | (combined >>> 31)) ^ crc) >>> 0;
  }
}

/** Reads one block into `tt` (its symbols before the inverse BWT); undefined at the end-of-stream marker. */
function readBlock(bits: Bits, tt: Uint32Array, maxBlock: number): Block | undefined {
  const magicHigh = bits.bits(24);
  const magicLow = bits.bits(24);
  if (magicHigh === 0x177245 && magicLow === 0x385090) return undefined;
  if (magicHigh !== 0x314159 || magicLow !== 0x265359) throw corrupt('no block header');
  const crc = bits.bits32();
  if (bits.bit()) throw unsupportedError('a randomised BZip2 block (written by bzip2 0.9.0 only)');
  const origin = bits.bits(24);

  // Symbols in use.
  const used: number[] = [];
  const ranges = bits.bits(16);
  for (let i = 0; i < 16; i++) {
    if (!(ranges & (0x8000 >> i))) continue;
    const inRange = bits.bits(16);
    for (let j = 0; j < 16; j++) if (inRange & (0x8000 >> j)) used.push(i * 16 + j);
  }
  if (used.length === 0) throw corrupt('a block uses no symbols');
  const alphabet = used.length + 2;
  const endOfBlock = used.length + 1;

  // Huffman groups and the selector of each 50-symbol group.
  const groups = bits.bits(3);
  if (groups < 2 || groups > MAX_GROUPS) throw corrupt(`${groups} Huffman tables`);
  const selectorCount = bits.bits(15);
  if (selectorCount < 1) throw corrupt('no selectors');
  const order = Array.from({ length: groups }, (_, i) => i);
  const selectors = new Uint8Array(Math.min(selectorCount, MAX_SELECTORS));
  for (let i = 0; i < selectorCount; i++) {
    let j = 0;
    while (bits.bit()) if (++j >= groups) throw corrupt('a selector out of range');
    if (i >= MAX_SELECTORS) continue;
    const group = order[j]!;
    order.splice(j, 1);
    order.unshift(group);
    selectors[i] = group;
  }

  const tables: DecodeTable[] = [];
  for (let t = 0; t < groups; t++) {
    const lengths = new Uint8Array(alphabet);
    let length = bits.bits(5);
    for (let i = 0; i < alphabet; i++) {
      for (;;) {
        if (length < 1 || length > MAX_CODE_LENGTH) throw corrupt('a code length out of range');
        if (!bits.bit()) break;
        length += bits.bit() ? -1 : 1;
      }
      lengths[i] = length;
    }
    tables.push(decodeTable(lengths));
  }

  // The MTF/RLE2-coded symbols.
  const counts = new Uint32Array(256);
  const mtf = new Uint8Array(256);
  for (let i = 0; i < 256; i++) mtf[i] = i;
  let group = -1;
  let left = 0;
  let table = tables[0]!;
  const symbol = (): number => {
    if (left === 0) {
      if (++group >= selectors.length) throw corrupt('more symbols than selectors');
      table = tables[selectors[group]!]!;
      left = GROUP_SIZE;
    }
    left--;
    const window = bits.peek24();
    let length = table.minLength;
    let code = window >>> (24 - length);
    while (code > table.limit[length]!) {
      if (++length > table.maxLength) throw corrupt('an invalid Huffman code');
      code = window >>> (24 - length);
    }
    bits.skip(length);
    const index = code - table.base[length]!;
    if (index < 0 || index >= alphabet) throw corrupt('an invalid Huffman code');
    return table.perm[index]!;
  };

  let length = 0;
  let next = symbol();
  for (;;) {
    if (next === endOfBlock) break;
    if (next === RUNA || next === RUNB) {
      let run = 0;
      let weight = 1;
      do {
        run += next === RUNA ? weight : 2 * weight;
        weight <<= 1;
        if (weight > 1 << 21) throw corrupt('a run too long');
        next = symbol();
      } while (next === RUNA || next === RUNB);
      const byte = used[mtf[0]!]!;
      if (length + run > maxBlock) throw corrupt('a block longer than its size');
      counts[byte] = counts[byte]! + run;
      tt.fill(byte, length, length + run);
      length += run;
      continue;
    }
    if (length >= maxBlock) throw corrupt('a block longer than its size');
    const index = next - 1;
    const value = mtf[index]!;
    for (let i = index; i > 0; i--) mtf[i] = mtf[i - 1]!;
    mtf[0] = value;
    const byte = used[value]!;
    counts[byte] = counts[byte]! + 1;
    tt[length++] = byte;
    next = symbol();
  }
  if (origin >= length) throw corrupt('the block origin lies outside the block');

  // Inverse BWT, first half: link each position to its successor (high 24 bits), keeping the byte (low 8).
  const starts = new Uint32Array(256);
  for (let i = 0, sum = 0; i < 256; i++) {
    starts[i] = sum;
    sum += counts[i]!;
  }
  for (let i = 0; i < length; i++) {
    const byte = tt[i]! & 0xff;
    const at = starts[byte]!;
    tt[at] = (tt[at]! | (i << 8)) >>> 0;
    starts[byte] = at + 1;
  }
  return { tt, length, origin, crc };
}

/** Walks the BWT links and undoes the initial run-length step (4 equal bytes + a count), in 1 MiB chunks. */
function* unBwt(block: Block): Generator<Buffer> {
  const { tt, length } = block;
  let position = tt[block.origin]! >>> 8;
  let out = Buffer.allocUnsafe(OUT_CHUNK);
  let filled = 0;
  let last = -1;
  let same = 0;
  for (let k = 0; k < length; k++) {
    const entry = tt[position]!;
    const byte = entry & 0xff;
    position = entry >>> 8;
    if (same === 4) {
      // `byte` is a repeat count for `last`.
      for (let r = 0; r < byte; r++) {
        if (filled === OUT_CHUNK) {
          yield out;
          out = Buffer.allocUnsafe(OUT_CHUNK);
          filled = 0;
        }
        out[filled++] = last;
      }
      same = 0;
      continue;
    }
    if (byte === last) same++;
    else {
      last = byte;
      same = 1;
    }
    if (filled === OUT_CHUNK) {
      yield out;
      out = Buffer.allocUnsafe(OUT_CHUNK);
      filled = 0;
    }
    out[filled++] = byte;
  }
  if (filled > 0) yield out.subarray(0, filled);
}

interface DecodeTable {
  minLength: number;
  maxLength: number;
  limit: Int32Array;
  base: Int32Array;
  perm: Uint16Array;
}

/** Canonical Huffman decoding tables (limit / base / permutation by code length). */
function decodeTable(lengths: Uint8Array): DecodeTable {
  let minLength = 32;
  let maxLength = 0;
  for (const l of lengths) {
    if (l > maxLength) maxLength = l;
    if (l < minLength) minLength = l;
  }
  const perm = new Uint16Array(lengths.length);
  let p = 0;
  for (let l = minLength; l <= maxLength; l++)
    for (let s = 0; s < lengths.length; s++) if (lengths[s] === l) perm[p++] = s;
  const base = new Int32Array(MAX_CODE_LENGTH + 3);
  for (const l of lengths) base[l + 1] = base[l + 1]! + 1;
  for (let i = 1; i < base.length; i++) base[i] = base[i]! + base[i - 1]!;
  const limit = new Int32Array(MAX_CODE_LENGTH + 2).fill(-1);
  let code = 0;
  for (let l = minLength; l <= maxLength; l++) {
    code += base[l + 1]! - base[l]!;
    limit[l] = code - 1;
    code <<= 1;
  }
  for (let l = minLength + 1; l <= maxLength; l++) base[l] = ((limit[l - 1]! + 1) << 1) - base[l]!;
  return { minLength, maxLength, limit, base, perm };
}
