import { resolve } from 'node:path';
import { encryptStream } from '../core/crypto/pgp-encrypt.js';
import { SftpctlError } from '../core/errors.js';
import { streamToNewFile } from '../io/files.js';
import type { CommandContext } from './context.js';
import { recipientFrom, sourceFile } from './pgp-files.js';

export interface EncryptOptions {
  recipient: string;
  out?: string;
  armor?: boolean;
  compress?: boolean;
}

/** Encrypts a file to a public key, streaming, in a format GnuPG 2.2 reads. Never overwrites. */
export async function encrypt(file: string, options: EncryptOptions, context: CommandContext): Promise<number> {
  const source = await sourceFile(file, context.cwd);
  const recipient = await recipientFrom(options.recipient, '--recipient', context);
  const out = resolve(context.cwd, options.out ?? `${file}${options.armor ? '.asc' : '.gpg'}`);
  const { ciphertext, done } = encryptStream(source.open(), recipient, {
    armor: Boolean(options.armor),
    compression: options.compress ? 'zlib' : 'none',
    fileName: file.split('/').at(-1) ?? '',
    digests: ['sha256'],
  });
  await writeOrExplain(streamToNewFile(ciphertext, out, { verified: done }), out);
  const result = await done;
  context.output.data({
    file: source.path,
    out,
    recipient: result.recipientFingerprint,
    bytes: result.plaintextBytes,
    sha256: result.digests.sha256,
  });
  context.output.success(
    `Encrypted ${file} → ${out} for ${result.recipientFingerprint} (${result.plaintextBytes} bytes, plaintext sha256 ${result.digests.sha256})`,
  );
  return 0;
}

export async function writeOrExplain(writing: Promise<void>, out: string): Promise<void> {
  try {
    await writing;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new SftpctlError(
        'OUTPUT_EXISTS',
        `${out} already exists; it was left as it is.`,
        'Choose another --out, or move the old file away.',
      );
    }
    throw error;
  }
}
