// Bundles the CLI with code splitting: every command is its own chunk, loaded only when that command runs.
import { readFile, rm } from 'node:fs/promises';
import { build } from 'esbuild';

// commander is bundled: it is on every run's path, and one file loads faster than its CommonJS module tree.
// Every other dependency stays external and is imported lazily by the command that needs it.
const { dependencies } = JSON.parse(await readFile('package.json', 'utf8'));
const external = Object.keys(dependencies).filter((name) => name !== 'commander');

await rm('dist', { recursive: true, force: true });
await build({
  entryPoints: ['src/cli.ts'],
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: [...external, ...external.map((name) => `${name}/*`)],
  sourcemap: 'linked',
  // Bundled CommonJS (commander) calls require() for Node built-ins; give ESM chunks a real one.
  banner: {
    js: "import { createRequire as __sftpctlCreateRequire } from 'node:module'; const require = __sftpctlCreateRequire(import.meta.url);",
  },
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
});
