import { describe, expect, it } from 'vitest';
import { addressAllowed, decideLogin, type LoginRequest } from '../../../src/core/identity/decide.js';
import { hashPassword, verifyPassword } from '../../../src/core/identity/password.js';
import type { IdentityRecord } from '../../../src/core/identity/record.js';
import { IdentityService } from '../../../src/core/identity/service.js';
import { transferResponse } from '../../../src/core/identity/transfer-response.js';

const NOW = new Date('2026-12-04T12:00:00Z');
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey1';
const OLD = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey0';

function record(over: Partial<IdentityRecord> = {}): IdentityRecord {
  return {
    userName: 'acme-upload',
    client: 'acme',
    role: 'upload',
    enabled: true,
    roleArn: 'arn:aws:iam::111122223333:role/acme-upload',
    homeDirectoryMappings: [{ entry: '/', target: '/acme-sftp-prod-acme-upload' }],
    sshKeys: [{ publicKey: KEY }, { publicKey: OLD, expiresAt: '2026-12-01T00:00:00Z' }],
    allowedCidrs: ['203.0.113.0/24', '198.51.100.7/32'],
    allowAnyIp: false,
    ...over,
  };
}

const sftp = (sourceIp: string, userName = 'acme-upload'): LoginRequest => ({ userName, sourceIp, protocol: 'SFTP' });

describe('source addresses: a partner logs in only from its own CIDRs', () => {
  it.each([
    ['203.0.113.0', true],
    ['203.0.113.255', true],
    ['203.0.112.255', false],
    ['203.0.114.0', false],
    ['198.51.100.7', true],
    ['198.51.100.8', false],
    ['::ffff:203.0.113.9', true],
    ['2001:db8::1', false],
    ['127.0.0.1', false],
    ['not an address', false],
  ])('%s → %s', async (ip, allowed) => {
    const decision = await decideLogin(record(), sftp(ip), { now: NOW });
    expect(decision.allowed).toBe(allowed);
    if (!decision.allowed) expect(decision.reason).toBe('ip-not-allowed');
  });

  it('loopback passes only when the caller allows it (the local platform), and allowAnyIp opens IPv4 only', () => {
    expect(addressAllowed('127.0.0.5', record(), true)).toBe(true);
    expect(addressAllowed('::1', record(), true)).toBe(true);
    expect(addressAllowed('127.0.0.5', record(), false)).toBe(false);
    expect(addressAllowed('192.0.2.1', record({ allowAnyIp: true }), false)).toBe(true);
  });
});

describe('keys, users and protocols', () => {
  it('an allowed SFTP login carries only the unexpired keys, and Transfer gets a logical home', async () => {
    const decision = await decideLogin(record(), sftp('203.0.113.10'), { now: NOW });
    expect(decision).toMatchObject({ allowed: true, keys: [{ publicKey: KEY }] });
    expect(transferResponse(decision)).toEqual({
      Role: 'arn:aws:iam::111122223333:role/acme-upload',
      HomeDirectoryType: 'LOGICAL',
      HomeDirectoryDetails: '[{"Entry":"/","Target":"/acme-sftp-prod-acme-upload"}]',
      PublicKeys: [KEY],
    });
  });

  it.each([
    ['unknown user', undefined, sftp('203.0.113.10', 'nobody'), 'unknown-user'],
    ['disabled user', record({ enabled: false }), sftp('203.0.113.10'), 'disabled'],
    [
      'every key expired',
      record({ sshKeys: [{ publicKey: OLD, expiresAt: '2026-12-01T00:00:00Z' }] }),
      sftp('203.0.113.10'),
      'no-valid-key',
    ],
    ['a password offered for SFTP', record(), { ...sftp('203.0.113.10'), password: 'x' }, 'password-not-allowed'],
    ['plain FTP', record(), { ...sftp('203.0.113.10'), protocol: 'FTP' as const }, 'protocol-not-allowed'],
  ])('%s is refused, and Transfer gets {}', async (_name, found, request, reason) => {
    const decision = await decideLogin(found, request, { now: NOW });
    expect(decision).toEqual({ allowed: false, reason });
    expect(transferResponse(decision)).toEqual({});
  });

  it('FTPS: the right password logs in without keys; a wrong or missing one is refused', async () => {
    const hash = await hashPassword('correct horse battery staple');
    const user = record({ passwordSecret: 'acme/ftps' });
    const request = { ...sftp('203.0.113.10'), protocol: 'FTPS' as const, password: 'correct horse battery staple' };
    const ok = await decideLogin(user, request, { now: NOW, passwordHash: hash });
    expect(ok).toMatchObject({ allowed: true, keys: [] });
    expect(transferResponse(ok)).not.toHaveProperty('PublicKeys');
    expect(await decideLogin(user, { ...request, password: 'wrong' }, { now: NOW, passwordHash: hash })).toEqual({
      allowed: false,
      reason: 'bad-password',
    });
    expect(await decideLogin(record(), request, { now: NOW, passwordHash: hash })).toEqual({
      allowed: false,
      reason: 'bad-password',
    });
  });
});

describe('password hashes', () => {
  it('are memory-hard scrypt, salted, and verified in constant time; malformed ones never verify', async () => {
    const a = await hashPassword('pw');
    const b = await hashPassword('pw');
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword(a, 'pw')).toBe(true);
    expect(await verifyPassword(a, 'pW')).toBe(false);
    for (const bad of ['', 'scrypt$2$1$1$AA$AA', 'bcrypt$x', a.replace('scrypt$32768', 'scrypt$1024')])
      expect(await verifyPassword(bad, 'pw')).toBe(false);
    expect(await verifyPassword(undefined, 'pw')).toBe(false);
  });
});

describe('the identity service', () => {
  it('caches records briefly (misses too), re-reads after the window, and logs every decision without secrets', async () => {
    let reads = 0;
    let clock = NOW.getTime();
    const logged: Record<string, unknown>[] = [];
    const store = {
      record: async (name: string) => {
        reads++;
        return name === 'acme-upload' ? record() : undefined;
      },
      passwordHash: async () => undefined,
    };
    const service = new IdentityService(store, {
      cacheMs: 1_000,
      now: () => new Date(clock),
      log: (e) => logged.push(e),
    });
    await service.login(sftp('203.0.113.10'));
    await service.login(sftp('192.0.2.1'));
    await service.login(sftp('203.0.113.10', 'ghost'));
    await service.login(sftp('203.0.113.10', 'ghost'));
    expect(reads).toBe(2);
    clock += 1_001;
    await service.login(sftp('203.0.113.10'));
    expect(reads).toBe(3);
    expect(logged.map((event) => [event.event, event.reason ?? null])).toEqual([
      ['login-allowed', null],
      ['login-refused', 'ip-not-allowed'],
      ['login-refused', 'unknown-user'],
      ['login-refused', 'unknown-user'],
      ['login-allowed', null],
    ]);
  });
});
