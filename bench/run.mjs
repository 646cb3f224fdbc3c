// `npm run bench` runs every benchmark; `npm run bench -- startup synth` runs the named ones.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './lib.mjs';

const all = readdirSync(join(ROOT, 'bench'))
  .filter((file) => file.endsWith('.mjs') && !['run.mjs', 'lib.mjs'].includes(file))
  .map((file) => file.replace(/\.mjs$/, ''));
// Leading bare words name benchmarks; everything from the first flag on is passed to each of them.
const args = process.argv.slice(2);
const firstFlag = args.findIndex((arg) => arg.startsWith('-'));
const chosen = firstFlag < 0 ? args : args.slice(0, firstFlag);
const passThrough = firstFlag < 0 ? [] : args.slice(firstFlag);
const unknown = chosen.filter((name) => !all.includes(name));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; available: ${all.join(', ')}`);
  process.exit(2);
}
if (!existsSync(join(ROOT, 'dist/cli.js')))
  spawnSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { stdio: 'inherit' });
let failed = 0;
for (const name of chosen.length > 0 ? chosen : all) {
  console.log(`\n=== bench/${name}`);
  const result = spawnSync(process.execPath, [join(ROOT, 'bench', `${name}.mjs`), ...passThrough], {
    stdio: 'inherit',
  });
  if (result.status !== 0) failed++;
}
process.exit(failed > 0 ? 1 : 0);
