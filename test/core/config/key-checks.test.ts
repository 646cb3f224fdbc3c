import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as openpgp from 'openpgp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows, validateYaml } from '../../helpers/config.js';

const dir = mkdtempSync(join(tmpdir(), 'sftpctl-keys-'));
const files: Record<string, string> = {};

function sshKey(name: string, ...args: string[]): string {
  const path = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-N', '', '-C', `${name}@test`, '-f', path, ...args]);
  return readFileSync(`${path}.pub`, 'utf8');
}

beforeAll(async () => {
  files['keys/upload.pub'] = sshKey('upload', '-t', 'ed25519');
  files['keys/rsa1024.pub'] = sshKey('rsa1024', '-t', 'rsa', '-b', '1024');
  files['keys/two.pub'] = `${sshKey('a', '-t', 'ed25519')}\n# comment line\n${sshKey('b', '-t', 'ecdsa', '-b', '256')}`;
  files['keys/private-ssh'] = readFileSync(join(dir, 'upload'), 'utf8');

  const now = new Date('2026-11-01T00:00:00Z');
  const ingress = await openpgp.generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ name: 'Ingress', email: 'in@example.com' }],
    date: now,
    format: 'armored',
  });
  const other = await openpgp.generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ name: 'Other' }],
    date: now,
    format: 'armored',
  });
  const partner = await openpgp.generateKey({
    type: 'rsa',
    rsaBits: 2048,
    userIDs: [{ name: 'Partner' }],
    date: now,
    format: 'armored',
  });
  const expired = await openpgp.generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ name: 'Old' }],
    date: new Date('2020-01-01T00:00:00Z'),
    keyExpirationTime: 86400,
    format: 'armored',
  });
  const v6 = await openpgp.generateKey({
    type: 'curve25519',
    userIDs: [{ name: 'Six' }],
    date: now,
    config: { v6Keys: true },
    format: 'armored',
  });
  const signOnly = await openpgp.generateKey({
    type: 'ecc',
    curve: 'curve25519Legacy',
    userIDs: [{ name: 'Signer' }],
    date: now,
    subkeys: [],
    format: 'armored',
  });
  Object.assign(files, {
    'keys/ingress.pub.asc': ingress.publicKey,
    'keys/ingress.key.asc': ingress.privateKey,
    'keys/other.key.asc': other.privateKey,
    'keys/partner.pub.asc': partner.publicKey,
    'keys/expired.pub.asc': expired.publicKey,
    'keys/v6.pub.asc': v6.publicKey,
    'keys/sign-only.pub.asc': signOnly.publicKey,
  });
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const config = (client: string) => `project: acme
defaults:
  region: eu-west-2
  vpc: { cidr: 10.42.0.0/24 }
environments:
  dev: {}
clients:
  - name: bank
    allowedIps: [203.0.113.0/24]
${client}`;

describe('key checks', () => {
  it('accepts a v6 (RFC 9580) partner key: egress writes SEIPD v2 for it', async () => {
    const result = await validateYaml(
      config(`    download: {}\n    pgp: { partnerPublicKey: keys/v6.pub.asc }\n`),
      files,
    );
    expect(rows(result).filter((row) => /v6\.pub\.asc/.test(JSON.stringify(row)))).toEqual([]);
  });

  it('accepts a client whose SSH and PGP files are all sound, with no warnings', async () => {
    const result = await validateYaml(
      config(`    upload: { sshKeys: ["${files['keys/upload.pub']?.trim()}"] }
    download: { sshKeys: [keys/two.pub] }
    pgp:
      ingressPublicKey: keys/ingress.pub.asc
      ingressPrivateKey: keys/ingress.key.asc
      partnerPublicKey: keys/partner.pub.asc
`),
      files,
    );
    expect(rows(result)).toEqual([]);
    expect(rows(result, 'warning')).toEqual([]);
    expect(result.keys?.ssh.get(JSON.stringify(['clients', 0, 'download', 'sshKeys', 0]))).toHaveLength(2);
  });

  const bad: [string, string, string, RegExp][] = [
    ['weak RSA SSH key', `    upload: { sshKeys: [keys/rsa1024.pub] }\n`, 'SSH_KEY_WEAK', /1024/],
    [
      'SSH private key given as public',
      `    upload: { sshKeys: [keys/private-ssh] }\n`,
      'SSH_KEY_IS_PRIVATE',
      /private key, not a public key/,
    ],
    [
      'the same SSH key twice on one user',
      `    upload: { sshKeys: [keys/upload.pub, "${'KEY'}"] }\n`,
      'SSH_KEY_DUPLICATE',
      /already listed/,
    ],
    [
      'expired PGP key',
      `    download: {}\n    pgp: { partnerPublicKey: keys/expired.pub.asc }\n`,
      'PGP_KEY_EXPIRED',
      /expired/,
    ],
    [
      'PGP key without an encryption subkey',
      `    download: {}\n    pgp: { partnerPublicKey: keys/sign-only.pub.asc }\n`,
      'PGP_KEY_NO_ENCRYPTION_SUBKEY',
      /sign-only/,
    ],
    [
      'private PGP key where a public one belongs',
      `    download: {}\n    pgp: { partnerPublicKey: keys/ingress.key.asc }\n`,
      'PGP_KEY_IS_PRIVATE',
      /PRIVATE key, given where a public key belongs/,
    ],
    [
      'public PGP key where the private one belongs',
      `    upload: {}\n    pgp: { ingressPublicKey: keys/ingress.pub.asc, ingressPrivateKey: keys/ingress.pub.asc }\n`,
      'PGP_KEY_NOT_PRIVATE',
      /ingress\.pub\.asc/,
    ],
    [
      'ingress private key of another pair',
      `    upload: {}\n    pgp: { ingressPublicKey: keys/ingress.pub.asc, ingressPrivateKey: keys/other.key.asc }\n`,
      'PGP_KEY_PAIR_MISMATCH',
      /does not belong/,
    ],
  ];

  it.each(bad)('%s', async (_name, body, code, message) => {
    const result = await validateYaml(
      config(body.replace('"KEY"', JSON.stringify(files['keys/upload.pub']?.trim()))),
      files,
    );
    const match = rows(result).find((row) => row.code === code);
    expect(match, JSON.stringify(rows(result), null, 2)).toBeDefined();
    expect(match?.message).toMatch(message);
    expect(match?.at).toMatch(/^1[0-2]:\d+$/);
    for (const row of rows(result)) expect(row.message).not.toMatch(/BEGIN|PRIVATE KEY-----|AAAA[A-Za-z0-9+/]{40}/);
  });

  it('warns when keys needed to process files are not configured yet', async () => {
    const result = await validateYaml(
      config(`    upload: { sshKeys: [] }\n    download: { sshKeys: [keys/upload.pub] }\n`),
      files,
    );
    expect(rows(result)).toEqual([]);
    expect(
      rows(result, 'warning')
        .map((row) => row.code)
        .sort(),
    ).toEqual(['PGP_INGRESS_KEY_MISSING', 'PGP_PARTNER_KEY_MISSING', 'USER_NO_SSH_KEYS']);
  });
});
