import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type PgpKeyInfo,
  type PgpKeyRead,
  pgpKeyProblems,
  readPgpKeyInfo,
} from '../../../src/core/crypto/pgp-key-info.js';

let home: string;
/** Keys are only valid from their creation second on: judge them at a time after every key was made. */
let NOW: Date;

function gpg(args: string[], passphrase = ''): Buffer {
  return execFileSync(
    'gpg',
    ['--batch', '--no-tty', '--homedir', home, '--pinentry-mode', 'loopback', '--passphrase', passphrase, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
}

function fingerprintOf(uid: string): string {
  const out = gpg(['--with-colons', '--list-keys', uid]).toString();
  return /^fpr:+([0-9A-F]{40}):/m.exec(out)![1]!;
}

/** `gpg --show-keys` view of exported data: primary fingerprint, key id, expiry and encryption-capable subkey ids. */
function showKeys(data: Uint8Array | string): { fpr: string; keyId: string; expires: number | null; encr: string[] }[] {
  const file = join(home, 'show.tmp');
  writeFileSync(file, data);
  const rows = gpg(['--with-colons', '--show-keys', file])
    .toString()
    .split('\n')
    .map((l) => l.split(':'));
  const keys: { fpr: string; keyId: string; expires: number | null; encr: string[] }[] = [];
  let last: 'pub' | 'sub' | undefined;
  for (const row of rows) {
    if (row[0] === 'pub' || row[0] === 'sec') {
      keys.push({ fpr: '', keyId: row[4]!, expires: row[6] ? Number(row[6]) : null, encr: [] });
      last = 'pub';
    } else if (row[0] === 'sub' || row[0] === 'ssb') {
      if (row[11]!.includes('e')) keys.at(-1)!.encr.push(row[4]!);
      last = 'sub';
    } else if (row[0] === 'fpr' && last === 'pub' && keys.at(-1)!.fpr === '') {
      keys.at(-1)!.fpr = row[9]!;
    }
  }
  return keys;
}

function info(result: PgpKeyRead): PgpKeyInfo {
  if (!result.ok) throw new Error(`${result.code}: ${result.message}`);
  return result.key;
}

function failure(result: PgpKeyRead): { code: string; message: string; hint: string } {
  if (result.ok) throw new Error(`expected a failure, read ${result.key.fingerprint}`);
  return result;
}

function codes(key: PgpKeyInfo, role: 'public' | 'private', now = NOW): string[] {
  return pgpKeyProblems(key, { role, now }).map((p) => p.code);
}

/** Checks that no 16-character run of the secret armor body shows up in what we tell the user. */
function expectNoKeyMaterial(armored: string, ...texts: string[]): void {
  const body = armored
    .split('\n')
    .filter((l) => /^[A-Za-z0-9+/=]{40,}$/.test(l))
    .join('');
  const said = texts.join('\n');
  for (let i = 0; i + 16 <= body.length; i += 16) expect(said).not.toContain(body.slice(i, i + 16));
}

const fpr: Record<string, string> = {};

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'sftpctl-gpg-'));
  gpg(['--quick-gen-key', 'RSA Test <rsa@example.com>', 'rsa3072', 'default', '1y']);
  fpr.rsa = fingerprintOf('rsa@example.com');
  gpg(['--quick-add-key', fpr.rsa, 'rsa3072', 'encr', '1y']);
  gpg(['--quick-gen-key', 'Sign Only <sign@example.com>', 'ed25519', 'sign', '0']);
  fpr.sign = fingerprintOf('sign@example.com');
  gpg(['--quick-gen-key', 'Future <future@example.com>', 'future-default', 'default', '0']);
  fpr.future = fingerprintOf('future@example.com');
  gpg(['--quick-gen-key', 'Weak <weak@example.com>', 'rsa1024', 'default', '0']);
  fpr.weak = fingerprintOf('weak@example.com');
  gpg(['--quick-gen-key', 'Revoked <revoked@example.com>', 'future-default', 'default', '0']);
  fpr.revoked = fingerprintOf('revoked@example.com');
  // gpg stores a revocation certificate for every new key, with its armor line defused by a leading colon.
  const revocation = readFileSync(join(home, 'openpgp-revocs.d', `${fpr.revoked}.rev`), 'utf8');
  writeFileSync(join(home, 'revoke.asc'), revocation.replace(/^:-----BEGIN/m, '-----BEGIN'));
  gpg(['--import', join(home, 'revoke.asc')]);
  gpg([
    '--faked-system-time',
    '20200101T000000!',
    '--quick-gen-key',
    'Old <old@example.com>',
    'future-default',
    'default',
    '1d',
  ]);
  fpr.old = fingerprintOf('old@example.com');
  gpg(['--quick-gen-key', 'Locked <locked@example.com>', 'future-default', 'default', '0'], 'correct horse');
  fpr.locked = fingerprintOf('locked@example.com');
  expect(readdirSync(join(home, 'openpgp-revocs.d')).length).toBe(7);
  NOW = new Date(Date.now() + 3_600_000);
}, 120_000);

