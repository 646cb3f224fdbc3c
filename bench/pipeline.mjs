// PGP pipeline: our streaming encrypt/decrypt (src/core/crypto/pgp-stream.ts) against GnuPG on the same file, in the
// same run, interleaved. Whole-process wall time (start-up included, as for gpg) and peak RSS of each process.
//
//   node bench/pipeline.mjs                 1 GiB, 3 interleaved runs (medians)
//   node bench/pipeline.mjs --size=100M --runs=5
//   node bench/pipeline.mjs --openpgp       also stock openpgp.js 6 streaming, for reference
//   node bench/pipeline.mjs --parallel=off  no worker thread at all
//   node bench/pipeline.mjs --warmup=0      no unmeasured first round (see below)
//   node bench/pipeline.mjs --aead=false    without the AEAD cases
//   node bench/pipeline.mjs --malloc-tuned  also our cases with glibc's malloc told to keep freed memory (below)
//
// AEAD cases (issue 16), each against the tools here that read the same file: the LibrePGP AEAD packet (tag 20)
// written by `rnp --aead=ocb` (read by rnp; sq 0.27's Nettle build has no OCB) and `rnp --aead=eax` (rnp and sq), and
// SEIPD v2 OCB written by openpgp.js (set-up, untimed; gpg 2.2, sq 0.27 and rnp 0.16 cannot read SEIPD v2, so only
// openpgp.js itself is a peer there, with --openpgp).
//
// --malloc-tuned: every chunk that leaves node:fs or node:crypto is a fresh 1 MiB ArrayBuffer; V8 frees them in
// batches at garbage collection, glibc then returns the top of its heap to the kernel (trim) and the next megabytes
// fault in again, page by page. The extra cases run our child with GLIBC_TUNABLES set to MALLOC_TUNABLES
// (src/core/crypto/malloc-tuning.ts, what the ingress and egress functions start with) so that freed memory stays in
// the heap and is reused: the same code, the fault cost made visible next to gpg (decrypt: SEIPD v1 and OCB).
//
// Goals (issue 3): throughput ≥ 1.0× gpg both ways; peak RSS ≤ 200 MB and flat from 100 MiB to 1 GiB.
// Goals (issue 16): decrypt ≥ 1.3× gpg, encrypt ≥ 1.1× gpg; AEAD decrypt ≥ 1.0× the tool that wrote it.
import { spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  createWriteStream,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { bundleTypeScript, median, parseArgs, ROOT, table, writeResult } from './lib.mjs';

const args = parseArgs();

const CHUNK = 1 << 20;
const TUNED_LABEL = '(glibc malloc tuned)';

if (args.child) {
  await child(args);
} else {
  await main();
}

function parseSize(text) {
  const match = /^(\d+(?:\.\d+)?)\s*([KMG]?)i?B?$/i.exec(text);
  if (!match) throw new Error(`--size: cannot read "${text}" (e.g. 100M, 1G)`);
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[match[2].toUpperCase()];
  return Math.round(Number(match[1]) * unit);
}

function bundle() {
  return bundleTypeScript('pgp-stream', {
    'src/core/crypto/pgp-stream.ts': ['*'],
    // What the ingress and egress functions start with (1 MiB chunks from the heap, kept there).
    'src/core/crypto/malloc-tuning.ts': ['MALLOC_TUNABLES'],
  });
}

/**
 * One measured operation in its own process: prints {ms, streamMs, maxRssKB}. `ms` counts from process start
 * (performance.now() is relative to it); `streamMs` from the moment the keys are ready to the verified end.
 */
async function child(a) {
  const stream = () => ({
    input: createReadStream(a.in, { highWaterMark: CHUNK }),
    output: createWriteStream(a.out, { highWaterMark: CHUNK }),
    started: performance.now(),
  });
  const parallel = a.parallel === 'off' ? false : a.parallel === 'on' ? true : 'auto';
  let started;
  if (a.child === 'encrypt' || a.child === 'decrypt') {
    const pgp = await import(a.module);
    if (a.child === 'encrypt') {
      const key = await pgp.readRecipientKey(readFileSync(a.key));
      const { input, output, started: t } = stream();
      started = t;
      const { ciphertext, done } = pgp.encryptStream(input, key, { parallel });
      await pipeline(ciphertext, output);
      await done;
    } else {
      const keys = await pgp.readDecryptionKeys([readFileSync(a.key)]);
      const { input, output, started: t } = stream();
      started = t;
      const { plaintext, verified } = pgp.decryptStream(input, keys, { parallel });
      await pipeline(plaintext, output);
      await verified;
    }
  } else {
    const { input, output, started: t } = stream();
    started = t;
    // Stock openpgp.js 6 streaming, configured as well as it goes (reference only).
    const openpgp = await import('openpgp');
    const config = {
      allowUnauthenticatedStream: true,
      preferredCompressionAlgorithm: openpgp.enums.compression.uncompressed,
    };
    const { Readable } = await import('node:stream');
    let data;
    if (a.child === 'openpgp-encrypt') {
      const key = await openpgp.readKey({ armoredKey: readFileSync(a.key, 'utf8') });
      const message = await openpgp.createMessage({ binary: Readable.toWeb(input), format: 'binary' });
      if (a.aead) Object.assign(config, { aeadProtect: true, preferredAEADAlgorithm: openpgp.enums.aead[a.aead] });
      data = await openpgp.encrypt({ message, encryptionKeys: key, format: 'binary', config });
    } else {
      const key = await openpgp.readPrivateKey({ armoredKey: readFileSync(a.key, 'utf8') });
      const message = await openpgp.readMessage({ binaryMessage: Readable.toWeb(input), config });
      ({ data } = await openpgp.decrypt({ message, decryptionKeys: key, format: 'binary', config }));
    }
    await pipeline(Readable.fromWeb(data), output);
  }
  const now = performance.now();
  const report = { ms: now, streamMs: now - started, maxRssKB: process.resourceUsage().maxRSS };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

function run(command, argv, env) {
  const useTime = existsSync('/usr/bin/time');
  const [cmd, full] = useTime ? ['/usr/bin/time', ['-f', '__RSS__ %M', command, ...argv]] : [command, argv];
  const start = process.hrtime.bigint();
  const result = spawnSync(cmd, full, { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 1 << 24 });
  const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0) throw new Error(`${command} ${argv.join(' ')} failed:\n${result.stderr}`);
  const rss = /__RSS__ (\d+)/.exec(result.stderr);
  const inner = result.stdout.trim().startsWith('{') ? JSON.parse(result.stdout.trim().split('\n').pop()) : {};
  return { wallMs, maxRssKB: rss ? Number(rss[1]) : (inner.maxRssKB ?? null), streamMs: inner.streamMs ?? null };
}

/** Whether the file's encrypted data packet (after new-format session key packets) is SEIPD version 2. */
function isSeipdv2(path) {
  const fd = openSync(path, 'r');
  const head = Buffer.alloc(4096);
  readSync(fd, head, 0, head.length, 0);
  closeSync(fd);
  for (let i = 0; i < head.length - 6; ) {
    const tag = head[i] & 0x3f;
    const first = head[i + 1];
    if (tag === 18) return head[i + (first < 192 ? 2 : first < 224 ? 3 : first < 255 ? 2 : 6)] === 2;
    if (first < 192) i += 2 + first;
    else if (first < 224) i += 3 + ((first - 192) << 8) + head[i + 2] + 192;
    else return false;
  }
  return false;
}

function hasTool(command, argv) {
  return spawnSync(command, argv, { stdio: 'ignore' }).status === 0;
}

function sha256(path) {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  const buffer = Buffer.allocUnsafe(CHUNK);
  try {
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

async function main() {
  const size = parseSize(args.size ?? '1G');
  const runs = Number(args.runs ?? process.env.BENCH_RUNS ?? 3);
  // One unmeasured round first: on this VM, a case that writes a file while the page cache grows onto memory not used
  // since boot ran up to 2× slower, and in the first round that was always the fourth new 1 GiB file (sftpctl decrypt
  // with the case order below; swapping it with gpg decrypt moved the penalty to gpg). From the second round on, every
  // output replaces the one deleted before it.
  const warmup = Number(args.warmup ?? 1);
  const withOpenpgp = args.openpgp === 'true';
  const parallel = args.parallel ?? 'auto';
  const module = await bundle();
  const { MALLOC_TUNABLES: MALLOC_TUNED } = await import(module);
  const dir = mkdtempSync(join(tmpdir(), 'sftpctl-bench-pgp-'));
  const gnupgHome = join(dir, 'gnupg');
  const env = { GNUPGHOME: gnupgHome };
  try {
    spawnSync('mkdir', ['-m', '700', gnupgHome]);
    const gpg = (argv, input) => {
      const result = spawnSync(
        'gpg',
        ['--batch', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', ...argv],
        {
          env: { ...process.env, ...env },
          input,
          maxBuffer: 1 << 24,
        },
      );
      if (result.status !== 0) throw new Error(`gpg ${argv.join(' ')}: ${result.stderr}`);
      return result.stdout;
    };
    gpg(['--quick-gen-key', 'Bench <bench@example.invalid>', 'future-default', 'default', 'never']);
    const publicKey = join(dir, 'public.asc');
    const privateKey = join(dir, 'bench-private.asc');
    writeFileSync(publicKey, gpg(['--armor', '--export', 'bench@example.invalid']));
    writeFileSync(privateKey, gpg(['--armor', '--export-secret-keys', 'bench@example.invalid']));

    const plain = join(dir, 'plain.bin');
    const fd = openSync(plain, 'w');
    const block = Buffer.allocUnsafe(CHUNK);
    for (let left = size; left > 0; left -= CHUNK) {
      randomFillSync(block);
      writeSync(fd, block, 0, Math.min(CHUNK, left));
    }
    closeSync(fd);
    const plainSum = sha256(plain);

    const gpgArgs = ['--batch', '--yes', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', ''];
    const file = (name) => join(dir, name);
    const ours = (op, input, output, key, childEnv = {}) =>
      run(
        process.execPath,
        [
          join(ROOT, 'bench/pipeline.mjs'),
          `--child=${op}`,
          `--module=${module}`,
          `--in=${input}`,
          `--out=${output}`,
          `--key=${key}`,
          `--parallel=${parallel}`,
        ],
        childEnv,
      );
    // name → [output file, measured command]; outputs are deleted before the case, never inside its timing.
    const cases = {
      'gpg encrypt': [
        'gpg.pgp',
        () =>
          run(
            'gpg',
            [...gpgArgs, '--trust-model', 'always', '--compress-algo', 'none', '-r', 'bench@example.invalid'].concat([
              '-o',
              file('gpg.pgp'),
              '-e',
              plain,
            ]),
            env,
          ),
      ],
      'sftpctl encrypt': ['ours.pgp', () => ours('encrypt', plain, file('ours.pgp'), publicKey)],
      'gpg decrypt': ['gpg.out', () => run('gpg', [...gpgArgs, '-o', file('gpg.out'), '-d', file('gpg.pgp')], env)],
      'sftpctl decrypt': ['ours.out', () => ours('decrypt', file('gpg.pgp'), file('ours.out'), privateKey)],
    };
    if (withOpenpgp) {
      const reference = (op, input, output, key) =>
        run(process.execPath, [
          join(ROOT, 'bench/pipeline.mjs'),
          `--child=openpgp-${op}`,
          `--in=${input}`,
          `--out=${file(output)}`,
          `--key=${key}`,
        ]);
      cases['openpgp.js encrypt'] = ['openpgp.pgp', () => reference('encrypt', plain, 'openpgp.pgp', publicKey)];
      cases['openpgp.js decrypt'] = [
        'openpgp.out',
        () => reference('decrypt', file('gpg.pgp'), 'openpgp.out', privateKey),
      ];
    }
    // AEAD: the messages are written once (untimed), then each reader is measured on the same file.
    const aeadPeers = { rnp: hasTool('rnp', ['--version']), sq: hasTool('sq', ['--version']) };
    const aeadChecks = [];
    if (args['malloc-tuned'] === 'true') {
      const tuned = { GLIBC_TUNABLES: MALLOC_TUNED };
      cases[`sftpctl encrypt ${TUNED_LABEL}`] = [
        'tuned.pgp',
        () => ours('encrypt', plain, file('tuned.pgp'), publicKey, tuned),
      ];
      cases[`sftpctl decrypt ${TUNED_LABEL}`] = [
        'tuned.out',
        () => ours('decrypt', file('gpg.pgp'), file('tuned.out'), privateKey, tuned),
      ];
      aeadChecks.push('tuned.out');
    }
    if (args.aead !== 'false') {
      const rnpHome = join(dir, 'rnp');
      const rnp = (argv) => run('rnp', ['--homedir', rnpHome, ...argv]);
      if (aeadPeers.rnp) {
        spawnSync('mkdir', ['-m', '700', rnpHome]);
        const imported = spawnSync('rnpkeys', ['--homedir', rnpHome, '--import', privateKey], { encoding: 'utf8' });
        if (imported.status !== 0) throw new Error(`rnpkeys --import: ${imported.stderr}`);
        for (const mode of ['ocb', 'eax']) {
          const message = file(`rnp-${mode}.pgp`);
          rnp(['-e', '-r', 'bench@example.invalid', `--aead=${mode}`, '-z', '0', `--output=${message}`, plain]);
          const label = `(${mode.toUpperCase()} packet, rnp-made)`;
          cases[`rnp decrypt ${label}`] = [
            `rnp-${mode}.out`,
            () => rnp(['-d', `--output=${file(`rnp-${mode}.out`)}`, message]),
          ];
          if (mode === 'eax' && aeadPeers.sq) {
            cases[`sq decrypt ${label}`] = [
              `sq-${mode}.out`,
              () => run('sq', ['decrypt', '--recipient-key', privateKey, '--output', file(`sq-${mode}.out`), message]),
            ];
          }
          cases[`sftpctl decrypt ${label}`] = [
            `ours-${mode}.out`,
            () => ours('decrypt', message, file(`ours-${mode}.out`), privateKey),
          ];
          aeadChecks.push(`ours-${mode}.out`);
          if (args['malloc-tuned'] === 'true' && mode === 'ocb') {
            cases[`sftpctl decrypt ${label} ${TUNED_LABEL}`] = [
              `tuned-${mode}.out`,
              () => ours('decrypt', message, file(`tuned-${mode}.out`), privateKey, { GLIBC_TUNABLES: MALLOC_TUNED }),
            ];
            aeadChecks.push(`tuned-${mode}.out`);
          }
        }
      }
      // openpgp.js writes SEIPD v2 only to keys that advertise it (gpg 2.2's do not): a key of its own for this case.
      const openpgp = await import('openpgp');
      const v2Key = await openpgp.generateKey({
        type: 'ecc',
        userIDs: [{ email: 'seipdv2@example.invalid' }],
        config: { aeadProtect: true },
      });
      const v2Public = file('seipdv2-public.asc');
      const v2Private = file('seipdv2-private.asc');
      writeFileSync(v2Public, v2Key.publicKey);
      writeFileSync(v2Private, v2Key.privateKey);
      const seipdv2 = file('openpgp-seipdv2-ocb.pgp');
      run(process.execPath, [
        join(ROOT, 'bench/pipeline.mjs'),
        '--child=openpgp-encrypt',
        '--aead=ocb',
        `--in=${plain}`,
        `--out=${seipdv2}`,
        `--key=${v2Public}`,
      ]);
      if (!isSeipdv2(seipdv2)) throw new Error('openpgp.js did not write SEIPD v2');
      const label = '(SEIPDv2 OCB, openpgp.js-made)';
      cases[`sftpctl decrypt ${label}`] = [
        'ours-v2.out',
        () => ours('decrypt', seipdv2, file('ours-v2.out'), v2Private),
      ];
      aeadChecks.push('ours-v2.out');
      if (withOpenpgp) {
        cases[`openpgp.js decrypt ${label}`] = [
          'openpgp-v2.out',
          () =>
            run(process.execPath, [
              join(ROOT, 'bench/pipeline.mjs'),
              '--child=openpgp-decrypt',
              `--in=${seipdv2}`,
              `--out=${file('openpgp-v2.out')}`,
              `--key=${v2Private}`,
            ]),
        ];
      }
    }
    const samples = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
    for (let r = -warmup; r < runs; r++) {
      for (const [name, [output, measure]] of Object.entries(cases)) {
        rmSync(file(output), { force: true });
        // Every case starts with no dirty pages queued for writeback: otherwise whoever runs after a big write pays
        // for it (measured: up to 2× on 1 GiB).
        spawnSync('sync');
        const sample = measure();
        if (r >= 0) samples[name].push(sample);
      }
      // Correctness, outside the timings: our plaintext is the original; gpg reads what we wrote.
      if (sha256(file('ours.out')) !== plainSum) throw new Error('sftpctl decrypt produced different bytes');
      for (const output of aeadChecks) {
        if (sha256(file(output)) !== plainSum) throw new Error(`sftpctl decrypt produced different bytes (${output})`);
      }
      run('gpg', [...gpgArgs, '-o', file('check.out'), '-d', file('ours.pgp')], env);
      if (sha256(file('check.out')) !== plainSum) throw new Error('gpg could not read what sftpctl encrypted');
      rmSync(file('check.out'), { force: true });
    }

    const mb = size / 1e6;
    const stats = Object.fromEntries(
      Object.entries(samples).map(([name, list]) => {
        const wallMs = median(list.map((s) => s.wallMs));
        const inner = list.every((s) => s.streamMs !== null) ? median(list.map((s) => s.streamMs)) : null;
        return [
          name,
          {
            wallMs: Math.round(wallMs),
            mbPerS: Math.round(mb / (wallMs / 1000)),
            streamMbPerS: inner === null ? null : Math.round(mb / (inner / 1000)),
            peakRssMB: Math.round(Math.max(...list.map((s) => s.maxRssKB ?? 0)) / 1024),
            samplesMs: list.map((s) => Math.round(s.wallMs)),
          },
        ];
      }),
    );
    const ratio = (op) => stats[`sftpctl ${op}`].mbPerS / stats[`gpg ${op}`].mbPerS;
    const streamRatio = (op) => stats[`sftpctl ${op}`].streamMbPerS / stats[`gpg ${op}`].mbPerS;
    // Each case is compared with its peer: gpg for the SEIPD v1 cases, the tool that wrote the file for AEAD.
    const peerOf = (name) => {
      const [tool, op, ...rest] = name.split(' ');
      const label = rest.join(' ').replace(` ${TUNED_LABEL}`, '');
      if (!label || label === TUNED_LABEL) return stats[`gpg ${op}`];
      if (tool !== 'sftpctl') return stats[name];
      return stats[`rnp ${op} ${label}`] ?? stats[`openpgp.js ${op} ${label}`] ?? stats[name];
    };
    const rows = Object.entries(stats).map(([name, s]) => {
      const base = peerOf(name);
      const stream = s.streamMbPerS ?? s.mbPerS; // gpg starts in ~10 ms: its wall time is its streaming time
      const self = base === s && !name.startsWith('gpg ');
      return [
        name,
        s.mbPerS,
        self ? '—' : (s.mbPerS / base.mbPerS).toFixed(2),
        stream,
        self ? '—' : (stream / base.mbPerS).toFixed(2),
        s.peakRssMB,
        s.wallMs,
      ];
    });
    const aeadRatios = Object.fromEntries(
      Object.keys(stats)
        .filter(
          (name) => name.startsWith('sftpctl decrypt (') && !name.endsWith(TUNED_LABEL) && peerOf(name) !== stats[name],
        )
        .map((name) => [name, Number((stats[name].mbPerS / peerOf(name).mbPerS).toFixed(2))]),
    );
    console.log(
      `pgp pipeline: ${(size / 1024 ** 2).toFixed(0)} MiB random, no compression, binary; median of ${runs} interleaved runs after ${warmup} unmeasured; parallel=${parallel}\n`,
    );
    console.log(table(['case', 'MB/s', '× peer', 'streaming MB/s', '× peer', 'peak RSS MB', 'wall ms'], rows));
    console.log(
      '\nMB/s: whole process, start-up included (node + openpgp.js import + key unlock ≈ 0.15 s for us, ~10 ms for gpg).\n' +
        'streaming MB/s: from keys ready to verified end (what a warm Lambda or `sftpctl local` sees per file).\n' +
        '× peer: against gpg for SEIPD v1, against rnp (which wrote the file) for the AEAD packet, against the case itself\n' +
        'where no peer here reads the format (SEIPD v2); against gpg for the (glibc malloc tuned) cases\n' +
        `(--malloc-tuned: our child with GLIBC_TUNABLES=${MALLOC_TUNED}).`,
    );
    const path = writeResult(`pipeline-${Math.round(size / 1024 ** 2)}MiB`, {
      sizeBytes: size,
      runs,
      warmup,
      parallel,
      cpus: (await import('node:os')).availableParallelism(),
      gpg: spawnSync('gpg', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0],
      rnp: aeadPeers.rnp ? spawnSync('rnp', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0] : null,
      sq: aeadPeers.sq ? spawnSync('sq', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0] : null,
      aeadRatio: aeadRatios,
      ...(stats[`sftpctl decrypt ${TUNED_LABEL}`]
        ? {
            mallocTuned: MALLOC_TUNED,
            mallocTunedRatio: {
              encrypt: Number(
                (stats[`sftpctl encrypt ${TUNED_LABEL}`].mbPerS / stats['gpg encrypt'].mbPerS).toFixed(2),
              ),
              decrypt: Number(
                (stats[`sftpctl decrypt ${TUNED_LABEL}`].mbPerS / stats['gpg decrypt'].mbPerS).toFixed(2),
              ),
            },
          }
        : {}),
      cases: stats,
      ratio: { encrypt: Number(ratio('encrypt').toFixed(2)), decrypt: Number(ratio('decrypt').toFixed(2)) },
      streamingRatio: {
        encrypt: Number(streamRatio('encrypt').toFixed(2)),
        decrypt: Number(streamRatio('decrypt').toFixed(2)),
      },
      goals: {
        ratio: 'decrypt >= 1.3, encrypt >= 1.1 (issue 16)',
        aeadRatio: '>= 1.0 against the tool that wrote the file',
        peakRssMB: '<= 200, flat from 100 MiB to 1 GiB',
      },
    });
    // bench/results/pipeline.json: the latest run of each size, side by side (flatness of RSS is read across them).
    const summaryPath = join(ROOT, 'bench/results/pipeline.json');
    let summary = {};
    try {
      summary = JSON.parse(readFileSync(summaryPath, 'utf8'));
      if (typeof summary.bySize !== 'object' || summary.bySize === null) summary = {};
    } catch {
      // first run
    }
    summary.bySize = {
      ...summary.bySize,
      [`${Math.round(size / 1024 ** 2)}MiB`]: JSON.parse(readFileSync(path, 'utf8')),
    };
    writeFileSync(summaryPath, `${JSON.stringify(summary, null, 2)}\n`);
    console.log(`\nwritten to ${path} and ${summaryPath}`);
  } finally {
    spawnSync('gpgconf', ['--homedir', gnupgHome, '--kill', 'all']);
    if (args.keep !== 'true') rmSync(dir, { recursive: true, force: true });
    else console.log(`kept ${dir}`);
  }
}
