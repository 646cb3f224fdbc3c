import { chmod, readFile, writeFile } from 'node:fs/promises';
import type { ParsedKey } from 'ssh2';
import { generateSshKeyPair } from '../core/crypto/ssh-keygen.js';
import { parseSshPublicKey } from '../core/crypto/ssh-public-key.js';
import { SftpctlError } from '../core/errors.js';
import { exists } from '../io/files.js';
import { writeKeyPair } from '../io/key-files.js';

/**
 * The local server's host key pair, checked before anything listens: the private half must parse and be ed25519 or
 * ECDSA, the public half (if present) must be the same key. A missing pair is generated; a missing public half is
 * written again from the private one; anything damaged or mismatched is a clear error (nothing is overwritten).
 */
export async function loadHostKey(path: string): Promise<{ privateKey: string; fingerprint: string }> {
  const publicPath = `${path}.pub`;
  if (!(await exists(path))) {
    if (await exists(publicPath))
      throw hostKeyError(
        path,
        `${path} is missing but ${publicPath} is there.`,
        'Restore the private half, or delete both files to generate a new host key (partners will see a new fingerprint).',
      );
    await writeKeyPair(
      { privatePath: path, publicPath },
      await generateSshKeyPair({ type: 'ed25519', comment: 'sftpctl-local-host' }),
    );
  }
  const privateKey = await readFile(path, 'utf8');
  const { default: ssh2 } = await import('ssh2');
  let parsed = ssh2.utils.parseKey(privateKey);
  if (Array.isArray(parsed)) parsed = parsed[0] as ParsedKey;
  if (parsed instanceof Error || !parsed || parsed.getPrivatePEM() === null)
    throw hostKeyError(
      path,
      `${path} is not a readable unencrypted SSH private key${parsed instanceof Error ? ` (${parsed.message})` : ''}.`,
      'Restore it from a backup, or delete host_ed25519 and host_ed25519.pub to generate a new one.',
    );
  // Damaged key material can still parse: sign and verify once to prove the halves belong together.
  const probe = Buffer.from('sftpctl host key check');
  const signature = parsed.sign(probe);
  if (signature instanceof Error || parsed.verify(probe, signature) !== true)
    throw hostKeyError(
      path,
      `${path} is damaged: it cannot make a valid signature.`,
      'Restore it from a backup, or delete both host key files to generate a new one.',
    );
  const blob = parsed.getPublicSSH();
  const actual = parseSshPublicKey(`${parsed.type} ${blob.toString('base64')}`);
  if (!actual.ok) throw hostKeyError(path, `${path}: ${actual.message}`, 'Generate a new ed25519 host key.');
  if (await exists(publicPath)) {
    const written = parseSshPublicKey((await readFile(publicPath, 'utf8')).trim());
    if (!written.ok)
      throw hostKeyError(
        path,
        `${publicPath} is damaged (${written.message}).`,
        `Delete ${publicPath}: it is written again from the private key.`,
      );
    if (written.key.fingerprint !== actual.key.fingerprint)
      throw hostKeyError(
        path,
        `${publicPath} (${written.key.fingerprint}) is not the public half of ${path} (${actual.key.fingerprint}).`,
        `One of them was replaced or damaged. Delete ${publicPath} to write it again from the private key, or restore both.`,
      );
  } else {
    await writeFile(publicPath, `${parsed.type} ${blob.toString('base64')} sftpctl-local-host\n`, { mode: 0o644 });
  }
  await chmod(path, 0o600).catch(() => undefined);
  return { privateKey, fingerprint: actual.key.fingerprint };
}

function hostKeyError(path: string, message: string, hint: string): SftpctlError {
  return new SftpctlError('LOCAL_HOST_KEY_INVALID', `The local SFTP host key is unusable: ${message}`, hint, {
    details: [path],
  });
}
