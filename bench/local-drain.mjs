// Drain: N concurrent OpenSSH `sftp` clients each upload F gpg-encrypted files to `sftpctl local up` (the built CLI,
// its own process); measured: time until every file is decrypted into raw, and the platform's peak RSS (VmHWM).
// Peer, same files, same run: OpenSSH sshd (internal-sftp) receiving the same uploads, then `gpg --decrypt` of each
// file with the same concurrency as local up (2) — what a hand-rolled sshd + cron + gpg setup would do.
//
//   node bench/local-drain.mjs                     50 clients × 5 files of 1 MiB
//   node bench/local-drain.mjs --clients=20 --files=3 --size=4M
//
// Results: bench/results/local-drain.json. Never asserted: figures for the report.
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs, ROOT, table, writeResult } from './lib.mjs';
import { ISOLATED_SSH_OPTIONS } from './openssh-client.mjs';

const args = parseArgs();
const CLIENTS = Number(args.clients ?? 50);
const FILES = Number(args.files ?? 5);
const SIZE = Number.parseFloat(args.size ?? '1') * (String(args.size ?? '1M').match(/k/i) ? 1024 : 1024 ** 2);

const sftpArgs = (port, user, key, batch) => [
  '-b',
  batch,
  '-F',
  '/dev/null',
  '-i',
  key,
  ...ISOLATED_SSH_OPTIONS,
  '-o',
  'LogLevel=ERROR',
  '-P',
  String(port),
  `${user}@127.0.0.1`,
];

function run(command, argv, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, argv, { stdio: ['ignore', 'ignore', 'pipe'], ...options });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

