import { describe, expect, it } from 'vitest';
import { generateSshKeyPair } from '../../../src/core/crypto/ssh-keygen.js';

describe('generateSshKeyPair', () => {
  it('always returns a well-formed ed25519 pair (ssh2 alone gets about 1 in 400 wrong)', async () => {
    const fingerprints = new Set<string>();
    for (let index = 0; index < 1500; index++) {
      const pair = await generateSshKeyPair({ type: 'ed25519' });
      expect(pair.info.bits).toBe(256);
      fingerprints.add(pair.info.fingerprint);
    }
    expect(fingerprints.size).toBe(1500);
  }, 60_000);

  it('refuses RSA below 2048 bits and --bits for ed25519', async () => {
    await expect(generateSshKeyPair({ type: 'rsa', bits: 1024 })).rejects.toMatchObject({ code: 'SSH_KEYGEN_BITS' });
    await expect(generateSshKeyPair({ type: 'ed25519', bits: 256 })).rejects.toMatchObject({ code: 'SSH_KEYGEN_BITS' });
  });
});
