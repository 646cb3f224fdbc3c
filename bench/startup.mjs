// How long `sftpctl --help` takes against bare `node -e 0`, interleaved in the same run. Goal: < 1.5×.
import { join } from 'node:path';
import { median, ROOT, table, timeCommand, writeResult } from './lib.mjs';

const runs = Number(process.env.BENCH_RUNS ?? 30);
const bin = join(ROOT, 'bin/sftpctl.js');
const cases = {
  'node -e 0': [process.execPath, ['-e', '0']],
  'sftpctl --help': [process.execPath, [bin, '--help']],
  'sftpctl --version': [process.execPath, [bin, '--version']],
};
const samples = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
for (const [command, args] of Object.values(cases)) timeCommand(command, args); // warm the file cache
for (let run = 0; run < runs; run++) {
  for (const [name, [command, args]] of Object.entries(cases)) samples[name].push(timeCommand(command, args));
}
const baseline = median(samples['node -e 0']);
const rows = Object.entries(samples).map(([name, times]) => [
  name,
  median(times).toFixed(1),
  (median(times) / baseline).toFixed(2),
]);
console.log(`startup, median of ${runs} interleaved runs\n`);
console.log(table(['command', 'ms', '× node -e 0'], rows));
const path = writeResult('startup', {
  runs,
  medianMs: Object.fromEntries(rows.map(([name, ms]) => [name, Number(ms)])),
  ratio: Number(rows[1][2]),
  goal: '< 1.5',
});
console.log(`\nwritten to ${path}`);
