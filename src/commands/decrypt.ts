import { resolve } from 'node:path';
import { decryptStream } from '../core/crypto/pgp-decrypt.js';
import { streamToNewFile } from '../io/files.js';
import type { CommandContext } from './context.js';
import { writeOrExplain } from './encrypt.js';
import { decryptionKeysFrom, plaintextNameOf, sourceFile } from './pgp-files.js';

export interface DecryptOptions {
  key: string;
  out?: string;
}

/**
 * Decrypts a file, streaming; the plaintext appears under its name only after the message's integrity check
 * passed at the very end — a tampered or truncated file leaves nothing behind.
 */
export async function decrypt(file: string, options: DecryptOptions, context: CommandContext): Promise<number> {
  const source = await sourceFile(file, context.cwd);
  const keys = await decryptionKeysFrom(options.key, '--key', context);
  const out = resolve(context.cwd, options.out ?? plaintextNameOf(file));
  const { plaintext, verified } = decryptStream(source.open(), keys, { digests: ['sha256'], allowEmpty: true });
  await writeOrExplain(streamToNewFile(plaintext, out, { verified, mode: 0o600 }), out);
  const result = await verified;
  context.output.data({
    file: source.path,
    out,
    bytes: result.plaintextBytes,
    sha256: result.digests.sha256,
    key: result.fingerprint,
    integrity: result.integrity,
  });
  context.output.success(
    `Decrypted ${file} → ${out} (${result.plaintextBytes} bytes, ${result.integrity.toUpperCase()} verified, sha256 ${result.digests.sha256})`,
  );
  return 0;
}
