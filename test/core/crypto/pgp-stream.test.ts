/**
 * The PGP stream module against the real GnuPG 2.2 both ways, against openpgp.js, and under attack: every failure
 * must make the plaintext stream ERROR (never end) with a stable code, so nothing unverified is ever published.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type DecryptionKeys,
  type DecryptOptions,
  decryptStream,
  type EncryptOptions,
  encryptStream,
  PGP_ERROR_CODES,
  type RecipientKey,
  readDecryptionKeys,
  readRecipientKey,
} from '../../../src/core/crypto/pgp-stream.js';
import type { SftpctlError } from '../../../src/core/errors.js';
import { consume, createGpgHome, expectFailure, type GpgHome, randomData, sourceOf } from './pgp-fixtures.js';

const MiB = 1024 * 1024;
let home: GpgHome;

interface KeyPair {
  name: string;
  uid: string;
  publicKey: string;
  privateKey: string;
}
const keys: Record<'gpgRsa' | 'gpgEcc' | 'opgpEcc' | 'opgpRsa', KeyPair> = {} as never;
let lockedKey: string;
let v6Key: { publicKey: string; privateKey: string };
let x25519v4PublicKey: string;
let signOnlyPublicKey: string;
/** Our keys: every pair above. */
let allKeys: DecryptionKeys;

/** 2 MiB + a little: not a multiple of the AES block or of any chunk size. */
const plain = randomData(2 * MiB + 12_345);

function gpgEncrypt(
  pair: KeyPair,
  data: Buffer,
  extra: string[] = [],
  { viaStdin = false }: { viaStdin?: boolean } = {},
): Buffer {
  if (viaStdin) return home.gpg(['-r', pair.uid, ...extra, '-e'], data); // unknown length: partial body lengths
  const input = home.file('gpg-input.bin', data);
  return home.gpg(['-r', pair.uid, ...extra, '-o', '-', '-e', input]); // a file: definite lengths
}

function gpgDecrypt(data: Buffer): Buffer {
  return home.gpg(['--decrypt'], data);
}

async function decrypt(data: Buffer, with_: DecryptionKeys = allKeys, options: DecryptOptions = {}, piece?: number) {
  const { plaintext, verified } = decryptStream(sourceOf(data, piece), with_, options);
  const consumed = await consume(plaintext);
  if (consumed.error) throw consumed.error;
  expect(consumed.ended).toBe(true);
  return { data: consumed.data, result: await verified };
}

