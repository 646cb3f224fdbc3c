import { SftpctlError } from '../errors.js';
import { parseSshPublicKey, type SshPublicKey } from './ssh-public-key.js';

export type SshKeyAlgorithm = 'ed25519' | 'rsa';

export interface SshKeyPair {
  /** OpenSSH private key (openssh-key-v1 format), encrypted with aes256-ctr/bcrypt when a passphrase is given. */
  privateKey: string;
  /** One `authorized_keys` line. */
  publicKey: string;
  info: SshPublicKey;
}

/** Generates an OpenSSH key pair (ssh2 is loaded only here). RSA must be 2048–16384 bits. */
export async function generateSshKeyPair(options: {
  type: SshKeyAlgorithm;
  bits?: number;
  comment?: string;
  passphrase?: string;
}): Promise<SshKeyPair> {
  if (options.type === 'rsa') {
    const bits = options.bits ?? 4096;
    if (!Number.isInteger(bits) || bits < 2048 || bits > 16384) {
      throw new SftpctlError(
        'SSH_KEYGEN_BITS',
        `RSA keys of ${options.bits} bits are not offered.`,
        'Use --bits 3072 or 4096 (at least 2048).',
        { kind: 'usage' },
      );
    }
  } else if (options.bits !== undefined) {
    throw new SftpctlError(
      'SSH_KEYGEN_BITS',
      'ed25519 keys have a fixed size; --bits applies to rsa only.',
      'Drop --bits, or use --type rsa.',
      { kind: 'usage' },
    );
  }
  const { utils } = (await import('ssh2')).default;
  // ssh2 1.17 emits a malformed ed25519 pair about once in 400 (the public key comes out shorter than 32 bytes, as
  // if leading zero bytes were stripped). Such a pair is discarded before anything is written, and another made.
  for (let attempt = 1; attempt < 10; attempt++) {
    const pair = generateOnce(utils, options);
    if (pair) return pair;
  }
  const last = generateOnce(utils, options);
  if (last) return last;
  throw new SftpctlError(
    'SSH_KEYGEN_FAILED',
    'ssh2 produced no valid key pair in 10 attempts.',
    'Please report this, with your Node and ssh2 versions.',
    { kind: 'internal' },
  );
}

function generateOnce(
  utils: typeof import('ssh2').utils,
  options: { type: SshKeyAlgorithm; bits?: number; comment?: string; passphrase?: string },
): SshKeyPair | undefined {
  const generated = utils.generateKeyPairSync(options.type, {
    ...(options.type === 'rsa' ? { bits: options.bits ?? 4096 } : {}),
    comment: options.comment ?? '',
    ...(options.passphrase ? { passphrase: options.passphrase, cipher: 'aes256-ctr', rounds: 16 } : {}),
  });
  const parsed = parseSshPublicKey(generated.public);
  if (!parsed.ok) return undefined;
  return { privateKey: generated.private, publicKey: `${generated.public.trim()}\n`, info: parsed.key };
}
