/**
 * Every cipher GnuPG 2.2 can be told to use, to a key made by sftpctl (whose preferences list AES only): the ones
 * openpgp.js or node:crypto can run decrypt, the rest are named as unsupported (never as tampering). Hidden recipients
 * that are not us are the wrong key; a damaged session key packet addressed to us is damage.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePgpKeyPair, type PgpKeyPair } from '../../../src/core/crypto/pgp-keygen.js';
import { type DecryptionKeys, decryptStream, readDecryptionKeys } from '../../../src/core/crypto/pgp-stream.js';
import { consume, createGpgHome, expectFailure, type GpgHome, sourceOf } from './pgp-fixtures.js';

let home: GpgHome;
let ours: PgpKeyPair;
let rsa: PgpKeyPair;
let keys: DecryptionKeys;
/** Not a multiple of any block size; big enough for several 1 MiB work units. */
const plain = randomBytes(2 * 1024 * 1024 + 4321);

beforeAll(async () => {
  home = createGpgHome();
  [ours, rsa] = await Promise.all([
    generatePgpKeyPair({ name: 'Ingress', email: 'in@example.invalid', type: 'curve25519' }),
    generatePgpKeyPair({ name: 'Ingress RSA', email: 'rsa@example.invalid', type: 'rsa' }),
  ]);
  home.gpg(['--import'], ours.publicKey);
  home.gpg(['--import'], rsa.publicKey);
  home.gpg(['--quick-gen-key', 'Stranger <stranger@example.invalid>', 'future-default', 'default', 'never']);
  keys = await readDecryptionKeys([ours.privateKey, rsa.privateKey]);
}, 120_000);
afterAll(() => home?.cleanup());

function gpgEncrypt(to: string, extra: string[], data: Buffer = plain): Buffer {
  const input = home.file('plain.bin', data);
  return home.gpg(['-r', to, '--compress-algo', 'none', ...extra, '-o', '-', '-e', input]);
}

const DECRYPTED: [string, string, 'native' | 'openpgp'][] = [
  ['AES', 'aes128', 'native'],
  ['AES192', 'aes192', 'native'],
  ['AES256', 'aes256', 'native'],
  ['CAMELLIA128', 'camellia128', 'native'],
  ['CAMELLIA192', 'camellia192', 'native'],
  ['CAMELLIA256', 'camellia256', 'native'],
  ['TWOFISH', 'twofish', 'openpgp'],
  ['BLOWFISH', 'blowfish', 'openpgp'],
  ['CAST5', 'cast5', 'openpgp'],
  ['3DES', 'tripledes', 'openpgp'],
];

describe('ciphers outside the key preferences', () => {
  it.each(DECRYPTED)(
    'gpg --cipher-algo %s → decrypted (%s, %s)',
    async (algo, cipher, engine) => {
      for (const to of [ours.fingerprint, rsa.fingerprint]) {
        const message = gpgEncrypt(to, ['--cipher-algo', algo]);
        const { plaintext, verified } = decryptStream(sourceOf(message), keys);
        const consumed = await consume(plaintext);
        expect(consumed.error).toBeUndefined();
        expect(consumed.data.equals(plain)).toBe(true);
        expect(await verified).toMatchObject({ cipher, engine, integrity: 'mdc' });
      }
    },
    60_000,
  );

  it('Camellia from a pipe (partial lengths), compressed, and tampered', async () => {
    const viaPipe = home.gpg(['-r', ours.fingerprint, '--cipher-algo', 'CAMELLIA256', '-e'], plain);
    const piped = await consume(decryptStream(sourceOf(viaPipe), keys).plaintext);
    expect(piped.data.equals(plain)).toBe(true);
    const text = Buffer.from('a;b;c\n'.repeat(100_000));
    const zipped = gpgEncrypt(ours.fingerprint, ['--cipher-algo', 'CAMELLIA128', '--compress-algo', 'zlib'], text);
    const { plaintext, verified } = decryptStream(sourceOf(zipped), keys);
    expect((await consume(plaintext)).data.equals(text)).toBe(true);
    expect(await verified).toMatchObject({ cipher: 'camellia128', compression: 'zlib' });
    const message = gpgEncrypt(ours.fingerprint, ['--cipher-algo', 'CAMELLIA256']);
    const tampered = Buffer.from(message);
    tampered[tampered.length >> 1]! ^= 0x01;
    await expectFailure(decryptStream(sourceOf(tampered), keys), 'PGP_INTEGRITY_FAILED');
  }, 60_000);

  it('IDEA is named as unsupported, not as tampering', async () => {
    const message = gpgEncrypt(ours.fingerprint, ['--cipher-algo', 'IDEA']);
    const error = await expectFailure(decryptStream(sourceOf(message), keys), 'PGP_UNSUPPORTED');
    expect(error.message).toMatch(/IDEA/);
    expect(error.message).not.toMatch(/integrity|enum/i);
  });
});

describe('who the message is for', () => {
  it('a hidden recipient that is us decrypts; the key that opened it is reported', async () => {
    for (const pair of [ours, rsa]) {
      const message = gpgEncrypt(pair.fingerprint, ['--throw-keyids']);
      const { plaintext, verified } = decryptStream(sourceOf(message), keys);
      expect((await consume(plaintext)).data.equals(plain)).toBe(true);
      const result = await verified;
      expect(result.recipients).toEqual(['0000000000000000']);
      expect(result.fingerprint).toBe(pair.fingerprint);
    }
  }, 60_000);

  it('a hidden recipient that is someone else is the wrong key, not damage', async () => {
    const message = gpgEncrypt('<stranger@example.invalid>', ['--throw-keyids']);
    const error = await expectFailure(decryptStream(sourceOf(message), keys), 'PGP_WRONG_KEY');
    expect(error.message).toMatch(/hidden recipients/);
  });

  it('a named recipient that is someone else is the wrong key', async () => {
    const message = gpgEncrypt('<stranger@example.invalid>', []);
    await expectFailure(decryptStream(sourceOf(message), keys), 'PGP_WRONG_KEY');
  });

  it('a damaged session key packet addressed to us is damage', async () => {
    for (const pair of [ours, rsa]) {
      const message = gpgEncrypt(pair.fingerprint, []);
      const damaged = Buffer.from(message);
      damaged[40]! ^= 0x10; // inside the PKESK's encrypted session key
      await expectFailure(decryptStream(sourceOf(damaged), keys), 'PGP_INTEGRITY_FAILED');
    }
  });
});
