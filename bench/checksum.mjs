// `sftpctl verify checksum` against coreutils `sha256sum -c` on the same file, interleaved. Goal: ≥ 2× faster.
// Size: --size 1G (default) or e.g. --size 100M.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, ROOT, table, timeCommand, writeResult } from './lib.mjs';

const sizeArg =
  process.argv.find((arg) => arg.startsWith('--size='))?.slice(7) ??
  process.argv[process.argv.indexOf('--size') + 1] ??
  '1G';
const bytes = Number.parseFloat(sizeArg) * { K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[sizeArg.slice(-1).toUpperCase()];
const runs = Number(process.env.BENCH_RUNS ?? 3);
const dir = mkdtempSync(join(tmpdir(), 'sftpctl-bench-'));
try {
  execFileSync('sh', ['-c', `head -c ${bytes} /dev/urandom > data.bin && sha256sum data.bin > data.bin.sha256`], {
    cwd: dir,
  });
  const cases = {
    'sha256sum -c': ['sha256sum', ['-c', '--quiet', 'data.bin.sha256']],
    'sftpctl verify checksum': [process.execPath, [join(ROOT, 'bin/sftpctl.js'), 'verify', 'checksum', 'data.bin']],
  };
  const samples = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
  for (let run = 0; run < runs; run++) {
    for (const [name, [command, args]] of Object.entries(cases))
      samples[name].push(timeCommand(command, args, { cwd: dir }));
  }
  const mib = bytes / 1024 ** 2;
  const peer = median(samples['sha256sum -c']);
  const rows = Object.entries(samples).map(([name, times]) => {
    const ms = median(times);
    return [name, ms.toFixed(0), (mib / (ms / 1000)).toFixed(0), (peer / ms).toFixed(2)];
  });
  console.log(`verify a ${sizeArg} file against its SHA-256 sidecar, median of ${runs}\n`);
  console.log(table(['command', 'ms', 'MiB/s', '× sha256sum'], rows));
  const path = writeResult('checksum', { size: sizeArg, runs, rows, speedup: Number(rows[1][3]), goal: '>= 2' });
  console.log(`\nwritten to ${path}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
