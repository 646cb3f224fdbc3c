import { execFile, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningSftpServer, startSftpServer } from '../../../src/local/sftp-server.js';
import { keygen, publicKey } from '../../helpers/sftp.js';

/**
 * ssh-audit (the Debian package) against the local SFTP server with its default, strict algorithm policy: any
 * warning or failure fails the test. ssh-audit's exit code is 0 only when it found nothing to report.
 */

/**
 * What Debian 12's ssh-audit 2.5.0 says about algorithms newer than its database, each excused by name and exact
 * verdict only:
 * - "unknown algorithm": strict KEX (the Terrapin fix, which ssh2 always offers; known from ssh-audit 3.1.0) and the
 *   post-quantum hybrids OpenSSH 9.9 added (mlkem768x25519-sha256, sntrup761x25519-sha512), which current ssh-audit
 *   releases list as info only.
 * - "using experimental algorithm": sntrup761x25519-sha512@openssh.com, tagged so when OpenSSH 8.5 introduced it;
 *   OpenSSH 9.0 made it the default and ssh-audit dropped the tag (jtesta/ssh-audit#133), current versions list it
 *   as info only.
 */
const NEWER_THAN_SSH_AUDIT: Record<string, string> = {
  'kex-strict-s-v00@openssh.com': 'unknown algorithm',
  'mlkem768x25519-sha256': 'unknown algorithm',
  'sntrup761x25519-sha512': 'unknown algorithm',
  'sntrup761x25519-sha512@openssh.com': 'using experimental algorithm',
};

let dir: string;
let server: RunningSftpServer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sftpctl-audit-'));
  const hostKey = await readFile(await keygen(dir, 'host'), 'utf8');
  const user = await keygen(dir, 'user');
  await mkdir(join(dir, 'home'));
  server = await startSftpServer({
    host: '127.0.0.1',
    port: 0,
    hostKey,
    users: [
      {
        userName: 'acme-upload',
        client: 'acme',
        role: 'upload',
        keys: [await publicKey(user)],
        home: join(dir, 'home'),
        allowedCidrs: [],
      },
    ],
    allowLoopback: true,
    stagingDir: join(dir, 'staging'),
    log: () => undefined,
    onUploadCompleted: () => undefined,
  });
});

afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('ssh-audit', () => {
  it('finds nothing to warn about in the default algorithm policy', async () => {
    if (spawnSync('sh', ['-c', 'command -v ssh-audit']).status !== 0) {
      throw new Error('ssh-audit is not installed: apt-get install ssh-audit (.ci/run installs it)');
    }
    const result = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(
        'ssh-audit',
        ['--no-colors', '--timeout=20', '--port', String(server.port), '127.0.0.1'],
        { timeout: 60_000 },
        (error, stdout) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout: String(stdout) }),
      );
    });
    console.log(result.stdout);
    // Only the exact lines above are let through; any other warning or failure fails the test.
    const flagged = result.stdout.split('\n').filter((line) => /\[(warn|fail)\]/.test(line));
    const excused = flagged.filter((line) => {
      const match = /^\((?:kex|key|enc|mac)\)\s+(\S+)\s+-- \[warn\] (.+)$/.exec(line.trim());
      return match !== null && NEWER_THAN_SSH_AUDIT[match[1]!] === match[2];
    });
    expect(flagged.filter((line) => !excused.includes(line))).toEqual([]);
    expect(result.stdout).toMatch(/# fingerprints/); // the audit ran to the end
    // The post-quantum hybrids are offered first.
    expect(result.stdout).toMatch(
      /\(kex\) mlkem768x25519-sha256 .*\n\(kex\) sntrup761x25519-sha512 .*\n\(kex\) sntrup761x25519-sha512@openssh\.com /,
    );
    // Exit code 0 means nothing flagged; otherwise only the excused lines may have made it non-zero.
    if (excused.length === 0) expect(result.code).toBe(0);
    // The banner names no product.
    expect(result.stdout).toMatch(/\(gen\) banner: SSH-2\.0-SFTP\n/);
  }, 90_000);
});