async function pool(items, size, work) {
  let next = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

function freePort() {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function main() {
  const work = await mkdtemp(join(tmpdir(), 'sftpctl-bench-drain-'));
  const stops = [];
  try {
    writeFileSync(
      join(work, 'sftpctl.yaml'),
      `project: bench
defaults: { region: eu-west-2, vpc: { cidr: 10.42.0.0/24 } }
environments: { dev: {} }
clients:
  - name: bank
    allowedIps: [203.0.113.0/24]
    requireEncryption: true
    upload: { sshKeys: [] }
`,
    );
    const data = join(work, 'data');
    const up = spawn(
      process.execPath,
      [join(ROOT, 'bin/sftpctl.js'), 'local', 'up', '--port', '0', '--data', data, '--json'],
      {
        cwd: work,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    stops.push(() => up.kill('SIGTERM'));
    const events = [];
    let ready;
    const waiters = [];
    createInterface({ input: up.stdout }).on('line', (line) => {
      let event;
      try {
        event = JSON.parse(line);
      } catch {
        return;
      }
      events.push(event);
      if (event.event === 'ready') ready = event;
      for (const waiter of waiters.splice(0)) waiter();
    });
    const until = async (test) => {
      while (!test()) await new Promise((resolve) => waiters.push(resolve));
    };
    await until(() => ready);
    const sshKey = ready.generated.find((key) => key.what === 'SSH key pair').privateKey;
    const ingressPublic = ready.generated.find((key) => key.what === 'ingress PGP pair').publicKey;
    const ingressPrivate = ready.generated.find((key) => key.what === 'ingress PGP pair').privateKey;

    console.log(`encrypting ${CLIENTS * FILES} files of ${(SIZE / 2 ** 20).toFixed(2)} MiB...`);
    const gnupg = join(work, 'gnupg');
    mkdirSync(gnupg, { mode: 0o700 });
    const hashes = new Map();
    for (let client = 0; client < CLIENTS; client++) {
      const folder = join(work, `c${client}`);
      mkdirSync(folder);
      const plainFolder = join(folder, 'plain');
      mkdirSync(plainFolder);
      for (let file = 0; file < FILES; file++) {
        const name = `c${client}-f${file}.csv`;
        const plain = randomBytes(Math.round(SIZE)).toString('base64').slice(0, Math.round(SIZE));
        writeFileSync(join(plainFolder, name), plain);
        hashes.set(name, createHash('sha256').update(plain).digest('hex'));
        execFileSync(
          'gpg',
          [
            '--homedir',
            gnupg,
            '--batch',
            '--yes',
            '--trust-model',
            'always',
            '--recipient-file',
            ingressPublic,
            '-o',
            join(folder, `${name}.gpg`),
            '-e',
            join(plainFolder, name),
          ],
          { stdio: 'ignore' },
        );
      }
      writeFileSync(
        join(folder, 'batch'),
        Array.from({ length: FILES }, (_, file) => `put c${client}-f${file}.csv.gpg`).join('\n'),
      );
    }

    // Ours.
    const start = performance.now();
    const results = await Promise.all(
      Array.from({ length: CLIENTS }, (_, client) =>
        run('sftp', sftpArgs(ready.port, 'bank-upload', sshKey, 'batch'), { cwd: join(work, `c${client}`) }),
      ),
    );
    const uploadedMs = performance.now() - start;
    const failedClients = results.filter((result) => result.code !== 0);
    const total = CLIENTS * FILES - failedClients.length * FILES;
    await until(() => new Set(events.filter((e) => e.event === 'processed').map((e) => e.key)).size >= total);
    const drainMs = performance.now() - start;
    const status = readFileSync(`/proc/${up.pid}/status`, 'utf8');
    const peakRssMiB = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
    let intact = 0;
    for (const [name, hash] of hashes) {
      const path = join(data, 'buckets', 'bench-dev-bank-raw', name);
      if (existsSync(path) && createHash('sha256').update(readFileSync(path)).digest('hex') === hash) intact++;
    }
    const refused = events.filter((e) => /refused/.test(e.event)).length;
    const failures = events.filter((e) => /quarantined|dead-letter|transient-failure/.test(e.event)).length;

    // Peer: sshd + gpg.
    let peer;
    const sshd = ['/usr/sbin/sshd', '/usr/local/sbin/sshd'].find((path) => existsSync(path));
    if (sshd) {
      const port = await freePort();
      const hostKey = join(work, 'sshd_host');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
      writeFileSync(join(work, 'authorized_keys'), readFileSync(`${sshKey}.pub`));
      const inbox = join(work, 'inbox');
      mkdirSync(inbox);
      writeFileSync(
        join(work, 'sshd_config'),
        [
          `Port ${port}`,
          'ListenAddress 127.0.0.1',
          `HostKey ${hostKey}`,
          `PidFile ${join(work, 'sshd.pid')}`,
          `AuthorizedKeysFile ${join(work, 'authorized_keys')}`,
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'UsePAM no',
          'StrictModes no',
          'PermitRootLogin prohibit-password',
          'MaxSessions 100',
          'MaxStartups 200',
          `Subsystem sftp internal-sftp -d ${inbox}`,
          'LogLevel ERROR',
          '',
        ].join('\n'),
      );
      if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
      const child = spawn(sshd, ['-D', '-e', '-f', join(work, 'sshd_config')], { stdio: 'ignore' });
      stops.push(() => child.kill('SIGTERM'));
      await new Promise((resolve) => setTimeout(resolve, 500));
      const gpgHome = join(work, 'gnupg-peer');
      mkdirSync(gpgHome, { mode: 0o700 });
      execFileSync('gpg', ['--homedir', gpgHome, '--batch', '--import', ingressPrivate], { stdio: 'ignore' });
      const peerStart = performance.now();
      const peerResults = await Promise.all(
        Array.from({ length: CLIENTS }, (_, client) =>
          run('sftp', sftpArgs(port, userInfo().username, sshKey, 'batch'), { cwd: join(work, `c${client}`) }),
        ),
      );
      const peerUploadMs = performance.now() - peerStart;
      const out = join(work, 'peer-raw');
      mkdirSync(out);
      const names = [...hashes.keys()];
      await pool(names, 2, (name) =>
        run('gpg', [
          '--homedir',
          gpgHome,
          '--batch',
          '--yes',
          '--pinentry-mode',
          'loopback',
          '--passphrase',
          '',
          '-o',
          join(out, name),
          '-d',
          join(inbox, `${name}.gpg`),
        ]),
      );
      peer = {
        uploadMs: Math.round(peerUploadMs),
        drainMs: Math.round(performance.now() - peerStart),
        failedClients: peerResults.filter((result) => result.code !== 0).length,
        intact: names.filter(
          (name) =>
            existsSync(join(out, name)) &&
            createHash('sha256')
              .update(readFileSync(join(out, name)))
              .digest('hex') === hashes.get(name),
        ).length,
      };
    }

    const result = {
      clients: CLIENTS,
      filesPerClient: FILES,
      plaintextBytes: Math.round(SIZE),
      ours: {
        uploadMs: Math.round(uploadedMs),
        drainMs: Math.round(drainMs),
        peakRssMiB: Math.round(peakRssMiB),
        failedClients: failedClients.length,
        refused,
        failures,
        intact,
      },
      peer: peer ?? 'sshd not found',
      cpu: readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1],
    };
    console.log(
      table(
        ['', 'uploads done', 'drained (all in raw)', 'peak RSS', 'failed clients', 'intact'],
        [
          [
            'sftpctl local up',
            `${result.ours.uploadMs} ms`,
            `${result.ours.drainMs} ms`,
            `${result.ours.peakRssMiB} MiB`,
            result.ours.failedClients,
            `${intact}/${hashes.size}`,
          ],
          ...(peer
            ? [
                [
                  'sshd + gpg (peer)',
                  `${peer.uploadMs} ms`,
                  `${peer.drainMs} ms`,
                  '-',
                  peer.failedClients,
                  `${peer.intact}/${hashes.size}`,
                ],
              ]
            : []),
        ],
      ),
    );
    console.log(`results: ${writeResult('local-drain', result)}`);
  } finally {
    for (const stop of stops.reverse()) stop();
    await new Promise((resolve) => setTimeout(resolve, 300));
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
