import { createRequire } from 'node:module';
import type { Kem } from './kex-hybrid.js';

type MlKem768 = typeof import('@noble/post-quantum/ml-kem.js')['ml_kem768'];

// @noble/post-quantum is ESM-only; require() of ESM (Node ≥ 20.19, as @noble/post-quantum itself requires) loads it
// synchronously, which ssh2's synchronous key exchange needs, and only when an ML-KEM exchange is negotiated.
const requireModule = createRequire(import.meta.url);
let mlKem768: MlKem768 | undefined;

function load(): MlKem768 {
  mlKem768 ??= (requireModule('@noble/post-quantum/ml-kem.js') as typeof import('@noble/post-quantum/ml-kem.js'))
    .ml_kem768;
  return mlKem768;
}

/** ML-KEM-768 (FIPS 203) from @noble/post-quantum: 1184-byte public keys, 1088-byte ciphertexts. */
export function loadMlKem768(): Kem {
  const kem = load();
  return {
    publicKeyBytes: 1184,
    cipherTextBytes: 1088,
    keygen() {
      const { publicKey, secretKey } = kem.keygen();
      return { publicKey, decapsulate: (cipherText) => kem.decapsulate(cipherText, secretKey) };
    },
    // noble checks the public key's encoding (FIPS 203 §7.2 modulus check) and throws on a bad one.
    encapsulate: (publicKey) => kem.encapsulate(publicKey),
  };
}

/** Whether noble has been loaded in this process (start-up laziness is tested). */
export function isMlKemLoaded(): boolean {
  return mlKem768 !== undefined;
}
