/**
 * Ingress: stream-decrypt an OpenPGP message with any of the platform's current private keys.
 *
 * The common case — what GnuPG and openpgp.js write by default: PKESK(s) + SEIPD v1 (AES, MDC) holding an optionally
 * ZIP/ZLIB-compressed literal, optionally one-pass-signed — runs on a native path: packets parsed here, the session
 * key decrypted by openpgp.js, AES-CFB via AES-ECB + XOR on node:crypto (see pgp-cfb.ts), SHA-1 MDC on node:crypto,
 * inflate on node:zlib, BZip2 and Camellia too. AEAD — SEIPD v2 and the LibrePGP AEAD packet, OCB/GCM/EAX with AES —
 * is native too (pgp-aead.ts). Everything else (Twofish/Blowfish/CAST5/3DES, AEAD with other ciphers) is replayed into
 * openpgp.js with unauthenticated streaming on; both paths have the same contract and error codes.
 *
 * The contract: the plaintext stream can be consumed with constant memory; it ERRORS instead of ending when the
 * message fails its end-of-message integrity check (MDC / AEAD tag), is truncated, exceeds the decompression limit or
 * is otherwise bad. Its last chunk is held back until the check has passed, and `verified` resolves only then.
 * Consume into staging, publish only after the stream ended without error.
 */
import { Buffer } from 'node:buffer';
import { timingSafeEqual } from 'node:crypto';
import { Readable } from 'node:stream';
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm, unknownAlgorithmError } from '../checksum/algorithms.js';
import { SftpctlError } from '../errors.js';
import { aeadChunks, aeadName, nativeAead, readAeadHeader } from './pgp-aead.js';
import { dearmor, startsWithBom } from './pgp-armor.js';
import { type Block16Algorithm, block16FromId, CfbDecryptEngine, CiphertextBlocks, type Pending } from './pgp-cfb.js';
import { innerMessage } from './pgp-content.js';
import {
  abortedError,
  emptyError,
  HINT_NOT_PUBLISHED,
  integrityError,
  malformedError,
  pgpError,
  truncatedError,
  unsupportedError,
} from './pgp-errors.js';
import { Recorder, viaOpenpgp } from './pgp-fallback.js';
import { DecryptGuard, InputWatch } from './pgp-guard.js';
import { StreamHasher } from './pgp-hash.js';
import { type DecryptionKeys, loadOpenpgp, type OpenPgpModule } from './pgp-keys.js';
import {
  ByteReader,
  EMPTY,
  hex,
  MAX_LEADING_PACKETS,
  type PacketHeader,
  packetBody,
  prefetch,
  readPacketHeader,
  readSmallBody,
  TAG,
  toBuffer,
  WORK_CHUNK,
} from './pgp-packets.js';
import { cipherName, openSessionKey, type Recipient, type SessionKey, WILDCARD } from './pgp-session.js';
import { BufferPool, type Parallelism, SPAWN_AFTER_BYTES } from './pgp-worker.js';
import type { CompressionName } from './pgp-zlib.js';

export { DEFAULT_STALL_MS } from './pgp-guard.js';

/** Default decompression limit: far above any partner file seen, far below what fills a disk or a Lambda's time. */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 16 * 1024 ** 3;

export interface DecryptOptions {
  /** Decompressed bytes allowed (compressed messages only); default {@link DEFAULT_MAX_DECOMPRESSED_BYTES}. */
  maxDecompressedBytes?: number;
  /**
   * Accept a zero-byte input (yields an empty plaintext) and a message whose plaintext is empty. Default false:
   * both are PGP_EMPTY_INPUT.
   */
  allowEmpty?: boolean;
  /** Checksums of the plaintext, computed in the same pass (e.g. to verify a checksum sidecar). */
  digests?: readonly ChecksumAlgorithm[];
  /**
   * The shared worker thread: 'auto' (default) moves the SHA-1 of the MDC there on 2+ cores for messages past a few
   * MiB, and the `digests` too on 4+; the AES stays on this thread. true: AES and all hashing on the worker (tests);
   * false: never.
   */
  parallel?: Parallelism;
  /**
   * Absolute deadline for this file (ms since the epoch, or a Date): past it the plaintext stream errors with
   * PGP_TIMEOUT whoever is slow (the decryption or the consumer). Lambda: its remaining time minus a margin.
   */
  deadline?: number | Date;
  /**
   * Stall window (ms, default {@link DEFAULT_STALL_MS}): while the consumer waits, the decryption must read input or
   * produce plaintext within it — else PGP_CORRUPT (it stopped without finishing) or PGP_TIMEOUT (no input came).
   */
  stallMs?: number;
  /** What the decompression-limit error tells the user to raise, e.g. "--max-decompressed" (default: the option). */
  limitSetting?: string;
}

