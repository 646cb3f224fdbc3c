import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ReadableStream } from 'node:stream/web';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm } from '../../../src/core/checksum/algorithms.js';
import {
  createDigestTap,
  createDigestTransformStream,
  createMultiHasher,
  hashStream,
} from '../../../src/core/checksum/hash-stream.js';
import { SftpctlError } from '../../../src/core/errors.js';

const ALL = [...CHECKSUM_ALGORITHMS];

function oneShot(data: Uint8Array): Record<ChecksumAlgorithm, string> {
  return Object.fromEntries(ALL.map((a) => [a, createHash(a).update(data).digest('hex')])) as Record<
    ChecksumAlgorithm,
    string
  >;
}

function chunked(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const p of [...points, data.length]) {
    chunks.push(data.subarray(start, p)); // empty chunks included on purpose
    start = p;
  }
  return chunks;
}

async function* generate(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const c of chunks) yield c;
}

describe('hashStream', () => {
  it('hashes the empty stream', async () => {
    const r = await hashStream(generate([]), ALL);
    expect(r.bytes).toBe(0);
    expect(r.digests).toEqual({
      md5: 'd41d8cd98f00b204e9800998ecf8427e',
      sha1: 'da39a3ee5e6b4b0d3255bfef95601890afd80709',
      sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      sha512:
        'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e',
    });
  });

  it('matches the FIPS 180 "abc" vector, from a Node Readable', async () => {
    const r = await hashStream(Readable.from([Buffer.from('a'), Buffer.from('bc')]), ['sha256']);
    expect(r).toEqual({
      bytes: 3,
      digests: { sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad' },
    });
  });

  it('reads web ReadableStreams and reports progress', async () => {
    const seen: number[] = [];
    const web = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new Uint8Array([1, 2]));
        controller.enqueue(new Uint8Array([3]));
        controller.close();
      },
    });
    const r = await hashStream(web, ['md5', 'md5'], { onProgress: (n) => seen.push(n) });
    expect(Object.keys(r.digests)).toEqual(['md5']);
    expect(r.digests.md5).toBe(
      createHash('md5')
        .update(Uint8Array.of(1, 2, 3))
        .digest('hex'),
    );
    expect(seen).toEqual([2, 3]);
  });

  it('refuses text chunks (a stream with setEncoding) and destroys the source', async () => {
    const source = Readable.from(['text']);
    const error = await hashStream(source, ['sha256']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SftpctlError);
    expect((error as SftpctlError).code).toBe('CHECKSUM_TEXT_CHUNK');
    expect(source.destroyed).toBe(true);
  });

  it('rejects with the source error', async () => {
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(1);
      throw new Error('disk on fire');
    }
    await expect(hashStream(failing(), ['sha256'])).rejects.toThrow('disk on fire');
  });

  it('rejects unknown algorithms passed at run time', async () => {
    const error = await hashStream(generate([]), ['sha384' as ChecksumAlgorithm]).catch((e: unknown) => e);
    expect((error as SftpctlError).code).toBe('CHECKSUM_UNKNOWN_ALGORITHM');
  });

  it('property: any chunking gives the one-shot digests', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 4096 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        async (data, cuts) => {
          const r = await hashStream(generate(chunked(data, cuts)), ALL);
          expect(r.bytes).toBe(data.length);
          expect(r.digests).toEqual(oneShot(data));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('createMultiHasher', () => {
  it('returns the same result twice and refuses data after the digest', () => {
    const h = createMultiHasher(['sha1']);
    h.update(Buffer.from('x'));
    const first = h.digest();
    expect(h.digest()).toBe(first);
    expect(() => h.update(Buffer.from('y'))).toThrow(SftpctlError);
  });
});

describe('createDigestTap', () => {
  it('passes the very same chunks through and exposes the digest at the end', async () => {
    const chunks = [Buffer.from('hello '), Buffer.from('world')];
    const tap = createDigestTap(['sha256', 'md5']);
    const received: Buffer[] = [];
    expect(tap.digest).toBeUndefined();
    await pipeline(
      Readable.from(chunks),
      tap,
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          received.push(chunk);
          cb();
        },
      }),
    );
    expect(received).toHaveLength(2);
    expect(received[0]).toBe(chunks[0]); // no copy
    expect(received[1]).toBe(chunks[1]);
    const expected = {
      bytes: 11,
      digests: { sha256: oneShot(Buffer.from('hello world')).sha256, md5: oneShot(Buffer.from('hello world')).md5 },
    };
    await expect(tap.result).resolves.toEqual(expected);
    expect(tap.digest).toEqual(expected);
    expect(tap.bytesHashed).toBe(11);
  });

  it('rejects its result when the pipeline fails before the end', async () => {
    const tap = createDigestTap(['sha256']);
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.from('partial');
      throw new Error('connection reset');
    }
    await expect(
      pipeline(
        failing(),
        tap,
        new Writable({
          write(_c, _e, cb) {
            cb();
          },
        }),
      ),
    ).rejects.toThrow('connection reset');
    await expect(tap.result).rejects.toThrow();
    expect(tap.digest).toBeUndefined();
  });

  it('rejects its result when destroyed without an error', async () => {
    const tap = createDigestTap(['sha256']);
    tap.write(Buffer.from('x'));
    tap.destroy();
    const error = await tap.result.catch((e: unknown) => e);
    expect((error as SftpctlError).code).toBe('CHECKSUM_STREAM_ABORTED');
  });

  it('an unobserved rejection does not become an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const tap = createDigestTap(['md5']);
      tap.on('error', () => {}); // the stream's own 'error' event is ordinary Node semantics
      tap.destroy(new Error('ignored'));
      createDigestTransformStream(['md5']).stream.readable.cancel('gone');
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });

  it('property: random chunkings through the tap equal the one-shot digest', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 4096 }), fc.array(fc.nat(), { maxLength: 8 }), async (data, cuts) => {
        const tap = createDigestTap(ALL);
        let passed = 0;
        await pipeline(
          Readable.from(chunked(Buffer.from(data), cuts).filter((c) => c.length > 0)),
          tap,
          new Writable({
            write(chunk: Buffer, _e, cb) {
              passed += chunk.length;
              cb();
            },
          }),
        );
        expect(passed).toBe(data.length);
        expect((await tap.result).digests).toEqual(oneShot(data));
      }),
      { numRuns: 100 },
    );
  });
});

describe('createDigestTransformStream', () => {
  it('hashes what flows through a web pipeThrough chain', async () => {
    const { stream, result } = createDigestTransformStream(['sha512']);
    const data = Buffer.from('web streams');
    const source = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(data.subarray(0, 3));
        c.enqueue(data.subarray(3));
        c.close();
      },
    });
    let out = 0;
    for await (const chunk of source.pipeThrough(stream)) out += chunk.byteLength;
    expect(out).toBe(data.length);
    expect(await result).toEqual({ bytes: data.length, digests: { sha512: oneShot(data).sha512 } });
  });

  it('rejects when the chain is cancelled', async () => {
    const { stream, result } = createDigestTransformStream(['sha256']);
    await stream.readable.cancel(new Error('client went away'));
    await expect(result).rejects.toThrow('client went away');
  });
});
