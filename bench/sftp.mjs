// SFTP throughput: OpenSSH's `sftp` client and rclone (when installed) uploading and downloading the same file against
// the embedded SFTP server (src/local/sftp-server.ts) and against OpenSSH's own sshd (internal-sftp), same client
// options and cipher, interleaved runs, medians. Whole-process wall time of the client (connection set-up included for
// both). rclone runs with --sftp-disable-hashcheck (against sshd it would otherwise md5sum the file over ssh).
//
//   node bench/sftp.mjs                        1 GiB, 3 runs, aes128-gcm@openssh.com
//   node bench/sftp.mjs --size=256M --runs=5 --cipher=chacha20-poly1305@openssh.com
//
// Goal: ≥ 1.2× sshd both ways. Without sshd on the machine the peer is skipped (install hint printed) and only our
// figures are reported. Results: bench/results/sftp.json.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { importTypeScript, median, parseArgs, table, writeResult } from './lib.mjs';
import { generateUserAndHostKeys, ISOLATED_SSH_OPTIONS } from './openssh-client.mjs';

const args = parseArgs();
const SIZE = parseSize(args.size ?? '1G');
const RUNS = Number(args.runs ?? 3);
const CIPHER = args.cipher ?? 'aes128-gcm@openssh.com';

function parseSize(text) {
  const match = /^(\d+(?:\.\d+)?)\s*([KMG]?)i?B?$/i.exec(text);
  if (!match) throw new Error(`--size: cannot read "${text}" (e.g. 100M, 1G)`);
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[match[2].toUpperCase()];
  return Math.round(Number(match[1]) * unit);
}

function which(command) {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/local/sbin']) {
    if (dir && existsSync(join(dir, command))) return join(dir, command);
  }
  return undefined;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Runs a command without blocking the event loop (our server lives in this process). Resolves with wall ms. */
function timed(command, argv, options = {}) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(command, argv, { stdio: ['ignore', 'ignore', 'pipe'], ...options });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (code === 0) resolve(ms);
      else reject(new Error(`${command} ${argv.join(' ')} exited ${code}: ${stderr}`));
    });
  });
}

function sftpClient(port, user, key, batch) {
  return [
    '-b',
    batch,
    '-F',
    '/dev/null',
    '-i',
    key,
    ...ISOLATED_SSH_OPTIONS,
    '-o',
    'LogLevel=ERROR',
    '-o',
    `Ciphers=${CIPHER}`,
    '-P',
    String(port),
    `${user}@127.0.0.1`,
  ];
}