export interface DecryptResult {
  plaintextBytes: number;
  /** Lower-case hex per requested algorithm. */
  digests: Partial<Record<ChecksumAlgorithm, string>>;
  /** File name stored in the literal data packet ('' if none). */
  fileName: string;
  /** Date stored in the literal data packet (null when 0 or unknown). */
  date: Date | null;
  /** Literal data format: 'binary', 'text', 'utf8', 'mime'. */
  format: string;
  /** Key ids (upper-case hex) the message was encrypted to; '0000000000000000' for an anonymous recipient. */
  recipients: string[];
  /** Our (sub)key id that opened it, and the fingerprint of its primary key. */
  keyId: string;
  fingerprint: string;
  cipher: string;
  /**
   * What was verified: 'mdc' (SEIPD v1) or 'aead' (SEIPD v2 / AEAD packet); 'none' only for a zero-byte input
   * accepted with `allowEmpty` (no message, so no check was made).
   */
  integrity: 'mdc' | 'aead' | 'none';
  /** The AEAD mode ('ocb', 'gcm', 'eax') of an AEAD message; absent for SEIPD v1. */
  aead?: string;
  compression: CompressionName | 'unknown';
  armored: boolean;
  /** The message carried signatures (not verified here). */
  signed: boolean;
  /** 'native' fast path or 'openpgp' (openpgp.js streaming) for the formats the fast path leaves to it. */
  engine: 'native' | 'openpgp';
  empty: boolean;
}

export interface DecryptedStream {
  /** The plaintext. Ends only after the integrity check passed; errors with a PGP_* SftpctlError otherwise. */
  plaintext: Readable;
  /** Resolves once `plaintext` has ended cleanly; rejects with the same error otherwise. Never unhandled. */
  verified: Promise<DecryptResult>;
}

const CHUNK = WORK_CHUNK;
/** Pieces smaller than this are coalesced before they are handed on (GnuPG writes 8 KiB partial parts). */
const COALESCE_BELOW = 256 * 1024;
/** Chunks handed to the cipher on the worker (parallel: true) before the oldest result is awaited. */
const IN_FLIGHT = 3;
/**
 * Bytes the output stream buffers ahead of its consumer, so that reading, AES and hashing run while a write is in
 * flight instead of in lock-step with it. 1 MiB since the SHA-1 moved to the worker: 4 MiB (and 4 MiB of read-ahead)
 * measured no faster there and cost ~20 MB more peak RSS, fresh buffers living long enough to outlast a young-
 * generation collection.
 */
const OUTPUT_BUFFER = 1 << 20;
/** Bytes read ahead of the decryption (see prefetch). */
const READ_AHEAD = 2 << 20;
const PLAIN_MESSAGE_TAGS = new Set<number>([TAG.literal, TAG.compressed, TAG.onePassSignature, TAG.signature]);
const KEY_TAGS = new Set<number>([TAG.publicKey, TAG.secretKey, TAG.userId]);

export function decryptStream(
  ciphertext: NodeJS.ReadableStream | AsyncIterable<Uint8Array>,
  keys: DecryptionKeys,
  options: DecryptOptions = {},
): DecryptedStream {
  let settle!: { resolve: (r: DecryptResult) => void; reject: (e: unknown) => void };
  const verified = new Promise<DecryptResult>((resolve, reject) => {
    settle = { resolve, reject };
  });
  verified.catch(() => {});
  let plaintext: Readable | undefined;
  const generator = output(ciphertext as AsyncIterable<Uint8Array>, keys, options, settle, (error) =>
    plaintext?.destroy(error as Error),
  );
  plaintext = Readable.from(generator, { objectMode: false, highWaterMark: OUTPUT_BUFFER });
  return { plaintext, verified };
}

