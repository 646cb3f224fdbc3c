/**
 * OpenPGP packet framing (RFC 9580 §4.2), streaming and allocation-light: a pull-based byte reader, header parsing
 * with all three length forms (definite, partial, indeterminate), and a writer that frames a stream of unknown length
 * with partial body lengths. No openpgp.js here: this is the part of the format on the hot path.
 */
import { Buffer } from 'node:buffer';
import type { SftpctlError } from '../errors.js';
import { malformedError, truncatedError } from './pgp-errors.js';

export const EMPTY = Buffer.alloc(0);

/** Work unit of the data path: ciphertext is decrypted and plaintext handed on in pieces of this size. */
export const WORK_CHUNK = 1 << 20;

/** Session key / marker packets before the encrypted data, and signature packets before the literal data. */
export const MAX_LEADING_PACKETS = 256;

export const TAG = {
  pkesk: 1,
  signature: 2,
  skesk: 3,
  onePassSignature: 4,
  compressed: 8,
  sed: 9,
  marker: 10,
  literal: 11,
  trust: 12,
  userId: 13,
  publicKey: 6,
  secretKey: 5,
  seipd: 18,
  mdc: 19,
  aead: 20,
  padding: 21,
} as const;

export function toBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * Pulls bytes from an async iterator of chunks. `some()` hands out zero-copy views; only `exact()` copies, and only
 * when the bytes asked for straddle two chunks. After an error every call rethrows it.
 */
export class ByteReader {
  private chunk: Buffer = EMPTY;
  private pos = 0;
  private ended = false;
  private failure: unknown;
  /** Bytes handed out so far. */
  consumed = 0;

  constructor(
    private readonly source: AsyncIterator<Uint8Array>,
    private readonly eofError: (where: string) => SftpctlError = truncatedError,
  ) {}

  /** Ensures at least one byte is buffered; false at the end of the input. */
  private async fill(): Promise<boolean> {
    if (this.failure !== undefined) throw this.failure;
    while (this.pos >= this.chunk.length) {
      if (this.ended) return false;
      let next: IteratorResult<Uint8Array>;
      try {
        next = await this.source.next();
      } catch (error) {
        this.failure = error;
        throw error;
      }
      if (next.done) {
        this.ended = true;
        this.chunk = EMPTY;
        this.pos = 0;
        return false;
      }
      const value = next.value as Uint8Array | string;
      if (typeof value === 'string') {
        this.failure = malformedError('the input stream delivered text; read it without an encoding');
        throw this.failure;
      }
      this.chunk = toBuffer(value);
      this.pos = 0;
    }
    return true;
  }

  async atEof(): Promise<boolean> {
    return !(await this.fill());
  }

  /** One byte, or undefined at the end of the input. */
  async byte(): Promise<number | undefined> {
    if (!(await this.fill())) return undefined;
    this.consumed++;
    return this.chunk[this.pos++]!;
  }

  /**
   * The error for input that ends `where` it may not: truncation for the file itself, damage for content read from
   * inside it (a length that claims more than its container holds).
   */
  endedEarly(where: string): SftpctlError {
    return this.eofError(where);
  }

  /** Exactly n bytes; the end of the input before them is an error (`eofError(where)`). */
  async exact(n: number, where: string): Promise<Buffer> {
    if (n === 0) return EMPTY;
    if (!(await this.fill())) throw this.eofError(where);
    if (this.chunk.length - this.pos >= n) {
      const out = this.chunk.subarray(this.pos, this.pos + n);
      this.pos += n;
      this.consumed += n;
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      if (!(await this.fill())) throw this.eofError(where);
      const take = Math.min(n - filled, this.chunk.length - this.pos);
      this.chunk.copy(out, filled, this.pos, this.pos + take);
      this.pos += take;
      filled += take;
    }
    this.consumed += n;
    return out;
  }

  /** Up to `max` bytes without copying, or undefined at the end of the input. */
  async some(max: number): Promise<Buffer | undefined> {
    if (!(await this.fill())) return undefined;
    const take = Math.min(max, this.chunk.length - this.pos);
    const out = this.chunk.subarray(this.pos, this.pos + take);
    this.pos += take;
    this.consumed += take;
    return out;
  }

  /** Everything that is left, chunk by chunk. */
  async *rest(): AsyncGenerator<Buffer> {
    for (;;) {
      const piece = await this.some(Number.MAX_SAFE_INTEGER);
      if (piece === undefined) return;
      yield piece;
    }
  }

  /** Reads and discards the rest of the input; returns how many bytes that was. */
  async drain(): Promise<number> {
    let n = 0;
    for (;;) {
      const piece = await this.some(Number.MAX_SAFE_INTEGER);
      if (piece === undefined) return n;
      n += piece.length;
    }
  }

  /** Lets the source release its resources (a Node stream is destroyed). Never throws. */
  async close(): Promise<void> {
    this.ended = true;
    try {
      await this.source.return?.();
    } catch {
      // closing is best effort
    }
  }
}