afterAll(() => {
  try {
    execFileSync('gpgconf', ['--homedir', home, '--kill', 'gpg-agent'], { stdio: 'ignore' });
  } catch {
    // no agent running
  }
  rmSync(home, { recursive: true, force: true });
});

describe('readPgpKeyInfo on keys made by GnuPG 2.2', () => {
  it('reads an RSA 3072 key with an encryption subkey, armored and binary, as gpg sees it', async () => {
    const armored = gpg(['--armor', '--export', fpr.rsa!]).toString();
    const binary = new Uint8Array(gpg(['--export', fpr.rsa!]));
    const [expected] = showKeys(armored);
    const withBom = new TextEncoder().encode(`\ufeff${armored.replace(/\n/g, '\r\n')}`);
    for (const data of [armored, binary, new TextEncoder().encode(armored), withBom]) {
      const key = info(await readPgpKeyInfo(data, NOW));
      expect(key.fingerprint).toBe(expected!.fpr);
      expect(key.fingerprint).toBe(fpr.rsa);
      expect(key.keyId).toBe(expected!.keyId);
      expect(key.version).toBe(4);
      expect(key.isPrivate).toBe(false);
      expect(key.locked).toBe(false);
      expect(key.algorithm).toBe('rsa3072');
      expect(key.userIds).toEqual(['RSA Test <rsa@example.com>']);
      expect(key.expires?.getTime()).toBe(expected!.expires! * 1000);
      expect(key.created.getTime()).toBeLessThanOrEqual(Date.now());
      expect(key.revoked).toBe(false);
      expect(expected!.encr).toHaveLength(1);
      expect(key.encryptionKeyId).toBe(expected!.encr[0]);
      expect(key.encryptionAlgorithm).toBe('rsa3072');
      expect(codes(key, 'public')).toEqual([]);
    }
  });

  it('reports a sign-only ed25519 key as having no encryption subkey', async () => {
    const key = info(await readPgpKeyInfo(gpg(['--armor', '--export', fpr.sign!]).toString(), NOW));
    expect(key.algorithm).toBe('ed25519 (legacy)');
    expect(key.expires).toBeNull();
    expect(key.encryptionKeyId).toBeNull();
    expect(codes(key, 'public')).toEqual(['PGP_KEY_NO_ENCRYPTION_SUBKEY']);
  });

  it('reads a future-default (ed25519 + cv25519 legacy) key', async () => {
    const data = new Uint8Array(gpg(['--export', fpr.future!]));
    const key = info(await readPgpKeyInfo(data, NOW));
    const [expected] = showKeys(data);
    expect(key.fingerprint).toBe(expected!.fpr);
    expect(key.algorithm).toBe('ed25519 (legacy)');
    expect(key.encryptionAlgorithm).toBe('curve25519 (legacy)');
    expect(key.encryptionKeyId).toBe(expected!.encr[0]);
    expect(codes(key, 'public')).toEqual([]);
  });

  it('warns when a private key is given where a public one belongs, without echoing it', async () => {
    const armored = gpg(['--armor', '--export-secret-keys', fpr.future!]).toString();
    const key = info(await readPgpKeyInfo(armored, NOW));
    expect(key.isPrivate).toBe(true);
    expect(key.locked).toBe(false);
    expect(key.fingerprint).toBe(fpr.future);
    expect(codes(key, 'private')).toEqual([]);
    const problems = pgpKeyProblems(key, { role: 'public', now: NOW });
    expect(problems.map((p) => p.code)).toEqual(['PGP_KEY_IS_PRIVATE']);
    expect(problems[0]!.message).toContain('PRIVATE');
    expectNoKeyMaterial(armored, ...problems.flatMap((p) => [p.message, p.hint]));
  });

  it('sees a passphrase-protected private key as locked', async () => {
    const key = info(await readPgpKeyInfo(gpg(['--armor', '--export-secret-keys', fpr.locked!], 'correct horse'), NOW));
    expect(key.isPrivate).toBe(true);
    expect(key.locked).toBe(true);
    expect(key.encryptionKeyId).not.toBeNull();
  });

  it('reports an expired key with its date, and the same key as fine before it expired', async () => {
    const data = gpg(['--armor', '--export', fpr.old!]).toString();
    const key = info(await readPgpKeyInfo(data, NOW));
    expect(key.expires?.toISOString()).toBe('2020-01-02T00:00:00.000Z');
    expect(key.encryptionKeyId).toBeNull();
    const problems = pgpKeyProblems(key, { role: 'public', now: NOW });
    expect(problems.map((p) => p.code)).toEqual(['PGP_KEY_EXPIRED']);
    expect(problems[0]!.message).toContain('2020-01-02');

    const then = new Date('2020-01-01T12:00:00Z');
    const before = info(await readPgpKeyInfo(data, then));
    expect(before.encryptionKeyId).not.toBeNull();
    expect(codes(before, 'public', then)).toEqual([]);
  });

  it('reports a revoked key', async () => {
    const key = info(await readPgpKeyInfo(gpg(['--armor', '--export', fpr.revoked!]).toString(), NOW));
    expect(key.revoked).toBe(true);
    expect(codes(key, 'public')).toEqual(['PGP_KEY_REVOKED']);
  });

  it('reports RSA 1024 as weak', async () => {
    const key = info(await readPgpKeyInfo(gpg(['--armor', '--export', fpr.weak!]).toString(), NOW));
    expect(key.algorithm).toBe('rsa1024');
    const problems = pgpKeyProblems(key, { role: 'public', now: NOW });
    expect(problems.map((p) => p.code)).toContain('PGP_KEY_WEAK');
    expect(problems.find((p) => p.code === 'PGP_KEY_WEAK')!.message).toContain('rsa1024');
  });

  it('refuses a file with two keys, naming both', async () => {
    const both = gpg(['--armor', '--export', fpr.rsa!, fpr.future!]).toString();
    const concatenated = `${gpg(['--armor', '--export', fpr.rsa!])}\n${gpg(['--armor', '--export', fpr.sign!])}`;
    const binary = new Uint8Array(gpg(['--export', fpr.future!, fpr.sign!]));
    for (const [data, expected] of [
      [both, [fpr.rsa, fpr.future]],
      [concatenated, [fpr.rsa, fpr.sign]],
      [binary, [fpr.future, fpr.sign]],
    ] as const) {
      const f = failure(await readPgpKeyInfo(data, NOW));
      expect(f.code).toBe('PGP_KEY_MULTIPLE');
      expect(f.message).toContain('2 OpenPGP keys');
      for (const fingerprint of expected) expect(f.message).toContain(fingerprint);
    }
  });
});