export interface Context {
  keys: DecryptionKeys;
  options: DecryptOptions;
  limit: number;
  result: DecryptResult;
}

/** Coalesces small pieces, hashes, counts, holds the last chunk back until the message is verified. */
async function* output(
  source: AsyncIterable<Uint8Array>,
  keys: DecryptionKeys,
  options: DecryptOptions,
  settle: { resolve: (r: DecryptResult) => void; reject: (e: unknown) => void },
  fail: (error: unknown) => void,
): AsyncGenerator<Buffer> {
  const limit = options.maxDecompressedBytes ?? DEFAULT_MAX_DECOMPRESSED_BYTES;
  const result: DecryptResult = {
    plaintextBytes: 0,
    digests: {},
    fileName: '',
    date: null,
    format: 'binary',
    recipients: [],
    keyId: '',
    fingerprint: '',
    cipher: '',
    integrity: 'none',
    compression: 'none',
    armored: false,
    signed: false,
    engine: 'native',
    empty: false,
  };
  const hasher =
    options.digests && options.digests.length > 0
      ? new StreamHasher<ChecksumAlgorithm>(checkedAlgorithms(options.digests), options.parallel)
      : undefined;
  const input = new InputWatch(prefetch(source[Symbol.asyncIterator](), READ_AHEAD));
  const deadline = options.deadline instanceof Date ? options.deadline.getTime() : options.deadline;
  let settled = false;
  const guard = new DecryptGuard(input, { stallMs: options.stallMs, deadline }, (error) => {
    if (settled) return;
    settled = true;
    settle.reject(error);
    fail(error);
  });
  let held: Buffer | undefined;
  let small: Buffer[] = [];
  let smallBytes = 0;
  const take = (piece: Buffer): Buffer | undefined => {
    // Returns the chunk to hand on (the previously held one), keeping `piece` (or a coalesced buffer) back.
    if (piece.length < COALESCE_BELOW) {
      small.push(piece);
      smallBytes += piece.length;
      if (smallBytes < CHUNK) return undefined;
      piece = Buffer.concat(small, smallBytes);
    } else if (smallBytes > 0) {
      small.push(piece);
      piece = Buffer.concat(small, smallBytes + piece.length);
    }
    small = [];
    smallBytes = 0;
    const out = held;
    held = piece;
    return out;
  };
  try {
    const context: Context = { keys, options, limit, result };
    const messages = decryptMessage(input, context);
    for (;;) {
      const next = await guard.step(messages.next());
      if (next.done) break;
      const raw = next.value;
      if (raw.length === 0) continue;
      const wait = hasher?.update(raw);
      if (wait) await guard.step(wait);
      result.plaintextBytes += raw.length;
      const out = take(raw);
      if (out) yield out;
    }
    // The message is verified (decryptMessage returned): release what was held back.
    if (result.plaintextBytes === 0) {
      if (!options.allowEmpty) throw emptyError('The decrypted file');
      result.empty = true;
    }
    if (hasher) result.digests = await guard.step(hasher.digest());
    const rest = smallBytes > 0 ? Buffer.concat(small, smallBytes) : undefined;
    if (held) yield held;
    if (rest) yield rest;
    settled = true;
    settle.resolve(result);
  } catch (error) {
    if (!settled) {
      settled = true;
      // Readable.from throws an AbortError into the generator when its consumer destroys it.
      settle.reject(error instanceof Error && error.name === 'AbortError' ? abortedError('plaintext') : error);
    }
    throw error;
  } finally {
    guard.close();
    hasher?.close();
    if (!settled) settle.reject(abortedError('plaintext'));
    // A decryptor the guard gave up on may hold a read of the input forever: close the source without waiting.
    if (guard.tripped !== undefined) void input.return().catch(() => {});
    else await input.return();
  }
}

