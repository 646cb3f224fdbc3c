/**
 * Drives a node:zlib stream from an async iterable without node's stream plumbing deciding when the source is read
 * or closed: the source is fed with back-pressure, output is yielded as it comes, and this generator neither returns
 * nor throws while a read of the source is still in flight (so the caller may go on reading the same source).
 * zlib runs on the libuv thread pool, in parallel with the JavaScript thread.
 */
import type { Buffer } from 'node:buffer';
import {
  createDeflate,
  createDeflateRaw,
  createInflate,
  createInflateRaw,
  type Deflate,
  type Inflate,
} from 'node:zlib';
import { malformedError } from './pgp-errors.js';

/** OpenPGP compression algorithm ids (RFC 9580 §9.4). */
export const COMPRESSION_IDS = { none: 0, zip: 1, zlib: 2, bzip2: 3 } as const;
export type CompressionName = keyof typeof COMPRESSION_IDS;

export function compressionName(id: number): CompressionName | undefined {
  return (Object.keys(COMPRESSION_IDS) as CompressionName[]).find((name) => COMPRESSION_IDS[name] === id);
}

/** Output chunk of zlib: big enough that per-chunk overhead downstream does not matter. */
const ZLIB_CHUNK = 256 * 1024;

export function createDecompressor(id: 1 | 2): Inflate {
  return id === 1 ? createInflateRaw({ chunkSize: ZLIB_CHUNK }) : createInflate({ chunkSize: ZLIB_CHUNK });
}

export function createCompressor(id: 1 | 2): Deflate {
  return id === 1 ? createDeflateRaw({ chunkSize: ZLIB_CHUNK }) : createDeflate({ chunkSize: ZLIB_CHUNK });
}

type ZStream = Inflate | Deflate;

export async function* throughZlib(source: AsyncIterable<Uint8Array>, z: ZStream): AsyncGenerator<Buffer> {
  let closed = false;
  const feed = async (): Promise<void> => {
    for await (const piece of source) {
      if (closed) return;
      if (!z.write(piece)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            z.off('drain', done);
            z.off('close', done);
            resolve();
          };
          z.on('drain', done);
          z.on('close', done);
        });
      }
      if (closed) return;
    }
    if (!closed) z.end();
  };
  const fed: Promise<unknown> = feed().then(
    () => undefined,
    (error: unknown) => {
      if (!z.destroyed) z.destroy(error as Error);
      return error ?? new Error('source failed');
    },
  );
  let zError: unknown;
  let feedError: unknown;
  try {
    try {
      for await (const out of z as AsyncIterable<Buffer>) yield out;
    } catch (error) {
      zError = error ?? new Error('zlib failed');
    }
  } finally {
    closed = true;
    if (!z.destroyed) z.destroy();
    feedError = await fed;
  }
  // A failing source (truncated input, integrity failure) explains a zlib error, so it wins.
  if (feedError !== undefined) throw feedError;
  if (zError !== undefined) {
    if (
      zError instanceof Error &&
      'code' in zError &&
      typeof zError.code === 'string' &&
      zError.code.startsWith('Z_')
    ) {
      throw malformedError(`the compressed data is corrupt (${zError.message})`, zError);
    }
    throw zError;
  }
}
