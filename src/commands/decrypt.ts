import { resolve } from 'node:path';
import { DEFAULT_MAX_DECOMPRESSED_BYTES, decryptStream } from '../core/crypto/pgp-decrypt.js';
import { formatBytes } from '../core/crypto/pgp-errors.js';
import { streamToNewFile } from '../io/files.js';
import type { CommandContext } from './context.js';
import { writeOrExplain } from './encrypt.js';
import {
  decryptionKeysFrom,
  freeSpaceFor,
  parseByteSize,
  parseSeconds,
  plaintextNameOf,
  sourceFile,
} from './pgp-files.js';

export interface DecryptOptions {
  key: string;
  out?: string;
  /** `--max-decompressed <size>`: what a compressed message may expand to (default 16 GiB, capped by free space). */
  maxDecompressed?: string;
  /** `--timeout <seconds>`: the whole decryption's deadline. */
  timeout?: string;
}

/**
 * Decrypts a file, streaming; the plaintext appears under its name only after the message's integrity check
 * passed at the very end — a tampered or truncated file leaves nothing behind.
 */
export async function decrypt(file: string, options: DecryptOptions, context: CommandContext): Promise<number> {
  const requested =
    options.maxDecompressed === undefined
      ? DEFAULT_MAX_DECOMPRESSED_BYTES
      : parseByteSize(options.maxDecompressed, '--max-decompressed');
  const deadline = options.timeout === undefined ? undefined : Date.now() + parseSeconds(options.timeout, '--timeout');
  const source = await sourceFile(file, context.cwd);
  const keys = await decryptionKeysFrom(options.key, '--key', context);
  const out = resolve(context.cwd, options.out ?? plaintextNameOf(file));
  const limit = await decompressionLimit(requested, out);
  const { plaintext, verified } = decryptStream(source.open(), keys, {
    digests: ['sha256'],
    allowEmpty: true,
    maxDecompressedBytes: limit.bytes,
    limitSetting: limit.setting,
    ...(deadline === undefined ? {} : { deadline }),
  });
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
  if (result.integrity === 'none') {
    // A zero-byte file holds no OpenPGP message: nothing was decrypted, so nothing was verified.
    context.output.warn(
      `${file} is empty (0 bytes): it holds no OpenPGP message, so nothing was decrypted or verified.`,
    );
    context.output.success(`Wrote an empty ${out}.`);
    return 0;
  }
  context.output.success(
    `Decrypted ${file} → ${out} (${result.plaintextBytes} bytes, ${result.integrity.toUpperCase()} verified, sha256 ${result.digests.sha256})`,
  );
  return 0;
}

/** The decompression limit: the one asked for (or the default), never above the free space where the output goes. */
async function decompressionLimit(requested: number, out: string): Promise<{ bytes: number; setting: string }> {
  const free = await freeSpaceFor(out);
  if (free !== undefined && free < requested) {
    return {
      bytes: Math.max(free, 1),
      setting: `the free space where the output goes (${formatBytes(free)} free; --max-decompressed is ${formatBytes(requested)}): free up space or choose another --out`,
    };
  }
  return { bytes: requested, setting: `--max-decompressed (now ${formatBytes(requested)})` };
}