/** Decrypts; returns only after every check passed. */
async function* decryptMessage(input: AsyncIterator<Uint8Array>, context: Context): AsyncGenerator<Buffer> {
  const { result } = context;
  // 1. What is it? (zero bytes, armor, binary packets, or something else)
  let first: Buffer | undefined;
  for (;;) {
    const next = await input.next();
    if (next.done) break;
    if (typeof (next.value as unknown) === 'string') throw malformedError('the input stream delivered text');
    if (next.value.length > 0) {
      first = toBuffer(next.value);
      break;
    }
  }
  if (first === undefined) {
    if (context.options.allowEmpty) {
      result.empty = true;
      return;
    }
    throw emptyError('The input');
  }
  const firstChunk = first;
  async function* whole(): AsyncGenerator<Uint8Array> {
    yield firstChunk;
    for (;;) {
      const next = await input.next();
      if (next.done) return;
      yield next.value;
    }
  }
  // Every binary packet starts with its top bit set; anything else can only be armor (the armor decoder reports
  // PGP_NOT_PGP when no BEGIN line comes within the first 64 KiB). A UTF-8 byte-order mark is text too.
  let binary: AsyncIterator<Uint8Array>;
  if ((first[0]! & 0x80) !== 0 && !startsWithBom(first)) {
    binary = whole();
  } else {
    result.armored = true;
    binary = dearmor(whole());
  }

  // 2. The session key packets, up to the encrypted data packet. Bytes are recorded for a replay into openpgp.js.
  const recorder = new Recorder(binary);
  const reader = new ByteReader(recorder);
  const recipients: Recipient[] = [];
  let passwords = 0;
  let header: PacketHeader;
  for (let index = 0; ; index++) {
    const badTag = () => (index === 0 ? notPgp() : malformedError('a byte that is not a packet header'));
    const next = await readPacketHeader(reader, badTag);
    if (next === undefined) {
      if (index === 0) throw notPgp();
      throw truncatedError('after the session key packets, before the encrypted data');
    }
    header = next;
    const { tag } = header;
    if (tag === TAG.seipd || tag === TAG.aead) break;
    if (index >= MAX_LEADING_PACKETS)
      throw malformedError(`more than ${MAX_LEADING_PACKETS} packets before the encrypted data`);
    if (tag === TAG.pkesk) {
      const body = await readSmallBody(reader, header, 'session key packet');
      const keyId = pkeskKeyId(body);
      if (keyId === undefined) throw index === 0 ? notPgp() : malformedError('an unreadable session key packet');
      recipients.push({ keyId, body });
    } else if (tag === TAG.skesk) {
      await readSmallBody(reader, header, 'password session key packet');
      passwords++;
    } else if (tag === TAG.marker || tag === TAG.padding) {
      await readSmallBody(reader, header, 'marker packet');
    } else if (tag === TAG.sed) {
      throw unsupportedError('the legacy encrypted data packet without integrity protection (no MDC)');
    } else if (PLAIN_MESSAGE_TAGS.has(tag)) {
      throw notEncrypted('a signed or plain OpenPGP message');
    } else if (KEY_TAGS.has(tag) && index === 0) {
      throw notEncrypted('an OpenPGP key');
    } else {
      throw index === 0 ? notPgp() : malformedError(`an unexpected packet (type ${tag}) before the encrypted data`);
    }
  }
  result.recipients = recipients.map((r) => r.keyId);

  // 3. Is it for us?
  const byKeyId = new Map<string, number>();
  context.keys.keys.forEach((key, i) => {
    for (const id of key.decryptionKeyIds) byKeyId.set(id, i);
  });
  const ours = recipients.filter((r) => byKeyId.has(r.keyId) || r.keyId === WILDCARD);
  if (ours.length === 0) throw wrongKeyError(recipients, context.keys, passwords);

  const openpgp = await loadOpenpgp();
  // The decryptors copy what they keep of each piece: the body's gather buffers are reused (see packetBody).
  const body = new ByteReader(packetBody(reader, header, 'encrypted data packet', CHUNK, true));
  const version = header.tag === TAG.seipd ? await body.byte() : undefined;
  if (header.tag === TAG.seipd && version === undefined) throw truncatedError('at the start of the encrypted data');
  if (header.tag === TAG.aead || version === 2) {
    // SEIPD v2 (RFC 9580) or the LibrePGP AEAD packet: each chunk carries its own tag.
    const packetTag = header.tag === TAG.aead ? TAG.aead : TAG.seipd;
    const aeadVersion = header.tag === TAG.aead ? await body.byte() : version;
    const cipher = await body.byte();
    if (aeadVersion === undefined || cipher === undefined) throw truncatedError('at the start of the encrypted data');
    if (aeadVersion !== (packetTag === TAG.aead ? 1 : 2)) {
      throw unsupportedError(`an AEAD encrypted data packet of version ${aeadVersion}`);
    }
    result.integrity = 'aead';
    result.cipher = cipherName(cipher);
    const aead = await readAeadHeader(body, packetTag, aeadVersion, cipher);
    const sessionKey = await sessionKeyFor(openpgp, ours, context, cipher);
    if (!nativeAead(aead)) {
      result.compression = 'unknown';
      yield* viaOpenpgp(openpgp, recorder.replay(), context, sessionKey);
      return;
    }
    recorder.stop();
    result.cipher = sessionKey.algorithm;
    result.aead = aeadName(aead.aeadId);
    const integrity: Integrity = { verified: false, failure: undefined, authenticatedChunks: true };
    const plain = new ByteReader(aeadChunks(body, aead, sessionKey.data, integrity), (where) =>
      malformedError(`the decrypted content ends ${where}`),
    );
    yield* content(plain, integrity, context, reader, recorder, () => {
      throw unsupportedError('a compression format inside an AEAD message');
    });
    return;
  }
  if (version !== 1) throw unsupportedError(`an encrypted data packet of version ${version}`);
  result.integrity = 'mdc';

  const sessionKey = await sessionKeyFor(openpgp, ours, context, undefined);
  const cipher = block16FromId(sessionKey.algorithmId);
  result.cipher = sessionKey.algorithm;
  if (cipher === undefined) {
    result.compression = 'unknown';
    yield* viaOpenpgp(openpgp, recorder.replay(), context, sessionKey);
    return;
  }

  // 4. Native SEIPD v1.
  const integrity: Integrity = { verified: false, failure: undefined, authenticatedChunks: false };
  const bodyLength = header.length.kind === 'definite' ? header.length.length : undefined;
  const plain = new ByteReader(
    seipdV1(body, cipher, sessionKey.data, integrity, context.options.parallel, bodyLength),
    (where) => malformedError(`the decrypted content ends ${where}`),
  );
  yield* content(plain, integrity, context, reader, recorder, () => {
    // BZip2 or another format the native path leaves to openpgp.js: start over from the recorded bytes.
    result.compression = 'bzip2';
    return viaOpenpgp(openpgp, recorder.replay(), context, sessionKey);
  });
}

