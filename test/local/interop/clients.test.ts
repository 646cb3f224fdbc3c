import { execFile, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ISOLATED_SSH_OPTIONS } from '../../../bench/openssh-client.mjs';
import { validateConfigText } from '../../../src/core/config/validate.js';
import { fileReaderAt } from '../../../src/io/files.js';
import { type LocalPlatform, startLocalPlatform } from '../../../src/local/platform.js';
import { EventLog, keygen, runSftp } from '../../helpers/sftp.js';

/**
 * The client-interop matrix: the SFTP clients partners run, driven for real against `local up` (the whole platform:
 * SFTP server, bucket folders, ingest pipeline). Each client uploads, lists, downloads, renames, deletes, resumes
 * where it can, and uploads a gpg-encrypted file that the pipeline must decrypt into the raw bucket.
 * `.ci/run` installs the clients (Debian packages); a missing one fails its row, never skips it.
 */

const PYTHON = '/usr/bin/python3';
const HERE = import.meta.dirname;
const CLIENT = 'bank';
const UPLOAD_USER = 'bank-upload';
const UPLOAD_BUCKET = 'acme-dev-bank-upload';
const RAW_BUCKET = 'acme-dev-bank-raw';

let dir: string;
let work: string;
let platform: LocalPlatform;
let keys: { ed: string; rsa: string; down: string };
let gnupg: string;
let ingressPublicKey: string;
const events = new EventLog();
const matrix: Record<string, Record<string, string>> = {};
/** Each encrypted upload: its name and the matrix row it belongs to. */
const encrypted: { name: string; row: string }[] = [];

function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      command,
      args,
      {
        cwd: options.cwd ?? work,
        env: options.env ?? process.env,
        timeout: options.timeoutMs ?? 60_000,
        maxBuffer: 1 << 24,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
    else child.stdin?.end();
  });
}

function requireTool(command: string, pkg: string): void {
  const found = spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;
  if (!found) throw new Error(`${command} is not installed: apt-get install ${pkg} (.ci/run installs it)`);
}

function requirePython(module: string, pkg: string): void {
  if (spawnSync(PYTHON, ['-c', `import ${module}`]).status !== 0) {
    throw new Error(`python module ${module} is missing: apt-get install ${pkg} (.ci/run installs it)`);
  }
}

const sha = async (path: string) =>
  createHash('sha256')
    .update(await readFile(path))
    .digest('hex');

const uploaded = (key: string) => events.of('upload-completed', { key }).length;

function record(client: string, row: Record<string, boolean | string>): void {
  matrix[client] = Object.fromEntries(
    Object.entries(row).map(([op, value]) => [op, value === true ? 'ok' : value === false ? 'FAILED' : value]),
  );
}

/** A plaintext for `name`, encrypted with gpg to the platform's ingress key as `<name>.csv.gpg`. */
async function encryptFor(name: string, row: string = name): Promise<string> {
  const plain = join(work, `${name}.csv`);
  await writeFile(plain, `${name},${randomBytes(8).toString('hex')}\n`.repeat(2000));
  const result = await run('gpg', [
    '--batch',
    '--quiet',
    '--homedir',
    gnupg,
    '--trust-model',
    'always',
    '--recipient-file',
    ingressPublicKey,
    '--output',
    `${plain}.gpg`,
    '--encrypt',
    plain,
  ]);
  if (result.code !== 0) throw new Error(`gpg failed: ${result.stderr}`);
  encrypted.push({ name, row });
  return `${name}.csv.gpg`;
}

