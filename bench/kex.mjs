// Key exchange cost on the local SFTP server: curve25519-sha256 (the classical peer) against the post-quantum hybrids
// sntrup761x25519-sha512 and mlkem768x25519-sha256, interleaved, in the same run.
//
//   1. server side alone: the server's half of each exchange (X25519 + KEM encapsulation + hash), per second;
//   2. full handshakes per second, ssh2's Client against our server in this process (connect, key exchange, host key
//      signature, publickey login, disconnect; both sides' CPU on this machine);
//   3. OpenSSH's `ssh` (9.2: curve25519 and sntrup761, no ML-KEM) against our server, whole-process wall time per
//      login, which includes the client's own start-up.
//
//   node bench/kex.mjs                 (--handshakes=40 --ssh=15 --ops=200)
//
// Results: bench/results/kex.json. No duration is asserted anywhere.
import { spawn } from 'node:child_process';
import { createHash, diffieHellman, generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { importTypeScript, median, parseArgs, table, writeResult } from './lib.mjs';
import { generateUserAndHostKeys, ISOLATED_SSH_OPTIONS } from './openssh-client.mjs';

const args = parseArgs();
const HANDSHAKES = Number(args.handshakes ?? 40);
const SSH_RUNS = Number(args.ssh ?? 15);
const OPS = Number(args.ops ?? 200);
const KEX = ['curve25519-sha256', 'sntrup761x25519-sha512', 'mlkem768x25519-sha256'];
const OPENSSH_KEX = ['curve25519-sha256', 'sntrup761x25519-sha512@openssh.com'];

function perSecond(count, ms) {
  return (count / (ms / 1000)).toFixed(0);
}

function sshLogin(port, userKey, kex) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(
      'ssh',
      [
        '-F',
        '/dev/null',
        '-i',
        userKey,
        ...ISOLATED_SSH_OPTIONS,
        '-o',
        'LogLevel=ERROR',
        '-o',
        `KexAlgorithms=${kex}`,
        '-p',
        String(port),
        '-s',
        'bench-upload@127.0.0.1',
        'sftp',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Number(process.hrtime.bigint() - start) / 1e6);
      else reject(new Error(`ssh with ${kex} exited ${code}: ${stderr}`));
    });
  });
}