/**
 * The message inside the decrypted data (literal, compressed, signatures), then the end of the encrypted packet;
 * returns only after the integrity check (MDC or final AEAD tag) passed and nothing follows the message.
 */
async function* content(
  plain: ByteReader,
  integrity: Integrity,
  context: Context,
  reader: ByteReader,
  recorder: Recorder,
  otherwise: () => AsyncGenerator<Buffer>,
): AsyncGenerator<Buffer> {
  let inner: AsyncGenerator<Buffer> | undefined;
  try {
    inner = await innerMessage(plain, context);
  } catch (error) {
    throw await explain(error, plain, integrity);
  }
  if (inner === undefined) {
    yield* otherwise();
    return;
  }
  recorder.stop();
  try {
    yield* inner;
    // Everything after the literal data must be part of the message's end (signatures), then the MDC / final tag.
    const extra = await plain.drain();
    if (extra > 0) throw malformedError(`${extra} unexpected bytes after the literal data`);
  } catch (error) {
    throw await explain(error, plain, integrity);
  }
  if (!integrity.verified) throw integrityError('the integrity check was never made');
  // Nothing may follow the encrypted data packet (and armor must end properly).
  if (!(await reader.atEof())) throw malformedError('data after the end of the encrypted message');
}

interface Integrity {
  verified: boolean;
  failure: unknown;
  /** AEAD: every byte the content parser saw was authenticated already, so its errors stand as they are. */
  authenticatedChunks: boolean;
}