beforeAll(async () => {
  requireTool('gpg', 'gnupg');
  dir = await mkdtemp(join(tmpdir(), 'sftpctl-interop-'));
  work = join(dir, 'work');
  gnupg = join(dir, 'gnupg');
  await mkdir(work);
  await mkdir(gnupg, { mode: 0o700 });
  const keyDir = join(dir, 'keys');
  await mkdir(keyDir);
  keys = {
    ed: await keygen(keyDir, 'ed'),
    rsa: await keygen(keyDir, 'rsa', 'rsa'),
    down: await keygen(keyDir, 'down'),
  };
  const config = `project: acme
defaults: { region: eu-west-2, vpc: { cidr: 10.42.0.0/24 } }
environments: { dev: {} }
clients:
  - name: ${CLIENT}
    allowedIps: [203.0.113.0/24]
    encryptedExtensions: [gpg]
    upload: { sshKeys: [keys/ed.pub, keys/rsa.pub] }
    download: { sshKeys: [keys/down.pub] }
`;
  await writeFile(join(dir, 'sftpctl.yaml'), config);
  const validated = await validateConfigText(config, 'sftpctl.yaml', { files: fileReaderAt(dir) });
  if (!validated.config) throw new Error(JSON.stringify(validated.errors));
  platform = await startLocalPlatform({
    config: validated.config,
    configDir: dir,
    env: 'dev',
    host: '127.0.0.1',
    port: 0,
    dataDir: join(dir, 'data'),
    allowLoopback: true,
    log: events.log,
    passphrase: async () => '',
    exportIntervalMs: 200,
  });
  ingressPublicKey = platform.generated.find((key) => key.what === 'ingress PGP pair')!.publicKey;
  const mid = randomBytes(4 * 1024 * 1024 + 321);
  await writeFile(join(work, 'mid.bin'), mid);
  await writeFile(join(work, 'half.bin'), mid.subarray(0, 1_500_000));
  await writeFile(join(work, 'big.bin'), randomBytes(20 * 1024 * 1024 + 7));
}, 60_000);

afterAll(async () => {
  await platform?.stop(1000);
  // The matrix, for the record (npm test output).
  console.log(
    Object.entries(matrix)
      .map(
        ([client, row]) =>
          `${client.padEnd(16)} ${Object.entries(row)
            .map(([op, v]) => `${op}=${v}`)
            .join(' ')}`,
      )
      .join('\n'),
  );
  if (dir) await rm(dir, { recursive: true, force: true });
});

const sshBase = ['-F', '/dev/null', ...ISOLATED_SSH_OPTIONS];
const sshOptions = [...sshBase, '-o', 'LogLevel=ERROR'];

