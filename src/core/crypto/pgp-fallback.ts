/**
 * The formats the native path leaves to openpgp.js — Twofish/Blowfish/CAST5/3DES, AEAD with a non-AES cipher — replayed from the
 * bytes read so far into openpgp.js's streaming decryption (unauthenticated streaming on, so SEIPD v1 streams; the
 * MDC / AEAD tag is still checked at the end and an error then fails the stream), behind the same error codes.
 */
import type { Buffer } from 'node:buffer';
import { ReadableStream } from 'node:stream/web';
import { SftpctlError } from '../errors.js';
import type { Context } from './pgp-decrypt.js';
import {
  decompressionLimitError,
  HINT_NOT_PUBLISHED,
  integrityError,
  malformedError,
  openpgpReason,
  pgpError,
} from './pgp-errors.js';
import type { OpenPgpModule } from './pgp-keys.js';
import { toBuffer } from './pgp-packets.js';
import type { SessionKey } from './pgp-session.js';

/** Bytes kept for a replay into openpgp.js; the decision to replay is made within the first 2 MiB or so. */
const MAX_RECORDED_BYTES = 16 * 1024 * 1024;

/** Replays the message into openpgp.js (streaming, unauthenticated streaming on, MDC/AEAD checked at the end). */
export async function* viaOpenpgp(
  openpgp: OpenPgpModule,
  replay: AsyncIterator<Uint8Array>,
  context: Context,
  sessionKey: SessionKey | undefined,
): AsyncGenerator<Buffer> {
  const { result } = context;
  result.engine = 'openpgp';
  const config = {
    allowUnauthenticatedStream: true,
    maxDecompressedMessageSize: context.limit,
  };
  const web = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const next = await replay.next();
          if (next.done) controller.close();
          else controller.enqueue(toBuffer(next.value));
        } catch (error) {
          controller.error(error);
        }
      },
      async cancel() {
        await replay.return?.();
      },
    },
    { highWaterMark: 0 },
  );
  let data: AsyncIterable<Uint8Array>;
  try {
    const message = await openpgp.readMessage({ binaryMessage: web as never, config });
    const decrypted = await openpgp.decrypt({
      message,
      format: 'binary',
      config,
      ...(sessionKey
        ? { sessionKeys: { data: sessionKey.data, algorithm: sessionKey.algorithm as 'aes256' } }
        : { decryptionKeys: [...context.keys.privateKeys] }),
    });
    result.fileName = decrypted.filename ?? '';
    result.signed = decrypted.signatures.length > 0;
    for (const signature of decrypted.signatures) signature.verified.catch(() => {});
    if (!sessionKey) {
      const ids = result.recipients.filter((id) => context.keys.keys.some((k) => k.decryptionKeyIds.includes(id)));
      result.keyId = ids[0] ?? '';
      result.fingerprint = context.keys.keys.find((k) => k.decryptionKeyIds.includes(result.keyId))?.fingerprint ?? '';
    }
    data = decrypted.data as unknown as AsyncIterable<Uint8Array>;
  } catch (error) {
    throw fromOpenpgp(error, context);
  }
  try {
    for await (const chunk of data) yield toBuffer(chunk);
  } catch (error) {
    const mapped = fromOpenpgp(error, context);
    // SEIPD v1 content streams before its MDC is checked: a broken inner structure (a BZip2 CRC, a packet header)
    // is what tampering looks like there, and the MDC verdict can no longer be had. AEAD chunks are authenticated.
    if (result.integrity === 'mdc' && mapped instanceof SftpctlError && mapped.code === 'PGP_MALFORMED') {
      throw integrityError(`the decrypted content is damaged (${openpgpReason(error)})`, error);
    }
    throw mapped;
  }
}

/** Maps openpgp.js errors (plain Errors) to our codes. */
function fromOpenpgp(error: unknown, context: Context): unknown {
  if (error instanceof SftpctlError) return error;
  const reason = openpgpReason(error);
  if (/Maximum decompressed message size exceeded|too much data|size exceeded/i.test(reason)) {
    return decompressionLimitError(context.limit, context.options.limitSetting, error);
  }
  if (/Modification detected|tag mismatch|unable to authenticate|integrity/i.test(reason)) {
    return integrityError(reason, error);
  }
  if (/Unexpected end|premature|truncat|ended unexpectedly|Unexpected eof/i.test(reason)) {
    return pgpError(
      'PGP_TRUNCATED',
      `The OpenPGP message ends too early (${reason}): the file is truncated.`,
      HINT_NOT_PUBLISHED,
      error,
    );
  }
  if (/Session key decryption failed|decrypting session key/i.test(reason)) {
    return integrityError(`the session key could not be decrypted (${reason})`, error);
  }
  if (/not supported|unsupported|Unknown/i.test(reason)) {
    return pgpError('PGP_UNSUPPORTED', `The OpenPGP message uses a feature that is not supported (${reason}).`);
  }
  return malformedError(reason, error);
}

/**
 * Records what is pulled from a source until stop(); replay() yields the recording, then the rest. Recording stops by
 * itself after MAX_RECORDED_BYTES (a hostile message could otherwise make it hold the whole file); a replay is then
 * no longer possible.
 */
export class Recorder implements AsyncIterator<Uint8Array> {
  private chunks: Uint8Array[] | undefined = [];
  private recorded = 0;
  private overflowed = false;
  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  async next(): Promise<IteratorResult<Uint8Array>> {
    const next = await this.source.next();
    if (!next.done && this.chunks) {
      this.recorded += next.value.length;
      if (this.recorded > MAX_RECORDED_BYTES) {
        this.chunks = undefined;
        this.overflowed = true;
      } else {
        this.chunks.push(next.value);
      }
    }
    return next;
  }

  async return(): Promise<IteratorResult<Uint8Array>> {
    await this.source.return?.();
    return { done: true, value: undefined };
  }

  stop(): void {
    this.chunks = undefined;
  }

  replay(): AsyncIterator<Uint8Array> {
    if (this.overflowed || this.chunks === undefined) {
      throw malformedError('the start of the encrypted content is too long to hand over to openpgp.js');
    }
    const recorded = this.chunks;
    this.chunks = undefined;
    const source = this.source;
    return (async function* () {
      yield* recorded;
      for (;;) {
        const next = await source.next();
        if (next.done) return;
        yield next.value;
      }
    })();
  }
}