async function encrypt(data: Buffer, recipient: RecipientKey, options: EncryptOptions = {}) {
  const { ciphertext, done } = encryptStream(sourceOf(data), recipient, options);
  const consumed = await consume(ciphertext);
  if (consumed.error) throw consumed.error;
  return { data: consumed.data, result: await done };
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function flip(data: Buffer, at: number): Buffer {
  const copy = Buffer.from(data);
  copy[at] = copy[at]! ^ 0x01;
  return copy;
}

beforeAll(async () => {
  home = createGpgHome();
  const gen = (uid: string, algo: string, usage: string) => home.gpg(['--quick-gen-key', uid, algo, usage, 'never']);
  gen('RSA Partner <rsa@example.invalid>', 'rsa3072', 'sign');
  home.gpg(['--quick-add-key', home.fingerprint('<rsa@example.invalid>'), 'rsa3072', 'encr', 'never']);
  gen('ECC Partner <ecc@example.invalid>', 'future-default', 'default');
  gen('Sign Only <sign@example.invalid>', 'ed25519', 'sign');
  for (const [name, email] of [
    ['gpgRsa', '<rsa@example.invalid>'],
    ['gpgEcc', '<ecc@example.invalid>'],
  ] as const) {
    keys[name] = {
      name,
      uid: email,
      publicKey: home.gpg(['--armor', '--export', email]).toString(),
      privateKey: home.gpg(['--armor', '--export-secret-keys', email]).toString(),
    };
  }
  signOnlyPublicKey = home.gpg(['--armor', '--export', '<sign@example.invalid>']).toString();

  const generate = async (email: string, options: Record<string, unknown>) =>
    openpgp.generateKey({ userIDs: [{ name: 'openpgp.js', email }], format: 'armored', ...options } as never);
  const [ecc, rsa, locked, v6, x25519] = await Promise.all([
    generate('o-ecc@example.invalid', { type: 'ecc', curve: 'curve25519Legacy' }),
    generate('o-rsa@example.invalid', { type: 'rsa', rsaBits: 3072 }),
    generate('locked@example.invalid', { type: 'ecc', curve: 'curve25519Legacy', passphrase: 'correct horse' }),
    generate('v6@example.invalid', { type: 'curve25519', config: { v6Keys: true } }),
    generate('x25519@example.invalid', { type: 'curve25519' }),
  ]);
  keys.opgpEcc = { name: 'opgpEcc', uid: '<o-ecc@example.invalid>', ...ecc };
  keys.opgpRsa = { name: 'opgpRsa', uid: '<o-rsa@example.invalid>', ...rsa };
  lockedKey = locked.privateKey;
  v6Key = v6;
  x25519v4PublicKey = x25519.publicKey;
  // GnuPG must be able to use the openpgp.js keys too (interop the other way).
  home.gpg(['--import'], ecc.privateKey);
  home.gpg(['--import'], rsa.privateKey);

  allKeys = await readDecryptionKeys(Object.values(keys).map((k) => k.privateKey));
}, 120_000);

afterAll(() => home?.cleanup());

describe('keys', () => {
  it('reads partner public keys made by gpg and openpgp.js and picks the encryption subkey gpg would', async () => {
    for (const pair of Object.values(keys)) {
      const key = await readRecipientKey(pair.publicKey);
      expect(key.cipher).toBe('aes256');
      const listed = home.gpg(['--with-colons', '--list-keys', pair.uid]).toString();
      const subkey = listed.split('\n').find((l) => l.startsWith('sub:') && l.split(':')[11]!.includes('e'));
      expect(subkey?.split(':')[4]).toBe(key.encryptionKeyId);
      expect(key.fingerprint).toBe(home.fingerprint(pair.uid));
    }
    // Binary works the same.
    const binary = home.gpg(['--export', '<ecc@example.invalid>']);
    expect((await readRecipientKey(binary)).fingerprint).toBe(home.fingerprint('<ecc@example.invalid>'));
  });

  it('accepts a v6 (RFC 9580) partner key: messages to it are SEIPD v2', async () => {
    expect(await readRecipientKey(v6Key.publicKey)).toMatchObject({ format: 'seipdv2' });
  });

  it('refuses keys GnuPG 2.2 partners cannot use, with a clear code', async () => {
    await expect(readRecipientKey(x25519v4PublicKey)).rejects.toMatchObject({ code: 'PGP_KEY_RFC9580_ALGORITHM' });
    await expect(readRecipientKey(signOnlyPublicKey)).rejects.toMatchObject({ code: 'PGP_KEY_NO_ENCRYPTION_SUBKEY' });
    await expect(readRecipientKey(keys.gpgEcc.privateKey)).rejects.toMatchObject({ code: 'PGP_KEY_IS_PRIVATE' });
    await expect(readRecipientKey('not a key')).rejects.toMatchObject({ code: 'PGP_KEY_INVALID' });
  });

  it('accepts a v6 (RFC 9580) private key for decryption: SEIPD v1 and v2 messages to it decrypt', async () => {
    // openpgp.js writes SEIPD v2 (with a v6 PKESK) only to keys that advertise it.
    const aeadV6 = await openpgp.generateKey({
      type: 'curve25519',
      userIDs: [{ email: 'v6-aead@example.invalid' }],
      config: { v6Keys: true, aeadProtect: true },
    });
    for (const [pair, aeadProtect] of [
      [v6Key, false],
      [aeadV6, true],
    ] as const) {
      const v6Keys = await readDecryptionKeys([pair.privateKey]);
      const rotation = await readDecryptionKeys([keys.gpgEcc.privateKey, pair.privateKey]);
      const encryptionKeys = await openpgp.readKey({ armoredKey: pair.publicKey });
      const message = await openpgp.createMessage({ binary: plain });
      const encrypted = Buffer.from(
        (await openpgp.encrypt({ message, encryptionKeys, format: 'binary', config: { aeadProtect } })) as Uint8Array,
      );
      const { data, result } = await decrypt(encrypted, v6Keys);
      expect(data.equals(plain)).toBe(true);
      expect(result).toMatchObject({
        integrity: aeadProtect ? 'aead' : 'mdc',
        fingerprint: v6Keys.keys[0]!.fingerprint,
      });
      const tampered = Buffer.from(encrypted);
      tampered[tampered.length >> 1]! ^= 0x01;
      await expectFailure(decryptStream(sourceOf(tampered), v6Keys), 'PGP_INTEGRITY_FAILED');
      // A v6 key among v4 ones (a rotation): still found by its key id.
      expect((await decrypt(encrypted, rotation)).data.equals(plain)).toBe(true);
    }
  });

  it('unlocks protected private keys and names the problem when it cannot', async () => {
    await expect(readDecryptionKeys([lockedKey])).rejects.toMatchObject({ code: 'PGP_KEY_LOCKED' });
    const wrong = await readDecryptionKeys([lockedKey], 'wrong').catch((e: unknown) => e);
    expect(wrong).toMatchObject({ code: 'PGP_PASSPHRASE_WRONG' });
    expect((wrong as Error).message).not.toContain('wrong'); // never echo the passphrase
    const unlocked = await readDecryptionKeys([lockedKey], 'correct horse');
    expect(unlocked.keys[0]!.decryptionKeyIds).toHaveLength(1);
    await expect(readDecryptionKeys([keys.gpgEcc.publicKey])).rejects.toMatchObject({ code: 'PGP_KEY_NOT_PRIVATE' });
  });
});

describe('gpg → sftpctl (ingress)', () => {
  const cases = (['gpgRsa', 'gpgEcc'] as const).flatMap((key) =>
    (['zlib', 'zip', 'none'] as const).flatMap((compression) =>
      [false, true].map((armor) => ({ key, compression, armor })),
    ),
  );
  it.each(cases)('decrypts $key, compression $compression, armor $armor', async ({ key, compression, armor }) => {
    const message = gpgEncrypt(keys[key], plain, ['--compress-algo', compression, ...(armor ? ['-a'] : [])]);
    const { data, result } = await decrypt(message, allKeys, { digests: ['sha256'] });
    expect(sha256(data)).toBe(sha256(plain));
    expect(result).toMatchObject({
      engine: 'native',
      integrity: 'mdc',
      cipher: 'aes256',
      compression: compression === 'none' ? 'none' : compression,
      armored: armor,
      fileName: 'gpg-input.bin',
      plaintextBytes: plain.length,
      signed: false,
    });
    expect(result.digests.sha256).toBe(sha256(plain));
  });

  it('decrypts what gpg streams from a pipe (partial body lengths at every layer)', async () => {
    for (const compression of ['zlib', 'none']) {
      const message = gpgEncrypt(keys.gpgEcc, plain, ['--compress-algo', compression], { viaStdin: true });
      const { data } = await decrypt(message, allKeys, {}, 1000);
      expect(data.equals(plain)).toBe(true);
    }
  });

  it('decrypts signed-and-encrypted messages (signatures are reported, not verified)', async () => {
    const message = home.gpg(
      ['-r', '<ecc@example.invalid>', '-u', '<rsa@example.invalid>', '--sign', '--encrypt'],
      plain,
    );
    const { data, result } = await decrypt(message);
    expect(data.equals(plain)).toBe(true);
    expect(result.signed).toBe(true);
  });

  it('decrypts BZip2 natively and hands non-AES ciphers to openpgp.js with the same contract', async () => {
    const bzip2 = gpgEncrypt(keys.gpgEcc, plain, ['--compress-algo', 'bzip2']);
    const viaBzip2 = await decrypt(bzip2);
    expect(viaBzip2.data.equals(plain)).toBe(true);
    expect(viaBzip2.result).toMatchObject({ engine: 'native', compression: 'bzip2' });
    const cast5 = gpgEncrypt(keys.gpgRsa, plain, ['--cipher-algo', 'CAST5']);
    const viaCast5 = await decrypt(cast5);
    expect(viaCast5.data.equals(plain)).toBe(true);
    expect(viaCast5.result).toMatchObject({ engine: 'openpgp', cipher: 'cast5' });
    await expectFailure(decryptStream(sourceOf(flip(bzip2, bzip2.length >> 1)), allKeys), 'PGP_INTEGRITY_FAILED');
  });

  it('finds the key for hidden recipients and for messages to several recipients', async () => {
    const hidden = gpgEncrypt(keys.gpgEcc, plain, ['--throw-keyids']);
    const viaHidden = await decrypt(hidden);
    expect(viaHidden.data.equals(plain)).toBe(true);
    expect(viaHidden.result.recipients).toEqual(['0000000000000000']);
    const several = gpgEncrypt(keys.gpgEcc, plain, ['-r', '<rsa@example.invalid>']);
    const rsaOnly = await readDecryptionKeys([keys.gpgRsa.privateKey]);
    const viaSeveral = await decrypt(several, rsaOnly);
    expect(viaSeveral.data.equals(plain)).toBe(true);
    expect(viaSeveral.result.recipients).toHaveLength(2);
    expect(rsaOnly.keys[0]!.decryptionKeyIds).toContain(viaSeveral.result.keyId);
  });

  it('decrypts with the second key of a rotation when the message is for it', async () => {
    const rotation = await readDecryptionKeys([keys.gpgRsa.privateKey, keys.gpgEcc.privateKey]);
    const { data, result } = await decrypt(gpgEncrypt(keys.gpgEcc, plain));
    expect(data.equals(plain)).toBe(true);
    const viaRotation = await decrypt(gpgEncrypt(keys.gpgEcc, plain), rotation);
    expect(viaRotation.data.equals(plain)).toBe(true);
    expect(rotation.keys[1]!.decryptionKeyIds).toContain(viaRotation.result.keyId);
    expect(viaRotation.result.fingerprint).toBe(rotation.keys[1]!.fingerprint);
    expect(result.keyId).toBe(viaRotation.result.keyId);
  });
});

describe('sftpctl → gpg (egress)', () => {
  const cases = (['gpgRsa', 'gpgEcc', 'opgpEcc', 'opgpRsa'] as const).flatMap((key) =>
    [false, true].map((armor) => ({ key, armor })),
  );
  it.each(cases)('gpg decrypts what we encrypt to $key (armor $armor)', async ({ key, armor }) => {
    const recipient = await readRecipientKey(keys[key].publicKey);
    const { data, result } = await encrypt(plain, recipient, { armor, fileName: 'report.csv', digests: ['sha256'] });
    expect(gpgDecrypt(data).equals(plain)).toBe(true);
    expect(result).toMatchObject({ plaintextBytes: plain.length, ciphertextBytes: data.length, armored: armor });
    expect(result.digests.sha256).toBe(sha256(plain));
    if (armor)
      expect(data.toString('latin1')).toMatch(
        /^-----BEGIN PGP MESSAGE-----\n\n[\s\S]+\n=[\w+/]{4}\n-----END PGP MESSAGE-----\n$/,
      );
  });

  it('writes SEIPD v1 with an MDC, AES-256, no AEAD, no compression unless asked', async () => {
    const recipient = await readRecipientKey(keys.gpgEcc.publicKey);
    const { data } = await encrypt(Buffer.from('hello'), recipient, { fileName: 'hello.txt' });
    const listing = home.gpg(['--list-packets', '--show-session-key'], data).toString();
    expect(listing).toContain(':pubkey enc packet: version 3');
    expect(listing).toContain('mdc_method: 2');
    expect(listing).toContain('name="hello.txt"');
    expect(listing).not.toMatch(/aead|compressed packet/i);
    const zipped = await encrypt(plain, recipient, { compression: 'zlib' });
    expect(home.gpg(['--list-packets'], zipped.data).toString()).toContain(':compressed packet: algo=2');
    expect(gpgDecrypt(zipped.data).equals(plain)).toBe(true);
  });

  it('round-trips through our own decrypt, empty and tiny files included', async () => {
    const recipient = await readRecipientKey(keys.opgpEcc.publicKey);
    for (const size of [0, 1, 15, 16, 17, 511, 512, 513, MiB, MiB + 1]) {
      const data = randomData(size);
      const message = await encrypt(data, recipient);
      const back = await decrypt(message.data, allKeys, { allowEmpty: true }, 4096);
      expect(back.data.equals(data), `size ${size}`).toBe(true);
      if (size === 0) expect(gpgDecrypt(message.data).length).toBe(0);
    }
  });

  it('gives the same bytes when AES runs on the worker thread', async () => {
    const recipient = await readRecipientKey(keys.gpgRsa.publicKey);
    const big = randomData(5 * MiB + 3);
    const message = await encrypt(big, recipient, { parallel: true });
    expect(gpgDecrypt(message.data).equals(big)).toBe(true);
    const back = await decrypt(message.data, allKeys, { parallel: true });
    expect(back.data.equals(big)).toBe(true);
    await expectFailure(
      decryptStream(sourceOf(flip(message.data, message.data.length >> 1)), allKeys, { parallel: true }),
      'PGP_INTEGRITY_FAILED',
    );
  });
});

describe('long messages (the MDC hashed on the worker thread)', () => {
  // 'auto' moves a decryption's SHA-1 to the worker on 2+ cores once a message passes a few MiB: whatever thread
  // hashes, every byte counts, and a change anywhere — early, late, in the MDC itself — fails the message.
  let data: Buffer;
  let message: Buffer;
  beforeAll(() => {
    data = randomData(20 * MiB + 333);
    message = gpgEncrypt(keys.gpgEcc, data, ['--compress-algo', 'none']);
  });

  it('decrypts, with the same bytes and checksums whichever thread hashes', async () => {
    for (const parallel of ['auto', false, true] as const) {
      const back = await decrypt(message, allKeys, { parallel, digests: ['sha256'] }, MiB + 7);
      expect(back.data.equals(data), `parallel ${parallel}`).toBe(true);
      expect(back.result.digests.sha256).toBe(sha256(data));
      expect(back.result.integrity).toBe('mdc');
    }
  });

  it('fails on a change near the start, near the end and in the MDC', async () => {
    for (const at of [200, message.length - 30 * 1024, message.length - 30, message.length - 1]) {
      await expectFailure(decryptStream(sourceOf(flip(message, at), MiB), allKeys), 'PGP_INTEGRITY_FAILED');
    }
  });
});

describe('openpgp.js messages', () => {
  it('decrypts SEIPD v1 and SEIPD v2 (AEAD) messages made by openpgp.js', async () => {
    // openpgp.js writes SEIPD v2 only to keys that advertise it: one made with aeadProtect does.
    const aeadPair = await openpgp.generateKey({
      type: 'ecc',
      curve: 'curve25519Legacy',
      userIDs: [{ email: 'aead@example.invalid' }],
      config: { aeadProtect: true },
    });
    const withAead = await readDecryptionKeys([keys.gpgRsa.privateKey, aeadPair.privateKey]);
    for (const [armoredKey, aeadProtect] of [
      [keys.opgpEcc.publicKey, false],
      [aeadPair.publicKey, true],
    ] as const) {
      const encryptionKeys = await openpgp.readKey({ armoredKey });
      const message = await openpgp.createMessage({ binary: plain });
      const encrypted = Buffer.from(
        (await openpgp.encrypt({ message, encryptionKeys, format: 'binary', config: { aeadProtect } })) as Uint8Array,
      );
      const { data, result } = await decrypt(encrypted, aeadProtect ? withAead : allKeys);
      expect(data.equals(plain)).toBe(true);
      expect(result).toMatchObject(
        aeadProtect
          ? { integrity: 'aead', engine: 'native', cipher: 'aes256', aead: 'gcm' }
          : { integrity: 'mdc', engine: 'native' },
      );
      if (aeadProtect) {
        expect(withAead.keys[1]!.decryptionKeyIds).toContain(result.keyId);
        await expectFailure(decryptStream(sourceOf(flip(encrypted, encrypted.length >> 1)), withAead), [
          'PGP_INTEGRITY_FAILED',
        ]);
        const cut = encrypted.subarray(0, encrypted.length - 100);
        await expectFailure(decryptStream(sourceOf(cut), withAead), ['PGP_TRUNCATED', 'PGP_INTEGRITY_FAILED']);
        await expectFailure(decryptStream(sourceOf(encrypted), allKeys), 'PGP_WRONG_KEY');
      }
    }
  });

  it('writes messages openpgp.js reads', async () => {
    const recipient = await readRecipientKey(keys.opgpRsa.publicKey);
    const { data } = await encrypt(plain, recipient, { compression: 'zip' });
    const decryptionKeys = await openpgp.readPrivateKey({ armoredKey: keys.opgpRsa.privateKey });
    const message = await openpgp.readMessage({ binaryMessage: data });
    const out = await openpgp.decrypt({ message, decryptionKeys, format: 'binary' });
    expect(Buffer.from(out.data as Uint8Array).equals(plain)).toBe(true);
  });
});

describe('failures: the plaintext stream errors and never ends', () => {
  /** 5 MiB, written by gpg from a file (definite lengths). */
  let big: Buffer;
  let bigMessage: Buffer;
  beforeAll(() => {
    big = randomData(5 * MiB);
    bigMessage = gpgEncrypt(keys.gpgEcc, big, ['--compress-algo', 'none']);
  });

  it('one byte flipped in the middle: PGP_INTEGRITY_FAILED at the end, after the data streamed', async () => {
    const tampered = flip(bigMessage, bigMessage.length >> 1);
    const result = decryptStream(sourceOf(tampered), allKeys);
    const consumed = await consume(result.plaintext);
    expect(consumed.ended).toBe(false);
    expect(consumed.error).toMatchObject({ code: 'PGP_INTEGRITY_FAILED' });
    // It was streamed (constant memory), but the last chunk was held back until the check.
    expect(consumed.data.length).toBeGreaterThan(MiB);
    expect(consumed.data.length).toBeLessThan(big.length);
    await expect(result.verified).rejects.toMatchObject({ code: 'PGP_INTEGRITY_FAILED' });
  });

  it('tampering inside compressed data is an integrity failure too', async () => {
    const text = Buffer.from('all work and no play makes jack a dull boy\n'.repeat(50_000));
    const message = gpgEncrypt(keys.gpgRsa, text, ['--compress-algo', 'zlib']);
    for (const at of [message.length >> 1, message.length - 30, 600]) {
      await expectFailure(decryptStream(sourceOf(flip(message, at)), allKeys), [
        'PGP_INTEGRITY_FAILED',
        'PGP_MALFORMED',
      ]);
    }
  });

  it('truncated files: PGP_TRUNCATED', async () => {
    const piped = gpgEncrypt(keys.gpgEcc, big, ['--compress-algo', 'none'], { viaStdin: true });
    for (const message of [bigMessage, piped]) {
      for (const keep of [message.length >> 1, message.length - 1, message.length - 22, 200]) {
        await expectFailure(decryptStream(sourceOf(message.subarray(0, keep)), allKeys), 'PGP_TRUNCATED');
      }
    }
  });

  it('a message for another key: PGP_WRONG_KEY naming key ids only', async () => {
    const theirs = await openpgp.generateKey({ type: 'ecc', userIDs: [{ email: 'x@example.invalid' }] });
    const recipient = await readRecipientKey(theirs.publicKey);
    const { data } = await encrypt(plain, recipient);
    const onlyRsa = await readDecryptionKeys([keys.gpgRsa.privateKey]);
    const error = await expectFailure(decryptStream(sourceOf(data), onlyRsa), 'PGP_WRONG_KEY');
    expect(error.message).toContain(recipient.encryptionKeyId);
    expect(error.message).toContain(onlyRsa.keys[0]!.decryptionKeyIds[0]!);
    expect(error.message).not.toMatch(/BEGIN PGP|PRIVATE/);
    const symmetric = home.gpg(['--symmetric', '--passphrase', 'pw'], Buffer.from('x'));
    await expectFailure(decryptStream(sourceOf(symmetric), allKeys), 'PGP_WRONG_KEY');
  });

  it('not PGP at all: PGP_NOT_PGP; PGP but not encrypted: PGP_NOT_ENCRYPTED', async () => {
    for (const data of [
      Buffer.from('just some text\n'),
      Buffer.from('{"json": true}'),
      Buffer.from('PK\x03\x04zipfile'),
      Buffer.concat([Buffer.of(0xff), randomData(5000)]),
      Buffer.concat([Buffer.of(0x00), randomData(300_000)]), // binary that is not OpenPGP, with or without newlines
      Buffer.from(randomData(300_000).map((b) => b & 0x7f)),
      Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1'),
    ]) {
      await expectFailure(decryptStream(sourceOf(data), allKeys), 'PGP_NOT_PGP');
    }
    await expectFailure(decryptStream(sourceOf(Buffer.from(keys.gpgEcc.publicKey)), allKeys), 'PGP_NOT_ENCRYPTED');
    const exported = home.gpg(['--export', '<ecc@example.invalid>']);
    await expectFailure(decryptStream(sourceOf(exported), allKeys), 'PGP_NOT_ENCRYPTED');
    const signedOnly = home.gpg(['-u', '<rsa@example.invalid>', '--sign'], Buffer.from('signed'));
    await expectFailure(decryptStream(sourceOf(signedOnly), allKeys), 'PGP_NOT_ENCRYPTED');
  });

  it('a compression bomb: PGP_DECOMPRESSION_LIMIT, early', async () => {
    const bomb = home.gpg(
      ['-r', '<ecc@example.invalid>', '--compress-algo', 'zlib', '-z', '9', '-e'],
      Buffer.alloc(200 * MiB),
    );
    expect(bomb.length).toBeLessThan(MiB);
    const limit = 10 * MiB;
    const started = Date.now();
    const result = decryptStream(sourceOf(bomb), allKeys, { maxDecompressedBytes: limit });
    const error = await expectFailure(result, 'PGP_DECOMPRESSION_LIMIT');
    expect(error.message).toContain('10 MiB');
    expect(Date.now() - started).toBeLessThan(5_000);
    // The same through openpgp.js (BZip2).
    const bzip = home.gpg(['-r', '<ecc@example.invalid>', '--compress-algo', 'bzip2', '-e'], Buffer.alloc(30 * MiB));
    await expectFailure(
      decryptStream(sourceOf(bzip), allKeys, { maxDecompressedBytes: limit }),
      'PGP_DECOMPRESSION_LIMIT',
    );
  }, 60_000);

  it('zero-byte input and empty plaintext: PGP_EMPTY_INPUT unless allowed', async () => {
    await expectFailure(decryptStream(sourceOf(Buffer.alloc(0)), allKeys), 'PGP_EMPTY_INPUT');
    const empty = await decrypt(Buffer.alloc(0), allKeys, { allowEmpty: true });
    expect(empty.data.length).toBe(0);
    expect(empty.result.empty).toBe(true);
    const emptyMessage = gpgEncrypt(keys.gpgEcc, Buffer.alloc(0));
    await expectFailure(decryptStream(sourceOf(emptyMessage), allKeys), 'PGP_EMPTY_INPUT');
    expect((await decrypt(emptyMessage, allKeys, { allowEmpty: true })).data.length).toBe(0);
  });

  it('damaged armor and trailing data: PGP_MALFORMED / PGP_TRUNCATED', async () => {
    const armored = gpgEncrypt(keys.gpgEcc, plain, ['-a']).toString('latin1');
    const crcAt = armored.lastIndexOf('\n=') + 2;
    const badCrc = armored.slice(0, crcAt) + (armored[crcAt] === 'A' ? 'B' : 'A') + armored.slice(crcAt + 1);
    await expectFailure(decryptStream(sourceOf(Buffer.from(badCrc, 'latin1')), allKeys), 'PGP_MALFORMED');
    const noEnd = armored.slice(0, armored.indexOf('-----END'));
    await expectFailure(decryptStream(sourceOf(Buffer.from(noEnd, 'latin1')), allKeys), 'PGP_TRUNCATED');
    const lines = armored.split('\n');
    lines.splice(10, 0, 'this line is not base64!');
    await expectFailure(decryptStream(sourceOf(Buffer.from(lines.join('\n'))), allKeys), 'PGP_MALFORMED');
    // Windows line ends, armor headers and a mail preamble are all fine.
    const crlf = armored.replace('\n\n', '\nComment: sent by mail\n\n').replace(/\n/g, '\r\n');
    const viaCrlf = await decrypt(Buffer.from(`Hello,\r\nthe file:\r\n\r\n${crlf}`, 'latin1'), allKeys, {}, 777);
    expect(viaCrlf.data.equals(plain)).toBe(true);
    const withBom = await decrypt(Buffer.concat([Buffer.of(0xef, 0xbb, 0xbf), Buffer.from(armored, 'latin1')]));
    expect(withBom.data.equals(plain)).toBe(true);
    const trailing = Buffer.concat([gpgEncrypt(keys.gpgEcc, plain), Buffer.from('garbage')]);
    await expectFailure(decryptStream(sourceOf(trailing), allKeys), 'PGP_MALFORMED');
  });

  it('marker packets are skipped, but not without end (no unbounded buffering)', async () => {
    const marker = Buffer.from([0xca, 0x03, 0x50, 0x47, 0x50]); // new-format tag 10, "PGP"
    const message = gpgEncrypt(keys.gpgEcc, plain);
    const few = await decrypt(Buffer.concat([marker, marker, message]));
    expect(few.data.equals(plain)).toBe(true);
    const many = Buffer.concat([...Array.from({ length: 300 }, () => marker), message]);
    await expectFailure(decryptStream(sourceOf(many), allKeys), 'PGP_MALFORMED');
  });

  it('no integrity protection (legacy SED packet): PGP_UNSUPPORTED', async () => {
    const sed = gpgEncrypt(keys.gpgEcc, Buffer.from('old'), ['--rfc2440']);
    await expectFailure(decryptStream(sourceOf(sed), allKeys), 'PGP_UNSUPPORTED');
  });

  it('any single flipped byte anywhere is caught (property)', async () => {
    const small = randomData(40_000);
    const messages = [
      gpgEncrypt(keys.gpgEcc, small, ['--compress-algo', 'none'], { viaStdin: true }),
      gpgEncrypt(keys.gpgRsa, small, ['--compress-algo', 'zlib']),
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.nat(messages.length - 1),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 255 }),
        async (which, where, mask) => {
          const message = Buffer.from(messages[which]!);
          const at = Math.min(message.length - 1, Math.floor(where * message.length));
          message[at] = message[at]! ^ mask;
          const result = decryptStream(sourceOf(message, 7_919), allKeys);
          const consumed = await consume(result.plaintext);
          // The one harmless flip: 0x84 ^ 0x45 = 0xC1 turns the first packet's old-format header into the new-format
          // header of the same packet (same tag, same one-byte length). The message is then unchanged in meaning.
          if (consumed.ended && at === 0 && (message[0]! & 0xc0) === 0xc0) {
            expect(consumed.data.equals(small)).toBe(true);
            return;
          }
          expect(consumed.ended, `flip at ${at}/${message.length}`).toBe(false);
          expect(PGP_ERROR_CODES).toContain((consumed.error as SftpctlError).code);
        },
      ),
      { numRuns: 60 },
    );
  }, 60_000);

  it('a consumer that stops early gets PGP_STREAM_ABORTED from verified', async () => {
    const result = decryptStream(sourceOf(bigMessage), allKeys);
    const reader = result.plaintext[Symbol.asyncIterator]();
    await reader.next();
    await reader.return?.();
    await expect(result.verified).rejects.toMatchObject({ code: 'PGP_STREAM_ABORTED' });
  });

  it('arbitrary input chunking gives the same result (property)', async () => {
    const message = gpgEncrypt(keys.gpgEcc, plain.subarray(0, 100_000), [], { viaStdin: true });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 70_000 }), async (piece) => {
        const { data } = await decrypt(message, allKeys, {}, piece);
        expect(data.equals(plain.subarray(0, 100_000))).toBe(true);
      }),
      { numRuns: 15 },
    );
  });
});

describe('module', () => {
  it('source streams are Node Readables or async iterables', async () => {
    const message = gpgEncrypt(keys.gpgEcc, plain);
    async function* pieces() {
      yield message.subarray(0, 100);
      yield message.subarray(100);
    }
    const { plaintext, verified } = decryptStream(pieces(), allKeys);
    const consumed = await consume(plaintext);
    expect(consumed.data.equals(plain)).toBe(true);
    await verified;
    const { ciphertext } = encryptStream(Readable.from([plain]), await readRecipientKey(keys.gpgEcc.publicKey));
    expect(gpgDecrypt((await consume(ciphertext)).data).equals(plain)).toBe(true);
  });
});