describe('readPgpKeyInfo on keys made by openpgp.js', () => {
  const userIDs = [{ name: 'Partner', email: 'partner@example.com' }];

  it('reads curve25519-legacy keys, armored and binary, with gpg-compatible fingerprints', async () => {
    const armored = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs, format: 'armored' });
    const binary = await openpgp.generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs, format: 'binary' });
    for (const data of [armored.publicKey, binary.publicKey]) {
      const key = info(await readPgpKeyInfo(data, NOW));
      const [expected] = showKeys(data);
      expect(key.fingerprint).toBe(expected!.fpr);
      expect(key.keyId).toBe(expected!.keyId);
      expect(key.encryptionKeyId).toBe(expected!.encr[0]);
      expect(key.algorithm).toBe('ed25519 (legacy)');
      expect(key.encryptionAlgorithm).toBe('curve25519 (legacy)');
      expect(key.userIds).toEqual(['Partner <partner@example.com>']);
      expect(codes(key, 'public')).toEqual([]);
    }
    const priv = info(await readPgpKeyInfo(binary.privateKey, NOW));
    expect(priv.isPrivate).toBe(true);
    expect(codes(priv, 'private')).toEqual([]);
  });

  it('reports a key created after `now` (clock skew) as not yet valid', async () => {
    const { publicKey } = await openpgp.generateKey({ type: 'ecc', userIDs, format: 'armored' });
    const then = new Date(Date.now() - 3_600_000);
    const key = info(await readPgpKeyInfo(publicKey, then));
    expect(key.encryptionKeyId).toBeNull();
    expect(codes(key, 'public', then)).toEqual(['PGP_KEY_NOT_YET_VALID']);
  });

  it('reads an RSA key', async () => {
    const { publicKey } = await openpgp.generateKey({ type: 'rsa', rsaBits: 2048, userIDs, format: 'armored' });
    const key = info(await readPgpKeyInfo(publicKey, NOW));
    expect(key.algorithm).toBe('rsa2048');
    expect(key.fingerprint).toBe(showKeys(publicKey)[0]!.fpr);
    expect(codes(key, 'public')).toEqual([]);
  });

  it('flags a v6 key as the platform key (GnuPG 2.2 partners could not encrypt to it), not as a partner key', async () => {
    const { publicKey } = await openpgp.generateKey({
      type: 'curve25519',
      userIDs,
      format: 'armored',
      config: { v6Keys: true },
    });
    const key = info(await readPgpKeyInfo(publicKey, NOW));
    expect(key.version).toBe(6);
    expect(key.fingerprint).toMatch(/^[0-9A-F]{64}$/);
    expect(key.fingerprint).toBe((await openpgp.readKey({ armoredKey: publicKey })).getFingerprint().toUpperCase());
    expect(pgpKeyProblems(key, { role: 'public', now: NOW })).toEqual([]);
    const problems = pgpKeyProblems(key, { role: 'private', now: NOW });
    expect(problems.map((p) => p.code)).toContain('PGP_KEY_V6');
    expect(problems.find((p) => p.code === 'PGP_KEY_V6')!.hint).toMatch(/v4/);
  });

  it("flags a v4 key with RFC 9580 ed25519/x25519 (openpgp.js type 'curve25519')", async () => {
    const { publicKey } = await openpgp.generateKey({ type: 'curve25519', userIDs, format: 'armored' });
    const key = info(await readPgpKeyInfo(publicKey, NOW));
    expect(key.version).toBe(4);
    expect(key.algorithm).toBe('ed25519');
    expect(codes(key, 'public')).toEqual(['PGP_KEY_RFC9580_ALGORITHM']);
  });

  it('reports a key that expired', async () => {
    const date = new Date(NOW.getTime() - 10 * 86_400_000);
    const { publicKey } = await openpgp.generateKey({
      type: 'ecc',
      curve: 'curve25519Legacy',
      userIDs,
      date,
      keyExpirationTime: 86_400,
      format: 'armored',
    });
    const key = info(await readPgpKeyInfo(publicKey, NOW));
    expect(key.expires?.getTime()).toBe(Math.floor(date.getTime() / 1000) * 1000 + 86_400_000);
    expect(codes(key, 'public')).toEqual(['PGP_KEY_EXPIRED']);
  });

  it('reports a revoked key', async () => {
    const { privateKey } = await openpgp.generateKey({ type: 'ecc', userIDs, format: 'object' });
    const { publicKey } = await openpgp.revokeKey({ key: privateKey, format: 'armored' });
    expect(codes(info(await readPgpKeyInfo(publicKey, NOW)), 'public')).toEqual(['PGP_KEY_REVOKED']);
  });

  it('sees a passphrase-protected private key as locked, and a public key as not private', async () => {
    const { privateKey, publicKey } = await openpgp.generateKey({
      type: 'ecc',
      userIDs,
      passphrase: 'correct horse',
      format: 'armored',
    });
    const priv = info(await readPgpKeyInfo(privateKey, NOW));
    expect(priv.locked).toBe(true);
    expect(codes(priv, 'private')).toEqual([]);
    const pub = info(await readPgpKeyInfo(publicKey, NOW));
    expect(codes(pub, 'private')).toEqual(['PGP_KEY_NOT_PRIVATE']);
  });
});

