import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';

/**
 * npm 11's `npm ci` refuses a lock that leaves out any platform's optional binary (esbuild, biome, rollup publish one
 * package per OS and CPU), and the README's first command is `npm ci`: the lock must list every one of them.
 */
describe('package-lock.json', () => {
  it('lists every optional dependency of every package, for every platform', async () => {
    const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8')) as {
      lockfileVersion: number;
      packages: Record<
        string,
        { optionalDependencies?: Record<string, string>; dependencies?: Record<string, string> }
      >;
    };
    expect(lock.lockfileVersion).toBe(3);
    const missing: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      for (const name of Object.keys(entry.optionalDependencies ?? {})) {
        if (!resolves(lock.packages, path, name)) missing.push(`${path || '(root)'} → ${name}`);
      }
    }
    expect(missing, 'run `npm install --package-lock-only` with npm 11 to complete the lock').toEqual([]);
  });

  it('matches package.json: every declared dependency is locked', async () => {
    const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8'));
    const lock = JSON.parse(await readFile(join(ROOT, 'package-lock.json'), 'utf8'));
    const root = lock.packages[''];
    expect(root.dependencies).toEqual(manifest.dependencies);
    expect(root.devDependencies).toEqual(manifest.devDependencies);
    for (const name of [...Object.keys(manifest.dependencies), ...Object.keys(manifest.devDependencies)]) {
      expect(lock.packages[`node_modules/${name}`], name).toBeDefined();
    }
  });
});

/** Node's lookup: node_modules/<name> beside the package, then in each folder above it. */
function resolves(packages: Record<string, unknown>, from: string, name: string): boolean {
  let base = from;
  for (;;) {
    const candidate = base ? `${base}/node_modules/${name}` : `node_modules/${name}`;
    if (candidate in packages) return true;
    if (!base) return false;
    const cut = base.lastIndexOf('/node_modules/');
    base = cut === -1 ? '' : base.slice(0, cut);
  }
}
