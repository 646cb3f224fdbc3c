import { describe, expect, it, vi } from 'vitest';

vi.mock('../../../src/core/identity/password.js', () => ({ verifyPassword: vi.fn(async () => false) }));
const { verifyPassword } = await import('../../../src/core/identity/password.js');
const { decideLogin } = await import('../../../src/core/identity/decide.js');

describe('a wrong user and a wrong password cost the same', () => {
  it('an FTPS request for an unknown user still derives the password (against no hash)', async () => {
    const decision = await decideLogin(
      undefined,
      { userName: 'ghost', sourceIp: '203.0.113.1', protocol: 'FTPS', password: 'guess' },
      { now: new Date(), passwordHash: 'scrypt$…' },
    );
    expect(decision).toEqual({ allowed: false, reason: 'unknown-user' });
    expect(verifyPassword).toHaveBeenCalledWith(undefined, 'guess');
  });
});

describe('the identity service walks the same path for a wrong user and a wrong password', () => {
  it('one record read, one password read, one derivation each', async () => {
    const { IdentityService } = await import('../../../src/core/identity/service.js');
    const calls: string[] = [];
    const known = {
      userName: 'bank-ftps',
      client: 'bank',
      role: 'upload' as const,
      enabled: true,
      roleArn: 'arn:aws:iam::111122223333:role/x',
      homeDirectoryMappings: [{ entry: '/', target: '/b' }],
      sshKeys: [],
      allowedCidrs: ['203.0.113.0/24'],
      allowAnyIp: false,
      passwordSecret: '/acme/dev/identity/passwords/bank-ftps',
    };
    const service = new IdentityService(
      {
        record: async (name) => {
          calls.push('record');
          return name === known.userName ? known : undefined;
        },
        passwordHash: async (_user, secret) => {
          calls.push(secret ? 'password' : 'password');
          return secret ? 'scrypt$32768$8$1$AAAA$AAAA' : undefined;
        },
      },
      { cacheMs: 0 },
    );
    const path = async (userName: string) => {
      calls.length = 0;
      vi.mocked(verifyPassword).mockClear();
      const decision = await service.login({ userName, sourceIp: '203.0.113.1', protocol: 'FTPS', password: 'x' });
      expect(decision.allowed).toBe(false);
      return { calls: [...calls], derivations: vi.mocked(verifyPassword).mock.calls.length };
    };
    const wrongPassword = await path('bank-ftps');
    const wrongUser = await path('ghost');
    expect(wrongPassword).toEqual({ calls: ['record', 'password'], derivations: 1 });
    expect(wrongUser).toEqual(wrongPassword);
  });
});