describe('readPgpKeyInfo on input that is not one good key', () => {
  let armored: string;
  beforeAll(async () => {
    ({ publicKey: armored } = await openpgp.generateKey({
      type: 'rsa',
      rsaBits: 2048,
      userIDs: [{ name: 'Broken', email: 'broken@example.com' }],
      format: 'armored',
    }));
  });

  function alterBody(text: string, lineOffset: number): string {
    const lines = text.split('\n');
    const first = lines.indexOf('') + 1;
    const i = first + lineOffset;
    const line = lines[i]!;
    const at = Math.floor(line.length / 2);
    lines[i] = line.slice(0, at) + (line[at] === 'A' ? 'B' : 'A') + line.slice(at + 1);
    return lines.join('\n');
  }

  it.each([
    ['an empty string', ''],
    ['empty bytes', new Uint8Array()],
    ['plain text', 'hello, this is not a key'],
    ['random binary', new Uint8Array([0x99, 0x01, 0x0d, 0x04, 1, 2, 3, 4, 5, 6, 7, 8, 9])],
    ['an SSH public key', 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB5aT0cI5xsGQvmO0bYBzC0dX2n3oS3w+QmR0bH1zKq1 me@host'],
  ])('%s → PGP_KEY_UNREADABLE', async (_name, data) => {
    expect(failure(await readPgpKeyInfo(data, NOW)).code).toBe('PGP_KEY_UNREADABLE');
  });

  it('an armored message is named as such', async () => {
    const message = await openpgp.encrypt({
      message: await openpgp.createMessage({ text: 'hi' }),
      encryptionKeys: await openpgp.readKey({ armoredKey: armored }),
    });
    const f = failure(await readPgpKeyInfo(message, NOW));
    expect(f.code).toBe('PGP_KEY_UNREADABLE');
    expect(f.message).toContain('PGP MESSAGE');
  });

  it('an SSH private key is refused without echoing it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sftpctl-sshkey-'));
    try {
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'k')], { stdio: 'ignore' });
      const text = readFileSync(join(dir, 'k'), 'utf8');
      const f = failure(await readPgpKeyInfo(text, NOW));
      expect(f.code).toBe('PGP_KEY_UNREADABLE');
      expectNoKeyMaterial(text, f.message, f.hint);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('one character changed in the middle of the armor → PGP_KEY_UNREADABLE (checksum)', async () => {
    const lines = armored.split('\n').length;
    const f = failure(await readPgpKeyInfo(alterBody(armored, Math.floor(lines / 2)), NOW));
    expect(f.code).toBe('PGP_KEY_UNREADABLE');
    expect(f.message).toContain('checksum');
  });

  it('one character changed in an armor without checksum → PGP_KEY_UNREADABLE (signatures)', async () => {
    const noChecksum = armored.replace(/^=[A-Za-z0-9+/]{4}$/m, '');
    expect(info(await readPgpKeyInfo(noChecksum, NOW)).algorithm).toBe('rsa2048');
    const f = failure(await readPgpKeyInfo(alterBody(noChecksum, 3), NOW));
    expect(f.code).toBe('PGP_KEY_UNREADABLE');
  });

  it('armor cut short → PGP_KEY_UNREADABLE', async () => {
    const f = failure(await readPgpKeyInfo(armored.slice(0, Math.floor(armored.length / 2)), NOW));
    expect(f.code).toBe('PGP_KEY_UNREADABLE');
  });

  it('a user ID altered in binary → PGP_KEY_UNREADABLE', async () => {
    const binary = (await openpgp.readKey({ armoredKey: armored })).write();
    const at = Buffer.from(binary).indexOf('broken@example.com');
    binary[at] = 'B'.charCodeAt(0);
    const f = failure(await readPgpKeyInfo(binary, NOW));
    expect(f.code).toBe('PGP_KEY_UNREADABLE');
    expect(f.message).toContain('self-signatures');
  });

  it('never throws, whatever the bytes', async () => {
    const binary = (await openpgp.readKey({ armoredKey: armored })).write();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 400 }),
          fc.string({ maxLength: 400 }),
          // the real key with a few bytes overwritten
          fc
            .array(fc.tuple(fc.nat(binary.length - 1), fc.integer({ min: 0, max: 255 })), {
              minLength: 1,
              maxLength: 4,
            })
            .map((edits) => {
              const copy = binary.slice();
              for (const [i, b] of edits) copy[i] = b;
              return copy;
            }),
        ),
        async (data) => {
          const r = await readPgpKeyInfo(data, NOW);
          expect(typeof r.ok).toBe('boolean');
          if (r.ok) pgpKeyProblems(r.key, { role: 'public', now: NOW });
        },
      ),
      { numRuns: 150 },
    );
  });
});