export type BodyLength =
  | { kind: 'definite'; length: number }
  | { kind: 'partial'; length: number }
  | { kind: 'indeterminate' };

export interface PacketHeader {
  tag: number;
  newFormat: boolean;
  length: BodyLength;
  /** Header bytes as read (for re-serialising small packets). */
  headerLength: number;
}

/**
 * Reads a packet header. Returns undefined at a clean end of input (no byte read); `onBadTag` decides what a first
 * byte without the packet bit means (not OpenPGP at the start of a file, malformed later).
 */
export async function readPacketHeader(
  reader: ByteReader,
  onBadTag: (byte: number) => SftpctlError,
): Promise<PacketHeader | undefined> {
  const ctb = await reader.byte();
  if (ctb === undefined) return undefined;
  if ((ctb & 0x80) === 0) throw onBadTag(ctb);
  if (ctb & 0x40) {
    const tag = ctb & 0x3f;
    const { length, size } = await readNewLength(reader, 'a packet header');
    return { tag, newFormat: true, length, headerLength: 1 + size };
  }
  const tag = (ctb >> 2) & 0x0f;
  const lengthType = ctb & 0x03;
  if (lengthType === 3) return { tag, newFormat: false, length: { kind: 'indeterminate' }, headerLength: 1 };
  const size = 1 << lengthType;
  const bytes = await reader.exact(size, 'a packet header');
  let length = 0;
  for (const b of bytes) length = length * 256 + b;
  return { tag, newFormat: false, length: { kind: 'definite', length }, headerLength: 1 + size };
}

async function readNewLength(reader: ByteReader, where: string): Promise<{ length: BodyLength; size: number }> {
  const first = await reader.byte();
  if (first === undefined) throw reader.endedEarly(where);
  if (first < 192) return { length: { kind: 'definite', length: first }, size: 1 };
  if (first < 224) {
    const second = (await reader.exact(1, where))[0]!;
    return { length: { kind: 'definite', length: ((first - 192) << 8) + second + 192 }, size: 2 };
  }
  if (first < 255) return { length: { kind: 'partial', length: 1 << (first & 0x1f) }, size: 1 };
  const four = await reader.exact(4, where);
  return { length: { kind: 'definite', length: four.readUInt32BE(0) }, size: 5 };
}

/** Partial-length parts below this size are copied together (see packetBody). */
const GATHER_BELOW = 64 * 1024;

/**
 * The body of a packet, piece by piece (zero-copy views of the reader's chunks, each at most `maxPiece` bytes),
 * following partial-length continuations. The end of the input inside the body is the reader's `endedEarly` error
 * (PGP_TRUNCATED for the file, PGP_MALFORMED for decrypted content).
 *
 * With a finite `maxPiece`, small partial-length parts (GnuPG and RNP write 8 KiB ones) are copied together into
 * pieces of `maxPiece` bytes: one copy costs less than handing 128 small pieces through every layer above. With
 * `reuse`, the buffer is filled again once the next piece is asked for (fresh megabytes cost page faults: on the test
 * machine a plain stream copy spent 4× the CPU of one reusing its buffer) — for a consumer done with a piece when it
 * asks for the next one, like the decryptors, which copy what they keep.
 */
export async function* packetBody(
  reader: ByteReader,
  header: PacketHeader,
  what: string,
  maxPiece = Number.MAX_SAFE_INTEGER,
  reuse = false,
): AsyncGenerator<Buffer> {
  if (header.length.kind === 'indeterminate') {
    for (;;) {
      const piece = await reader.some(maxPiece);
      if (piece === undefined) return;
      yield piece;
    }
  }
  const gather = header.length.kind === 'partial' && maxPiece < Number.MAX_SAFE_INTEGER;
  let buffer: Buffer | undefined;
  const spare: Buffer[] = [];
  let filled = 0;
  let length: Exclude<BodyLength, { kind: 'indeterminate' }> = header.length;
  for (;;) {
    let left = length.length;
    while (left > 0) {
      let piece = await reader.some(Math.min(left, maxPiece));
      if (piece === undefined) throw reader.endedEarly(`inside the ${what}`);
      left -= piece.length;
      if (!gather || (filled === 0 && piece.length >= GATHER_BELOW)) {
        yield piece;
        continue;
      }
      while (piece.length > 0) {
        buffer ??= spare.shift() ?? Buffer.allocUnsafe(maxPiece);
        const take = Math.min(piece.length, maxPiece - filled);
        piece.copy(buffer, filled, 0, take);
        filled += take;
        piece = piece.subarray(take);
        if (filled === maxPiece) {
          const full = buffer;
          yield full;
          if (reuse) spare.push(full);
          buffer = undefined;
          filled = 0;
        }
      }
    }
    if (length.kind === 'definite') break;
    const next = (await readNewLength(reader, `inside the ${what}`)).length;
    if (next.kind === 'indeterminate') throw malformedError(`an impossible length inside the ${what}`);
    length = next;
  }
  if (buffer && filled > 0) yield buffer.subarray(0, filled);
}

