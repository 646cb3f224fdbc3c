import { createHash, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';

/**
 * The post-quantum hybrid key exchange construction shared by `mlkem768x25519-sha256`
 * (RFC 10042, was draft-ietf-sshm-mlkem-hybrid-kex) and `sntrup761x25519-sha512` (draft-ietf-sshm-ntruprime-ssh; OpenSSH's
 * `kexsntrup761x25519.c`):
 *
 *   client → C_INIT  = KEM public key ‖ X25519 public key
 *   server → S_REPLY = KEM ciphertext ‖ X25519 public key
 *   K = HASH(KEM shared secret ‖ X25519 shared secret), sent to the exchange hash and key derivation as a *string*
 *
 * ssh2 (patched, see patches/README.md) calls `client()` / `server()` through its key exchange registry and does the
 * rest (exchange hash over V_C, V_S, I_C, I_S, K_S, C_INIT, S_REPLY, K; host key signature; key derivation).
 */

export interface Kem {
  publicKeyBytes: number;
  cipherTextBytes: number;
  keygen(): { publicKey: Uint8Array; decapsulate(cipherText: Uint8Array): Uint8Array };
  encapsulate(publicKey: Uint8Array): { cipherText: Uint8Array; sharedSecret: Uint8Array };
}

/** What ssh2's `registerKeyExchange` takes (see the comment at the top of the hook in the patch). */
export interface KexMethod {
  hashName: 'sha256' | 'sha512';
  client(): { init: Buffer; finish(serverReply: Buffer): Buffer };
  server(clientInit: Buffer): { reply: Buffer; secret: Buffer };
}

const X25519_BYTES = 32;

function x25519KeyPair(): { privateKey: KeyObject; publicKey: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  // The SPKI DER of an X25519 key is a fixed 12-byte header followed by the 32 raw bytes.
  return { privateKey, publicKey: publicKey.export({ type: 'spki', format: 'der' }).subarray(-X25519_BYTES) };
}

function x25519Shared(privateKey: KeyObject, peerPublic: Buffer): Buffer {
  const publicKey = createPublicKey({
    key: { kty: 'OKP', crv: 'X25519', x: peerPublic.toString('base64url') },
    format: 'jwk',
  });
  const shared = diffieHellman({ privateKey, publicKey });
  // An all-zero result means a low-order peer point (RFC 7748 §6.1); OpenSSH refuses it too.
  if (shared.every((byte) => byte === 0)) throw new Error('X25519 shared secret is zero (low-order public key)');
  return shared;
}

function combine(hashName: KexMethod['hashName'], kemSecret: Uint8Array, x25519Secret: Buffer): Buffer {
  return createHash(hashName).update(kemSecret).update(x25519Secret).digest();
}

/** `loadKem` is called at the first exchange that uses the method, so the KEM's code loads only when negotiated. */
export function hybridKex(name: string, hashName: KexMethod['hashName'], loadKem: () => Kem): KexMethod {
  return {
    hashName,
    client() {
      const kem = loadKem();
      const keys = kem.keygen();
      const x25519 = x25519KeyPair();
      return {
        init: Buffer.concat([keys.publicKey, x25519.publicKey]),
        finish(serverReply) {
          if (serverReply.length !== kem.cipherTextBytes + X25519_BYTES) {
            throw new Error(
              `${name}: server reply is ${serverReply.length} bytes, expected ${kem.cipherTextBytes + X25519_BYTES}`,
            );
          }
          const kemSecret = keys.decapsulate(serverReply.subarray(0, kem.cipherTextBytes));
          return combine(
            hashName,
            kemSecret,
            x25519Shared(x25519.privateKey, serverReply.subarray(kem.cipherTextBytes)),
          );
        },
      };
    },
    server(clientInit) {
      const kem = loadKem();
      if (clientInit.length !== kem.publicKeyBytes + X25519_BYTES) {
        throw new Error(
          `${name}: client key is ${clientInit.length} bytes, expected ${kem.publicKeyBytes + X25519_BYTES}`,
        );
      }
      const x25519 = x25519KeyPair();
      const x25519Secret = x25519Shared(x25519.privateKey, clientInit.subarray(kem.publicKeyBytes));
      const { cipherText, sharedSecret } = kem.encapsulate(clientInit.subarray(0, kem.publicKeyBytes));
      return {
        reply: Buffer.concat([cipherText, x25519.publicKey]),
        secret: combine(hashName, sharedSecret, x25519Secret),
      };
    },
  };
}
