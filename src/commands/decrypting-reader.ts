import { createReadStream } from 'node:fs';
import { decryptStream } from '../core/crypto/pgp-decrypt.js';
import type { CommandContext } from './context.js';
import { decryptionKeysFrom, plaintextNameOf } from './pgp-files.js';

/** For `verify checksum --decrypt-key`: hash the plaintext of an encrypted download in one pass, writing nothing. */
export async function decryptingReader(keyPath: string, context: CommandContext) {
  const keys = await decryptionKeysFrom(keyPath, '--decrypt-key', context);
  return (file: string) => {
    const { plaintext, verified } = decryptStream(createReadStream(file, { highWaterMark: 1 << 20 }), keys, {
      allowEmpty: true,
    });
    return { subject: plaintextNameOf(file), open: () => plaintext, finished: verified };
  };
}