describe('client interop matrix against local up', () => {
  it('OpenSSH sftp: put, ls, get, rename, rm, reput, put -p (times kept), encrypted upload', async () => {
    const gpgFile = await encryptFor('openssh', 'openssh-sftp');
    await writeFile(join(work, 'stamped.txt'), 'stamped\n');
    await utimes(join(work, 'stamped.txt'), 1_500_000_000, 1_500_000_000);
    const result = await runSftp({
      port: platform.port,
      user: UPLOAD_USER,
      key: keys.ed,
      cwd: work,
      bind: '127.0.0.1',
      commands: [
        'put mid.bin os.bin',
        'ls -l os.bin',
        'get os.bin os.back',
        'rename os.bin os2.bin',
        'rm os2.bin',
        'put half.bin os-resume.bin',
        'reput mid.bin os-resume.bin',
        'get os-resume.bin os-resume.back',
        'put -p stamped.txt os-stamped.txt',
        `put ${gpgFile}`,
      ],
    });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const mtime = (await stat(join(platform.bucketsDir, UPLOAD_BUCKET, 'os-stamped.txt'))).mtimeMs;
    const row = {
      put: result.stdout.includes('os.bin'),
      get: (await sha(join(work, 'os.back'))) === (await sha(join(work, 'mid.bin'))),
      rename: uploaded('os.bin') === 1,
      delete: !(await exists(join(platform.bucketsDir, UPLOAD_BUCKET, 'os2.bin'))),
      resume: (await sha(join(work, 'os-resume.back'))) === (await sha(join(work, 'mid.bin'))),
      times: mtime === 1_500_000_000_000,
    };
    record('openssh-sftp', row);
    expect(row).toEqual({ put: true, get: true, rename: true, delete: true, resume: true, times: true });
  }, 60_000);

  it('OpenSSH scp (SFTP mode): upload and download exit 0', async () => {
    const gpgFile = await encryptFor('scp', 'openssh-scp');
    const target = `${UPLOAD_USER}@127.0.0.1`;
    const common = ['-s', ...sshOptions, '-i', keys.ed, '-P', String(platform.port)];
    const up = await run('scp', [...common, 'mid.bin', gpgFile, `${target}:`]);
    const down = await run('scp', [...common, `${target}:mid.bin`, 'scp.back']);
    const row = {
      upload: up.code === 0 ? true : `exit ${up.code} ${up.stderr.trim()}`,
      download: down.code === 0 && (await sha(join(work, 'scp.back'))) === (await sha(join(work, 'mid.bin'))),
    };
    record('openssh-scp', row);
    expect(row).toEqual({ upload: true, download: true });
  }, 60_000);

  it('OpenSSH sftp and scp with the post-quantum key exchange forced (sntrup761x25519, both names)', async () => {
    // OpenSSH 9.2 (Debian 12) speaks sntrup761x25519 (and picks it by default, first in its list) but not ML-KEM,
    // nor does any other client here (psftp 0.78 speaks sntrup761 only, lftp runs OpenSSH's ssh, paramiko 2.12,
    // asyncssh 2.10 and rclone 1.60 neither): ML-KEM is driven through ssh2's Client in test/local/sftp-kex.test.ts.
    const row: Record<string, boolean | string> = {};
    for (const kex of ['sntrup761x25519-sha512@openssh.com', 'sntrup761x25519-sha512']) {
      const forced = ['-o', `KexAlgorithms=${kex}`];
      const sftp = await runSftp({
        port: platform.port,
        user: UPLOAD_USER,
        key: keys.ed,
        cwd: work,
        bind: '127.0.0.1',
        options: ['-v', ...forced],
        commands: [`put mid.bin pq-${kex}.bin`, `ls -l pq-${kex}.bin`, `get pq-${kex}.bin pq-${kex}.back`],
      });
      const negotiated = /kex: algorithm: (\S+)/.exec(sftp.stderr)?.[1];
      row[`sftp ${kex}`] =
        sftp.code === 0 &&
        negotiated === kex &&
        (await sha(join(work, `pq-${kex}.back`))) === (await sha(join(work, 'mid.bin')))
          ? true
          : `exit ${sftp.code}, kex ${negotiated}`;
      const target = `${UPLOAD_USER}@127.0.0.1`;
      const common = ['-s', ...sshOptions, ...forced, '-i', keys.ed, '-P', String(platform.port)];
      const up = await run('scp', [...common, 'half.bin', `${target}:pq-scp.bin`]);
      const down = await run('scp', [...common, `${target}:pq-scp.bin`, 'pq-scp.back']);
      row[`scp ${kex}`] =
        up.code === 0 &&
        down.code === 0 &&
        (await sha(join(work, 'pq-scp.back'))) === (await sha(join(work, 'half.bin')))
          ? true
          : `exit ${up.code}/${down.code} ${up.stderr.trim()} ${down.stderr.trim()}`;
    }
    record('openssh-pq-kex', row);
    expect(Object.values(row).every((value) => value === true)).toBe(true);
  }, 60_000);

  it('psftp (PuTTY 0.78) negotiates sntrup761x25519 with its default settings', async () => {
    requireTool('psftp', 'putty-tools');
    const ppk = join(dir, 'keys', 'ed-pq.ppk');
    expect((await run('puttygen', [keys.ed, '-O', 'private', '-o', ppk])).code).toBe(0);
    await writeFile(join(work, 'psftp-pq.batch'), 'put half.bin ps-pq.bin\nget ps-pq.bin ps-pq.back\nquit\n');
    const result = await run('psftp', [
      '-v',
      '-batch',
      '-P',
      String(platform.port),
      '-i',
      ppk,
      '-hostkey',
      platform.hostKeyFingerprint,
      '-b',
      'psftp-pq.batch',
      `${UPLOAD_USER}@127.0.0.1`,
    ]);
    const row = {
      kex: /Doing (NTRU Prime \/ Curve25519 hybrid) key exchange/.exec(result.stderr)?.[1] ?? 'NOT NTRU PRIME',
      'put/get': result.code === 0 && (await sha(join(work, 'ps-pq.back'))) === (await sha(join(work, 'half.bin'))),
    };
    record('psftp-pq-kex', row);
    expect(row).toEqual({ kex: 'NTRU Prime / Curve25519 hybrid', 'put/get': true });
  }, 60_000);

  it('OpenSSH ssh: server-sig-algs lists exactly what the server accepts; rsa-sha2-512 alone logs in; exit-status 0', async () => {
    const result = await run('ssh', [
      ...sshBase,
      '-v',
      '-i',
      keys.rsa,
      '-o',
      'PubkeyAcceptedAlgorithms=rsa-sha2-512',
      '-p',
      String(platform.port),
      '-s',
      `${UPLOAD_USER}@127.0.0.1`,
      'sftp',
    ]);
    const advertised = /server-sig-algs=<([^>]*)>/.exec(result.stderr)?.[1];
    expect(advertised).toBe(
      'ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256',
    );
    expect(result.stderr).toMatch(/Authenticated to .* using "publickey"/);
    expect(result.stderr).toMatch(/Exit status 0/);
    expect(result.code).toBe(0);
    record('openssh-ssh', { 'server-sig-algs': true, 'rsa-sha2-512': true, 'exit-status': true });
  }, 30_000);

  it('paramiko: put/get 20 MB pipelined, list, rename, remove, resume, truncate, utime, check-file, overlap, offsets', async () => {
    requirePython('paramiko', 'python3-paramiko');
    await encryptFor('paramiko');
    const result = await run(PYTHON, [
      join(HERE, 'paramiko_client.py'),
      String(platform.port),
      UPLOAD_USER,
      keys.ed,
      work,
    ]);
    expect(result.stderr.replace(/.*Warning.*\n.*\n?/g, '')).not.toMatch(/Traceback/);
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout) as Record<string, unknown>;
    record('paramiko', {
      'put/get 20MB': out.roundtrip === true,
      list: out.listed === true,
      rename: out.renamed === true,
      delete: out.removed === true,
      resume: out.resumed === true,
      truncate: out.truncate === true && out.ftruncate === true,
      utime: out.utime === true,
      'check-file': out.check_file === true,
      overlap: `${out.overlap}/40`,
      'offset 2^63': out.offset_2_63 ? 'refused' : 'ACCEPTED',
      'offset 1GiB': out.offset_1gib ? 'refused' : 'ACCEPTED',
    });
    expect(out).toMatchObject({
      roundtrip: true,
      listed: true,
      renamed: true,
      removed: true,
      resumed: true,
      ftruncate: true,
      truncate: true,
      utime: true,
      check_file: true,
      overlap: 40,
    });
    expect(out.offset_2_63).toEqual(expect.any(String));
    expect(out.offset_1gib).toEqual(expect.any(String));
    // The refused uploads were never published.
    expect(out.offset_file).toEqual(expect.any(String));
  }, 120_000);

  it.each([
    ['ed25519', 'ed'],
    ['rsa', 'rsa'],
  ] as const)(
    'asyncssh with an %s key: put, get, list, rename, remove, resume',
    async (tag, key) => {
      requirePython('asyncssh', 'python3-asyncssh');
      await encryptFor(`asyncssh-${tag}`);
      const result = await run(PYTHON, [
        join(HERE, 'asyncssh_client.py'),
        String(platform.port),
        UPLOAD_USER,
        keys[key],
        work,
        tag,
      ]);
      expect(result.stderr).not.toMatch(/Traceback|Error/);
      expect(result.code).toBe(0);
      const out = JSON.parse(result.stdout) as Record<string, boolean>;
      record(`asyncssh-${tag}`, out);
      expect(out).toEqual({ roundtrip: true, listed: true, renamed: true, removed: true, resumed: true });
    },
    60_000,
  );

  it.each([
    ['ed25519', 'ed'],
    ['rsa', 'rsa'],
  ] as const)(
    'rclone with an %s key: sync twice (no re-upload), lsf, moveto, cat, deletefile',
    async (tag, key) => {
      requireTool('rclone', 'rclone');
      const gpgFile = await encryptFor(`rclone-${tag}`);
      const source = join(work, `rclone-${tag}`);
      await mkdir(source);
      for (const name of ['a.txt', 'b.txt', 'c.bin']) await writeFile(join(source, name), randomBytes(50_000));
      await utimes(join(source, 'a.txt'), 1_600_000_000, 1_600_000_000);
      const configFile = join(work, `rclone-${tag}.conf`);
      await writeFile(configFile, '');
      const remote = `:sftp,host=127.0.0.1,port=${platform.port},user=${UPLOAD_USER},key_file=${keys[key]}:`;
      const rclone = (...args: string[]) =>
        run('rclone', ['--config', configFile, '--low-level-retries', '1', ...args]);
      const folder = `rc-${tag}`;
      const count = () =>
        events.of('upload-completed').filter((event) => String(event.key).startsWith(`${folder}/`)).length;
      const first = await rclone('sync', source, `${remote}${folder}`);
      expect(first.stderr).not.toMatch(/ERROR/);
      expect(first.code).toBe(0);
      const afterFirst = count();
      const second = await rclone('sync', '-v', source, `${remote}${folder}`);
      expect(second.code).toBe(0);
      const afterSecond = count();
      const listed = await rclone('lsf', `${remote}${folder}`);
      const moved = await rclone('moveto', `${remote}${folder}/b.txt`, `${remote}${folder}/b2.txt`);
      const cat = await run('rclone', ['--config', configFile, 'cat', `${remote}${folder}/b2.txt`]);
      const catBytes = await rclone('copyto', `${remote}${folder}/b2.txt`, join(work, `rclone-${tag}.back`));
      const deleted = await rclone('deletefile', `${remote}${folder}/b2.txt`);
      const after = await rclone('lsf', `${remote}${folder}`);
      const put = await rclone('copyto', join(work, gpgFile), `${remote}${gpgFile}`);
      const row = {
        'sync 1st': afterFirst === 3 ? true : `${afterFirst} uploads`,
        'sync 2nd (no re-upload)': afterSecond === afterFirst ? true : `${afterSecond - afterFirst} re-uploads`,
        list: listed.stdout.split('\n').sort().join(',') === ',a.txt,b.txt,c.bin',
        rename: moved.code === 0,
        get:
          cat.code === 0 &&
          catBytes.code === 0 &&
          (await sha(join(work, `rclone-${tag}.back`))) === (await sha(join(source, 'b.txt'))),
        delete: deleted.code === 0 && after.stdout.split('\n').sort().join(',') === ',a.txt,c.bin',
        resume: 'n/a (rclone re-uploads)',
        encrypted: put.code === 0,
      };
      record(`rclone-${tag}`, row);
      expect(row).toMatchObject({
        'sync 1st': true,
        'sync 2nd (no re-upload)': true,
        list: true,
        rename: true,
        get: true,
        delete: true,
        encrypted: true,
      });
    },
    90_000,
  );

  it('psftp (PuTTY, as in WinSCP and FileZilla): put, ls, get, ren, rm, reput, encrypted upload', async () => {
    requireTool('psftp', 'putty-tools');
    const gpgFile = await encryptFor('psftp');
    const ppk = join(dir, 'keys', 'ed.ppk');
    const converted = await run('puttygen', [keys.ed, '-O', 'private', '-o', ppk]);
    expect(converted.code).toBe(0);
    const script = join(work, 'psftp.batch');
    await writeFile(
      script,
      [
        'put mid.bin ps.bin',
        'ls',
        'get ps.bin ps.back',
        'ren ps.bin ps2.bin',
        'rm ps2.bin',
        'put half.bin ps-resume.bin',
        'reput mid.bin ps-resume.bin',
        'get ps-resume.bin ps-resume.back',
        `put ${gpgFile}`,
        'quit',
        '',
      ].join('\n'),
    );
    const result = await run('psftp', [
      '-batch',
      '-P',
      String(platform.port),
      '-i',
      ppk,
      '-hostkey',
      platform.hostKeyFingerprint,
      '-b',
      script,
      `${UPLOAD_USER}@127.0.0.1`,
    ]);
    expect(result.stderr.replace(/^Using username .*\n/m, '')).toBe('');
    expect(result.code).toBe(0);
    const row = {
      put: result.stdout.includes('ps.bin'),
      get: (await sha(join(work, 'ps.back'))) === (await sha(join(work, 'mid.bin'))),
      rename: uploaded('ps.bin') === 1,
      delete: !(await exists(join(platform.bucketsDir, UPLOAD_BUCKET, 'ps2.bin'))),
      resume: (await sha(join(work, 'ps-resume.back'))) === (await sha(join(work, 'mid.bin'))),
    };
    record('psftp', row);
    expect(row).toEqual({ put: true, get: true, rename: true, delete: true, resume: true });
  }, 60_000);

  it('lftp: put, ls, get, mv, rm, put -c (resume), encrypted upload', async () => {
    requireTool('lftp', 'lftp');
    const gpgFile = await encryptFor('lftp');
    const connect = ['ssh', '-a', '-x', ...sshOptions, '-i', keys.ed].join(' ');
    const commands = [
      'set cmd:fail-exit yes',
      'set net:max-retries 1',
      'set net:timeout 15',
      `set sftp:connect-program "${connect}"`,
      `open -u ${UPLOAD_USER}, -p ${platform.port} sftp://127.0.0.1`,
      'put mid.bin -o lf.bin',
      'cls -1 lf.bin',
      'get lf.bin -o lf.back',
      'mv lf.bin lf2.bin',
      'rm lf2.bin',
      'put half.bin -o lf-resume.bin',
      'put -c mid.bin -o lf-resume.bin',
      'get lf-resume.bin -o lf-resume.back',
      `put ${gpgFile}`,
    ];
    const result = await run('lftp', ['-c', commands.join('; ')]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const row = {
      put: result.stdout.includes('lf.bin'),
      get: (await sha(join(work, 'lf.back'))) === (await sha(join(work, 'mid.bin'))),
      rename: uploaded('lf.bin') === 1,
      delete: !(await exists(join(platform.bucketsDir, UPLOAD_BUCKET, 'lf2.bin'))),
      resume: (await sha(join(work, 'lf-resume.back'))) === (await sha(join(work, 'mid.bin'))),
    };
    record('lftp', row);
    expect(row).toEqual({ put: true, get: true, rename: true, delete: true, resume: true });
  }, 60_000);

  it('every gpg-encrypted upload is decrypted into the raw bucket', async () => {
    expect(encrypted.length).toBeGreaterThanOrEqual(8);
    for (let tries = 0; tries < 200; tries++) {
      if (events.of('processed').length >= encrypted.length) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await platform.idle();
    for (const { name, row } of encrypted) {
      const raw = join(platform.bucketsDir, RAW_BUCKET, `${name}.csv`);
      const decrypted = (await exists(raw)) && (await sha(raw)) === (await sha(join(work, `${name}.csv`)));
      matrix[row] = { ...matrix[row], 'gpg→raw': decrypted ? 'ok' : 'FAILED' };
      expect(decrypted, `${name}.csv decrypted into raw`).toBe(true);
    }
    expect(events.of('quarantined')).toEqual([]);
  }, 60_000);
});

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
