/**
 * Egress: one streaming pass over the plaintext computes its checksums and encrypts it to a partner's public key as
 * an OpenPGP message GnuPG 2.2 reads: PKESK v3 (from openpgp.js) + SEIPD v1 (AES, MDC), written here on node:crypto.
 *
 *   PKESK v3 · SEIPD v1 { prefix(18) · [Compressed { ] Literal('b', name, date, data) [ } ] · MDC(SHA-1) }
 *
 * Every layer uses partial body lengths of 1 MiB, so the size need not be known and memory stays constant.
 */
import { Buffer } from 'node:buffer';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ChecksumAlgorithm } from '../checksum/algorithms.js';
import { createMultiHasher } from '../checksum/hash-stream.js';
import { Seipdv2Encryptor } from './pgp-aead.js';
import { ArmorEncoder } from './pgp-armor.js';
import {
  AES_IDS,
  AES_KEY_BYTES,
  type AesAlgorithm,
  BlockAccumulator,
  CfbEncryptEngine,
  type Pending,
} from './pgp-cfb.js';
import { abortedError, malformedError, openpgpReason, pgpError } from './pgp-errors.js';
import { loadOpenpgp, type RecipientKey } from './pgp-keys.js';
import { PartialPacketWriter, prefetch, TAG, toBuffer } from './pgp-packets.js';
import { BufferPool, type Parallelism } from './pgp-worker.js';
import { COMPRESSION_IDS, createCompressor, throughZlib } from './pgp-zlib.js';

export interface EncryptOptions {
  /** ASCII armor (`-----BEGIN PGP MESSAGE-----`); binary by default. */
  armor?: boolean;
  /** Name stored in the literal data packet (what `gpg --decrypt --use-embedded-filename` would use). */
  fileName?: string;
  /** Date stored in the literal data packet; now by default. */
  date?: Date;
  /** 'none' by default: partner files are often compressed already, and compression costs CPU. */
  compression?: 'none' | 'zip' | 'zlib';
  /** Checksums of the plaintext, computed in the same pass. */
  digests?: readonly ChecksumAlgorithm[];
  /**
   * AES-CFB on the shared worker thread: 'auto' (default) hands it over once a message passes 4 MiB on a machine
   * with 2+ cores (CFB encryption is serial and the main thread has the hashing and I/O to do); false: never.
   */
  parallel?: Parallelism;
}

export interface EncryptResult {
  plaintextBytes: number;
  ciphertextBytes: number;
  /** Lower-case hex per requested algorithm. */
  digests: Partial<Record<ChecksumAlgorithm, string>>;
  cipher: AesAlgorithm;
  compression: 'none' | 'zip' | 'zlib';
  recipientFingerprint: string;
  recipientKeyId: string;
  armored: boolean;
  /** 'mdc': SEIPD v1 (v4 keys); 'aead': SEIPD v2 with OCB (v6 keys). */
  integrity: 'mdc' | 'aead';
}

export interface EncryptedStream {
  /** The OpenPGP message. Errors if the plaintext source errors. */
  ciphertext: Readable;
  /** Settles when `ciphertext` has ended (resolves) or failed / was destroyed (rejects). Never unhandled. */
  done: Promise<EncryptResult>;
}

/** Size of the partial-length parts and of the chunks handed to AES / SHA-1. */
const PART_BITS = 20;
const MAX_FILE_NAME_BYTES = 255;
/** Chunks handed to the cipher before the oldest result is awaited. */
const IN_FLIGHT = 3;
/**
 * Bytes the output stream buffers ahead of its consumer: lets reading, AES and hashing run while a write is in
 * flight instead of in lock-step with it (measured: +25–40% throughput over a 1 MiB buffer).
 */
const OUTPUT_BUFFER = 4 << 20;
/** Bytes read ahead of the encryption (see prefetch). */
const READ_AHEAD = 4 << 20;

