// Small helpers shared by the benchmarks: timing, medians, result files. Benchmarks never assert durations.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Wall time of one run of a command, ms. Throws when it fails. */
export function timeCommand(command, args, options = {}) {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'], ...options });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr}`);
  return ms;
}

export function writeResult(name, result) {
  const path = join(ROOT, 'bench/results', `${name}.json`);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(
    path,
    `${JSON.stringify({ ...result, node: process.version, date: new Date().toISOString() }, null, 2)}\n`,
  );
  return path;
}

export function table(header, rows) {
  const widths = header.map((cell, i) => Math.max(cell.length, ...rows.map((row) => String(row[i]).length)));
  const line = (cells) => cells.map((cell, i) => String(cell).padEnd(widths[i])).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/**
 * Bundles exports of the TypeScript sources into one module with esbuild (dependencies stay external and resolve
 * from this project, since the bundle is written under node_modules/.cache), so a benchmark measures the code, not a
 * TypeScript loader. `exportsByFile` maps a source path (from the project root) to names, or ['*'].
 */
export async function bundleTypeScript(name, exportsByFile) {
  const { build } = await import('esbuild');
  const dir = join(ROOT, 'node_modules/.cache/sftpctl-bench');
  mkdirSync(dir, { recursive: true });
  const entry = join(dir, `${name}.entry.ts`);
  const lines = Object.entries(exportsByFile).map(([file, names]) => {
    const from = JSON.stringify(join(ROOT, file));
    return names.includes('*') ? `export * from ${from};` : `export { ${names.join(', ')} } from ${from};`;
  });
  writeFileSync(entry, `${lines.join('\n')}\n`);
  const outfile = join(dir, `${name}.mjs`);
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    packages: 'external',
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
  });
  return outfile;
}

/** {@link bundleTypeScript}, then imports the bundle. */
export async function importTypeScript(name, exportsByFile) {
  const { pathToFileURL } = await import('node:url');
  return import(pathToFileURL(await bundleTypeScript(name, exportsByFile)).href);
}

/** `--size 1G`, `--size=1G` and bare `--flag` (→ 'true'), as an object. */
export function parseArgs(argv = process.argv.slice(2)) {
  const args = {};
  for (let index = 0; index < argv.length; index++) {
    const [key, inline] = argv[index].replace(/^--/, '').split('=');
    const next = argv[index + 1];
    if (inline !== undefined) args[key] = inline;
    else if (next !== undefined && !next.startsWith('--')) args[key] = argv[++index];
    else args[key] = 'true';
  }
  return args;
}