/**
 * An error inside the decrypted content may be the consequence of tampering: a broken structure, or an algorithm id
 * that is really a damaged byte. Unless it is decisive on its own, read the ciphertext to its end: a failing MDC is
 * then the real reason, and only content that passed its MDC is malformed or unsupported as such.
 */
const CONTENT_VERDICTS = new Set(['PGP_MALFORMED', 'PGP_UNSUPPORTED']);

async function explain(error: unknown, plain: ByteReader, integrity: Integrity): Promise<unknown> {
  if (integrity.failure !== undefined) return integrity.failure;
  if (!(error instanceof SftpctlError) || !CONTENT_VERDICTS.has(error.code) || integrity.authenticatedChunks)
    return error;
  try {
    await plain.drain();
  } catch {
    // reported below through `integrity`
  }
  if (integrity.failure !== undefined) return integrity.failure;
  if (!integrity.verified) return integrityError('the message could not be read to its end', error);
  return error;
}

/**
 * Decrypted SEIPD v1 content without the random prefix and without the MDC packet. Returns normally only if the MDC
 * matched; records the outcome in `integrity` as well (so no consumer can lose the verdict).
 */
async function* seipdV1(
  body: ByteReader,
  algorithm: Block16Algorithm,
  key: Uint8Array,
  integrity: Integrity,
  parallel: Parallelism | undefined,
  bodyLength: number | undefined,
): AsyncGenerator<Buffer> {
  const pool = new BufferPool(16 + CHUNK);
  const engine = new CfbDecryptEngine(algorithm, key, pool, parallel);
  // On 2+ cores the SHA-1 runs on the worker, next to this thread's AES-ECB + XOR of the following chunks.
  const sha1 = new StreamHasher(['sha1'], parallel, { minCores: 2 });
  if (bodyLength !== undefined && bodyLength >= SPAWN_AFTER_BYTES) sha1.prestart();
  try {
    const blocks = new CiphertextBlocks(pool);
    let prefixLeft = 18; // block size + 2
    // The MDC packet is the last 22 bytes: each chunk is held until the next one shows it is not the last.
    let held: Buffer = EMPTY;
    const works: { work: Buffer; length: number }[] = [];
    const queue: Pending[] = [];
    /** Hashes decrypted bytes and returns what follows the random prefix (or nothing). */
    const release = async (bytes: Buffer): Promise<Buffer | undefined> => {
      if (bytes.length === 0) return undefined;
      const wait = sha1.update(bytes);
      if (wait) await wait;
      if (prefixLeft > 0) {
        const skip = Math.min(prefixLeft, bytes.length);
        prefixLeft -= skip;
        bytes = bytes.subarray(skip);
      }
      return bytes.length > 0 ? bytes : undefined;
    };
    /** Takes the next decrypted chunk; returns the previous one, released. */
    const accept = async (chunk: Buffer): Promise<Buffer | undefined> => {
      if (chunk.length < 22) {
        held = held.length === 0 ? chunk : Buffer.concat([held, chunk]);
        return undefined;
      }
      const previous = held;
      held = chunk;
      return release(previous);
    };
    for (;;) {
      const piece = await body.some(CHUNK);
      if (piece === undefined) break;
      blocks.push(piece, works);
      for (const { work, length } of works) queue.push(engine.decrypt(work, length));
      works.length = 0;
      // With AES on the worker (parallel: true), a few chunks in flight keep it busy while this thread does the rest;
      // inline, each chunk is handed on at once (holding decrypted chunks back only costs memory).
      while (queue.length > (engine.offloaded ? IN_FLIGHT : 0)) {
        const out = await accept(await queue.shift()!);
        if (out) yield out;
      }
    }
    blocks.finish(works);
    for (const { work, length } of works) queue.push(engine.decrypt(work, length));
    while (queue.length > 0) {
      const out = await accept(await queue.shift()!);
      if (out) yield out;
    }
    if (held.length < 22 || prefixLeft > held.length - 22) {
      throw integrityError('the encrypted data is too short to hold its integrity check');
    }
    const last = await release(held.subarray(0, held.length - 22));
    if (last) yield last;
    const mdc = held.subarray(held.length - 22);
    if (mdc[0] !== 0xd3 || mdc[1] !== 0x14) throw integrityError('the modification detection code is missing');
    await sha1.update(mdc.subarray(0, 2));
    const { sha1: digest } = await sha1.digest();
    if (!timingSafeEqual(Buffer.from(digest, 'hex'), mdc.subarray(2))) {
      throw integrityError('the modification detection code (SHA-1) does not match');
    }
    integrity.verified = true;
  } catch (error) {
    integrity.failure = error;
    throw error;
  } finally {
    engine.close();
    sha1.close();
  }
}

