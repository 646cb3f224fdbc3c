/**
 * Native streaming AEAD (pgp-aead.ts): SEIPD v2 made by openpgp.js in OCB, GCM and EAX (v4 and v6 keys, AES-128 and
 * AES-256), and the LibrePGP AEAD packet (tag 20) made by RNP in OCB and EAX. Each decrypts natively with many small
 * chunks and read pieces that straddle them; damage at a chunk boundary, inside a chunk, in a chunk's tag and in the
 * final tag, and truncation at the same places, end in an error with nothing staged.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePgpKeyPair, type PgpKeyPair } from '../../../src/core/crypto/pgp-keygen.js';
import {
  type DecryptionKeys,
  decryptStream,
  encryptStream,
  readDecryptionKeys,
  readRecipientKey,
} from '../../../src/core/crypto/pgp-stream.js';
import { streamToNewFile } from '../../../src/io/files.js';
import { consume, expectFailure, sourceOf } from './pgp-fixtures.js';

let dir: string;
let pair: PgpKeyPair;
let keys: DecryptionKeys;
const plain = randomBytes(300_000);

interface Sample {
  name: string;
  message: Buffer;
  /** Ciphertext bytes per chunk, tag included. */
  chunk: number;
  cipher: string;
  aead: string;
}
const samples: Sample[] = [];

function rnp(args: string[], input?: Buffer): Buffer {
  return execFileSync('rnp', ['--homedir', join(dir, 'rnp'), ...args], { input, maxBuffer: 64 << 20, stdio: 'pipe' });
}

async function openpgpSample(
  aead: 'ocb' | 'gcm' | 'eax',
  v6Keys: boolean,
  cipher: 'aes128' | 'aes256',
  chunkSizeByte: number,
): Promise<{ sample: Sample; keys: DecryptionKeys }> {
  const config = {
    v6Keys,
    aeadProtect: true,
    preferredAEADAlgorithm: openpgp.enums.aead[aead],
    preferredSymmetricAlgorithm: openpgp.enums.symmetric[cipher],
    aeadChunkSizeByte: chunkSizeByte,
  };
  const { privateKey, publicKey } = await openpgp.generateKey({ type: 'curve25519', userIDs: [{ name: 'x' }], config });
  const encryptionKeys = await openpgp.readKey({ armoredKey: publicKey });
  const message = await openpgp.encrypt({
    message: await openpgp.createMessage({ binary: plain }),
    encryptionKeys,
    format: 'binary',
    config,
  });
  return {
    sample: {
      name: `openpgp.js SEIPDv2 ${aead} ${cipher} ${v6Keys ? 'v6' : 'v4'} key`,
      message: Buffer.from(message as Uint8Array),
      chunk: 2 ** (chunkSizeByte + 6) + 16,
      cipher,
      aead,
    },
    keys: await readDecryptionKeys([privateKey]),
  };
}