/** A small packet's whole body (key packets, session keys); bodies above `limit` are malformed. */
export async function readSmallBody(
  reader: ByteReader,
  header: PacketHeader,
  what: string,
  limit = 64 * 1024,
): Promise<Buffer> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const piece of packetBody(reader, header, what)) {
    total += piece.length;
    if (total > limit) throw malformedError(`a ${what} longer than ${limit} bytes`);
    parts.push(Buffer.from(piece));
  }
  return Buffer.concat(parts, total);
}

/** A new-format header with a definite length. */
export function packetHeader(tag: number, length: number): Buffer {
  return Buffer.concat([Buffer.of(0xc0 | tag), definiteLength(length)]);
}

export function definiteLength(length: number): Buffer {
  if (length < 192) return Buffer.of(length);
  if (length < 8384) {
    const l = length - 192;
    return Buffer.of((l >> 8) + 192, l & 0xff);
  }
  const out = Buffer.allocUnsafe(5);
  out[0] = 0xff;
  out.writeUInt32BE(length, 1);
  return out;
}

/**
 * Frames a stream of unknown length as one packet with partial body lengths: parts of exactly 2^partBits bytes, then a
 * final part with a definite length. A full part is sent only once at least one more byte has arrived, so the final
 * part is never empty unless the whole body is. Zero-copy: the output is the small headers plus views of the pushed
 * buffers, so a pushed buffer must not be changed afterwards.
 */
export class PartialPacketWriter {
  private pieces: Buffer[] = [];
  private total = 0;
  private first = true;
  private readonly partSize: number;

  constructor(
    private readonly tag: number,
    private readonly partBits = 20,
  ) {
    if (partBits < 9 || partBits > 30) throw new RangeError('partBits must be 9..30 (first part ≥ 512 bytes)');
    this.partSize = 1 << partBits;
  }

  /** Appends bytes; appends the pieces of every complete part to `out`. */
  push(data: Uint8Array, out: Buffer[] = []): Buffer[] {
    if (data.length === 0) return out;
    this.pieces.push(toBuffer(data));
    this.total += data.length;
    while (this.total > this.partSize) {
      out.push(this.header(Buffer.of(0xe0 | this.partBits)));
      let left = this.partSize;
      while (left > 0) {
        const piece = this.pieces[0]!;
        if (piece.length <= left) {
          out.push(piece);
          this.pieces.shift();
          left -= piece.length;
        } else {
          out.push(piece.subarray(0, left));
          this.pieces[0] = piece.subarray(left);
          left = 0;
        }
      }
      this.total -= this.partSize;
    }
    return out;
  }

  /** The last part (with a definite length). */
  finish(out: Buffer[] = []): Buffer[] {
    out.push(this.header(definiteLength(this.total)), ...this.pieces);
    this.pieces = [];
    this.total = 0;
    return out;
  }

  private header(length: Buffer): Buffer {
    if (!this.first) return length;
    this.first = false;
    return Buffer.concat([Buffer.of(0xc0 | this.tag), length]);
  }
}

/**
 * Reads ahead of the consumer: keeps pulling from `source` until `maxBytes` are queued, so that input latency (a file
 * read waiting for a busy thread pool, a network stream) overlaps with processing instead of adding to it. Errors
 * are delivered after the chunks that preceded them; `return()` closes the source.
 */
export function prefetch(source: AsyncIterator<Uint8Array>, maxBytes: number): AsyncIterator<Uint8Array> {
  const queue: Uint8Array[] = [];
  let queued = 0;
  let done = false;
  let failed = false;
  let failure: unknown;
  let pulling = false;
  let waiter: (() => void) | undefined;
  const wake = () => {
    const resolve = waiter;
    waiter = undefined;
    resolve?.();
  };
  const pull = async () => {
    if (pulling || done || failed) return;
    pulling = true;
    try {
      while (!done && queued < maxBytes) {
        const next = await source.next();
        if (next.done) {
          done = true;
          break;
        }
        queue.push(next.value);
        queued += next.value.length;
        wake();
      }
    } catch (error) {
      failed = true;
      failure = error;
    } finally {
      pulling = false;
      wake();
    }
  };
  return {
    async next(): Promise<IteratorResult<Uint8Array>> {
      for (;;) {
        const value = queue.shift();
        if (value !== undefined) {
          queued -= value.length;
          void pull();
          return { done: false, value };
        }
        if (failed) throw failure;
        if (done) return { done: true, value: undefined };
        const ready = new Promise<void>((resolve) => {
          waiter = resolve;
        });
        void pull();
        await ready;
      }
    },
    async return(): Promise<IteratorResult<Uint8Array>> {
      done = true;
      queue.length = 0;
      await source.return?.();
      return { done: true, value: undefined };
    },
  };
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex').toUpperCase();
}
