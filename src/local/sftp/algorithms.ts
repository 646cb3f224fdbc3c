import type { Algorithms, KexAlgorithm } from 'ssh2';
import { type PostQuantumKex, registerPostQuantumKex } from './kex-registry.js';

/** ssh2's `Algorithms`, with the key exchange names our registry adds (@types/ssh2 lists only ssh2's own). */
type ServerAlgorithms = Omit<Algorithms, 'kex'> & { kex: (KexAlgorithm | PostQuantumKex)[] };

/**
 * The transport algorithms the local SFTP server offers, set explicitly because ssh2's defaults still include
 * `ssh-rsa` (SHA-1) host signatures and `hmac-sha1`. The lists follow the spirit of Transfer Family's newest security
 * policies: no SHA-1 anywhere, no CBC, no truncated or MD5 MACs. Tightened so that `ssh-audit` reports nothing:
 * no NIST-curve ECDH (curve25519 and 4096/8192-bit groups only; group14's 2048 bits is flagged), MACs only in
 * encrypt-then-MAC form (the GCM and ChaCha20 ciphers carry their own). Every client in the interop matrix
 * (OpenSSH, PuTTY, paramiko, asyncssh, rclone, lftp) negotiates with these.
 *
 * Key exchange starts with the post-quantum hybrids (OpenSSH 9.9's order): ML-KEM-768 + X25519, then Streamlined NTRU
 * Prime + X25519 under its IANA and its OpenSSH name (OpenSSH 8.5–9.8 clients offer only the latter, first). They run
 * through a registry our ssh2 patch adds (./kex-registry.ts); the client's preference decides which one is used.
 *
 * ssh2 appends `kex-strict-s-v00@openssh.com` to the key exchange list itself (strict KEX, the Terrapin fix), so a
 * client that offers strict KEX (OpenSSH 9.6+, and distribution backports) gets it.
 *
 * Host key algorithms are offered only for the key actually loaded: an RSA host key is offered as rsa-sha2-512 and
 * rsa-sha2-256, never as ssh-rsa.
 */
export const SERVER_ALGORITHMS = {
  kex: [
    'mlkem768x25519-sha256',
    'sntrup761x25519-sha512',
    'sntrup761x25519-sha512@openssh.com',
    'curve25519-sha256',
    'curve25519-sha256@libssh.org',
    'diffie-hellman-group16-sha512',
    'diffie-hellman-group18-sha512',
  ],
  serverHostKey: [
    'ssh-ed25519',
    'ecdsa-sha2-nistp256',
    'ecdsa-sha2-nistp384',
    'ecdsa-sha2-nistp521',
    'rsa-sha2-512',
    'rsa-sha2-256',
  ],
  cipher: [
    'aes128-gcm@openssh.com',
    'aes256-gcm@openssh.com',
    'chacha20-poly1305@openssh.com',
    'aes128-ctr',
    'aes192-ctr',
    'aes256-ctr',
  ],
  hmac: ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com'],
  compress: ['none'],
} satisfies ServerAlgorithms;

/**
 * The opt-in policy for partners whose SSH library predates encrypt-then-MAC (libssh2 before 1.11: curl, PHP's ssh2,
 * older git and backup tools): the strict lists plus the plain hmac-sha2 MACs, still no SHA-1. ssh-audit warns about
 * these MACs, which is why they are not offered by default.
 */
export const COMPATIBLE_ALGORITHMS = {
  ...SERVER_ALGORITHMS,
  hmac: [...SERVER_ALGORITHMS.hmac, 'hmac-sha2-256', 'hmac-sha2-512'],
} satisfies ServerAlgorithms;

export type AlgorithmPolicy = 'strict' | 'compatible';

/** The lists for ssh2's Server; registers the post-quantum key exchanges they name with ssh2 first. */
export function algorithmsFor(policy: AlgorithmPolicy = 'strict'): Algorithms {
  registerPostQuantumKex();
  // Registered above, so ssh2 accepts the names its type definitions do not know.
  return (policy === 'compatible' ? COMPATIBLE_ALGORITHMS : SERVER_ALGORITHMS) as Algorithms;
}

/**
 * Signature algorithms accepted for user keys (the `publickey` method). `ssh-rsa` means RSA with SHA-1 and is refused;
 * RSA keys sign with rsa-sha2-256/512 (ssh2 reports those as algo `ssh-rsa` plus a `hashAlgo`).
 */
export function isAcceptedUserSignature(algo: string, hashAlgo: string | undefined): boolean {
  switch (algo) {
    case 'ssh-ed25519':
    case 'ecdsa-sha2-nistp256':
    case 'ecdsa-sha2-nistp384':
    case 'ecdsa-sha2-nistp521':
      return true;
    case 'ssh-rsa':
      return hashAlgo === 'sha256' || hashAlgo === 'sha512';
    default:
      return false;
  }
}
