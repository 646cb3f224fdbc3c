import { createHash } from 'node:crypto';
import { type DecryptionKeys, type RecipientKey, readDecryptionKeys, readRecipientKey } from '../crypto/pgp-keys.js';
import type { KeyStore } from '../ports.js';

/**
 * Parsed keys, cached by the hash of their armored text: a warm function (or the local runner) parses a key once,
 * and a rotated key (new text) is parsed afresh without any invalidation logic.
 */
const decryption = new Map<string, Promise<DecryptionKeys>>();
const recipients = new Map<string, Promise<RecipientKey>>();

export async function ingressKeysFor(keys: KeyStore, client: string): Promise<DecryptionKeys> {
  const armored = await keys.ingressPrivateKeys(client);
  return cached(decryption, armored.join('\n'), () => readDecryptionKeys(armored));
}

export async function partnerKeyFor(keys: KeyStore, client: string): Promise<RecipientKey> {
  const armored = await keys.partnerPublicKey(client);
  return cached(recipients, armored, () => readRecipientKey(armored));
}

function cached<T>(cache: Map<string, Promise<T>>, text: string, load: () => Promise<T>): Promise<T> {
  const id = createHash('sha256').update(text).digest('hex');
  let entry = cache.get(id);
  if (!entry) {
    entry = load();
    entry.catch(() => cache.delete(id));
    cache.set(id, entry);
    if (cache.size > 32) cache.delete(cache.keys().next().value as string);
  }
  return entry;
}