const sampleKeys = new Map<string, DecryptionKeys>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sftpctl-aead-'));
  pair = await generatePgpKeyPair({ name: 'Ingress', email: 'in@example.invalid', type: 'curve25519' });
  mkdirSync(join(dir, 'rnp'), { mode: 0o700 });
  writeFileSync(join(dir, 'pub.asc'), pair.publicKey);
  execFileSync('rnpkeys', ['--homedir', join(dir, 'rnp'), '--import', join(dir, 'pub.asc')], { stdio: 'pipe' });
  keys = await readDecryptionKeys([pair.privateKey]);
  for (const mode of ['ocb', 'eax'] as const) {
    for (const bits of [4, 12]) {
      samples.push({
        name: `rnp AEAD packet ${mode} (chunk bits ${bits})`,
        message: rnp(
          ['-e', '-r', pair.fingerprint, `--aead=${mode}`, `--aead-chunk-bits=${bits}`, '-z', '0', '--output=-'],
          plain,
        ),
        chunk: 2 ** (bits + 6) + 16,
        cipher: 'aes256',
        aead: mode,
      });
      sampleKeys.set(samples.at(-1)!.name, keys);
    }
  }
  for (const [aead, v6, cipher, c] of [
    ['ocb', true, 'aes256', 4],
    ['gcm', true, 'aes128', 4],
    ['eax', false, 'aes256', 4],
    ['ocb', false, 'aes128', 10],
  ] as const) {
    const made = await openpgpSample(aead, v6, cipher, c);
    samples.push(made.sample);
    sampleKeys.set(made.sample.name, made.keys);
  }
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('native AEAD decryption', () => {
  it('decrypts every sample natively, whatever the read pieces', async () => {
    expect(samples).toHaveLength(8);
    for (const sample of samples) {
      for (const piece of [1021, 65_521, 1 << 20]) {
        const { plaintext, verified } = decryptStream(sourceOf(sample.message, piece), sampleKeys.get(sample.name)!);
        const consumed = await consume(plaintext);
        expect(consumed.error, sample.name).toBeUndefined();
        expect(consumed.data.equals(plain), sample.name).toBe(true);
        expect(await verified, sample.name).toMatchObject({
          integrity: 'aead',
          engine: 'native',
          cipher: sample.cipher,
          aead: sample.aead,
        });
      }
    }
  });

  it('refuses damage at a chunk boundary, inside a chunk, in a chunk tag and in the final tag; nothing staged', async () => {
    for (const sample of samples) {
      const n = sample.message.length;
      // The body ends with [last chunk … its tag][final tag]; chunks before it are `chunk` bytes each.
      const lastChunkStart = n - 32 - (plain.length % (sample.chunk - 16) || sample.chunk - 16);
      const offsets = {
        'final tag': n - 3,
        'last chunk tag': n - 20,
        'chunk boundary': lastChunkStart - 16,
        'after a chunk boundary': lastChunkStart,
        'inside a chunk': n >> 1,
        'first chunk': n - plain.length - 16 * Math.ceil(plain.length / (sample.chunk - 16)),
      };
      for (const [where, offset] of Object.entries(offsets)) {
        const tampered = Buffer.from(sample.message);
        tampered[offset]! ^= 0x40;
        const out = join(dir, 'out', `${sample.name} ${where}`.replace(/\W+/g, '-'));
        mkdirSync(join(dir, 'out'), { recursive: true });
        const { plaintext, verified } = decryptStream(sourceOf(tampered), sampleKeys.get(sample.name)!);
        const error = await streamToNewFile(plaintext, out, { verified }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, `${sample.name}: ${where}`).toMatchObject({ code: 'PGP_INTEGRITY_FAILED' });
        expect(existsSync(out)).toBe(false);
      }
      expect(readdirSync(join(dir, 'out'))).toEqual([]);
    }
  });

  it('refuses truncation at the final tag, at a chunk boundary and inside a chunk', async () => {
    for (const sample of samples) {
      const n = sample.message.length;
      for (const cut of [n - 1, n - 16, n - 32, n - 32 - sample.chunk, n >> 1, 200]) {
        await expectFailure(decryptStream(sourceOf(sample.message.subarray(0, cut)), sampleKeys.get(sample.name)!), [
          'PGP_TRUNCATED',
          'PGP_INTEGRITY_FAILED',
        ]);
      }
    }
  });

  it('an empty message: its tags are checked, the empty-file policy applies', async () => {
    const message = rnp(['-e', '-r', pair.fingerprint, '--aead=ocb', '-z', '0', '--output=-'], Buffer.alloc(0));
    await expectFailure(decryptStream(sourceOf(message), keys), 'PGP_EMPTY_INPUT');
    const { plaintext, verified } = decryptStream(sourceOf(message), keys, { allowEmpty: true });
    expect((await consume(plaintext)).data.length).toBe(0);
    expect(await verified).toMatchObject({ integrity: 'aead', engine: 'native', empty: true });
    const tampered = Buffer.from(message);
    tampered[tampered.length - 1]! ^= 1;
    await expectFailure(decryptStream(sourceOf(tampered), keys, { allowEmpty: true }), 'PGP_INTEGRITY_FAILED');
  });

  it('compressed content and the decompression limit apply inside AEAD', async () => {
    const text = Buffer.from('a line of a partner file\n'.repeat(40_000));
    for (const z of ['--zip', '--zlib', '--bzip2']) {
      const message = rnp(['-e', '-r', pair.fingerprint, '--aead=ocb', z, '--output=-'], text);
      const { plaintext, verified } = decryptStream(sourceOf(message), keys);
      expect((await consume(plaintext)).data.equals(text), z).toBe(true);
      expect(await verified).toMatchObject({ engine: 'native', integrity: 'aead' });
      await expectFailure(
        decryptStream(sourceOf(message), keys, { maxDecompressedBytes: 100_000 }),
        'PGP_DECOMPRESSION_LIMIT',
      );
    }
  });
});

describe('egress to a v6 (RFC 9580) partner key', () => {
  it('writes a v6 session key packet and SEIPD v2 (OCB) that openpgp.js and we decrypt; tampering refused', async () => {
    const { privateKey, publicKey } = await openpgp.generateKey({
      type: 'curve25519',
      userIDs: [{ name: 'Partner' }],
      config: { v6Keys: true },
    });
    const recipient = await readRecipientKey(publicKey);
    expect(recipient.format).toBe('seipdv2');
    const data = randomBytes(5 * 1024 * 1024 + 17); // more than one 4 MiB chunk
    const { ciphertext, done } = encryptStream(sourceOf(data), recipient);
    const message = (await consume(ciphertext)).data;
    expect(await done).toMatchObject({ integrity: 'aead', plaintextBytes: data.length });

    const parsed = await openpgp.readMessage({ binaryMessage: message });
    const packets = parsed.packets.map((p) => [
      (p.constructor as { tag?: number }).tag,
      (p as { version?: number }).version,
    ]);
    expect(packets).toEqual([
      [1, 6],
      [18, 2],
    ]);
    const decrypted = await openpgp.decrypt({
      message: parsed,
      decryptionKeys: await openpgp.readPrivateKey({ armoredKey: privateKey }),
      format: 'binary',
    });
    expect(Buffer.from(decrypted.data as Uint8Array).equals(data)).toBe(true);

    const ours = await readDecryptionKeys([privateKey]);
    const { plaintext, verified } = decryptStream(sourceOf(message), ours);
    expect((await consume(plaintext)).data.equals(data)).toBe(true);
    expect(await verified).toMatchObject({ engine: 'native', integrity: 'aead', aead: 'ocb', cipher: 'aes256' });
    for (const offset of [message.length - 1, message.length - 30, message.length >> 1]) {
      const tampered = Buffer.from(message);
      tampered[offset]! ^= 0x10;
      await expectFailure(decryptStream(sourceOf(tampered), ours), 'PGP_INTEGRITY_FAILED');
    }
  });
});
