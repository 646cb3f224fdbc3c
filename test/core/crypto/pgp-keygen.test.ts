/**
 * Generated keys are read by the mainstream tools: GnuPG 2.2 (imports, checks the self-signatures, encrypts) and
 * PGPy (loads them — it refuses SHA-3 hash preferences — and encrypts to them), and we decrypt what they send.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePgpKeyPair, KEY_PREFERENCES, type PgpKeyPair } from '../../../src/core/crypto/pgp-keygen.js';
import { loadOpenpgp } from '../../../src/core/crypto/pgp-load.js';
import { decryptStream, readDecryptionKeys } from '../../../src/core/crypto/pgp-stream.js';
import { consume, createGpgHome, type GpgHome, sourceOf } from './pgp-fixtures.js';

/** Debian's python3-pgpy (installed by .ci/run) lives with the system Python, not a pyenv one. */
const python = ['/usr/bin/python3', 'python3'].find(
  (candidate) => spawnSync(candidate, ['-c', 'import pgpy'], { stdio: 'ignore' }).status === 0,
);

function pgpy(script: string, env: Record<string, string>): Buffer {
  if (!python) throw new Error('PGPy is not installed: apt-get install python3-pgpy (see .ci/run)');
  const result = spawnSync(python, ['-c', script], { env: { ...process.env, ...env }, maxBuffer: 64 << 20 });
  if (result.status !== 0) throw new Error(`PGPy failed: ${result.stderr.toString()}`);
  return result.stdout;
}

let home: GpgHome;
const pairs: Record<string, PgpKeyPair> = {};
beforeAll(async () => {
  home = createGpgHome();
  const [ecc, rsa, locked] = await Promise.all([
    generatePgpKeyPair({ name: 'Ingress ECC', email: 'ecc@example.invalid', type: 'curve25519' }),
    generatePgpKeyPair({ name: 'Ingress RSA', email: 'rsa@example.invalid', type: 'rsa' }),
    generatePgpKeyPair({
      name: 'Locked',
      email: 'locked@example.invalid',
      type: 'curve25519',
      passphrase: 'correct horse',
      expiresInSeconds: 365 * 86_400,
    }),
  ]);
  Object.assign(pairs, { ecc, rsa, locked });
}, 120_000);
afterAll(() => home?.cleanup());

describe('generated keys', () => {
  it.each(['ecc', 'rsa', 'locked'])('%s: preferences GnuPG 2.2 and PGPy accept, no SHA-3, no AEAD', async (name) => {
    const openpgp = await loadOpenpgp();
    const key = await openpgp.readKey({ armoredKey: pairs[name]!.publicKey });
    expect(key.keyPacket.version).toBe(4);
    const { selfCertification } = await key.getPrimaryUser();
    expect(selfCertification.preferredHashAlgorithms).toEqual([...KEY_PREFERENCES.hash]);
    expect(selfCertification.preferredSymmetricAlgorithms).toEqual([...KEY_PREFERENCES.symmetric]);
    expect(selfCertification.preferredHashAlgorithms).not.toContain(12); // SHA3-256
    expect(selfCertification.preferredHashAlgorithms).not.toContain(14); // SHA3-512
    expect((selfCertification.features?.[0] ?? 0) & 0x08).toBe(0); // no SEIPD v2 advertised
    // getPrimaryUser() above only returns a user whose (re-signed) self-certification verifies.
  });

  it('the locked key keeps its expiry and its passphrase', async () => {
    const openpgp = await loadOpenpgp();
    const key = await openpgp.readPrivateKey({ armoredKey: pairs.locked!.privateKey });
    expect(key.isDecrypted()).toBe(false);
    const expires = (await key.getExpirationTime()) as Date;
    expect(Math.abs(expires.getTime() - pairs.locked!.expires!.getTime())).toBeLessThan(1000);
    await openpgp.decryptKey({ privateKey: key, passphrase: 'correct horse' });
  });

  it('GnuPG 2.2 imports them with valid self-signatures and encrypts to them', async () => {
    for (const name of ['ecc', 'rsa']) {
      const pair = pairs[name]!;
      home.gpg(['--import'], pair.publicKey);
      const sigs = home.gpg(['--with-colons', '--check-sigs', pair.fingerprint]).toString();
      expect(sigs).toMatch(/^sig:!:/m);
      expect(sigs).not.toMatch(/^sig:-:/m);
      const message = home.gpg(['-r', pair.fingerprint, '-e'], Buffer.from(`for ${name}\n`));
      const keys = await readDecryptionKeys([pair.privateKey]);
      const consumed = await consume(decryptStream(sourceOf(message), keys).plaintext);
      expect(consumed.error).toBeUndefined();
      expect(consumed.data.toString()).toBe(`for ${name}\n`);
    }
  }, 60_000);

  it.each(['ecc', 'rsa', 'locked'])('%s: PGPy loads the public and the private key', (name) => {
    const out = pgpy(
      `import os, pgpy
pub, _ = pgpy.PGPKey.from_blob(os.environ['PUB'])
key, _ = pgpy.PGPKey.from_blob(os.environ['KEY'])
print(pub.fingerprint.replace(' ', ''), key.is_public, key.is_protected)`,
      { PUB: pairs[name]!.publicKey, KEY: pairs[name]!.privateKey },
    ).toString();
    expect(out.trim()).toBe(`${pairs[name]!.fingerprint} False ${name === 'locked' ? 'True' : 'False'}`);
  });

  it.each(['ecc', 'rsa'])('%s: a message PGPy encrypts to the generated key decrypts here', async (name) => {
    const message = pgpy(
      `import os, sys, pgpy
pub, _ = pgpy.PGPKey.from_blob(os.environ['PUB'])
msg = pgpy.PGPMessage.new(b'from pgpy\\n' * 1000, file=True)
sys.stdout.buffer.write(bytes(pub.subkeys[next(iter(pub.subkeys))].encrypt(msg)))`,
      { PUB: pairs[name]!.publicKey },
    );
    const keys = await readDecryptionKeys([pairs[name]!.privateKey]);
    const { plaintext, verified } = decryptStream(sourceOf(message), keys);
    const consumed = await consume(plaintext);
    expect(consumed.error).toBeUndefined();
    expect(consumed.data.toString()).toBe('from pgpy\n'.repeat(1000));
    expect(await verified).toMatchObject({ integrity: 'mdc', fingerprint: pairs[name]!.fingerprint });
  });
});
