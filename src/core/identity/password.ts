import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * FTPS passwords, stored only as memory-hard hashes (scrypt, N=2^15, r=8, p=1: ~32 MiB and tens of milliseconds per
 * try), in the PHC-like form `scrypt$N$r$p$salt$hash` with base64 fields.
 */
const PARAMETERS = { N: 2 ** 15, r: 8, p: 1 };
const KEY_LENGTH = 32;
const MAX_MEMORY = 64 * 1024 * 1024;

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await derive(password, salt, PARAMETERS);
  return ['scrypt', PARAMETERS.N, PARAMETERS.r, PARAMETERS.p, salt.toString('base64'), hash.toString('base64')].join(
    '$',
  );
}

/**
 * True when `candidate` matches `stored`. A malformed hash (or none: pass undefined for an unknown user) still costs a
 * full derivation, so the answer takes as long whether or not the user or hash exists.
 */
export async function verifyPassword(stored: string | undefined, candidate: string): Promise<boolean> {
  const parsed = stored === undefined ? undefined : parseHash(stored);
  const salt = parsed?.salt ?? Buffer.alloc(16);
  const derived = await derive(candidate, salt, parsed?.parameters ?? PARAMETERS);
  if (!parsed || parsed.hash.length !== derived.length) return false;
  return timingSafeEqual(parsed.hash, derived);
}

function parseHash(stored: string): { parameters: typeof PARAMETERS; salt: Buffer; hash: Buffer } | undefined {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !salt || !hash) return undefined;
  const parameters = { N: Number(n), r: Number(r), p: Number(p) };
  const sane =
    Number.isInteger(parameters.N) &&
    parameters.N >= 2 ** 14 &&
    parameters.N <= 2 ** 17 &&
    (parameters.N & (parameters.N - 1)) === 0 &&
    Number.isInteger(parameters.r) &&
    parameters.r >= 8 &&
    parameters.r <= 16 &&
    Number.isInteger(parameters.p) &&
    parameters.p >= 1 &&
    parameters.p <= 4;
  if (!sane) return undefined;
  return { parameters, salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') };
}

function derive(password: string, salt: Buffer, parameters: typeof PARAMETERS): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, { ...parameters, maxmem: MAX_MEMORY }, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );
}
