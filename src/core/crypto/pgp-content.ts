/**
 * The decrypted content of an encrypted message, parsed as it streams: optional one-pass signatures, an optional
 * ZIP/ZLIB compressed packet (inflated on node:zlib under the decompression limit), one literal data packet, trailing
 * signatures. BZip2 is inflated by pgp-bzip2.ts; unknown layouts are reported back (undefined) so the caller can hand
 * the message to openpgp.js.
 */
import type { Buffer } from 'node:buffer';
import { bunzip2 } from './pgp-bzip2.js';
import type { Context } from './pgp-decrypt.js';
import { decompressionLimitError, malformedError, unsupportedError } from './pgp-errors.js';
import {
  ByteReader,
  WORK_CHUNK as CHUNK,
  MAX_LEADING_PACKETS,
  type PacketHeader,
  packetBody,
  readPacketHeader,
  readSmallBody,
  TAG,
} from './pgp-packets.js';
import { compressionName, createDecompressor, throughZlib } from './pgp-zlib.js';

const LEADING_TAGS = new Set<number>([TAG.onePassSignature, TAG.signature, TAG.marker, TAG.padding]);
const FORMATS: Record<number, string> = { 98: 'binary', 116: 'text', 117: 'utf8', 109: 'mime', 108: 'local' };

/**
 * Parses the start of the decrypted content up to the literal data and returns the generator of its bytes, or
 * undefined when the content needs openpgp.js (BZip2, unknown compression).
 */
export async function innerMessage(plain: ByteReader, context: Context): Promise<AsyncGenerator<Buffer> | undefined> {
  const bad = () => malformedError('the decrypted content does not start with an OpenPGP packet');
  let header = await readPacketHeader(plain, bad);
  header = await skipLeading(plain, header, context);
  if (header?.tag === TAG.compressed) {
    const compressed = new ByteReader(packetBody(plain, header, 'compressed data packet', CHUNK), (where) =>
      malformedError(`the compressed data packet ends ${where}`),
    );
    const id = await compressed.byte();
    const name = id === undefined ? undefined : compressionName(id);
    if (id === undefined) throw malformedError('an empty compressed data packet');
    if (name === undefined) throw unsupportedError(`compression algorithm ${id}`);
    context.result.compression = name;
    const decompressed =
      name === 'none'
        ? compressed.rest()
        : name === 'bzip2'
          ? limited(bunzip2(compressed.rest()))
          : limited(throughZlib(compressed.rest(), createDecompressor(id as 1 | 2)));
    const inner = new ByteReader(decompressed, (where) => malformedError(`the decompressed content ends ${where}`));
    const literal = await literalPacket(inner, await skipLeading(inner, await readPacketHeader(inner, bad), context));
    return (async function* () {
      yield* literal(context);
      await trailing(inner, context);
      // Bytes after the end of the ZIP/ZLIB stream inside the packet are ignored (as zlib and GnuPG do).
      await compressed.drain();
    })();
  }
  const literal = await literalPacket(plain, header);
  return (async function* () {
    yield* literal(context);
    await trailing(plain, context);
  })();

  async function* limited(source: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
    let total = 0;
    for await (const chunk of source) {
      total += chunk.length;
      if (total > context.limit) throw decompressionLimitError(context.limit, context.options.limitSetting);
      yield chunk;
    }
  }
}

/** Skips one-pass signatures, old-style leading signatures and marker packets. */
async function skipLeading(
  reader: ByteReader,
  header: PacketHeader | undefined,
  context: Context,
): Promise<PacketHeader | undefined> {
  for (let count = 0; header && LEADING_TAGS.has(header.tag); count++) {
    if (count >= MAX_LEADING_PACKETS)
      throw malformedError(`more than ${MAX_LEADING_PACKETS} packets before the literal data`);
    if (header.tag !== TAG.marker && header.tag !== TAG.padding) context.result.signed = true;
    await readSmallBody(reader, header, 'signature packet');
    header = await readPacketHeader(reader, () => malformedError('a byte that is not a packet header'));
  }
  return header;
}

async function literalPacket(
  reader: ByteReader,
  header: PacketHeader | undefined,
): Promise<(context: Context) => AsyncGenerator<Buffer>> {
  if (header === undefined) throw malformedError('the encrypted content has no literal data');
  if (header.tag !== TAG.literal) {
    throw malformedError(`an unexpected packet (type ${header.tag}) where the literal data belongs`);
  }
  const literal = new ByteReader(packetBody(reader, header, 'literal data packet', CHUNK), (where) =>
    malformedError(`the literal data packet ends ${where}`),
  );
  const format = (await literal.exact(1, 'in its header'))[0]!;
  const nameLength = (await literal.exact(1, 'in its header'))[0]!;
  const fileName = (await literal.exact(nameLength, 'in its file name')).toString('utf8');
  const date = (await literal.exact(4, 'in its header')).readUInt32BE(0);
  return async function* (context: Context) {
    context.result.format = FORMATS[format] ?? `0x${format.toString(16)}`;
    context.result.fileName = fileName;
    context.result.date = date === 0 ? null : new Date(date * 1000);
    yield* literal.rest();
  };
}

/** After the literal data: signature packets only, then the end. */
async function trailing(reader: ByteReader, context: Context): Promise<void> {
  for (;;) {
    const header = await readPacketHeader(reader, () => malformedError('a byte that is not a packet header'));
    if (header === undefined) return;
    if (header.tag === TAG.signature) context.result.signed = true;
    else if (header.tag !== TAG.marker && header.tag !== TAG.padding) {
      throw malformedError(`an unexpected packet (type ${header.tag}) after the literal data`);
    }
    await readSmallBody(reader, header, 'signature packet');
  }
}