export function encryptStream(
  plaintext: NodeJS.ReadableStream | AsyncIterable<Uint8Array>,
  recipient: RecipientKey,
  options: EncryptOptions = {},
): EncryptedStream {
  let settle!: { resolve: (r: EncryptResult) => void; reject: (e: unknown) => void };
  const done = new Promise<EncryptResult>((resolve, reject) => {
    settle = { resolve, reject };
  });
  done.catch(() => {});
  const generator = encryptGenerator(plaintext as AsyncIterable<Uint8Array>, recipient, options, settle);
  const ciphertext = Readable.from(generator, { objectMode: false, highWaterMark: OUTPUT_BUFFER });
  return { ciphertext, done };
}

async function* encryptGenerator(
  source: AsyncIterable<Uint8Array>,
  recipient: RecipientKey,
  options: EncryptOptions,
  settle: { resolve: (r: EncryptResult) => void; reject: (e: unknown) => void },
): AsyncGenerator<Buffer> {
  let finished = false;
  let closeEngine = () => {};
  const input = prefetch(source[Symbol.asyncIterator](), READ_AHEAD);
  try {
    const compression = options.compression ?? 'none';
    const fileName = Buffer.from(options.fileName ?? '', 'utf8');
    if (fileName.length > MAX_FILE_NAME_BYTES) {
      throw pgpError(
        'PGP_MALFORMED',
        `The file name to embed is ${fileName.length} bytes long; OpenPGP allows ${MAX_FILE_NAME_BYTES}.`,
        'Use a shorter name.',
      );
    }
    const hasher = options.digests && options.digests.length > 0 ? createMultiHasher(options.digests) : undefined;
    const armor = options.armor ? new ArmorEncoder() : undefined;
    let ciphertextBytes = 0;
    function* emit(bytes: Buffer): Generator<Buffer> {
      const out = armor ? armor.push(bytes) : bytes;
      ciphertextBytes += out.length;
      if (out.length > 0) yield out;
    }

    const openpgp = await loadOpenpgp();
    const cipher = recipient.cipher;
    const sessionKey = randomBytes(AES_KEY_BYTES[cipher]);
    let esk: Uint8Array;
    try {
      esk = await openpgp.encryptSessionKey({
        data: sessionKey,
        algorithm: cipher,
        encryptionKeys: recipient.key,
        format: 'binary',
        // A v6 key gets a v6 session key packet (no cipher id inside: SEIPD v2 names it).
        ...(recipient.format === 'seipdv2' ? { aeadAlgorithm: 'ocb' as const } : {}),
        config: { aeadProtect: recipient.format === 'seipdv2' },
      });
    } catch (error) {
      throw pgpError(
        'PGP_KEY_NO_ENCRYPTION_SUBKEY',
        `The session key cannot be encrypted to key ${recipient.fingerprint} (${openpgpReason(error)}).`,
        'Check the partner key with `sftpctl key inspect`; it may have expired since it was loaded.',
        error,
      );
    }
    yield* emit(toBuffer(esk));

    // Literal data packet, framed in 1 MiB parts.
    let plaintextBytes = 0;
    async function* literal(): AsyncGenerator<Buffer> {
      const writer = new PartialPacketWriter(TAG.literal, PART_BITS);
      const date = Math.floor((options.date ?? new Date()).getTime() / 1000);
      const head = Buffer.alloc(6 + fileName.length);
      head[0] = 0x62; // 'b': binary
      head[1] = fileName.length;
      fileName.copy(head, 2);
      head.writeUInt32BE(date >>> 0, 2 + fileName.length);
      const parts: Buffer[] = [];
      writer.push(head, parts);
      for (;;) {
        const next = await input.next();
        if (next.done) break;
        const value = next.value as Uint8Array | string;
        if (typeof value === 'string') throw malformedError('the plaintext stream delivered text, not bytes');
        if (value.length === 0) continue;
        hasher?.update(value);
        plaintextBytes += value.length;
        writer.push(value, parts);
        for (const part of parts) yield part;
        parts.length = 0;
      }
      yield* writer.finish();
    }

    async function* compressed(inner: AsyncIterable<Buffer>, id: 1 | 2): AsyncGenerator<Buffer> {
      const writer = new PartialPacketWriter(TAG.compressed, PART_BITS);
      const parts: Buffer[] = [];
      writer.push(Buffer.of(id), parts);
      for await (const bytes of throughZlib(inner, createCompressor(id))) {
        writer.push(bytes, parts);
        for (const part of parts) yield part;
        parts.length = 0;
      }
      yield* writer.finish();
    }

    const packets = compression === 'none' ? literal() : compressed(literal(), COMPRESSION_IDS[compression]);

    /** After the last encrypted part: the armor's tail, then the result, whichever integrity the message has. */
    function* conclude(integrity: 'mdc' | 'aead'): Generator<Buffer> {
      if (armor) {
        const tail = armor.finish();
        ciphertextBytes += tail.length;
        yield tail;
      }
      finished = true;
      settle.resolve({
        plaintextBytes,
        ciphertextBytes,
        digests: hasher ? hasher.digest().digests : {},
        cipher,
        compression,
        recipientFingerprint: recipient.fingerprint,
        recipientKeyId: recipient.encryptionKeyId,
        armored: armor !== undefined,
        integrity,
      });
    }

    if (recipient.format === 'seipdv2') {
      // SEIPD v2 (RFC 9580): OCB chunks on node:crypto, framed in 1 MiB parts.
      const seipd = new PartialPacketWriter(TAG.seipd, PART_BITS);
      const aead = new Seipdv2Encryptor(AES_IDS[cipher], sessionKey);
      const out: Buffer[] = [];
      const encrypted: Buffer[] = [];
      seipd.push(aead.header, out);
      for await (const bytes of packets) {
        aead.push(bytes, encrypted);
        for (const piece of encrypted) seipd.push(piece, out);
        encrypted.length = 0;
        for (const part of out) yield* emit(part);
        out.length = 0;
      }
      aead.finish(encrypted);
      for (const piece of encrypted) seipd.push(piece, out);
      seipd.finish(out);
      for (const part of out) yield* emit(part);
      yield* conclude('aead');
      return;
    }

    // SEIPD v1: version 1, then CFB(prefix ‖ packets ‖ 0xD3 0x14 ‖ SHA-1 of all before it), in 1 MiB chunks.
    const seipd = new PartialPacketWriter(TAG.seipd, PART_BITS);
    const pool = new BufferPool(1 << PART_BITS);
    const engine = new CfbEncryptEngine(cipher, sessionKey, pool, options.parallel);
    closeEngine = () => engine.close();
    const mdc = createHash('sha1');
    const chunks = new BlockAccumulator(pool);
    const full: Buffer[] = [];
    const queue: Pending[] = [];
    const out: Buffer[] = [];
    seipd.push(Buffer.of(1), out);
    const encrypt = (bytes: Uint8Array, hash = true): void => {
      if (hash) mdc.update(bytes);
      chunks.push(bytes, full);
      for (const chunk of full) queue.push(engine.encrypt(chunk));
      full.length = 0;
    };
    const prefix = randomBytes(18);
    prefix[16] = prefix[14]!;
    prefix[17] = prefix[15]!;
    encrypt(prefix);
    for await (const bytes of packets) {
      encrypt(bytes);
      // A few chunks in flight keep the worker busy while this thread reads, hashes and writes.
      while (queue.length > IN_FLIGHT) {
        seipd.push(await queue.shift()!, out);
        for (const part of out) yield* emit(part);
        out.length = 0;
      }
    }
    encrypt(Buffer.of(0xd3, 0x14));
    encrypt(mdc.digest(), false);
    const last = chunks.finish();
    if (last) queue.push(engine.encrypt(last));
    while (queue.length > 0) seipd.push(await queue.shift()!, out);
    seipd.finish(out);
    for (const part of out) yield* emit(part);
    yield* conclude('mdc');
  } catch (error) {
    finished = true;
    // Readable.from throws an AbortError into the generator when its consumer destroys it.
    settle.reject(error instanceof Error && error.name === 'AbortError' ? abortedError('ciphertext') : error);
    throw error;
  } finally {
    closeEngine();
    if (!finished) settle.reject(abortedError('ciphertext'));
    // Stops a Node stream source if we end early; a no-op after its end.
    await input.return?.();
  }
}
