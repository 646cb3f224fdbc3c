/**
 * The native BZip2 decoder against the real bzip2 (libbz2, as GnuPG uses it): every kind of data at the smallest and
 * largest block size, output in bounded chunks, and damage or truncation anywhere ends in an error — never a hang.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { bunzip2 } from '../../../src/core/crypto/pgp-bzip2.js';
import { SftpctlError } from '../../../src/core/errors.js';

function bzip2(data: Buffer, level: number): Buffer {
  return execFileSync('bzip2', [`-${level}`, '-c'], { input: data, maxBuffer: 256 << 20 });
}

async function* pieces(data: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

async function decode(data: Buffer, size = 65_521): Promise<{ out: Buffer; largest: number }> {
  const chunks: Buffer[] = [];
  let largest = 0;
  for await (const chunk of bunzip2(pieces(data, size))) {
    chunks.push(chunk);
    largest = Math.max(largest, chunk.length);
  }
  return { out: Buffer.concat(chunks), largest };
}

const text = Buffer.from(
  Array.from({ length: 40_000 }, (_, i) => `${i};ACME-${i % 97};${(i * 7919) % 100_003};EUR\n`).join(''),
);
const SAMPLES: Record<string, Buffer> = {
  'one byte': Buffer.from('x'),
  text,
  random: randomBytes(1_300_000),
  // runs of every length around the run-length step's 4 + count (0..255) and past it
  runs: Buffer.concat(Array.from({ length: 600 }, (_, i) => Buffer.alloc(i % 300, i & 0xff))),
  'all 256 byte values': Buffer.from(Array.from({ length: 256 * 40 }, (_, i) => (i * 31) & 0xff)),
};

describe('bunzip2', () => {
  it.each(Object.keys(SAMPLES))('%s: decodes what bzip2 -1 and -9 wrote', async (name) => {
    const data = SAMPLES[name]!;
    for (const level of [1, 9]) {
      const { out } = await decode(bzip2(data, level), 7_777);
      expect(out.equals(data), `level ${level}`).toBe(true);
    }
  });

  it('an empty stream decodes to nothing', async () => {
    expect((await decode(bzip2(Buffer.alloc(0), 9))).out).toHaveLength(0);
  });

  it('a block that expands ~45× leaves in chunks of at most 1 MiB', async () => {
    const zeros = Buffer.alloc(40 << 20);
    const compressed = bzip2(zeros, 9);
    expect(compressed.length).toBeLessThan(64 * 1024);
    const { out, largest } = await decode(compressed);
    expect(out.length).toBe(zeros.length);
    expect(largest).toBeLessThanOrEqual(1 << 20);
  });

  it('damage at any offset or truncation at any length is an error', async () => {
    const compressed = bzip2(Buffer.concat([text, randomBytes(200_000)]), 1);
    const offsets = [0, 1, 2, 3, 4, 5, 8, 10, 14, 20, 40, 100, 300, 1_000, 5_000];
    for (let at = 10_000; at < compressed.length; at += Math.floor(compressed.length / 23)) offsets.push(at);
    offsets.push(compressed.length - 10, compressed.length - 5, compressed.length - 1);
    for (const at of offsets) {
      // The last byte's low bits may be padding after the stream checksum (bzip2 ignores them too): its top bit is not.
      for (const mask of at === compressed.length - 1 ? [0x80] : [0x01, 0x80, 0xff]) {
        const damaged = Buffer.from(compressed);
        damaged[at] = damaged[at]! ^ mask;
        const error = await decode(damaged).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, `offset ${at} mask ${mask} of ${compressed.length}`).toBeInstanceOf(SftpctlError);
      }
      const error = await decode(compressed.subarray(0, at)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, `cut at ${at}`).toBeInstanceOf(SftpctlError);
    }
  }, 60_000);
});