function writeRandomFile(path, size) {
  const chunk = Buffer.allocUnsafe(1 << 20);
  const fd = openSync(path, 'w');
  const hash = createHash('sha256');
  try {
    for (let written = 0; written < size; ) {
      const n = Math.min(chunk.length, size - written);
      randomFillSync(chunk, 0, n);
      writeSync(fd, chunk, 0, n);
      hash.update(chunk.subarray(0, n));
      written += n;
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * CPU time (ms) the server has used: ours is this process (the harness idles during a transfer); sshd forks a
 * process per connection, whose time is added to the listener's cutime/cstime once it has exited and been reaped.
 * Less sensitive to other load on the machine than wall time.
 */
function serverCpuMs(target) {
  if (target.pid === undefined) {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1000;
  }
  const fields = readFileSync(`/proc/${target.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  // after "pid (comm) ": state is field 3, so cutime (16) and cstime (17) are at 13 and 14 here.
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100;
}

async function cpuOf(target, work) {
  const before = serverCpuMs(target);
  const ms = await work();
  // sshd reaps the connection's process right after the client exits.
  if (target.pid !== undefined) await new Promise((resolve) => setTimeout(resolve, 200));
  return { ms, cpuMs: serverCpuMs(target) - before };
}

function cpuModel() {
  const line = readFileSync('/proc/cpuinfo', 'utf8')
    .split('\n')
    .find((text) => text.startsWith('model name'));
  return line ? line.split(':')[1].trim() : 'unknown';
}

function sha256(path) {
  return execFileSync('sha256sum', [path], { encoding: 'utf8' }).split(' ')[0];
}

async function startSshd(sshd, dir, userKey) {
  const port = await freePort();
  const hostKey = join(dir, 'sshd_host_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${userKey}.pub`));
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'Subsystem sftp internal-sftp',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  // sshd refuses to start without its privilege separation directory.
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const child = spawn(sshd, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`sshd exited: ${stderr}`);
    const up = await new Promise((resolve) => {
      const socket = createServer().listen(port, '127.0.0.1');
      socket.once('listening', () => socket.close(() => resolve(false)));
      socket.once('error', () => resolve(true));
    });
    if (up) return { port, user: userInfo().username, pid: child.pid, stop: () => child.kill('SIGTERM') };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`sshd did not start: ${stderr}`);
}

async function main() {
  const work = await mkdtemp(join(tmpdir(), 'sftpctl-bench-sftp-'));
  const stops = [];
  try {
    const { startSftpServer, parseSshPublicKey } = await importTypeScript('sftp-server', {
      'src/local/sftp-server.ts': ['startSftpServer'],
      'src/core/crypto/ssh-public-key.ts': ['parseSshPublicKey'],
    });
    const { userKey, hostKeyPath } = generateUserAndHostKeys(work);
    const parsed = parseSshPublicKey(readFileSync(`${userKey}.pub`, 'utf8'));
    if (!parsed.ok) throw new Error(parsed.message);

    const local = join(work, 'local');
    const home = join(work, 'buckets', 'bench-upload');
    const remoteSshd = join(work, 'sshd-home');
    for (const dir of [local, home, remoteSshd]) mkdirSync(dir, { recursive: true });
    const source = join(local, 'source.bin');
    console.log(`writing a ${(SIZE / 2 ** 20).toFixed(0)} MiB test file...`);
    const sourceHash = writeRandomFile(source, SIZE);

    const ours = await startSftpServer({
      host: '127.0.0.1',
      port: 0,
      hostKey: readFileSync(hostKeyPath, 'utf8'),
      users: [
        {
          userName: 'bench-upload',
          client: 'bench',
          role: 'upload',
          keys: [parsed.key],
          home,
          allowedCidrs: [],
        },
      ],
      allowLoopback: true,
      stagingDir: join(work, 'staging'),
      log: () => undefined,
      onUploadCompleted: () => undefined,
    });
    stops.push(() => ours.close());

    const sshd = which('sshd');
    let peer;
    let peerNote;
    if (!sshd) {
      peerNote =
        'sshd not found: the OpenSSH server comparison is skipped. Install it with ' +
        '`sudo apt-get install -y openssh-server` (Debian/Ubuntu) and run this benchmark again.';
      console.log(peerNote);
    } else {
      try {
        peer = await startSshd(sshd, join(work), userKey);
        stops.push(() => peer.stop());
      } catch (error) {
        peerNote = `sshd could not be started (${error.message.trim()}); comparison skipped.`;
        console.log(peerNote);
      }
    }

    const targets = [
      { name: 'sftpctl', port: ours.port, user: 'bench-upload', remoteDir: '/' },
      ...(peer ? [{ name: 'sshd', port: peer.port, user: peer.user, remoteDir: remoteSshd, pid: peer.pid }] : []),
    ];
    const rclone = which('rclone');
    if (!rclone) console.log('rclone not found: its rows are skipped (apt-get install rclone).');
    const rcloneConfig = join(work, 'rclone.conf');
    writeFileSync(rcloneConfig, '');
    const clients = {
      openssh: {
        upload: (target, remote) => {
          const batch = join(work, `up-${target.name}`);
          writeFileSync(batch, `put ${source} ${remote}\n`);
          return timed('sftp', sftpClient(target.port, target.user, userKey, batch));
        },
        download: (target, remote, back) => {
          const batch = join(work, `down-${target.name}`);
          writeFileSync(batch, `get ${remote} ${back}\n`);
          return timed('sftp', sftpClient(target.port, target.user, userKey, batch));
        },
      },
      ...(rclone
        ? {
            rclone: {
              upload: (target, remote) =>
                timed(rclone, rcloneArgs(target, 'copyto', source, `${rcloneRemote(target)}${remote}`)),
              download: (target, remote, back) =>
                timed(rclone, rcloneArgs(target, 'copyto', `${rcloneRemote(target)}${remote}`, back)),
            },
          }
        : {}),
    };
    const rcloneRemote = (target) =>
      `:sftp,host=127.0.0.1,port=${target.port},user=${target.user},key_file=${userKey},ciphers=${CIPHER}:`;
    const rcloneArgs = (_target, ...rest) => [
      '--config',
      rcloneConfig,
      '--sftp-disable-hashcheck',
      '--ignore-times',
      '--low-level-retries',
      '1',
      ...rest,
    ];
    const rows = Object.keys(clients).flatMap((client) => targets.map((target) => ({ client, target })));
    const key = (row) => `${row.client}/${row.target.name}`;
    const times = Object.fromEntries(rows.map((row) => [key(row), { upload: [], download: [] }]));
    const cpu = Object.fromEntries(rows.map((row) => [key(row), { upload: [], download: [] }]));
    for (let run = 0; run < RUNS; run++) {
      for (const row of rows) {
        const { target } = row;
        const client = clients[row.client];
        const remote = `${target.remoteDir.replace(/\/$/, '')}/bench.bin`;
        rmSync(join(target.name === 'sshd' ? remoteSshd : home, 'bench.bin'), { force: true });
        const up = await cpuOf(target, () => client.upload(target, remote));
        times[key(row)].upload.push(up.ms);
        cpu[key(row)].upload.push(up.cpuMs);
        const back = join(local, `back-${target.name}.bin`);
        const down = await cpuOf(target, () => client.download(target, remote, back));
        times[key(row)].download.push(down.ms);
        cpu[key(row)].download.push(down.cpuMs);
        if (statSync(back).size !== SIZE) throw new Error(`${key(row)}: downloaded file has the wrong size`);
        if (run === 0 && sha256(back) !== sourceHash) throw new Error(`${key(row)}: downloaded file differs`);
        rmSync(back);
      }
    }

    const mbps = (ms) => SIZE / 1e6 / (ms / 1000);
    const figures = Object.fromEntries(
      rows.map((row) => [
        key(row),
        {
          uploadMBps: Number(mbps(median(times[key(row)].upload)).toFixed(1)),
          downloadMBps: Number(mbps(median(times[key(row)].download)).toFixed(1)),
          uploadServerCpuSPerGB: Number(((median(cpu[key(row)].upload) / 1000) * (1e9 / SIZE)).toFixed(2)),
          downloadServerCpuSPerGB: Number(((median(cpu[key(row)].download) / 1000) * (1e9 / SIZE)).toFixed(2)),
          uploadMs: times[key(row)].upload.map((ms) => Math.round(ms)),
          downloadMs: times[key(row)].download.map((ms) => Math.round(ms)),
        },
      ]),
    );
    const ratio = peer
      ? Object.fromEntries(
          Object.keys(clients).map((client) => [
            client,
            {
              upload: Number(
                (figures[`${client}/sftpctl`].uploadMBps / figures[`${client}/sshd`].uploadMBps).toFixed(2),
              ),
              download: Number(
                (figures[`${client}/sftpctl`].downloadMBps / figures[`${client}/sshd`].downloadMBps).toFixed(2),
              ),
            },
          ]),
        )
      : undefined;

    console.log(
      `\nsftp ${(SIZE / 2 ** 20).toFixed(0)} MiB, cipher ${CIPHER}, median of ${RUNS} runs (MB/s = 10^6 bytes/s)`,
    );
    console.log(
      table(
        ['client', 'server', 'upload MB/s', 'download MB/s', 'server CPU s/GB up', 'server CPU s/GB down'],
        rows.map((row) => [
          row.client,
          row.target.name,
          figures[key(row)].uploadMBps,
          figures[key(row)].downloadMBps,
          figures[key(row)].uploadServerCpuSPerGB,
          figures[key(row)].downloadServerCpuSPerGB,
        ]),
      ),
    );
    if (ratio) {
      for (const [client, r] of Object.entries(ratio)) {
        console.log(`ratio sftpctl/sshd with ${client}: upload ${r.upload}×, download ${r.download}× (goal ≥ 1.2×)`);
      }
    }
    const path = writeResult('sftp', {
      sizeMiB: SIZE / 2 ** 20,
      runs: RUNS,
      cipher: CIPHER,
      client: spawnSync('ssh', ['-V'], { encoding: 'utf8' }).stderr.trim(),
      ...figures,
      cpu: cpuModel(),
      ...(ratio ? { ratio, goal: '>= 1.2' } : { sshd: null, note: peerNote }),
    });
    console.log(`\nwritten ${path}`);
  } finally {
    for (const stop of stops.reverse()) await stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
