/**
 * The one place openpgp.js is loaded (lazily: only when a key or a message is actually processed).
 *
 * Outside a bundle, this loads the package's own minified Node build (`dist/node/openpgp.min.mjs`, same version,
 * same code) instead of `dist/node/openpgp.mjs`, which the package's export map points to. The unminified file holds
 * a few non-ASCII characters, so V8 keeps its 1.2 MB of source as a two-byte string: 2.4 MB of the heap for the life
 * of the process, a third of what a decryption's process holds. That matters beyond memory: with the old generation
 * just over V8's 8 MB incremental-marking threshold, every young-generation collection (one per ~30 MB of stream
 * buffers) set off a full mark-compact — 50–60 of them per GiB decrypted, ~18 % of the CPU time (docs/pgp.md,
 * Performance). The minified build is ASCII: 0.4 MB, and it imports ~6 ms faster.
 *
 * Where the build cannot be located (a bundle such as the Lambda zip, which has openpgp.js inlined and minified
 * already; a loader without `import.meta.resolve`), the package's regular entry is used.
 */
export type OpenPgpModule = typeof import('openpgp');

let modulePromise: Promise<OpenPgpModule> | undefined;

export function loadOpenpgp(): Promise<OpenPgpModule> {
  modulePromise ??= importOpenpgp();
  return modulePromise;
}

async function importOpenpgp(): Promise<OpenPgpModule> {
  const minified = minifiedBuild();
  if (minified !== undefined) {
    try {
      const module = (await import(minified)) as OpenPgpModule;
      if (typeof module.readKey === 'function' && typeof module.decryptSessionKeys === 'function') return module;
    } catch {
      // not there after all (a trimmed install): the regular entry below
    }
  }
  return import('openpgp');
}

/** file: URL of dist/node/openpgp.min.mjs next to the entry Node resolves 'openpgp' to, if that is where it is. */
function minifiedBuild(): string | undefined {
  try {
    const resolve = (import.meta as { resolve?: (specifier: string) => string }).resolve;
    if (typeof resolve !== 'function') return undefined;
    const entry = resolve('openpgp');
    const suffix = '/dist/node/openpgp.mjs';
    if (!entry.startsWith('file:') || !entry.endsWith(suffix)) return undefined;
    return `${entry.slice(0, -suffix.length)}/dist/node/openpgp.min.mjs`;
  } catch {
    return undefined;
  }
}