async function main() {
  const work = await mkdtemp(join(tmpdir(), 'sftpctl-bench-kex-'));
  let server;
  try {
    const { startSftpServer, parseSshPublicKey, POST_QUANTUM_KEX } = await importTypeScript('kex', {
      'src/local/sftp-server.ts': ['startSftpServer'],
      'src/core/crypto/ssh-public-key.ts': ['parseSshPublicKey'],
      'src/local/sftp/kex-registry.ts': ['POST_QUANTUM_KEX'],
    });
    const { userKey, hostKeyPath } = generateUserAndHostKeys(work);
    const parsed = parseSshPublicKey(readFileSync(`${userKey}.pub`, 'utf8'));
    if (!parsed.ok) throw new Error(parsed.message);
    const home = join(work, 'home');
    mkdirSync(home);
    server = await startSftpServer({
      host: '127.0.0.1',
      port: 0,
      hostKey: readFileSync(hostKeyPath, 'utf8'),
      users: [
        { userName: 'bench-upload', client: 'bench', role: 'upload', keys: [parsed.key], home, allowedCidrs: [] },
      ],
      allowLoopback: true,
      stagingDir: join(work, 'staging'),
      log: () => undefined,
      onUploadCompleted: () => undefined,
    });
    const privateKey = readFileSync(userKey);

    // 1. The server's half of each exchange, without the network. curve25519's: a key pair, the X25519 secret, a hash.
    const serverSide = {};
    {
      const peer = generateKeyPairSync('x25519').publicKey;
      const start = process.hrtime.bigint();
      for (let i = 0; i < OPS; i++) {
        const { privateKey } = generateKeyPairSync('x25519');
        createHash('sha256')
          .update(diffieHellman({ privateKey, publicKey: peer }))
          .digest();
      }
      serverSide['curve25519-sha256'] = Number(process.hrtime.bigint() - start) / 1e6 / OPS;
    }
    for (const name of ['sntrup761x25519-sha512', 'mlkem768x25519-sha256']) {
      const method = POST_QUANTUM_KEX[name];
      const init = method.client().init;
      method.server(init); // warm (and, for ML-KEM, load noble)
      const start = process.hrtime.bigint();
      for (let i = 0; i < OPS; i++) method.server(init);
      serverSide[name] = Number(process.hrtime.bigint() - start) / 1e6 / OPS;
    }

    // 2. ssh2 Client handshakes + login, interleaved per round.
    const connectOnce = (kex) =>
      new Promise((resolve, reject) => {
        const client = new ssh2.Client();
        const start = process.hrtime.bigint();
        client.once('ready', () => {
          const ms = Number(process.hrtime.bigint() - start) / 1e6;
          client.end();
          resolve(ms);
        });
        client.once('error', reject);
        client.connect({
          host: '127.0.0.1',
          port: server.port,
          username: 'bench-upload',
          privateKey,
          algorithms: { kex: [kex] },
        });
      });
    const ssh2Times = Object.fromEntries(KEX.map((kex) => [kex, []]));
    for (const kex of KEX) await connectOnce(kex); // warm
    for (let round = 0; round < HANDSHAKES; round++) {
      for (const kex of KEX) ssh2Times[kex].push(await connectOnce(kex));
    }

    // 3. OpenSSH ssh logins, interleaved.
    // The server's CPU per login is this process's (the harness idles while ssh runs); the rest of the wall time is
    // the ssh process, whose own sntrup761 key generation (OpenSSH's reference C) is most of the difference.
    const sshTimes = Object.fromEntries(OPENSSH_KEX.map((kex) => [kex, []]));
    const sshServerCpu = Object.fromEntries(OPENSSH_KEX.map((kex) => [kex, []]));
    for (const kex of OPENSSH_KEX) await sshLogin(server.port, userKey, kex); // warm
    for (let round = 0; round < SSH_RUNS; round++) {
      for (const kex of OPENSSH_KEX) {
        const before = process.cpuUsage();
        sshTimes[kex].push(await sshLogin(server.port, userKey, kex));
        const used = process.cpuUsage(before);
        sshServerCpu[kex].push((used.user + used.system) / 1000);
      }
    }

    const ssh2Median = Object.fromEntries(KEX.map((kex) => [kex, median(ssh2Times[kex])]));
    const sshMedian = Object.fromEntries(OPENSSH_KEX.map((kex) => [kex, median(sshTimes[kex])]));
    const sshCpuMedian = Object.fromEntries(OPENSSH_KEX.map((kex) => [kex, median(sshServerCpu[kex])]));
    const base = ssh2Median['curve25519-sha256'];
    console.log(
      `key exchange cost, medians; ${HANDSHAKES} ssh2 handshakes and ${SSH_RUNS} OpenSSH logins per method\n`,
    );
    console.log(
      table(
        [
          'method',
          'server half ms',
          'ssh2 handshake+login ms',
          'per s',
          '× curve25519',
          'OpenSSH login ms',
          'server CPU ms/login',
        ],
        KEX.map((kex) => {
          const opensshName = kex.startsWith('sntrup') ? `${kex}@openssh.com` : kex;
          const pq = kex.startsWith('mlkem') ? 'n/a (OpenSSH 9.2)' : '-';
          return [
            kex,
            serverSide[kex]?.toFixed(2) ?? '-',
            ssh2Median[kex].toFixed(1),
            perSecond(1, ssh2Median[kex]),
            (ssh2Median[kex] / base).toFixed(2),
            sshMedian[opensshName]?.toFixed(1) ?? pq,
            sshCpuMedian[opensshName]?.toFixed(1) ?? pq,
          ];
        }),
      ),
    );
    const path = writeResult('kex', {
      handshakes: HANDSHAKES,
      sshRuns: SSH_RUNS,
      serverHalfMs: serverSide,
      ssh2HandshakeLoginMs: ssh2Median,
      opensshLoginMs: sshMedian,
      opensshServerCpuMsPerLogin: sshCpuMedian,
    });
    console.log(`\nwritten to ${path}`);
  } finally {
    await server?.close();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
