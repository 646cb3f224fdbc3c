/**
 * AEAD messages made by the real peers decrypt (natively, see pgp-aead.ts): RNP's OCB and EAX
 * (the LibrePGP AEAD packet, tag 20) to a key made by sftpctl, with the same failure contract when damaged.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePgpKeyPair, type PgpKeyPair } from '../../../src/core/crypto/pgp-keygen.js';
import { type DecryptionKeys, decryptStream, readDecryptionKeys } from '../../../src/core/crypto/pgp-stream.js';
import { consume, expectFailure, sourceOf } from './pgp-fixtures.js';

let dir: string;
let pair: PgpKeyPair;
let keys: DecryptionKeys;
const plain = randomBytes(1_500_000);

function rnp(args: string[], input?: Buffer): Buffer {
  return execFileSync('rnp', ['--homedir', join(dir, 'rnp'), ...args], { input, maxBuffer: 64 << 20, stdio: 'pipe' });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sftpctl-rnp-'));
  pair = await generatePgpKeyPair({ name: 'Ingress', email: 'in@example.invalid', type: 'curve25519' });
  mkdirSync(join(dir, 'rnp'), { mode: 0o700 });
  writeFileSync(join(dir, 'pub.asc'), pair.publicKey);
  execFileSync('rnpkeys', ['--homedir', join(dir, 'rnp'), '--import', join(dir, 'pub.asc')], { stdio: 'pipe' });
  keys = await readDecryptionKeys([pair.privateKey]);
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('RNP AEAD messages', () => {
  it.each(['OCB', 'EAX'])('rnp --aead=%s → decrypted, tampering refused', async (mode) => {
    const message = rnp(['-e', '-r', pair.fingerprint, `--aead=${mode}`, '-z', '0', '--output=-'], plain);
    const { plaintext, verified } = decryptStream(sourceOf(message), keys);
    const consumed = await consume(plaintext);
    expect(consumed.error).toBeUndefined();
    expect(consumed.data.equals(plain)).toBe(true);
    expect(await verified).toMatchObject({ integrity: 'aead', engine: 'native', fingerprint: pair.fingerprint });
    const tampered = Buffer.from(message);
    tampered[tampered.length >> 1]! ^= 0x01;
    await expectFailure(decryptStream(sourceOf(tampered), keys), 'PGP_INTEGRITY_FAILED');
  });
});