/** Key id of a PKESK v3 or v6 packet body (v6: the last 8 bytes of a v4 fingerprint). */
function pkeskKeyId(body: Buffer): string | undefined {
  if (body[0] === 3 && body.length >= 10) return hex(body.subarray(1, 9));
  if (body[0] === 6 && body.length >= 2) {
    const length = body[1]!;
    if (length === 0) return WILDCARD;
    if (body.length < 2 + length) return undefined;
    const keyVersion = body[2]!;
    const fingerprint = body.subarray(3, 2 + length);
    return hex(keyVersion === 4 ? fingerprint.subarray(fingerprint.length - 8) : fingerprint.subarray(0, 8));
  }
  return undefined;
}

async function sessionKeyFor(
  openpgp: OpenPgpModule,
  recipients: Recipient[],
  context: Context,
  cipherFromPacket: number | undefined,
): Promise<SessionKey> {
  const opened = await openSessionKey(openpgp, recipients, context.keys, cipherFromPacket);
  context.result.keyId = opened.keyId;
  context.result.fingerprint = context.keys.keys[opened.keyIndex]!.fingerprint;
  return opened.sessionKey;
}

/** The digests asked for, de-duplicated; a name cast from user input is refused like hash-stream does. */
export function checkedAlgorithms(algorithms: readonly ChecksumAlgorithm[]): ChecksumAlgorithm[] {
  const unique = [...new Set(algorithms)];
  for (const a of unique) if (!CHECKSUM_ALGORITHMS.includes(a)) throw unknownAlgorithmError(String(a));
  return unique;
}

function notPgp(): SftpctlError {
  return pgpError(
    'PGP_NOT_PGP',
    'The file is not an OpenPGP message.',
    `${HINT_NOT_PUBLISHED} Ask the sender to encrypt it to the platform key (gpg --encrypt -r <key>) before uploading.`,
  );
}

function notEncrypted(what: string): SftpctlError {
  return pgpError(
    'PGP_NOT_ENCRYPTED',
    `The file is ${what}, not an encrypted one.`,
    `${HINT_NOT_PUBLISHED} Ask the sender to encrypt it to the platform key (gpg --encrypt -r <key>).`,
  );
}

function wrongKeyError(recipients: { keyId: string }[], keys: DecryptionKeys, passwords: number): SftpctlError {
  const ours = keys.keys.map((k) => `${k.decryptionKeyIds.join('/')} (key ${k.fingerprint})`).join(', ');
  const theirs =
    recipients.length > 0
      ? `key ID${recipients.length > 1 ? 's' : ''} ${recipients.map((r) => r.keyId).join(', ')}`
      : passwords > 0
        ? 'a password only'
        : 'no key at all';
  return pgpError(
    'PGP_WRONG_KEY',
    `The message is encrypted to ${theirs}; the keys configured here decrypt with ${ours}.`,
    `${HINT_NOT_PUBLISHED} The sender used another or an outdated public key: send them the current platform public key.`,
  );
}
